#include "detailpane.h"

#include "document.h"
#include "guiformat.h"

#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTableWidget>
#include <QVBoxLayout>

namespace mizan::gui {

namespace {
constexpr int kMaxTensorRows = 400;
}

DetailPane::DetailPane(Document *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_header(new QLabel(this))
    , m_tensors(new QTableWidget(0, 5, this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_header->setWordWrap(true);
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_header->setObjectName(QStringLiteral("detailHeader"));
    layout->addWidget(m_header);
    m_tensors->verticalHeader()->hide();
    m_tensors->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_tensors->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    for (int c = 1; c < 5; ++c)
        m_tensors->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    layout->addWidget(m_tensors, 1);
    connect(m_document, &Document::mapChanged, this, &DetailPane::refresh);
    connect(m_document, &Document::opened, this, [this] { showModule(-1); });
    refresh();
}

void DetailPane::showModule(int moduleId)
{
    m_module = moduleId;
    refresh();
}

void DetailPane::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        refresh();
    QWidget::changeEvent(event);
}

void DetailPane::refresh()
{
    m_tensors->setHorizontalHeaderLabels({tr("Tensor"), tr("Shape"), tr("Dtype"), tr("Size"), tr("Shard")});
    const auto tree = m_document->tree();
    if (!tree || m_module < 0 || m_module >= tree->size()) {
        m_header->setText(m_document->hasModel() ? tr("Select a module to see its tensors and why it is where it is.")
                                                 : QString());
        m_tensors->setRowCount(0);
        return;
    }
    const planner::Module &m = tree->module(m_module);
    const auto id = static_cast<std::size_t>(m_module);
    const auto &sizes = m_document->sizes();
    const QModelIndex index = m_document->treeModel()->indexForModule(m_module, ModuleTreeModel::DeviceColumn);
    const QString device = index.data().toString();
    const QString reason = index.data(ModuleTreeModel::ReasonRole).toString();
    QString html = QStringLiteral("<b>%1</b>").arg(QString::fromStdString(m.name).toHtmlEscaped());
    if (!m.className.empty())
        html += QStringLiteral(" <i>%1</i>").arg(QString::fromStdString(m.className).toHtmlEscaped());
    html += QStringLiteral("<br/>")
        + tr("%1 parameters, %2").arg(formatCount(sizes.parameters[id]), formatBytes(sizes.bytes[id]));
    if (!device.isEmpty())
        html += QStringLiteral("<br/>") + tr("Device: %1").arg(device.toHtmlEscaped());
    if (!reason.isEmpty())
        html += QStringLiteral("<br/>") + tr("Why: %1").arg(reason.toHtmlEscaped());
    m_header->setText(html);

    // Tensors of the module and below, in pre-order, capped.
    const OpenedModel *model = m_document->model();
    const auto &catalog = model->source.checkpoint.catalog;
    std::vector<std::pair<int, const planner::Tensor *>> rows;
    int total = 0;
    for (int sub : tree->preorder(m_module)) {
        const planner::Module &s = tree->module(sub);
        for (const auto *list : {&s.params, &s.buffers})
            for (const auto &t : *list) {
                ++total;
                if (static_cast<int>(rows.size()) < kMaxTensorRows)
                    rows.emplace_back(sub, &t);
            }
    }
    m_tensors->setRowCount(static_cast<int>(rows.size()));
    const QLocale locale;
    const planner::PlanOptions loading = m_document->options();
    for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
        const auto &[owner, t] = rows[static_cast<std::size_t>(r)];
        const QString fullName = QString::fromStdString(tree->tensorName(owner, *t));
        QStringList dims;
        for (auto d : t->shape)
            dims << locale.toString(static_cast<qlonglong>(d));
        const DType loaded = planner::loadedDtype(*tree, owner, *t, loading);
        QString shard;
        if (auto it = model->tensorIndex.constFind(fullName); it != model->tensorIndex.constEnd()) {
            const auto &entry = catalog.tensors[static_cast<std::size_t>(*it)];
            shard = QString::fromStdString(catalog.shards[static_cast<std::size_t>(entry.shard)].fileName);
        } else if (t->buffer && !t->persistent) {
            shard = tr("not stored (non-persistent buffer)");
        } else if (model->source.checkpoint.hasWeights()) {
            shard = t->tie >= 0 ? tr("tied (stored once)") : tr("missing");
        }
        QString name = fullName;
        if (t->buffer)
            name += QStringLiteral(" ") + tr("(buffer)");
        m_tensors->setItem(r, 0, new QTableWidgetItem(name));
        m_tensors->setItem(r, 1, new QTableWidgetItem(QStringLiteral("[%1]").arg(dims.join(QStringLiteral(", ")))));
        QString dtypeText = QString::fromLatin1(torchName(t->dtype));
        if (loaded != t->dtype)
            dtypeText = tr("%1 → %2").arg(dtypeText, QString::fromLatin1(torchName(loaded)));
        m_tensors->setItem(r, 2, new QTableWidgetItem(dtypeText));
        auto *size = new QTableWidgetItem(formatBytes(storageBytes(loaded, t->numel())));
        size->setTextAlignment(Qt::AlignTrailing | Qt::AlignVCenter);
        m_tensors->setItem(r, 3, size);
        m_tensors->setItem(r, 4, new QTableWidgetItem(shard));
    }
    if (total > kMaxTensorRows)
        m_header->setText(m_header->text() + QStringLiteral("<br/>")
                          + tr("Showing %1 of %2 tensors.").arg(locale.toString(kMaxTensorRows), locale.toString(total)));
}

} // namespace mizan::gui
