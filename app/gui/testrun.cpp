#include "testrun.h"

#include "document.h"
#include "guiformat.h"

#include "runtime/backend.h"

#include <QDoubleSpinBox>
#include <QEvent>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <mutex>

namespace mizan::gui {

// ---- RunController ------------------------------------------------------------------------------

// What the GUI thread and the run's thread share: the session being run, to cancel it.
struct RunController::Shared {
    std::mutex mutex;
    runtime::Session *session = nullptr;
    bool cancelled = false;
};

RunController::RunController(QObject *parent) : QObject(parent), m_runner(new QObject), m_shared(std::make_shared<Shared>())
{
    m_runner->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_runner, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("mizan-run"));
    m_thread.start();
}

RunController::~RunController()
{
    cancel();
    m_thread.quit();
    m_thread.wait();
}

bool RunController::start(const runtime::RunRequest &request)
{
    if (m_running)
        return false;
    m_running = true;
    {
        const std::lock_guard lock(m_shared->mutex);
        m_shared->cancelled = false;
    }
    auto shared = m_shared;
    // The controller outlives the run: its destructor cancels and waits for this thread, and a
    // queued call to a deleted object is dropped with it.
    RunController *self = this;
    QMetaObject::invokeMethod(m_runner, [self, shared, request] {
        runtime::RunResult result;
        result.promptIds = request.promptIds;
        const runtime::BackendLoad &load = runtime::loadBackend();
        std::unique_ptr<runtime::Session> session;
        if (!load.backend)
            result.error = runtime::RunError{ErrorKind::Io, load.path, "cannot run without the libtorch backend: " + load.error};
        else if (!(session = load.backend->createSession(request)))
            result.error = runtime::RunError{ErrorKind::Io, load.path, "the libtorch backend made no session"};
        if (session) {
            {
                const std::lock_guard lock(shared->mutex);
                shared->session = session.get();
                if (shared->cancelled)
                    session->cancel();
            }
            result = session->run([self](const std::vector<runtime::RunEvent> &batch) {
                QMetaObject::invokeMethod(self, [self, batch] { Q_EMIT self->events(batch); }, Qt::QueuedConnection);
            });
            const std::lock_guard lock(shared->mutex);
            shared->session = nullptr;
        }
        QMetaObject::invokeMethod(self, [self, result] {
            self->m_running = false;
            Q_EMIT self->finished(result);
        }, Qt::QueuedConnection);
    }, Qt::QueuedConnection);
    return true;
}

void RunController::cancel()
{
    const std::lock_guard lock(m_shared->mutex);
    m_shared->cancelled = true;
    if (m_shared->session)
        m_shared->session->cancel();
}

// ---- PipelineRunController ----------------------------------------------------------------------

PipelineRunController::PipelineRunController(QObject *parent) : QObject(parent) {}

PipelineRunController::~PipelineRunController()
{
    cancel();
    m_ranks.clear(); // each waits for its thread
}

bool PipelineRunController::start(const std::vector<runtime::RunRequest> &requests)
{
    if (isRunning() || requests.empty())
        return false;
    while (m_ranks.size() < requests.size()) {
        const int rank = static_cast<int>(m_ranks.size());
        auto controller = std::make_unique<RunController>();
        connect(controller.get(), &RunController::events, this,
                [this, rank](const std::vector<runtime::RunEvent> &batch) { Q_EMIT events(batch, rank); });
        connect(controller.get(), &RunController::finished, this,
                [this, rank](const runtime::RunResult &result) { onRankFinished(rank, result); });
        m_ranks.push_back(std::move(controller));
    }
    m_results.assign(requests.size(), runtime::RunResult{});
    m_pending = static_cast<int>(requests.size());
    m_firstFailed = -1;
    m_failed.clear();
    for (std::size_t r = 0; r < requests.size(); ++r)
        m_ranks[r]->start(requests[r]);
    return true;
}

void PipelineRunController::cancel()
{
    for (auto &rank : m_ranks)
        if (rank->isRunning())
            rank->cancel();
}

