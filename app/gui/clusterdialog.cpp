#include "clusterdialog.h"

#include "document.h"
#include "guiformat.h"

#include "planner/jsonfile.h"

#include <QDialogButtonBox>
#include <QEvent>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include <cmath>

namespace mizan::gui {

bool isClusterPlanFile(const QString &file)
{
    try {
        return planner::isClusterPlanJson(planner::readJsonFile(file.toStdString(), InputKind::PlanFile));
    } catch (const std::exception &) {
        return false;
    }
}

ClusterDialog::ClusterDialog(const Document *document, planner::ClusterPlanFile plan, const QString &file, QWidget *parent)
    : QDialog(parent), m_document(document), m_plan(std::move(plan)), m_file(file)
{
    setObjectName(QStringLiteral("clusterDialog"));
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);

    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto *hosts = new QWidget(scroll);
    auto *hostsLayout = new QVBoxLayout(hosts);
    for (std::size_t i = 0; i < m_plan.stages.size(); ++i) {
        auto *group = new QGroupBox(hosts);
        group->setObjectName(QStringLiteral("host-%1").arg(QString::fromStdString(m_plan.stages[i].host)));
        auto *groupLayout = new QVBoxLayout(group);
        auto *grid = new QGridLayout;
        grid->setColumnStretch(1, 1);
        groupLayout->addLayout(grid);
        auto *speed = new QLabel(group);
        speed->setWordWrap(true);
        groupLayout->addWidget(speed);
        hostsLayout->addWidget(group);
        m_groups << group;
        m_grids << grid;
        m_speeds << speed;
    }
    hostsLayout->addStretch(1);
    scroll->setWidget(hosts);
    layout->addWidget(scroll, 1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_close = buttons->button(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(760, 560);
    fill();
}

QList<QProgressBar *> ClusterDialog::lanes(int host) const
{
    return m_groups.value(host) ? m_groups.value(host)->findChildren<QProgressBar *>() : QList<QProgressBar *>{};
}

void ClusterDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        fill();
    QDialog::changeEvent(event);
}

void ClusterDialog::fill()
{
    const QLocale locale;
    const int count = static_cast<int>(m_plan.stages.size());
    setWindowTitle(tr("Cluster plan: %1").arg(ltr(QFileInfo(m_file).fileName())));
    int blocks = 0;
    for (const auto &st : m_plan.stages)
        blocks = std::max(blocks, st.endBlock);
    QString summary = tr("%1 on %Ln host(s), %2 decoder blocks cut into one pipeline stage per host.", nullptr, count)
                          .arg(ltr(QString::fromStdString(m_plan.checkpoint.path)), locale.toString(blocks));
    if (m_plan.predictedDecodeSeconds > 0)
        summary += QLatin1Char(' ') + tr("Predicted: about %1 per token, with %2 per token crossing each link between hosts.")
                                          .arg(formatSeconds(m_plan.predictedDecodeSeconds),
                                               formatBytes(m_plan.hiddenBytesPerToken));
    if (!m_plan.profile.empty())
        summary += QLatin1Char(' ') + tr("Hardware profile: %1.").arg(ltr(QString::fromStdString(m_plan.profile)));
    m_summary->setText(summary);

    for (int i = 0; i < count; ++i) {
        const auto &st = m_plan.stages[static_cast<std::size_t>(i)];
        QString parts = st.endBlock - st.firstBlock == 1
                            ? tr("block %1").arg(locale.toString(st.firstBlock))
                            : tr("blocks %1–%2").arg(locale.toString(st.firstBlock), locale.toString(st.endBlock - 1));
        if (st.embeddings)
            parts = tr("embeddings, %1").arg(parts);
        if (st.head)
            parts = tr("%1, final norm and head").arg(parts);
        const QString host = ltr(QString::fromStdString(st.host));
        m_groups[i]->setTitle(st.address.empty()
                                  ? tr("Host %1 — stage %2 of %3: %4").arg(host, locale.toString(i + 1), locale.toString(count), parts)
                                  : tr("Host %1 (%2) — stage %3 of %4: %5")
                                        .arg(host, ltr(QString::fromStdString(st.address)), locale.toString(i + 1), locale.toString(count), parts));
        QGridLayout *grid = m_grids[i];
        while (QLayoutItem *item = grid->takeAt(0)) {
            delete item->widget();
            delete item;
        }
        int row = 0;
        for (const planner::DeviceUsage &u : st.plan.usage) {
            if (u.device.kind == planner::DeviceKind::Disk && u.plannedBytes <= 0)
                continue;
            QString name = m_document->shortDeviceLabel(u.device);
            if (const planner::PlanDevice *known = st.plan.deviceInfo(u.device); known && !known->label.empty())
                name = tr("%1 (%2)").arg(name, ltr(QString::fromStdString(known->label)));
            auto *label = new QLabel(name, m_groups[i]);
            auto *lane = new QProgressBar(m_groups[i]);
            lane->setObjectName(QStringLiteral("lane-%1").arg(QString::fromStdString(u.device.toString())));
            const auto planned = static_cast<std::int64_t>(std::llround(u.plannedBytes));
            lane->setRange(0, 1000);
            const bool bounded = u.budgetBytes > 0;
            lane->setValue(bounded ? static_cast<int>(std::min<double>(1000, 1000.0 * u.plannedBytes / static_cast<double>(u.budgetBytes)))
                                   : (planned > 0 ? 1000 : 0));
            lane->setFormat(bounded ? tr("%1 of %2").arg(formatBytes(planned), formatBytes(u.budgetBytes)) : formatBytes(planned));
            QPalette palette = lane->palette();
            palette.setColor(QPalette::Highlight, m_document->deviceColor(u.device));
            lane->setPalette(palette);
            auto *entries = new QLabel(tr("%Ln entry(s)", nullptr, u.moduleCount), m_groups[i]);
            grid->addWidget(label, row, 0);
            grid->addWidget(lane, row, 1);
            grid->addWidget(entries, row, 2);
            ++row;
        }
        m_speeds[i]->setText(st.predictedDecodeSeconds > 0 ? tr("Predicted for this stage: about %1 per token.").arg(formatSeconds(st.predictedDecodeSeconds))
                                                           : QString());
    }
}

} // namespace mizan::gui
