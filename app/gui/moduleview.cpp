#include "moduleview.h"

#include "document.h"
#include "guiformat.h"
#include "moduletreemodel.h"

#include <QComboBox>
#include <QFontMetrics>
#include <QHeaderView>
#include <QStyledItemDelegate>

#include <algorithm>

namespace mizan::gui {

namespace {

// The device column's editor: a combo box of the document's devices.
class DeviceDelegate : public QStyledItemDelegate {
public:
    DeviceDelegate(Document *document, QObject *parent)
        : QStyledItemDelegate(parent), m_document(document)
    {
    }
    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &, const QModelIndex &) const override
    {
        auto *combo = new QComboBox(parent);
        for (const auto &d : m_document->deviceChoices())
            combo->addItem(m_document->deviceLabel(d), QString::fromStdString(d.toString()));
        return combo;
    }
    void setEditorData(QWidget *editor, const QModelIndex &index) const override
    {
        auto *combo = static_cast<QComboBox *>(editor);
        const int i = combo->findData(index.data(Qt::EditRole).toString());
        combo->setCurrentIndex(std::max(0, i));
    }
    void setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const override
    {
        model->setData(index, static_cast<QComboBox *>(editor)->currentData(), Qt::EditRole);
    }

private:
    Document *m_document;
};

} // namespace

void ModuleFilterProxy::setFilterText(const QString &text)
{
    m_text = text.trimmed();
    invalidateFilter();
}

bool ModuleFilterProxy::filterAcceptsRow(int row, const QModelIndex &parent) const
{
    if (m_text.isEmpty())
        return true;
    const QModelIndex name = sourceModel()->index(row, ModuleTreeModel::NameColumn, parent);
    if (name.data(ModuleTreeModel::FullNameRole).toString().contains(m_text, Qt::CaseInsensitive))
        return true;
    const QModelIndex cls = sourceModel()->index(row, ModuleTreeModel::ClassColumn, parent);
    return cls.data().toString().contains(m_text, Qt::CaseInsensitive);
}

ModuleView::ModuleView(Document *document, QWidget *parent)
    : QTreeView(parent), m_document(document)
{
    setObjectName(QStringLiteral("moduleTree"));
    m_proxy = new ModuleFilterProxy(this);
    m_proxy->setSourceModel(m_document->treeModel());
    m_proxy->setSortRole(ModuleTreeModel::SortRole);
    m_proxy->setRecursiveFilteringEnabled(true);
    setModel(m_proxy);
    setUniformRowHeights(true);
    setSortingEnabled(true);
    sortByColumn(ModuleTreeModel::NameColumn, Qt::AscendingOrder);
    setSelectionMode(QAbstractItemView::ExtendedSelection);
    setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
    setItemDelegateForColumn(ModuleTreeModel::DeviceColumn, new DeviceDelegate(m_document, this));
    setContextMenuPolicy(Qt::CustomContextMenu);
    setDragEnabled(true);
    setDragDropMode(QAbstractItemView::DragOnly);
    header()->setStretchLastSection(true);
    setAlternatingRowColors(false);
}

void ModuleView::setFilterText(const QString &text)
{
    m_proxy->setFilterText(text);
}

void ModuleView::fitColumns()
{
    // Widths from the font and the model's class names, not resizeColumnToContents(): that
    // measures every visible row through the delegate, which a 400B model makes slow.
    const QFontMetrics fm(font());
    int classWidth = fm.horizontalAdvance(model()->headerData(ModuleTreeModel::ClassColumn, Qt::Horizontal).toString());
    for (const QString &c : m_document->modelClasses())
        classWidth = std::max(classWidth, fm.horizontalAdvance(c));
    QHeaderView *h = header();
    h->resizeSection(ModuleTreeModel::NameColumn, fm.horizontalAdvance(QStringLiteral("post_attention_layernorm")) + 60);
    h->resizeSection(ModuleTreeModel::ClassColumn, classWidth + 16);
    h->resizeSection(ModuleTreeModel::ParametersColumn, fm.horizontalAdvance(formatCount(888888888888)) + 16);
    h->resizeSection(ModuleTreeModel::SizeColumn, fm.horizontalAdvance(formatBytes(std::int64_t(1000) << 30)) + 16);
    h->resizeSection(ModuleTreeModel::DTypeColumn, fm.horizontalAdvance(QStringLiteral("bfloat16")) + 16);
}

bool ModuleView::selectModule(const QString &name)
{
    const auto tree = m_document->tree();
    if (!tree)
        return false;
    const auto target = tree->resolveKey(name.toStdString()); // a tensor key: its module
    const int id = target ? target->module : -1;
    if (id <= planner::ModuleTree::kRoot)
        return false;
    const QModelIndex index = m_proxy->mapFromSource(m_document->treeModel()->indexForModule(id));
    if (!index.isValid())
        return false;
    scrollTo(index);
    selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    return true;
}

std::vector<int> ModuleView::selectedModules() const
{
    std::vector<int> ids;
    for (const QModelIndex &i : selectionModel()->selectedRows())
        ids.push_back(i.data(ModuleTreeModel::ModuleIdRole).toInt());
    return ids;
}

} // namespace mizan::gui
