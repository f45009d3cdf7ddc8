#include "clusterdialog.h"

#include "document.h"
#include "guiformat.h"
#include "liveview.h"
#include "testrun.h"

#include "loader/tokenizer.h"
#include "planner/jsonfile.h"
#include "planner/planfile.h"
#include "planner/usage.h"

#include <QDialogButtonBox>
#include <QEvent>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
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

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("clusterTabs"));
    m_planPage = new QWidget(m_tabs);
    auto *planLayout = new QVBoxLayout(m_planPage);
    planLayout->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea(m_planPage);
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
    planLayout->addWidget(scroll);
    m_tabs->addTab(m_planPage, QString());

    // Running it here, one local rank per host.
    m_controller = new PipelineRunController(this);
    m_runPage = new QWidget(m_tabs);
    m_runPage->setObjectName(QStringLiteral("clusterRun"));
    auto *runLayout = new QVBoxLayout(m_runPage);
    runLayout->setContentsMargins(4, 4, 4, 4);
    auto *controls = new QHBoxLayout;
    m_promptLabel = new QLabel(m_runPage);
    m_prompt = new QLineEdit(m_runPage);
    m_prompt->setObjectName(QStringLiteral("clusterPrompt"));
    m_prompt->setMinimumWidth(160);
    m_promptLabel->setBuddy(m_prompt);
    m_maxLabel = new QLabel(m_runPage);
    m_maxNewTokens = new QSpinBox(m_runPage);
    m_maxNewTokens->setObjectName(QStringLiteral("clusterMaxNewTokens"));
    m_maxNewTokens->setRange(1, 4096);
    m_maxNewTokens->setValue(16);
    m_maxLabel->setBuddy(m_maxNewTokens);
    m_runButton = new QPushButton(m_runPage);
    m_runButton->setObjectName(QStringLiteral("clusterRunButton"));
    m_runButton->setIcon(runIcon());
    m_cancelButton = new QPushButton(m_runPage);
    m_cancelButton->setObjectName(QStringLiteral("clusterCancelButton"));
    m_cancelButton->setIcon(stopIcon());
    controls->addWidget(m_promptLabel);
    controls->addWidget(m_prompt, 1);
    controls->addWidget(m_maxLabel);
    controls->addWidget(m_maxNewTokens);
    controls->addSpacing(8);
    controls->addWidget(m_runButton);
    controls->addWidget(m_cancelButton);
    runLayout->addLayout(controls);
    m_status = new QLabel(m_runPage);
    m_status->setObjectName(QStringLiteral("clusterRunStatus"));
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::PlainText);
    runLayout->addWidget(m_status);
    auto *splitter = new QSplitter(Qt::Horizontal, m_runPage);
    m_live = new LiveView(splitter);
    m_outputBox = new QGroupBox(splitter);
    auto *outLayout = new QVBoxLayout(m_outputBox);
    m_output = new QPlainTextEdit(m_outputBox);
    m_output->setObjectName(QStringLiteral("clusterRunOutput"));
    m_output->setReadOnly(true);
    m_output->setLayoutDirection(Qt::LeftToRight); // token ids read left to right in Arabic too
    outLayout->addWidget(m_output);
    m_tokens = std::make_unique<TokenOutput>(m_output);
    splitter->addWidget(m_live);
    splitter->addWidget(m_outputBox);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({800, 220});
    runLayout->addWidget(splitter, 1);
    m_tabs->addTab(m_runPage, QString());
    layout->addWidget(m_tabs, 1);

    connect(m_runButton, &QPushButton::clicked, this, &ClusterDialog::run);
    connect(m_cancelButton, &QPushButton::clicked, this, &ClusterDialog::cancel);
    connect(m_prompt, &QLineEdit::returnPressed, this, &ClusterDialog::run);
    connect(m_controller, &PipelineRunController::events, this, &ClusterDialog::onEvents);
    connect(m_controller, &PipelineRunController::finished, this, &ClusterDialog::onFinished);
    connect(m_document, &Document::opened, this, &ClusterDialog::updateRunState);
    connect(m_document, &Document::openStarted, this, &ClusterDialog::cancel);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_close = buttons->button(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(1100, 860);
    fill();
}

