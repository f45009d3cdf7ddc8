#pragma once

// The module tree of the workspace: every module with its class, parameters, size, dtype and
// device, sorted and filtered through a proxy; the device column edits the map in place.

#include <QSortFilterProxyModel>
#include <QString>
#include <QTreeView>

#include <vector>

namespace mizan::gui {

class Document;

// Filters the module tree by name or class (a match keeps its ancestors visible).
class ModuleFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setFilterText(const QString &text);

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override;

private:
    QString m_text;
};

class ModuleView : public QTreeView {
    Q_OBJECT
public:
    ModuleView(Document *document, QWidget *parent = nullptr);

    // Shows only modules whose name or class contains `text` (and their ancestors).
    void setFilterText(const QString &text);
    // Column widths from the font and the model's class names (cheap on a 400B tree).
    void fitColumns();
    // Scrolls to and selects the module a map key names (a tensor key: its module).
    bool selectModule(const QString &name);
    // Module ids of the selected rows.
    std::vector<int> selectedModules() const;

private:
    Document *m_document;
    ModuleFilterProxy *m_proxy;
};

} // namespace mizan::gui
