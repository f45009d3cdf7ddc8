#include "problemspanel.h"

#include "document.h"
#include "guiformat.h"
#include "messagetext.h"

#include <QHeaderView>
#include <QIcon>
#include <QLocale>
#include <QStringList>
#include <QStyledItemDelegate>

#include <algorithm>

namespace mizan::gui {

namespace {

// Rows as tall as their text needs when wrapped to the column's width (the default measures
// wrapped text without knowing the width, then elides it).
class WrappingDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const auto *view = qobject_cast<const QTreeView *>(opt.widget);
        if (!view)
            return QStyledItemDelegate::sizeHint(option, index);
        int width = view->columnWidth(index.column());
        if (index.column() == 0) {
            int depth = view->rootIsDecorated() ? 1 : 0;
            for (QModelIndex p = index.parent(); p.isValid(); p = p.parent())
                ++depth;
            width -= depth * view->indentation();
        }
        opt.features |= QStyleOptionViewItem::WrapText;
        opt.rect = QRect(0, 0, std::max(40, width), 10000);
        const QStyle *style = view->style();
        const QSize size = style->sizeFromContents(QStyle::CT_ItemViewItem, &opt, QSize(), view);
        return {std::max(40, width), size.height()};
    }
};

} // namespace

ProblemsPanel::ProblemsPanel(Document *document, QWidget *parent)
    : QTreeWidget(parent), m_document(document)
{
    setObjectName(QStringLiteral("problems"));
    // Readable in a narrow dock: the problem (severity icon, wrapped text) and its module; the
    // suggested fix is a child row, shown expanded.
    setColumnCount(ProblemColumnCount);
    setRootIsDecorated(true);
    setItemsExpandable(true);
    header()->setSectionResizeMode(ProblemTextColumn, QHeaderView::Stretch);
    header()->setSectionResizeMode(ProblemModuleColumn, QHeaderView::Interactive);
    header()->setStretchLastSection(false);
    header()->resizeSection(ProblemModuleColumn, 110);
    setWordWrap(true);
    setTextElideMode(Qt::ElideMiddle); // module names: keep both ends
    setItemDelegate(new WrappingDelegate(this));
    // Wrapped rows are measured for the column width they were laid out with: measure again when
    // the width changes (the dock is resized).
    connect(header(), &QHeaderView::sectionResized, this, [this](int column) {
        if (column == ProblemTextColumn)
            doItemsLayout();
    });
    connect(this, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem *item) {
        const QString module = item->data(ProblemTextColumn, Qt::UserRole).toString();
        if (!module.isEmpty())
            Q_EMIT moduleActivated(module);
    });
    retranslate();
}

QString ProblemsPanel::title() const
{
    const QString title = tr("Problems");
    if (m_errors + m_warnings == 0)
        return title;
    return tr("%1 (%2, %3)").arg(title, tr("%Ln error(s)", nullptr, m_errors), tr("%Ln warning(s)", nullptr, m_warnings));
}

void ProblemsPanel::retranslate()
{
    setHeaderLabels({tr("Problem"), tr("Module")});
    refresh();
}

