#include "moduletreemodel.h"

#include "guiformat.h"

#include <QBrush>
#include <QFont>
#include <QPalette>

#include <QDataStream>
#include <QIODevice>
#include <QMimeData>

#include <algorithm>

namespace mizan::gui {

ModuleTreeModel::ModuleTreeModel(QObject *parent)
    : QAbstractItemModel(parent)
{
}

void ModuleTreeModel::setTree(std::shared_ptr<const planner::ModuleTree> tree, planner::ModuleSizes sizes)
{
    beginResetModel();
    m_tree = std::move(tree);
    m_sizes = std::move(sizes);
    m_placement = {};
    m_row.assign(m_tree ? static_cast<std::size_t>(m_tree->size()) : 0, 0);
    m_order.assign(m_row.size(), 0);
    if (m_tree) {
        for (const auto &m : m_tree->modules())
            for (std::size_t i = 0; i < m.children.size(); ++i)
                m_row[static_cast<std::size_t>(m.children[i])] = static_cast<int>(i);
        const auto order = m_tree->preorder();
        for (std::size_t i = 0; i < order.size(); ++i)
            m_order[static_cast<std::size_t>(order[i])] = static_cast<int>(i);
    }
    m_loading = {};
    computeDtypes();
    endResetModel();
}

void ModuleTreeModel::setSizes(planner::ModuleSizes sizes, const planner::PlanOptions &loading)
{
    m_sizes = std::move(sizes);
    m_loading = loading;
    computeDtypes();
    emitColumnChanged(SizeColumn, DTypeColumn, {Qt::DisplayRole, SortRole, SizeBytesRole});
}

void ModuleTreeModel::computeDtypes()
{
    using Kind = DtypeSummary::Kind;
    m_dtypeOf.assign(m_row.size(), DtypeSummary{});
    if (!m_tree)
        return;
    // Bottom-up over the reversed pre-order: a module's label is the one dtype under it, or mixed.
    auto merge = [](const DtypeSummary &a, const DtypeSummary &b) {
        if (a.kind == Kind::None)
            return b;
        if (b.kind == Kind::None || a == b)
            return a;
        return DtypeSummary{Kind::Mixed, DType::F32};
    };
    const auto order = m_tree->preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const planner::Module &m = m_tree->module(*it);
        DtypeSummary label;
        for (const auto *list : {&m.params, &m.buffers})
            for (const auto &t : *list)
                label = merge(label, DtypeSummary{Kind::One, planner::loadedDtype(*m_tree, *it, t, m_loading)});
        for (int c : m.children)
            label = merge(label, m_dtypeOf[static_cast<std::size_t>(c)]);
        m_dtypeOf[static_cast<std::size_t>(*it)] = label;
    }
}

void ModuleTreeModel::setPlacement(PlacementView placement)
{
    m_placement = std::move(placement);
    emitColumnChanged(NameColumn, DeviceColumn, {Qt::DisplayRole, Qt::BackgroundRole, Qt::ToolTipRole,
                                                 DeviceSlotRole, ReasonRole, Qt::DecorationRole});
}

void ModuleTreeModel::retranslate()
{
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    emitColumnChanged(NameColumn, DeviceColumn, {Qt::DisplayRole, Qt::ToolTipRole});
}

void ModuleTreeModel::emitColumnChanged(int firstColumn, int lastColumn, const QList<int> &roles)
{
    if (!m_tree || m_tree->size() == 0)
        return;
    // One range per parent: a tree model's dataChanged must stay within siblings.
    for (const auto &m : m_tree->modules()) {
        if (m.children.empty())
            continue;
        const int id = static_cast<int>(&m - m_tree->modules().data());
        const QModelIndex parentIndex = id == planner::ModuleTree::kRoot ? QModelIndex() : indexForModule(id);
        const int last = static_cast<int>(m.children.size()) - 1;
        Q_EMIT dataChanged(index(0, firstColumn, parentIndex), index(last, lastColumn, parentIndex), roles);
    }
}

QModelIndex ModuleTreeModel::indexForModule(int moduleId, int column) const
{
    if (!m_tree || moduleId <= planner::ModuleTree::kRoot || moduleId >= m_tree->size())
        return {};
    const planner::Module &m = m_tree->module(moduleId);
    return createIndex(m_row[static_cast<std::size_t>(moduleId)], column, const_cast<planner::Module *>(&m));
}

