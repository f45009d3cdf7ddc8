#pragma once

// A lazy item model over the planner's immutable ModuleTree: one row per module, children in
// execution order. Index internal pointers point at planner::Module nodes; nothing is copied.

#include "planner/moduletree.h"
#include "planner/plan.h"

#include <QAbstractItemModel>
#include <QColor>
#include <QStringList>

#include <memory>
#include <vector>

namespace mizan::gui {

// What the model shows in the device column, computed by the document from the current map.
struct PlacementView {
    static constexpr int kNotPlaced = -1;      // a slot value: the module has no device
    static constexpr int kSeveralDevices = -2; // a slot value: its parts are on several devices
    // Per module id: index into `devices`, or kNotPlaced / kSeveralDevices.
    std::vector<int> slot;
    std::vector<QString> reason; // per module id, may be empty
    std::vector<std::vector<int>> spread; // per module id: the slots under a split module
    QStringList devices;         // slot labels ("GPU 0", "CPU", "disk")
    QStringList deviceKeys;      // Accelerate keys ("0", "cpu", "disk") for editing
    std::vector<QColor> colors;  // slot colours
};

class ModuleTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { NameColumn, ClassColumn, ParametersColumn, SizeColumn, DTypeColumn, DeviceColumn, ColumnCount };
    enum Role {
        ModuleIdRole = Qt::UserRole + 1, // int module id
        SortRole,                        // numeric value for sizes/params, execution order for name
        SizeBytesRole,                   // qint64 bytes under the selected dtype
        DeviceSlotRole,                  // int slot (see PlacementView)
        ReasonRole,                      // QString explanation of the placement
        FullNameRole,                    // QString dotted name
    };

    explicit ModuleTreeModel(QObject *parent = nullptr);

    // Replaces the whole tree (model reset). `sizes` must be aggregateSizes() of `tree`.
    void setTree(std::shared_ptr<const planner::ModuleTree> tree, planner::ModuleSizes sizes);
    // New sizes for the same tree (dtype change): only the size/dtype columns change. `loading`:
    // the options the sizes were computed under (dtype, dtypeRule, specialDtypes), for the labels.
    void setSizes(planner::ModuleSizes sizes, const planner::PlanOptions &loading);
    // New device assignment for the same tree: only the device column and colours change.
    void setPlacement(PlacementView placement);
    // Headers are translated: call after a language change.
    void retranslate();

    const planner::ModuleTree *tree() const { return m_tree.get(); }
    QModelIndex indexForModule(int moduleId, int column = 0) const;
    int moduleId(const QModelIndex &index) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    // Rows drag as a list of module ids (dropped on a device bar of the charts).
    static constexpr const char *kModulesMime = "application/x-mizan-modules";
    QStringList mimeTypes() const override;
    QMimeData *mimeData(const QModelIndexList &indexes) const override;
    Qt::DropActions supportedDragActions() const override { return Qt::MoveAction; }
    static std::vector<int> modulesFromMime(const QMimeData *data);

Q_SIGNALS:
    // The device column editor chose `deviceKey` for a module; the document decides (undo stack).
    void deviceEditRequested(int moduleId, const QString &deviceKey);

private:
    const planner::Module *node(const QModelIndex &index) const;
    void emitColumnChanged(int firstColumn, int lastColumn, const QList<int> &roles);
    QString dtypeLabel(int id) const;
    void computeDtypes();

    std::shared_ptr<const planner::ModuleTree> m_tree;
    planner::ModuleSizes m_sizes;
    std::vector<int> m_row;        // row of each module among its parent's children
    std::vector<int> m_order;      // pre-order position (execution order)
    // The dtype column of a module: the one dtype of its tensors, none, or several.
    struct DtypeSummary {
        enum class Kind { None, One, Mixed } kind = Kind::None;
        DType dtype = DType::F32; // when kind == One
        bool operator==(const DtypeSummary &) const = default;
    };
    std::vector<DtypeSummary> m_dtypeOf; // per module id
    planner::PlanOptions m_loading; // dtype, dtypeRule, specialDtypes the sizes are in
    PlacementView m_placement;
};

} // namespace mizan::gui
