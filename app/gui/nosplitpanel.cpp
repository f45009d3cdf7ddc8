#include "nosplitpanel.h"

#include "document.h"

#include <QEvent>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace mizan::gui {

NoSplitPanel::NoSplitPanel(Document *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_hint(new QLabel(this))
    , m_chips(new QListWidget(this))
    , m_reset(new QPushButton(this))
{
    auto *layout = new QVBoxLayout(this);
    m_hint->setWordWrap(true);
    layout->addWidget(m_hint);
    m_chips->setObjectName(QStringLiteral("noSplitChips"));
    m_chips->setFlow(QListView::LeftToRight);
    m_chips->setWrapping(true);
    m_chips->setResizeMode(QListView::Adjust);
    m_chips->setSpacing(3);
    m_chips->setUniformItemSizes(false);
    m_chips->setStyleSheet(QStringLiteral(
        "QListWidget#noSplitChips { background: palette(window); border: none; }"
        "QListWidget#noSplitChips::item { border: 1px solid palette(mid); border-radius: 9px; padding: 2px 6px; }"
        "QListWidget#noSplitChips::item:checked { background: #dbe7f3; border-color: #4e79a7; }"));
    layout->addWidget(m_chips, 1);
    layout->addWidget(m_reset);

    connect(m_chips, &QListWidget::itemChanged, this, [this] {
        QStringList checked;
        for (int i = 0; i < m_chips->count(); ++i)
            if (m_chips->item(i)->checkState() == Qt::Checked)
                checked << m_chips->item(i)->data(Qt::UserRole).toString();
        m_document->setNoSplitClasses(checked);
    });
    connect(m_reset, &QPushButton::clicked, this, [this] { m_document->setNoSplitClasses(m_document->defaultNoSplitClasses()); });
    connect(m_document, &Document::settingsChanged, this, &NoSplitPanel::rebuild);
    retranslateUi();
}

void NoSplitPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void NoSplitPanel::retranslateUi()
{
    m_hint->setText(tr("Modules of a checked class are never split across devices. The model's defaults are in bold."));
    m_reset->setText(tr("Reset to the model's defaults"));
    rebuild();
}

void NoSplitPanel::rebuild()
{
    const QSignalBlocker block(m_chips);
    m_chips->clear();
    const QStringList defaults = m_document->defaultNoSplitClasses();
    const QStringList checked = m_document->noSplitClasses();
    for (const QString &c : m_document->modelClasses()) {
        auto *item = new QListWidgetItem(c, m_chips);
        item->setData(Qt::UserRole, c);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(checked.contains(c) ? Qt::Checked : Qt::Unchecked);
        if (defaults.contains(c)) {
            QFont f = item->font();
            f.setBold(true);
            item->setFont(f);
            item->setToolTip(tr("%1: a default no-split class of this architecture").arg(c));
        }
    }
    m_reset->setEnabled(m_document->hasModel());
}

} // namespace mizan::gui
