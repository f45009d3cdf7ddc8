#include "policypanel.h"

#include "document.h"
#include "guiformat.h"
#include "messagetext.h"

#include "planner/planerror.h"
#include "planner/policy.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace mizan::gui {

PolicyPanel::PolicyPanel(Document *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_hint(new QLabel(this))
    , m_list(new QListWidget(this))
    , m_remove(new QPushButton(this))
    , m_input(new QComboBox(this))
    , m_add(new QPushButton(this))
    , m_grammar(new QLabel(this))
    , m_error(new QLabel(this))
{
    auto *layout = new QVBoxLayout(this);
    m_hint->setWordWrap(true);
    layout->addWidget(m_hint);
    m_list->setObjectName(QStringLiteral("policyList"));
    m_list->setWordWrap(true);
    m_list->setAlternatingRowColors(true);
    layout->addWidget(m_list, 1);
    m_remove->setObjectName(QStringLiteral("removePolicy"));
    layout->addWidget(m_remove);

    auto *addRow = new QHBoxLayout;
    m_input->setObjectName(QStringLiteral("policyInput"));
    m_input->setEditable(true);
    m_input->setInsertPolicy(QComboBox::NoInsert);
    // A policy is written in a fixed Latin syntax: the box reads left to right in every language.
    m_input->setLayoutDirection(Qt::LeftToRight);
    m_input->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    for (const auto &name : planner::builtInPolicies())
        m_input->addItem(QString::fromStdString(name));
    m_input->setCurrentIndex(-1);
    addRow->addWidget(m_input, 1);
    m_add->setObjectName(QStringLiteral("addPolicy"));
    addRow->addWidget(m_add);
    layout->addLayout(addRow);
    m_grammar->setWordWrap(true);
    m_grammar->setObjectName(QStringLiteral("policyGrammar"));
    layout->addWidget(m_grammar);
    m_error->setWordWrap(true);
    m_error->setObjectName(QStringLiteral("policyError"));
    m_error->setStyleSheet(QStringLiteral("color: #b22222;"));
    m_error->hide();
    layout->addWidget(m_error);

    connect(m_add, &QPushButton::clicked, this, [this] { addPolicy(m_input->currentText()); });
    connect(m_input->lineEdit(), &QLineEdit::returnPressed, this, [this] { addPolicy(m_input->currentText()); });
    connect(m_input, &QComboBox::currentTextChanged, this, [this] { updateButtons(); });
    connect(m_remove, &QPushButton::clicked, this, [this] {
        const int row = m_list->currentRow();
        if (row >= 0)
            m_document->removePolicy(row);
    });
    connect(m_list, &QListWidget::currentRowChanged, this, [this] { updateButtons(); });
    connect(m_document, &Document::settingsChanged, this, &PolicyPanel::rebuild);
    connect(m_document, &Document::mapChanged, this, &PolicyPanel::rebuild);
    connect(m_document, &Document::busyChanged, this, [this] { updateButtons(); });
    retranslateUi();
}

bool PolicyPanel::addPolicy(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return false;
    auto deviceLabel = [this](const planner::Device &d) { return m_document->deviceLabel(d); };
    auto fail = [this](const QString &why) {
        m_error->setText(why);
        m_error->show();
        return false;
    };
    planner::Policy policy;
    try {
        policy = planner::parsePolicy(trimmed.toStdString());
        if (auto tree = m_document->tree())
            planner::selectPolicy(*tree, policy, m_document->options().noSplitClasses);
    } catch (const planner::PlanError &e) {
        return fail(messageText(e.messages(), deviceLabel));
    }
    if (!m_document->addPolicy(policy))
        return fail(tr("%1 is in the list already.").arg(ltr(QString::fromStdString(planner::toString(policy)))));
    m_error->hide();
    m_input->setCurrentIndex(-1);
    m_input->clearEditText();
    return true;
}

void PolicyPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void PolicyPanel::retranslateUi()
{
    m_hint->setText(tr("Rules that place many modules at once, kept like pins and saved with the plan. Adding or removing one plans again."));
    m_remove->setText(tr("Remove the selected policy"));
    m_add->setText(tr("Add policy"));
    m_input->lineEdit()->setPlaceholderText(tr("for example name:model.layers.*.mlp.experts=cpu"));
    const QString grammar = tr("Write SELECTOR=DEVICE, or SELECTOR!=DEVICE to keep it off a device. Selectors: experts (the experts of "
                               "every mixture-of-experts block), experts:N (those of the first N blocks), embeddings, first:N (the first "
                               "N blocks), class:CLASS, name:PATTERN (* any characters but a dot, ** any characters, ? one character, "
                               "{0..3} a number from 0 to 3, {a,b} one of the words). Devices: 0, 1, …, cpu, disk. The more specific "
                               "rule wins: first:4=0 with experts-on-cpu keeps blocks 0-3 on GPU 0 but their experts on the CPU.");
    m_input->setToolTip(grammar);
    const QStringList descriptions = {
        tr("The experts of every mixture-of-experts block on the CPU; attention, router and norms stay on the GPUs "
           "(what llama.cpp's --n-cpu-moe and ktransformers do)"),
        tr("The input embeddings on the CPU"),
    };
    for (int i = 0; i < m_input->count() && i < descriptions.size(); ++i)
        m_input->setItemData(i, descriptions[i], Qt::ToolTipRole);
    m_grammar->setText(tr("SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being experts, experts:N, embeddings, first:N, class:CLASS or name:PATTERN"));
    m_grammar->setToolTip(grammar);
    m_error->hide();
    rebuild();
}

void PolicyPanel::rebuild()
{
    const int row = m_list->currentRow();
    m_list->clear();
    const auto &policies = m_document->policies();
    const planner::Plan *plan = m_document->plan();
    for (std::size_t i = 0; i < policies.size(); ++i) {
        const QString text = QString::fromStdString(planner::toString(policies[i]));
        QString line = ltr(text);
        // What it did in the plan on screen (when that plan was made with it).
        if (plan && plan->policies.size() == policies.size() && plan->policies[i].policy == text.toStdString()) {
            const auto &effect = plan->policies[i];
            const int count = static_cast<int>(effect.names.size());
            const QString device = m_document->deviceLabel(policies[i].device);
            const QString bytes = formatBytes(static_cast<std::int64_t>(effect.bytes));
            line += QLatin1Char('\n') + (policies[i].forbid ? tr("%Ln entries kept off %1 (%2)", nullptr, count).arg(device, bytes)
                                                            : tr("%Ln entries on %1 (%2)", nullptr, count).arg(device, bytes));
            if (!effect.splitBlocks.empty())
                line += QLatin1Char('\n') + tr("splits %Ln blocks: the rest of each stays on one device", nullptr,
                                               static_cast<int>(effect.splitBlocks.size()));
        }
        auto *item = new QListWidgetItem(line, m_list);
        item->setData(Qt::UserRole, text);
        if (plan && plan->policies.size() == policies.size() && plan->policies[i].policy == text.toStdString()) {
            QStringList names;
            for (const auto &n : plan->policies[i].names) {
                if (names.size() == 12) {
                    names << QStringLiteral("…");
                    break;
                }
                names << ltr(QString::fromStdString(n));
            }
            item->setToolTip(names.join(QLatin1Char('\n')));
        }
    }
    if (row >= 0 && row < m_list->count())
        m_list->setCurrentRow(row);
    updateButtons();
}

void PolicyPanel::updateButtons()
{
    m_remove->setEnabled(m_list->currentRow() >= 0);
    m_add->setEnabled(m_document->hasModel() && !m_input->currentText().trimmed().isEmpty());
}

} // namespace mizan::gui