void ProblemsPanel::refresh()
{
    clear();
    const auto tree = m_document->tree();
    int &errors = m_errors, &warnings = m_warnings;
    errors = warnings = 0;
    const DeviceLabeler deviceLabel = [this](const planner::Device &d) { return m_document->deviceLabel(d); };
    if (const auto &failure = m_document->testRunError()) {
        // The core's detail (module, device, numbers) as written, after a translated headline.
        auto *item = new QTreeWidgetItem(this);
        ++errors;
        QString detail = ltr(QString::fromStdString(failure->message));
        if (!failure->file.empty())
            detail = tr("%1: %2").arg(ltr(QString::fromStdString(failure->file)), detail);
        const QString text = tr("Test inference failed: %1: %2").arg(errorHeadline(failure->kind), detail);
        item->setText(ProblemTextColumn, text);
        item->setIcon(ProblemTextColumn, QIcon(QStringLiteral(":/icons/error.png")));
        item->setToolTip(ProblemTextColumn, text);
        item->setData(ProblemTextColumn, ProblemSeverityRole, tr("Error"));
    }
    for (const auto &issue : m_document->issues()) {
        auto *item = new QTreeWidgetItem(this);
        const bool error = issue.severity == planner::Severity::Error;
        (error ? errors : warnings)++;
        const QString message = messageText(issue.what, deviceLabel);
        item->setText(ProblemTextColumn, message);
        item->setIcon(ProblemTextColumn, QIcon(error ? QStringLiteral(":/icons/error.png") : QStringLiteral(":/icons/warning.png")));
        item->setToolTip(ProblemTextColumn, (error ? tr("Error: %1") : tr("Warning: %1")).arg(message));
        item->setData(ProblemTextColumn, ProblemSeverityRole, error ? tr("Error") : tr("Warning"));
        item->setText(ProblemModuleColumn, QString::fromStdString(issue.module));
        item->setToolTip(ProblemModuleColumn, QString::fromStdString(issue.module));
        item->setData(ProblemTextColumn, Qt::UserRole, QString::fromStdString(issue.module));
        const QString fix = messageText(issue.fix, deviceLabel);
        if (!fix.isEmpty()) {
            auto *fixItem = new QTreeWidgetItem(item);
            fixItem->setText(ProblemTextColumn, tr("Fix: %1").arg(fix));
            fixItem->setToolTip(ProblemTextColumn, fix);
            fixItem->setData(ProblemTextColumn, Qt::UserRole, QString::fromStdString(issue.module));
            fixItem->setForeground(ProblemTextColumn, palette().color(QPalette::PlaceholderText));
        }
        item->setExpanded(true);
    }
    if (const auto *plan = m_document->plan()) {
        for (const auto &w : plan->warningMessages) {
            auto *item = new QTreeWidgetItem(this);
            ++warnings;
            const QString text = messageText(w, deviceLabel);
            item->setIcon(ProblemTextColumn, QIcon(QStringLiteral(":/icons/warning.png")));
            item->setData(ProblemTextColumn, ProblemSeverityRole, tr("Note"));
            item->setText(ProblemTextColumn, text);
            item->setToolTip(ProblemTextColumn, text);
        }
    }
    if (const OpenedModel *model = m_document->model()) {
        // What the loader and the architecture registry noticed about the checkpoint itself.
        const auto &desc = model->source.model;
        QStringList notes;
        for (const auto &note : model->source.checkpoint.notes)
            notes << messageText(note, deviceLabel);
        for (const auto &note : desc.notes)
            notes << messageText(note, deviceLabel);
        auto summary = [&](const std::vector<std::string> &list, const QString &what) {
            if (list.empty())
                return;
            QString text = what.arg(QLocale().toString(static_cast<qlonglong>(list.size())))
                + QStringLiteral(": ") + QString::fromStdString(list.front());
            if (list.size() > 1)
                text += tr(", …");
            notes << text;
        };
        summary(desc.missingTensors, tr("%1 tensors missing from the checkpoint"));
        summary(desc.unexpectedTensors, tr("%1 tensors the architecture does not know"));
        summary(desc.shapeMismatches, tr("%1 shape mismatches"));
        for (const QString &n : notes) {
            auto *item = new QTreeWidgetItem(this);
            ++warnings;
            item->setIcon(ProblemTextColumn, QIcon(QStringLiteral(":/icons/warning.png")));
            item->setData(ProblemTextColumn, ProblemSeverityRole, tr("Note"));
            item->setText(ProblemTextColumn, n);
            item->setToolTip(ProblemTextColumn, n);
        }
    }
    if (errors + warnings == 0 && m_document->hasModel() && !m_document->deviceMap().empty()) {
        auto *item = new QTreeWidgetItem(this);
        item->setText(ProblemTextColumn, tr("The device map is valid."));
        item->setIcon(ProblemTextColumn, QIcon(QStringLiteral(":/icons/ok.png")));
    }
}

} // namespace mizan::gui