void PipelineRunController::onRankFinished(int rank, const runtime::RunResult &result)
{
    if (rank < 0 || rank >= static_cast<int>(m_results.size()) || m_pending <= 0)
        return;
    m_results[static_cast<std::size_t>(rank)] = result;
    if (result.error) {
        // The others stop at their next step instead of waiting for this rank until the timeout.
        if (m_failed.empty())
            cancel();
        m_failed.push_back(rank);
    }
    if (--m_pending > 0)
        return;
    // A rank that lost another (StageReport::lostRank) failed because of it.
    for (const int r : m_failed)
        if (m_results[static_cast<std::size_t>(r)].stage.lostRank < 0) {
            m_firstFailed = r;
            break;
        }
    if (m_firstFailed < 0 && !m_failed.empty())
        m_firstFailed = m_failed.front();
    Q_EMIT finished(m_results);
}

// ---- lanes --------------------------------------------------------------------------------------

std::vector<LaneSetup> runLanes(const std::vector<runtime::RunDevice> &devices, const planner::DeviceMap &map,
                                const std::vector<std::pair<planner::Device, std::int64_t>> &plannedBytes,
                                const std::vector<double> &keyBytes, const std::function<qint64(const planner::Device &)> &capacityOf,
                                const std::function<QString(const planner::Device &)> &shortLabel, int group)
{
    std::vector<planner::Device> order;
    for (const auto &rd : devices)
        order.push_back(rd.device);
    std::sort(order.begin(), order.end());
    order.push_back(planner::Device::cpu());
    bool disk = false;
    for (const auto &[key, d] : map)
        disk = disk || d.kind == planner::DeviceKind::Disk;
    if (disk)
        order.push_back(planner::Device::disk());

    const bool sized = keyBytes.size() == map.size();
    std::vector<LaneSetup> lanes;
    for (const planner::Device &d : order) {
        LaneSetup lane;
        lane.device = d;
        lane.group = group;
        // Empty: the view names the device itself (in the current language, with a "simulated"
        // badge); a real GPU gets its card's name.
        for (const auto &rd : devices)
            if (rd.device == d) {
                lane.simulated = rd.simulated;
                lane.capacityBytes = rd.simulated ? rd.capacityBytes : -1;
                if (!rd.simulated && !rd.label.empty())
                    lane.label = TestRunPanel::tr("%1 · %2").arg(shortLabel(d), QString::fromStdString(rd.label));
            }
        if (lane.capacityBytes < 0 && d.kind != planner::DeviceKind::Disk)
            lane.capacityBytes = capacityOf(d);
        for (const auto &[device, bytes] : plannedBytes)
            if (device == d)
                lane.plannedBytes = bytes;
        for (std::size_t i = 0; i < map.size(); ++i)
            if (map[i].second == d)
                lane.modules.push_back({QString::fromStdString(map[i].first), sized ? static_cast<qint64>(keyBytes[i]) : 0});
        lanes.push_back(std::move(lane));
    }
    return lanes;
}

// ---- TestRunPanel -------------------------------------------------------------------------------

QString runPhaseText(runtime::RunPhase phase)
{
    switch (phase) {
    case runtime::RunPhase::OpeningCheckpoint: return TestRunPanel::tr("Opening the checkpoint…");
    case runtime::RunPhase::WritingOffloadFolder: return TestRunPanel::tr("Writing the offload folder…");
    case runtime::RunPhase::LoadingWeights: return TestRunPanel::tr("Loading the weights…");
    case runtime::RunPhase::Prefill: return TestRunPanel::tr("Reading the prompt…");
    case runtime::RunPhase::Decoding: return TestRunPanel::tr("Generating…");
    }
    return {};
}

