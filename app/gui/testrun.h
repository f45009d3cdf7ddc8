#pragma once

// Test inference from the window: the plan on screen (edits included) run by the libtorch backend
// (runtime/session.h) on a thread of its own, its tokens streamed into an output box and its
// events drawn live (LiveView). The GUI thread only receives batches of events, never waits.

#include "liveview.h"

#include "loader/tokenizer.h"
#include "runtime/session.h"

#include <QObject>
#include <QThread>
#include <QWidget>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QSplitter;

namespace mizan::gui {

class Document;

// The generated tokens of a run in a read-only text box: decoded with the run's tokenizer when it
// has one, else the ids separated by spaces. Tokens are gathered per batch (add) and written at
// once (flush), the box scrolled to its end.
class TokenOutput {
public:
    explicit TokenOutput(QPlainTextEdit *box) : m_box(box) {}
    void start(std::shared_ptr<const loader::Tokenizer> tokenizer); // a new run: clears the box and the ids
    void add(std::int64_t token);
    bool flush();  // writes what add() gathered; false when nothing was
    void finish(); // the run ended: the rest of the decoded text
    const std::vector<std::int64_t> &ids() const { return m_ids; }

private:
    QPlainTextEdit *m_box;
    std::shared_ptr<const loader::Tokenizer> m_tokenizer; // of the run going or last run
    std::unique_ptr<loader::TextStream> m_stream;
    std::vector<std::int64_t> m_ids;
    QString m_pending;
};

// A status line: `text` in the label, in red when it is an error.
void showStatus(QLabel *label, const QString &text, bool error);

// Runs one session at a time on its own thread: opening the backend (loading libtorch takes most
// of a second the first time) and the run itself happen there; event batches and the result come
// back queued to the GUI thread, where `events` and `finished` are emitted.
class RunController : public QObject {
    Q_OBJECT
public:
    explicit RunController(QObject *parent = nullptr);
    // Cancels a running session and waits for its thread (the run stops within one block's time).
    ~RunController() override;

    bool isRunning() const { return m_running; }
    // Starts running `request`; false when a run is already going.
    bool start(const runtime::RunRequest &request);
    // From the GUI thread: the run stops before its next block; `finished` follows, cancelled.
    void cancel();

Q_SIGNALS:
    void events(const std::vector<mizan::runtime::RunEvent> &batch);
    void finished(const mizan::runtime::RunResult &result);

private:
    struct Shared;
    QThread m_thread;
    QObject *m_runner = nullptr; // lives on m_thread
    std::shared_ptr<Shared> m_shared;
    bool m_running = false;
};

// Runs the ranks of a pipeline in this process (a cluster plan on local ranks): one RunController,
// so one thread and one session, per rank; each rank's session joins the others over c10d on
// 127.0.0.1 as separate processes would. `events` carries a batch and its rank; `finished` comes
// once, after every rank has ended, with their results in rank order.
class PipelineRunController : public QObject {
    Q_OBJECT
public:
    explicit PipelineRunController(QObject *parent = nullptr);
    ~PipelineRunController() override; // cancels every rank and waits for their threads

    bool isRunning() const { return m_pending > 0; }
    // Starts one rank per request (request r: rank r of the pipeline); false when a run is going.
    bool start(const std::vector<runtime::RunRequest> &requests);
    // Every rank stops before its next step; `finished` follows.
    void cancel();
    // The rank whose failure is the last run's, or -1: the first to fail of its own (a rank that
    // fails reports it to the others, which then fail having lost it, maybe before its own result
    // comes back), else the first to fail.
    int firstFailedRank() const { return m_firstFailed; }

Q_SIGNALS:
    void events(const std::vector<mizan::runtime::RunEvent> &batch, int rank);
    void finished(const std::vector<mizan::runtime::RunResult> &results);

private:
    void onRankFinished(int rank, const runtime::RunResult &result);

