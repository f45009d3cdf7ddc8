#pragma once

// A cluster plan (`mizan-cli plan --hardware CLUSTER -o FILE`) as hosts: one group per host, in
// pipeline order, titled with its address and stage (which blocks, the embeddings, the head),
// holding a lane per device of that host (planned bytes against its budget, entries) and the
// stage's predicted speed; above them the whole plan's prediction with the hops between hosts.
// Mirrored right-to-left like every view. The window plans one machine: this view reads the file.
//
// When the window's checkpoint is the one the plan was made for (planner::checkPlanIdentity), the
// "Run on local ranks" page runs it here: one rank per host, each a session on a thread of its own
// joining the others over c10d on 127.0.0.1 (PipelineRunController), each with its host's stage,
// devices and budgets as `mizan-cli run --plan FILE --local-ranks N` takes them; the live view
// shows each host's lanes under its header, lit by that rank's events.

#include "planner/cluster.h"
#include "runtime/session.h"

#include <QDialog>

#include <cstdint>
#include <memory>
#include <vector>

class QLabel;
class QGroupBox;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QGridLayout;
class QSpinBox;
class QTabWidget;

namespace mizan::loader {
class Tokenizer;
class TextStream;
}

namespace mizan::gui {

class Document;
class LiveView;
struct LaneGroup;
struct LaneSetup;
class PipelineRunController;
class TokenOutput;

class ClusterDialog : public QDialog {
    Q_OBJECT
public:
    ClusterDialog(const Document *document, planner::ClusterPlanFile plan, const QString &file, QWidget *parent = nullptr);
    ~ClusterDialog() override;

    // For tests: the host groups (pipeline order) and the lanes of one.
    QList<QGroupBox *> hostGroups() const { return m_groups; }
    QList<QProgressBar *> lanes(int host) const;

    // ---- running on local ranks ------------------------------------------------------------------
    // Why the plan cannot run here now (no checkpoint with weights open, another checkpoint than
    // the plan's), in the current language; empty when it can.
    QString runProblem() const;
    // Runs every host's stage as a local rank with the page's prompt; false, with the reason in
    // the status line, when it cannot start.
    bool run();
    void cancel();
    bool isRunning() const;
    void showRunPage();
    void setPromptIds(const QString &text); // token ids, or text when the checkpoint has a tokenizer
    void setMaxNewTokens(int tokens);
    // The requests of a run (rank r: host r's stage), as run() makes them; empty with a problem.
    std::vector<runtime::RunRequest> runRequests(const std::vector<std::int64_t> &promptIds, int maxNewTokens) const;
    // The live view's lanes and groups for the plan's hosts.
    std::vector<LaneSetup> runLanes() const;
    std::vector<LaneGroup> laneGroups() const;

    LiveView *liveView() const { return m_live; }
    QPushButton *runButton() const { return m_runButton; }
    QPushButton *cancelButton() const { return m_cancelButton; }
    const std::vector<std::int64_t> &generatedIds() const;
    QString outputText() const;
    QString statusText() const { return m_statusText; }
    bool usesTokenizer() const;

Q_SIGNALS:
    void tokenProduced(int index);
    void runFinished(const std::vector<mizan::runtime::RunResult> &results);

protected:
    void changeEvent(QEvent *event) override;

private:
    void fill();
    QString hostTitle(int host) const;
    void updateRunState();
    void setStatus(const QString &text, bool error);
    void onEvents(const std::vector<runtime::RunEvent> &batch, int rank);
    void onFinished(const std::vector<runtime::RunResult> &results);

    const Document *m_document;
    planner::ClusterPlanFile m_plan;
    QString m_file;
    QLabel *m_summary = nullptr;
    QTabWidget *m_tabs = nullptr;
    QWidget *m_planPage = nullptr, *m_runPage = nullptr;
    QList<QGroupBox *> m_groups;
    QList<QGridLayout *> m_grids;
    QList<QLabel *> m_speeds;
    QPushButton *m_close = nullptr;

    PipelineRunController *m_controller = nullptr;
    QLabel *m_promptLabel = nullptr, *m_maxLabel = nullptr, *m_status = nullptr;
    QLineEdit *m_prompt = nullptr;
    QSpinBox *m_maxNewTokens = nullptr;
    QPushButton *m_runButton = nullptr, *m_cancelButton = nullptr;
    LiveView *m_live = nullptr;
    QGroupBox *m_outputBox = nullptr;
    QPlainTextEdit *m_output = nullptr;
    std::unique_ptr<TokenOutput> m_tokens; // over m_output
    bool m_textMode = false;
    bool m_cancelRequested = false;
    QString m_statusText, m_phase;
    bool m_statusError = false;
};

// Is `file` a cluster plan file (its "format")? False for anything unreadable.
bool isClusterPlanFile(const QString &file);

} // namespace mizan::gui
