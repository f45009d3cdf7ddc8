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
    const std::vector<std::int64_t> &generatedIds() const { return m_generated; }
    QString outputText() const;
    QString statusText() const;

    void retranslate();
    // Enables Run / Cancel and says why Run is disabled; call when the document changes.
    void updateState();

    // Token ids from "1, 2, 3" or "1 2 3"; false with `error` set when the text is not that.
    static bool parsePromptIds(const QString &text, std::vector<std::int64_t> &ids, QString &error);

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

    std::vector<std::int64_t> m_generated;
    std::shared_ptr<const loader::Tokenizer> m_tokenizer; // of the run going or last run
    std::unique_ptr<loader::TextStream> m_stream;
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