    std::vector<std::unique_ptr<RunController>> m_ranks;
    std::vector<runtime::RunResult> m_results;
    int m_pending = 0;
    int m_firstFailed = -1;
    std::vector<int> m_failed; // ranks whose run failed, in the order their results came
};

// The lanes of the live view for one machine's part of a run: the GPUs of `devices` in index
// order, the CPU, and the disk when `map` uses it; each with the keys of `map` placed on it, in map
// order (`keyBytes[i]`: the bytes of map[i], or empty when unknown), the bytes planned on it, and
// its capacity (a simulated GPU's arena, else `capacityOf`, -1 unknown). `deviceLabel` names a
// real GPU's lane with its card. All in `group` (-1: none).
std::vector<LaneSetup> runLanes(const std::vector<runtime::RunDevice> &devices, const planner::DeviceMap &map,
                                const std::vector<std::pair<planner::Device, std::int64_t>> &plannedBytes,
                                const std::vector<double> &keyBytes, const std::function<qint64(const planner::Device &)> &capacityOf,
                                const std::function<QString(const planner::Device &)> &shortLabel, int group = -1);

// Where a run is (a Progress event's phase), in the current language.
QString runPhaseText(runtime::RunPhase phase);

// The "Test inference" page: prompt, generation settings, Run / Cancel, the live view, the
// generated tokens with their timings.
class TestRunPanel : public QWidget {
    Q_OBJECT
public:
    explicit TestRunPanel(Document *document, QWidget *parent = nullptr);

    // Runs the plan on screen with the panel's settings. False, with the reason in the status
    // line, when it cannot start (see Document::testRunProblem, a bad prompt, a run going).
    bool run();
    void cancel();
    bool isRunning() const { return m_controller->isRunning(); }

    // The lanes of the live view for a run of `request`: the map's GPUs in index order, the CPU,
    // and the disk when the map uses it; each with the map keys placed on it, in map order.
    std::vector<LaneSetup> lanesFor(const runtime::RunRequest &request) const;

    // The prompt box: text when the opened checkpoint has a tokenizer (encoded with it, the
    // output decoded to text, generation ending at its end-of-sequence token), else token ids.
    void setPromptIds(const QString &text);
    void setPromptText(const QString &text) { setPromptIds(text); }
    bool usesTokenizer() const;
    void setMaxNewTokens(int tokens);
    void setPrefetch(int steps);
    void setSimulatedBandwidth(double bytesPerSecond); // 0: as fast as memory copies
    int maxNewTokens() const;

    RunController *controller() const { return m_controller; }
    LiveView *liveView() const { return m_live; }
    QPushButton *runButton() const { return m_runButton; }
    QPushButton *cancelButton() const { return m_cancelButton; }
    const std::vector<std::int64_t> &generatedIds() const { return m_tokens->ids(); }
    QString outputText() const;
    QString statusText() const;

    void retranslate();
    // Enables Run / Cancel and says why Run is disabled; call when the document changes.
    void updateState();

    // Token ids from "1, 2, 3" or "1 2 3"; false with `error` set when the text is not that.
    static bool parsePromptIds(const QString &text, std::vector<std::int64_t> &ids, QString &error);
    // The prompt box's ids: `text` encoded with `tokenizer` (checked against the model's `vocab`
    // embeddings), or parsed as token ids without one; false with `error` set.
    static bool promptIds(const QString &text, const loader::Tokenizer *tokenizer, std::int64_t vocab, std::vector<std::int64_t> &ids,
                          QString &error);

Q_SIGNALS:
    void runStarted();
    void tokenProduced(int index);
    void runFinished(const mizan::runtime::RunResult &result);

private:
    void onEvents(const std::vector<runtime::RunEvent> &batch);
    void onFinished(const runtime::RunResult &result);
    void setStatus(const QString &text, bool error);
    void onOpened(); // switches the prompt box between text and token ids
    void updateStats();

    Document *m_document;
    RunController *m_controller;
    QLabel *m_promptLabel, *m_maxLabel, *m_prefetchLabel, *m_bandwidthLabel;
    QLineEdit *m_prompt;
    QSpinBox *m_maxNewTokens;
    QSpinBox *m_prefetch;
    QDoubleSpinBox *m_bandwidth;
    QPushButton *m_runButton, *m_cancelButton;
    QLabel *m_status;
    QSplitter *m_splitter;
    LiveView *m_live;
    QGroupBox *m_outputBox;
    QPlainTextEdit *m_output;
    QLabel *m_stats;

    std::unique_ptr<TokenOutput> m_tokens; // over m_output
    bool m_textMode = false;   // the prompt box holds text (the model has a tokenizer)
    QString m_idsPrompt;       // what each mode's box held, restored when the mode changes
    QString m_textPrompt;
    double m_prefillSeconds = -1;
    double m_decodeSeconds = 0; // sum over the tokens after the first
    QString m_phase;            // the last Progress message, translated
    QString m_statusText;
    bool m_statusError = false;
    bool m_cancelRequested = false;
};

} // namespace mizan::gui