TestRunPanel::TestRunPanel(Document *document, QWidget *parent)
    : QWidget(parent), m_document(document), m_controller(new RunController(this))
{
    setObjectName(QStringLiteral("testRun"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);

    auto *controls = new QHBoxLayout;
    m_promptLabel = new QLabel(this);
    m_prompt = new QLineEdit(this);
    m_prompt->setObjectName(QStringLiteral("promptIds"));
    m_prompt->setText(QStringLiteral("1, 2, 3, 4"));
    m_idsPrompt = m_prompt->text();
    m_prompt->setMinimumWidth(160);
    m_promptLabel->setBuddy(m_prompt);
    m_maxLabel = new QLabel(this);
    m_maxNewTokens = new QSpinBox(this);
    m_maxNewTokens->setObjectName(QStringLiteral("maxNewTokens"));
    m_maxNewTokens->setRange(1, 4096);
    m_maxNewTokens->setValue(16);
    m_maxLabel->setBuddy(m_maxNewTokens);
    m_prefetchLabel = new QLabel(this);
    m_prefetch = new QSpinBox(this);
    m_prefetch->setObjectName(QStringLiteral("prefetch"));
    m_prefetch->setRange(0, 8);
    m_prefetch->setValue(1);
    m_prefetchLabel->setBuddy(m_prefetch);
    m_bandwidthLabel = new QLabel(this);
    m_bandwidth = new QDoubleSpinBox(this);
    m_bandwidth->setObjectName(QStringLiteral("simulatedBandwidth"));
    m_bandwidth->setRange(0, 1000);
    m_bandwidth->setDecimals(1);
    m_bandwidth->setSingleStep(0.5);
    m_bandwidthLabel->setBuddy(m_bandwidth);
    m_runButton = new QPushButton(this);
    m_runButton->setObjectName(QStringLiteral("runButton"));
    m_runButton->setIcon(runIcon());
    m_runButton->setDefault(true);
    m_cancelButton = new QPushButton(this);
    m_cancelButton->setObjectName(QStringLiteral("cancelRunButton"));
    m_cancelButton->setIcon(stopIcon());
    for (QWidget *w : std::initializer_list<QWidget *>{m_promptLabel, m_prompt, m_maxLabel, m_maxNewTokens, m_prefetchLabel,
                                                       m_prefetch, m_bandwidthLabel, m_bandwidth})
        controls->addWidget(w, w == m_prompt ? 1 : 0);
    controls->addSpacing(8);
    controls->addWidget(m_runButton);
    controls->addWidget(m_cancelButton);
    layout->addLayout(controls);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("runStatus"));
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::PlainText);
    layout->addWidget(m_status);

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_live = new LiveView(m_splitter);
    m_outputBox = new QGroupBox(m_splitter);
    auto *outLayout = new QVBoxLayout(m_outputBox);
    m_output = new QPlainTextEdit(m_outputBox);
    m_output->setObjectName(QStringLiteral("runOutput"));
    m_output->setReadOnly(true);
    m_output->setLayoutDirection(Qt::LeftToRight); // token ids read left to right in Arabic too
    m_stats = new QLabel(m_outputBox);
    m_stats->setObjectName(QStringLiteral("runStats"));
    m_stats->setWordWrap(true);
    outLayout->addWidget(m_output, 1);
    m_tokens = std::make_unique<TokenOutput>(m_output);
    outLayout->addWidget(m_stats);
    m_splitter->addWidget(m_live);
    m_splitter->addWidget(m_outputBox);
    m_splitter->setStretchFactor(0, 4);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({900, 260});
    layout->addWidget(m_splitter, 1);

    connect(m_runButton, &QPushButton::clicked, this, &TestRunPanel::run);
    connect(m_cancelButton, &QPushButton::clicked, this, &TestRunPanel::cancel);
    connect(m_prompt, &QLineEdit::returnPressed, this, &TestRunPanel::run);
    connect(m_controller, &RunController::events, this, &TestRunPanel::onEvents);
    connect(m_controller, &RunController::finished, this, &TestRunPanel::onFinished);
    connect(m_document, &Document::mapChanged, this, &TestRunPanel::updateState);
    connect(m_document, &Document::busyChanged, this, &TestRunPanel::updateState);
    connect(m_document, &Document::opened, this, &TestRunPanel::onOpened);
    // Another checkpoint replaces the one running: the run stops.
    connect(m_document, &Document::openStarted, this, &TestRunPanel::cancel);
    retranslate();
}