ClusterDialog::~ClusterDialog() = default;

const std::vector<std::int64_t> &ClusterDialog::generatedIds() const { return m_tokens->ids(); }

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

QString ClusterDialog::hostTitle(int i) const
{
    const QLocale locale;
    const int count = static_cast<int>(m_plan.stages.size());
    const auto &st = m_plan.stages[static_cast<std::size_t>(i)];
    QString parts = st.endBlock - st.firstBlock == 1
                        ? tr("block %1").arg(locale.toString(st.firstBlock))
                        : tr("blocks %1–%2").arg(locale.toString(st.firstBlock), locale.toString(st.endBlock - 1));
    if (st.embeddings)
        parts = tr("embeddings, %1").arg(parts);
    if (st.head)
        parts = tr("%1, final norm and head").arg(parts);
    const QString host = ltr(QString::fromStdString(st.host));
    return st.address.empty()
               ? tr("Host %1 — stage %2 of %3: %4").arg(host, locale.toString(i + 1), locale.toString(count), parts)
               : tr("Host %1 (%2) — stage %3 of %4: %5")
                     .arg(host, ltr(QString::fromStdString(st.address)), locale.toString(i + 1), locale.toString(count), parts);
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
        m_groups[i]->setTitle(hostTitle(i));
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

    m_tabs->setTabText(m_tabs->indexOf(m_planPage), tr("Hosts"));
    m_tabs->setTabText(m_tabs->indexOf(m_runPage), tr("Run on local ranks"));
    m_maxLabel->setText(tr("&Max new tokens:"));
    m_runButton->setText(tr("&Run"));
    m_cancelButton->setText(tr("Cancel"));
    m_close->setText(tr("Close"));
    m_live->setGroups(laneGroups());
    updateRunState();
}

// ---- running on local ranks ---------------------------------------------------------------------

bool ClusterDialog::usesTokenizer() const
{
    return m_textMode;
}

QString ClusterDialog::outputText() const
{
    return m_output->toPlainText();
}

bool ClusterDialog::isRunning() const
{
    return m_controller->isRunning();
}

void ClusterDialog::showRunPage()
{
    m_tabs->setCurrentWidget(m_runPage);
}

void ClusterDialog::setPromptIds(const QString &text)
{
    m_prompt->setText(text);
}

void ClusterDialog::setMaxNewTokens(int tokens)
{
    m_maxNewTokens->setValue(tokens);
}

QString ClusterDialog::runProblem() const
{
    const OpenedModel *model = m_document->model();
    const QString wanted = ltr(QString::fromStdString(m_plan.checkpoint.path));
    if (!model || !model->source.checkpoint.hasWeights())
        return tr("Open the checkpoint this plan was made for (%1), with its weights, to run it here.").arg(wanted);
    // The planner's identity check, as mizan-cli run --plan makes it.
    planner::PlanFile made;
    made.checkpoint = m_plan.checkpoint;
    try {
        planner::checkPlanIdentity(made, QFileInfo(m_file).fileName().toStdString(),
                                   planner::identityOf(model->source.model.tree, model->path.toStdString()));
    } catch (const std::exception &e) {
        return tr("The open checkpoint is not the one this plan was made for: %1").arg(describeError(e));
    }
    if (m_plan.stages.size() < 2)
        return tr("This plan has a single host: run it from the Test inference page.");
    return {};
}