int ModuleTreeModel::moduleId(const QModelIndex &index) const
{
    const planner::Module *m = node(index);
    return m ? static_cast<int>(m - m_tree->modules().data()) : planner::ModuleTree::kRoot;
}

const planner::Module *ModuleTreeModel::node(const QModelIndex &index) const
{
    if (!index.isValid() || !m_tree)
        return nullptr;
    return static_cast<const planner::Module *>(index.internalPointer());
}

QModelIndex ModuleTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    if (!m_tree || row < 0 || column < 0 || column >= ColumnCount)
        return {};
    const planner::Module *p = parent.isValid() ? node(parent) : &m_tree->module(planner::ModuleTree::kRoot);
    if (parent.isValid() && parent.column() != 0)
        return {};
    if (row >= static_cast<int>(p->children.size()))
        return {};
    const planner::Module &child = m_tree->module(p->children[static_cast<std::size_t>(row)]);
    return createIndex(row, column, const_cast<planner::Module *>(&child));
}

QModelIndex ModuleTreeModel::parent(const QModelIndex &child) const
{
    const planner::Module *m = node(child);
    if (!m || m->parent <= planner::ModuleTree::kRoot)
        return {};
    return indexForModule(m->parent, 0);
}

int ModuleTreeModel::rowCount(const QModelIndex &parent) const
{
    if (!m_tree)
        return 0;
    if (!parent.isValid())
        return static_cast<int>(m_tree->module(planner::ModuleTree::kRoot).children.size());
    if (parent.column() != 0)
        return 0;
    return static_cast<int>(node(parent)->children.size());
}

int ModuleTreeModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

bool ModuleTreeModel::hasChildren(const QModelIndex &parent) const
{
    return rowCount(parent) > 0;
}

QString ModuleTreeModel::dtypeLabel(int id) const
{
    const DtypeSummary d = m_dtypeOf.empty() ? DtypeSummary{} : m_dtypeOf[static_cast<std::size_t>(id)];
    switch (d.kind) {
    case DtypeSummary::Kind::None:
        return QString();
    case DtypeSummary::Kind::Mixed:
        return tr("mixed");
    case DtypeSummary::Kind::One:
        break;
    }
    return QString::fromLatin1(torchName(d.dtype));
}

QVariant ModuleTreeModel::data(const QModelIndex &index, int role) const
{
    const planner::Module *m = node(index);
    if (!m)
        return {};
    const int id = static_cast<int>(m - m_tree->modules().data());
    const auto uid = static_cast<std::size_t>(id);
    const bool placed = uid < m_placement.slot.size();
    const int slot = placed ? m_placement.slot[uid] : PlacementView::kNotPlaced;

    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return QString::fromStdString(m->localName);
        case ClassColumn:
            return QString::fromStdString(m->className);
        case ParametersColumn:
            return formatCount(m_sizes.parameters.empty() ? 0 : m_sizes.parameters[uid]);
        case SizeColumn:
            return formatBytes(m_sizes.bytes.empty() ? 0 : m_sizes.bytes[uid]);
        case DTypeColumn:
            return dtypeLabel(id);
        case DeviceColumn:
            if (slot >= 0 && slot < m_placement.devices.size())
                return m_placement.devices[slot];
            if (slot == PlacementView::kSeveralDevices) {
                QStringList names;
                for (int s : m_placement.spread[uid])
                    if (s >= 0 && s < m_placement.devices.size())
                        names << m_placement.devices[s];
                return tr("split: %1").arg(names.join(tr(", ", "list separator")));
            }
            return QString();
        }
        return {};
    case Qt::EditRole:
        if (index.column() == DeviceColumn && slot >= 0 && slot < m_placement.deviceKeys.size())
            return m_placement.deviceKeys[slot];
        return data(index, Qt::DisplayRole);
    case Qt::TextAlignmentRole:
        if (index.column() == ParametersColumn || index.column() == SizeColumn)
            return QVariant::fromValue(Qt::AlignTrailing | Qt::AlignVCenter);
        return {};
    case Qt::BackgroundRole:
        if (slot >= 0 && static_cast<std::size_t>(slot) < m_placement.colors.size())
            return QBrush(deviceTint(m_placement.colors[static_cast<std::size_t>(slot)]));
        return {};
    case Qt::ForegroundRole:
        if (slot >= 0)
            return QBrush(QColor(0x20, 0x20, 0x20));
        return {};
    case Qt::DecorationRole:
        if (index.column() == DeviceColumn && slot >= 0 && static_cast<std::size_t>(slot) < m_placement.colors.size())
            return m_placement.colors[static_cast<std::size_t>(slot)];
        return {};
    case Qt::ToolTipRole: {
        QString tip = QStringLiteral("<b>%1</b>").arg(QString::fromStdString(m->name).toHtmlEscaped());
        if (!m->className.empty())
            tip += QStringLiteral(" (%1)").arg(QString::fromStdString(m->className).toHtmlEscaped());
        if (placed && !m_placement.reason[uid].isEmpty())
            tip += QStringLiteral("<br/>") + m_placement.reason[uid].toHtmlEscaped();
        return tip;
    }
    case ModuleIdRole:
        return id;
    case SortRole:
        switch (index.column()) {
        case ParametersColumn:
            return static_cast<qlonglong>(m_sizes.parameters.empty() ? 0 : m_sizes.parameters[uid]);
        case SizeColumn:
            return static_cast<qlonglong>(m_sizes.bytes.empty() ? 0 : m_sizes.bytes[uid]);
        case NameColumn:
            return m_order[uid];
        default:
            return data(index, Qt::DisplayRole);
        }
    case SizeBytesRole:
        return static_cast<qlonglong>(m_sizes.bytes.empty() ? 0 : m_sizes.bytes[uid]);
    case DeviceSlotRole:
        return slot;
    case ReasonRole:
        return placed ? m_placement.reason[uid] : QString();
    case FullNameRole:
        return QString::fromStdString(m->name);
    default:
        return {};
    }
}