void TestRunPanel::retranslate()
{
    const OpenedModel *model = m_document->model();
    if (m_textMode) {
        m_promptLabel->setText(tr("&Prompt:"));
        m_prompt->setToolTip(tr("The prompt, encoded with the model's tokenizer (%1)")
                                 .arg(model && model->tokenizer ? QString::fromStdString(model->tokenizer->describe()) : QString()));
    } else {
        m_promptLabel->setText(tr("&Prompt (token ids):"));
        m_prompt->setToolTip(model && !model->tokenizerProblem.isEmpty()
                                 ? tr("The prompt's token ids, separated by commas or spaces. The tokenizer could not be read: %1")
                                       .arg(model->tokenizerProblem)
                                 : tr("The prompt's token ids, separated by commas or spaces"));
    }
    m_maxLabel->setText(tr("&Max new tokens:"));
    m_prefetchLabel->setText(tr("Pre&fetch:"));
    m_prefetch->setToolTip(tr("Offloaded blocks brought in ahead while the current one computes (0: none)"));
    m_bandwidthLabel->setText(tr("Simulated &link:"));
    m_bandwidth->setSuffix(tr(" GB/s"));
    m_bandwidth->setSpecialValueText(tr("unlimited"));
    m_bandwidth->setToolTip(tr("Host-to-GPU bandwidth of the simulated GPUs, to preview a PCIe-limited offload"));
    m_runButton->setText(tr("&Run"));
    m_runButton->setToolTip(tr("Run the plan on screen: generate tokens with the weights placed as planned"));
    m_cancelButton->setText(tr("Cancel"));
    m_outputBox->setTitle(m_textMode ? tr("Generated text") : tr("Generated token ids"));
    updateStats();
    updateState();
}

void TestRunPanel::setPromptIds(const QString &text) { m_prompt->setText(text); }
bool TestRunPanel::usesTokenizer() const { return m_textMode; }

void TestRunPanel::onOpened()
{
    const OpenedModel *model = m_document->model();
    const bool textMode = model && model->tokenizer;
    if (textMode != m_textMode) {
        (m_textMode ? m_textPrompt : m_idsPrompt) = m_prompt->text();
        m_textMode = textMode;
        // The default prompt is input for the model (whose language is the checkpoint's), not
        // interface text: it is not translated.
        if (m_textMode && m_textPrompt.isEmpty())
            m_textPrompt = QStringLiteral("The meaning of life is");
        m_prompt->setText(m_textMode ? m_textPrompt : m_idsPrompt);
        m_tokens->start(nullptr);
    }
    retranslate();
}
void TestRunPanel::setMaxNewTokens(int tokens) { m_maxNewTokens->setValue(tokens); }
void TestRunPanel::setPrefetch(int steps) { m_prefetch->setValue(steps); }
void TestRunPanel::setSimulatedBandwidth(double bytesPerSecond) { m_bandwidth->setValue(bytesPerSecond / 1e9); }

int TestRunPanel::maxNewTokens() const { return m_maxNewTokens->value(); }

QString TestRunPanel::outputText() const { return m_output->toPlainText(); }
QString TestRunPanel::statusText() const { return m_statusText; }

bool TestRunPanel::parsePromptIds(const QString &text, std::vector<std::int64_t> &ids, QString &error)
{
    ids.clear();
    static const QRegularExpression separators(QStringLiteral("[,\\s،]+"));
    const QStringList parts = text.split(separators, Qt::SkipEmptyParts);
    for (const QString &part : parts) {
        bool ok = false;
        // Digits as typed in either language (Arabic-Indic digits too).
        qlonglong v = QLocale::c().toLongLong(part, &ok);
        if (!ok)
            v = QLocale(QLocale::Arabic).toLongLong(part, &ok);
        if (!ok || v < 0) {
            error = tr("\"%1\" is not a token id (a whole number, 0 or more).").arg(part);
            return false;
        }
        ids.push_back(v);
    }
    if (ids.empty()) {
        error = tr("Type the prompt's token ids, e.g. 1, 2, 3.");
        return false;
    }
    return true;
}