std::vector<runtime::RunRequest> ClusterDialog::runRequests(const std::vector<std::int64_t> &promptIds, int maxNewTokens) const
{
    std::vector<runtime::RunRequest> requests;
    const OpenedModel *model = m_document->model();
    if (!model || !runProblem().isEmpty())
        return requests;
    const int world = static_cast<int>(m_plan.stages.size());
    const planner::DeviceMap map = m_plan.localDeviceMap(); // every stage's; each rank keeps its own keys
    const std::vector<int> blocks = m_plan.blocksPerStage();
    const int port = runtime::freePort();
    std::vector<runtime::GpuInfo> gpus;
    if (const runtime::DeviceReport *machine = m_document->machine())
        gpus = machine->gpus;
    for (int r = 0; r < world; ++r) {
        const auto &stage = m_plan.stages[static_cast<std::size_t>(r)];
        runtime::RunRequest request;
        request.checkpointPath = model->path.toStdString();
        runtime::setPlan(request, map, stage.plan.usage, stage.plan.options.dtype);
        // This host's devices: those of its own stage, as its budgets and plan describe them.
        request.devices = runtime::runDevicesFor(stage.plan.deviceMap, gpus, stage.plan.devices, stage.plan.options.maxMemory);
        request.promptIds = promptIds;
        request.maxNewTokens = maxNewTokens;
        if (m_textMode)
            request.stopIds = model->stopIds;
        request.pipeline.rank = r;
        request.pipeline.world = world;
        request.pipeline.masterAddress = "127.0.0.1";
        request.pipeline.masterPort = port;
        request.pipeline.timeoutSeconds = 30;
        request.pipeline.blocksPerStage = blocks;
        requests.push_back(std::move(request));
    }
    return requests;
}

std::vector<LaneGroup> ClusterDialog::laneGroups() const
{
    std::vector<LaneGroup> groups;
    for (int i = 0; i < static_cast<int>(m_plan.stages.size()); ++i)
        groups.push_back({ltr(QString::fromStdString(m_plan.stages[static_cast<std::size_t>(i)].host)), hostTitle(i)});
    return groups;
}

std::vector<LaneSetup> ClusterDialog::runLanes() const
{
    std::vector<LaneSetup> lanes;
    const OpenedModel *model = m_document->model();
    std::vector<runtime::GpuInfo> gpus;
    if (const runtime::DeviceReport *machine = m_document->machine())
        gpus = machine->gpus;
    for (int r = 0; r < static_cast<int>(m_plan.stages.size()); ++r) {
        const auto &stage = m_plan.stages[static_cast<std::size_t>(r)];
        const auto devices = runtime::runDevicesFor(stage.plan.deviceMap, gpus, stage.plan.devices, stage.plan.options.maxMemory);
        std::vector<std::pair<planner::Device, std::int64_t>> planned;
        for (const auto &u : stage.plan.usage)
            planned.emplace_back(u.device, static_cast<std::int64_t>(std::llround(u.plannedBytes)));
        std::vector<double> keyBytes;
        if (model)
            planner::usageOf(model->source.model.tree, stage.plan.deviceMap, stage.plan.options, &keyBytes);
        auto host = gui::runLanes(
            devices, stage.plan.deviceMap, planned, keyBytes,
            [&stage](const planner::Device &d) {
                for (const auto &u : stage.plan.usage)
                    if (u.device == d && u.budgetBytes > 0)
                        return static_cast<qint64>(u.budgetBytes);
                return qint64(-1);
            },
            [this](const planner::Device &d) { return m_document->shortDeviceLabel(d); }, r);
        for (auto &lane : host)
            lanes.push_back(std::move(lane));
    }
    return lanes;
}

void ClusterDialog::setStatus(const QString &text, bool error)
{
    m_statusText = text;
    m_statusError = error;
    showStatus(m_status, text, error);
}

void ClusterDialog::updateRunState()
{
    const bool running = m_controller->isRunning();
    if (!running) {
        // Text when the checkpoint has a tokenizer, else token ids.
        const OpenedModel *model = m_document->model();
        const bool textMode = model && model->tokenizer;
        if (textMode != m_textMode || m_prompt->text().isEmpty()) {
            m_textMode = textMode;
            // Input for the model, not interface text: not translated.
            m_prompt->setText(m_textMode ? QStringLiteral("The meaning of life is") : QStringLiteral("1, 2, 3, 4"));
        }
    }
    m_promptLabel->setText(m_textMode ? tr("&Prompt:") : tr("&Prompt (token ids):"));
    m_outputBox->setTitle(m_textMode ? tr("Generated text") : tr("Generated token ids"));
    const QString problem = runProblem();
    m_runButton->setEnabled(!running && problem.isEmpty());
    m_cancelButton->setEnabled(running && !m_cancelRequested);
    m_runButton->setToolTip(problem.isEmpty() ? tr("Run every host's stage here, one local rank per host, joined over 127.0.0.1") : problem);
    if (!running && !m_statusError) {
        if (!problem.isEmpty())
            setStatus(problem, false);
        else if (m_tokens->ids().empty())
            setStatus(tr("Ready: Run starts %Ln local rank(s), one per host, each with its host's stage and devices.", nullptr,
                         static_cast<int>(m_plan.stages.size())),
                      false);
    }
}