bool ModuleTreeModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || index.column() != DeviceColumn || !node(index))
        return false;
    const QString key = value.toString();
    if (!m_placement.deviceKeys.contains(key))
        return false;
    // The document applies the change through its undo stack and then calls setPlacement().
    Q_EMIT deviceEditRequested(moduleId(index), key);
    return true;
}

QVariant ModuleTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::TextAlignmentRole && (section == ParametersColumn || section == SizeColumn))
        return QVariant::fromValue(Qt::AlignTrailing | Qt::AlignVCenter);
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Module");
    case ClassColumn:
        return tr("Class");
    case ParametersColumn:
        return tr("Parameters");
    case SizeColumn:
        return tr("Size");
    case DTypeColumn:
        return tr("Dtype");
    case DeviceColumn:
        return tr("Device");
    }
    return {};
}

Qt::ItemFlags ModuleTreeModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsDragEnabled;
    if (index.column() == DeviceColumn && !m_placement.deviceKeys.isEmpty())
        f |= Qt::ItemIsEditable;
    return f;
}

QStringList ModuleTreeModel::mimeTypes() const
{
    return {QString::fromLatin1(kModulesMime)};
}

QMimeData *ModuleTreeModel::mimeData(const QModelIndexList &indexes) const
{
    std::vector<int> ids;
    for (const QModelIndex &i : indexes)
        if (node(i)) {
            const int id = moduleId(i);
            if (std::find(ids.begin(), ids.end(), id) == ids.end())
                ids.push_back(id);
        }
    QByteArray bytes;
    QDataStream out(&bytes, QIODevice::WriteOnly);
    out << static_cast<qint32>(ids.size());
    for (int id : ids)
        out << static_cast<qint32>(id);
    auto *data = new QMimeData;
    data->setData(QString::fromLatin1(kModulesMime), bytes);
    return data;
}

std::vector<int> ModuleTreeModel::modulesFromMime(const QMimeData *data)
{
    std::vector<int> ids;
    if (!data || !data->hasFormat(QString::fromLatin1(kModulesMime)))
        return ids;
    QDataStream in(data->data(QString::fromLatin1(kModulesMime)));
    qint32 n = 0;
    in >> n;
    for (qint32 i = 0; i < n && i < 1000000 && in.status() == QDataStream::Ok; ++i) {
        qint32 id = 0;
        in >> id;
        ids.push_back(id);
    }
    return ids;
}

} // namespace mizan::gui