bool TestRunPanel::promptIds(const QString &text, const loader::Tokenizer *tokenizer, std::int64_t vocab, std::vector<std::int64_t> &ids,
                             QString &error)
{
    if (!tokenizer)
        return parsePromptIds(text, ids, error);
    if (text.isEmpty()) {
        error = tr("Write a prompt first.");
        return false;
    }
    ids = tokenizer->encode(text.toStdString(), true).ids;
    for (const auto id : ids)
        if (vocab > 0 && id >= vocab) {
            error = tr("The tokenizer does not fit this model: it gives token %1, beyond the model's %2 embeddings.").arg(id).arg(vocab);
            return false;
        }
    if (ids.empty()) {
        error = tr("The prompt encodes to no tokens.");
        return false;
    }
    return true;
}

void showStatus(QLabel *label, const QString &text, bool error)
{
    label->setText(text);
    QPalette p = label->parentWidget() ? label->parentWidget()->palette() : label->palette();
    if (error)
        p.setColor(QPalette::WindowText, QColor(0xb0, 0x20, 0x20));
    label->setPalette(p);
}

void TokenOutput::start(std::shared_ptr<const loader::Tokenizer> tokenizer)
{
    m_tokenizer = std::move(tokenizer);
    m_stream = m_tokenizer ? std::make_unique<loader::TextStream>(*m_tokenizer) : nullptr;
    m_ids.clear();
    m_pending.clear();
    m_box->clear();
}

void TokenOutput::add(std::int64_t token)
{
    m_ids.push_back(token);
    if (m_stream)
        m_pending += QString::fromStdString(m_stream->push(token));
    else
        m_pending += (m_ids.size() > 1 ? QStringLiteral(" ") : QString()) + QString::number(token);
}

bool TokenOutput::flush()
{
    if (m_pending.isEmpty())
        return false;
    m_box->moveCursor(QTextCursor::End);
    m_box->insertPlainText(m_pending);
    m_box->verticalScrollBar()->setValue(m_box->verticalScrollBar()->maximum());
    m_pending.clear();
    return true;
}

void TokenOutput::finish()
{
    if (m_stream) {
        m_pending += QString::fromStdString(m_stream->finish());
        m_stream.reset();
    }
    flush();
}

void TestRunPanel::setStatus(const QString &text, bool error)
{
    m_statusText = text;
    m_statusError = error;
    showStatus(m_status, text, error);
}

void TestRunPanel::updateState()
{
    const bool running = m_controller->isRunning();
    const QString problem = m_document->testRunProblem();
    m_runButton->setEnabled(!running && problem.isEmpty());
    m_cancelButton->setEnabled(running && !m_cancelRequested);
    m_runButton->setToolTip(problem.isEmpty() ? tr("Run the plan on screen: generate tokens with the weights placed as planned")
                                              : problem);
    if (!running && !m_statusError) {
        // Why Run is disabled, or what the last run did (kept until something changes).
        if (!problem.isEmpty())
            setStatus(problem, false);
        else if (m_tokens->ids().empty() && m_statusText.isEmpty())
            setStatus(tr("Ready: Run generates with the weights placed as planned."), false);
    }
}

std::vector<LaneSetup> TestRunPanel::lanesFor(const runtime::RunRequest &request) const
{
    const auto &map = m_document->deviceMap();
    const auto &keyBytes = m_document->keyBytes();
    const bool sameMap = map == request.map && keyBytes.size() == map.size();
    return runLanes(
        request.devices, request.map, request.plannedBytes, sameMap ? keyBytes : std::vector<double>{},
        [this](const planner::Device &d) {
            for (const auto &s : m_document->devices())
                if (s.device == d)
                    return static_cast<qint64>(s.limitBytes);
            return qint64(-1);
        },
        [this](const planner::Device &d) { return m_document->shortDeviceLabel(d); });
}