bool ClusterDialog::run()
{
    if (m_controller->isRunning())
        return false;
    const QString problem = runProblem();
    if (!problem.isEmpty()) {
        setStatus(problem, true);
        return false;
    }
    const OpenedModel *model = m_document->model();
    std::vector<std::int64_t> promptIds;
    const std::shared_ptr<const loader::Tokenizer> tokenizer = m_textMode ? model->tokenizer : nullptr;
    QString error;
    if (!TestRunPanel::promptIds(m_prompt->text(), tokenizer.get(), model->source.model.dims.vocabSize, promptIds, error)) {
        setStatus(error, true);
        return false;
    }
    std::vector<runtime::RunRequest> requests;
    try {
        requests = runRequests(promptIds, m_maxNewTokens->value());
    } catch (const std::exception &e) {
        setStatus(describeError(e), true);
        return false;
    }
    m_tokens->start(tokenizer);
    m_cancelRequested = false;
    m_statusError = false;
    m_live->setLanes(runLanes(), laneGroups());
    m_phase = TestRunPanel::tr("Starting…");
    setStatus(m_phase, false);
    m_controller->start(requests);
    updateRunState();
    return true;
}

void ClusterDialog::cancel()
{
    if (!m_controller->isRunning())
        return;
    m_cancelRequested = true;
    m_controller->cancel();
    setStatus(TestRunPanel::tr("Cancelling…"), false);
    updateRunState();
}

void ClusterDialog::onEvents(const std::vector<runtime::RunEvent> &batch, int rank)
{
    m_live->addEvents(batch, rank);
    // Every rank receives each token: the last one's (it samples them) are shown.
    const int last = static_cast<int>(m_plan.stages.size()) - 1;
    if (rank != last)
        return;
    int lastIndex = -1;
    for (const auto &e : batch) {
        if (e.kind == runtime::RunEventKind::Token) {
            m_tokens->add(e.token);
            lastIndex = e.index;
        } else if (e.kind == runtime::RunEventKind::Progress && !m_cancelRequested) {
            m_phase = runPhaseText(e.phase);
            setStatus(m_phase, false);
        }
    }
    if (lastIndex >= 0) {
        m_tokens->flush();
        if (!m_cancelRequested)
            setStatus(TestRunPanel::tr("%1 %2 of %3 tokens")
                          .arg(m_phase, QLocale().toString(static_cast<qlonglong>(m_tokens->ids().size())), QLocale().toString(m_maxNewTokens->value())),
                      false);
        Q_EMIT tokenProduced(lastIndex);
    }
}

void ClusterDialog::onFinished(const std::vector<runtime::RunResult> &results)
{
    m_live->finish(results);
    m_tokens->finish();
    const bool cancelled = m_cancelRequested;
    m_cancelRequested = false;
    const int failed = m_controller->firstFailedRank();
    if (cancelled) {
        setStatus(TestRunPanel::tr("Cancelled after %Ln token(s).", nullptr, static_cast<int>(m_tokens->ids().size())), false);
    } else if (failed >= 0) {
        const runtime::RunError &error = *results[static_cast<std::size_t>(failed)].error;
        setStatus(tr("The run failed on %1: %2: %3")
                      .arg(ltr(QString::fromStdString(m_plan.stages[static_cast<std::size_t>(failed)].host)), errorHeadline(error.kind),
                           ltr(QString::fromStdString(error.message))),
                  true);
    } else {
        setStatus(tr("Done: %Ln token(s) generated by %1 local ranks, one per host.", nullptr, static_cast<int>(m_tokens->ids().size()))
                      .arg(QLocale().toString(static_cast<int>(results.size()))),
                  false);
    }
    updateRunState();
    Q_EMIT runFinished(results);
}

} // namespace mizan::gui