bool TestRunPanel::run()
{
    if (m_controller->isRunning())
        return false;
    const QString problem = m_document->testRunProblem();
    if (!problem.isEmpty()) {
        setStatus(problem, true);
        return false;
    }
    runtime::RunRequest request = m_document->testRunRequest();
    const OpenedModel *model = m_document->model();
    const std::shared_ptr<const loader::Tokenizer> tokenizer = m_textMode && model ? model->tokenizer : nullptr;
    QString error;
    if (!promptIds(m_prompt->text(), tokenizer.get(), model ? model->source.model.dims.vocabSize : 0, request.promptIds, error)) {
        setStatus(error, true);
        m_prompt->setFocus();
        return false;
    }
    if (tokenizer)
        request.stopIds = model->stopIds;
    request.maxNewTokens = m_maxNewTokens->value();
    request.prefetch = m_prefetch->value();
    request.simulatedBandwidth = m_bandwidth->value() * 1e9;

    m_tokens->start(tokenizer);
    m_prefillSeconds = -1;
    m_decodeSeconds = 0;
    m_cancelRequested = false;
    m_statusError = false;
    m_document->setTestRunError(std::nullopt);
    m_live->setLanes(lanesFor(request));
    m_phase = tr("Starting…");
    setStatus(m_phase, false);
    updateStats();
    m_controller->start(request);
    updateState();
    Q_EMIT runStarted();
    return true;
}

void TestRunPanel::cancel()
{
    if (!m_controller->isRunning())
        return;
    m_cancelRequested = true;
    m_controller->cancel();
    setStatus(tr("Cancelling…"), false);
    updateState();
}

void TestRunPanel::onEvents(const std::vector<runtime::RunEvent> &batch)
{
    m_live->addEvents(batch);
    int lastIndex = -1;
    for (const auto &e : batch) {
        if (e.kind == runtime::RunEventKind::Token) {
            m_tokens->add(e.token);
            if (e.index == 0)
                m_prefillSeconds = e.seconds;
            else
                m_decodeSeconds += e.seconds;
            lastIndex = e.index;
        } else if (e.kind == runtime::RunEventKind::Progress && !m_cancelRequested) {
            m_phase = runPhaseText(e.phase);
            setStatus(m_phase, false);
        }
    }
    if (lastIndex >= 0) {
        m_tokens->flush();
        updateStats();
        if (!m_cancelRequested)
            setStatus(tr("%1 %2 of %3 tokens").arg(m_phase, QLocale().toString(static_cast<qlonglong>(m_tokens->ids().size())),
                                                    QLocale().toString(m_maxNewTokens->value())),
                      false);
        Q_EMIT tokenProduced(lastIndex);
    }
}

void TestRunPanel::updateStats()
{
    const QLocale locale;
    QStringList parts;
    if (m_prefillSeconds >= 0)
        parts << tr("Prefill %1 ms").arg(locale.toString(m_prefillSeconds * 1000, 'f', 1));
    const std::size_t generated = m_tokens->ids().size();
    const auto decoded = generated > 1 ? static_cast<double>(generated - 1) : 0.0;
    if (decoded > 0 && m_decodeSeconds > 0) {
        const double perToken = m_decodeSeconds / decoded;
        parts << tr("%1 ms/token").arg(locale.toString(perToken * 1000, 'f', 1))
              << tr("%1 tokens/s").arg(locale.toString(1.0 / perToken, 'f', 1));
    }
    m_stats->setText(parts.isEmpty() ? tr("No tokens yet.") : parts.join(tr(" · ")));
}

void TestRunPanel::onFinished(const runtime::RunResult &result)
{
    m_live->finish(result);
    m_tokens->finish();
    m_cancelRequested = false;
    if (result.error) {
        m_document->setTestRunError(result.error);
        setStatus(tr("The run failed: %1: %2").arg(errorHeadline(result.error->kind), ltr(QString::fromStdString(result.error->message))),
                  true);
    } else if (result.cancelled) {
        setStatus(tr("Cancelled after %Ln token(s).", nullptr, static_cast<int>(m_tokens->ids().size())), false);
    } else {
        const QLocale locale;
        setStatus(tr("Done: %Ln token(s) generated; the weights were in place after %1 s.", nullptr,
                     static_cast<int>(result.generatedIds.size()))
                      .arg(locale.toString(result.loadSeconds, 'f', 2)),
                  false);
    }
    updateStats();
    updateState();
    Q_EMIT runFinished(result);
}

} // namespace mizan::gui
