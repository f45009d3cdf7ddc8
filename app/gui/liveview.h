#pragma once

// The live view of a test inference: one lane per device (GPUs real or simulated, CPU, disk) with
// the map entries placed there as blocks in execution order; the block computing lights up, a
// weight brought from the CPU or the disk to the execution device flies there (labelled with its
// size; dashed when prefetched) and leaves when released; a memory gauge per lane (current and
// peak against the limit and the plan); a QCustomPlot timeline of compute against transfer per
// device over the last tokens; after the run, a summary per device and one sentence saying where
// the time of a token went.
//
// Lanes may be grouped by host (a cluster plan run on local ranks): each group gets a header
// (the host, its address, its blocks) above its lanes, and the events of rank r go to group r's
// lanes only (every host has its own "GPU 0" and "CPU"); the timeline counts a token when the
// last group (the stage that samples it) reports it; the summary names each host's devices.
//
// Events arrive in batches on the GUI thread (addEvents). A batch only updates counters and the
// lanes' state and schedules a repaint; one timer drives every animation and stops when nothing
// moves. Mirrored in right-to-left layouts (lanes read from the right); numbers in the locale.

#include "planner/device.h"
#include "runtime/session.h"

#include <QElapsedTimer>
#include <QPixmap>
#include <QRectF>
#include <QStaticText>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

class QCPBars;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QPainter;
class QScrollArea;
class QTimer;

namespace mizan::gui {

// A device-map key placed on a lane.
struct LaneModule {
    QString name;
    qint64 bytes = 0;
};

struct LaneSetup {
    planner::Device device;
    // The device's name without "(simulated)" ("GPU 0", "NVIDIA H100", "CPU"); empty: the view
    // names it itself (and renames it when the language changes). A simulated lane shows a badge.
    QString label;
    bool simulated = false;
    qint64 capacityBytes = -1;        // the device's limit (arena size / budget); -1 unknown
    qint64 plannedBytes = -1;         // what the plan puts there; -1 unknown
    std::vector<LaneModule> modules;  // the map keys on this device, in execution (tree) order
    int group = -1;                   // the host it belongs to (an index of setLanes' groups); -1 none
};

// A group of lanes: the devices of one host.
struct LaneGroup {
    QString name;   // "node0": prefixes its lanes' names in tooltips and the summary
    QString title;  // the header above its lanes ("node0 (10.0.0.1): embeddings, blocks 0–2")
};

class LaneCanvas;

class LiveView : public QWidget {
    Q_OBJECT
public:
    explicit LiveView(QWidget *parent = nullptr);
    ~LiveView() override;

    // Before a run (also clears the previous run). Lanes of one group are consecutive.
    void setLanes(std::vector<LaneSetup> lanes, std::vector<LaneGroup> groups = {});
    // New names and titles of the groups (a language change), keeping the run.
    void setGroups(std::vector<LaneGroup> groups);
    void addEvents(const std::vector<runtime::RunEvent> &events); // GUI thread, one call per batch
    // The events of one group's run (rank `group` of a pipeline): lanes looked up in that group.
    void addEvents(const std::vector<runtime::RunEvent> &events, int group);
    void finish(const runtime::RunResult &result);               // the run ended: summary + where time went
    // A grouped run ended: one result per group (rank), in group order.
    void finish(const std::vector<runtime::RunResult> &results);
    void clear();                                                  // no lanes, no run

    // An event about `eventModule` concerns the map key `item` when one is the other or a dotted
    // prefix of it ("model" and "model.layers.5"; "model.layers.3.mlp" and "model.layers.3"; never
    // "model.layers.1" and "model.layers.10").
    static bool concerns(std::string_view item, std::string_view eventModule);
    // "model.layers.20–31, lm_head": consecutive numbered names joined into ranges.
    static QString compactNames(const QStringList &names);

    // For tests and the window.
    QStringList ranModules() const;    // the module of every ModuleRan event received, in order
    QStringList ranModules(int group) const; // those received for one group
    QString summaryText() const;       // the summary shown after finish()
    QString whereTimeWent() const;     // the sentence of the summary (empty before finish())
    qint64 currentBytes(const planner::Device &d) const;
    qint64 peakBytes(const planner::Device &d) const;
    qint64 currentBytes(const planner::Device &d, int group) const;
    qint64 peakBytes(const planner::Device &d, int group) const;
    int groupCount() const { return static_cast<int>(m_groups.size()); }
    QString groupTitle(int group) const;
    QRectF groupHeaderRect(int group) const; // canvas coordinates; empty if none
    int laneGroup(int lane) const;
    planner::Device laneDevice(int lane) const;
    QStringList laneModules(int lane) const;  // the map keys placed on a lane
    int blockRuns(int lane, int block) const; // the ModuleRan events that lit a block
    QStringList itemsConcerned(const QString &eventModule) const; // the lane items an event names
    int laneCount() const;
    // A block's rectangle in the canvas's coordinates (canvas()->width() wide); empty if none.
    QRectF blockRect(int lane, int block) const;
    QWidget *canvas() const;
    QCustomPlot *timeline() const { return m_plot; }
    // The timeline's numbers: per token kept (the last kTokensShown), its index and, for a
    // device, the seconds of computation on it and of weights brought to it.
    static constexpr int kTokensShown = 32;
    std::vector<int> timelineTokens() const;
    double tokenComputeSeconds(int tokenIndex, const planner::Device &d) const;
    double tokenTransferSeconds(int tokenIndex, const planner::Device &d) const;
    bool isAnimating() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    friend class LaneCanvas;

    // View clock times (ms) are those of the events, which may lie before the view existed.
    static constexpr qint64 kNever = -(qint64(1) << 60);
    struct Block {
        int lane = 0;
        int moduleId = -1;       // interned name
        qint64 bytes = 0;
        QRectF rect;             // canvas coordinates, mirrored when right-to-left
        QStaticText shown;       // the name as it fits the block (set at layout)
        qint64 litAtMs = kNever;  // when it last ran (view clock)
        int runs = 0;            // ModuleRan events that lit it
    };
    struct Lane {
        LaneSetup setup;
        QString label;           // setup.label or the view's own name for the device
        int firstBlock = 0, blockCount = 0;
        qint64 current = 0, peak = 0;
        QRectF area;             // the whole lane
        QRectF labelArea, badgeRect, gaugeRect, gaugeTextRect, blocksArea, visitorRow;
        QString gaugeText;       // "1.2 GiB now, peak 1.5 GiB" (formatted when memory changes)
        bool gaugeDirty = false;
        bool hasGauge = false;   // a limit, a plan or a measurement to show
        double lastCompute = 0, lastTransfer = 0; // of the last token (tooltips)
    };
    // Weights of a module brought to a lane (from another lane), drawn as a ghost in the target
    // lane's visitor row: flying in, resident, then leaving.
    struct Visit {
        int moduleId = -1;
        int fromLane = -1, toLane = -1;
        qint64 bytes = 0;
        bool prefetched = false;
        qint64 startMs = 0, arriveMs = 0, releasedMs = kNever;
        bool released = false;
        qint64 litAtMs = kNever;
        QString sizeText;        // formatted once
        QString shown;           // its name as it fits the ghost, for shownWidth
        QStaticText sizeStatic, shownStatic; // the two, laid out once
        double shownWidth = -1;
    };
    struct TokenRow {
        int index = -1;
        double wall = 0;
    };

    // The lane of `d` in `group`; group -1: the first lane of `d` whatever its group.
    int laneOf(const planner::Device &d, int group = -1) const;
    int intern(const std::string &name);
    const std::vector<int> &blocksConcerned(int moduleId);
    void relayout();
    void retranslate();
    void refreshTimeline();
    void updateSummary();
    void ensureTicking();
    void tick();
    qint64 nowMs() const { return m_clock.elapsed(); }
    void closeToken(const runtime::RunEvent &token);
    QString laneName(int lane) const;
    void updateGaugeText(int lane);
    void paintLanes(QPainter &p);
    void paintStatic(QPainter &p);
    void paintGauge(QPainter &p, const Lane &l, const QColor &laneBack, const QColor &text) const;
    QString toolTipAt(const QPoint &pos);
    bool visitGeometry(const Visit &v, QRectF &from, QRectF &to);
    QString secondsText(double seconds) const;
    QString percentText(double fraction) const;
    void computeWhereTimeWent();

    // Lanes and blocks.
    std::vector<Lane> m_lanes;
    std::vector<Block> m_blocks;
    // Interned module names (map keys and event modules), and per name the blocks it concerns.
    std::unordered_map<std::string, int> m_ids;
    std::vector<std::string> m_names;
    std::vector<std::vector<int>> m_concerned; // by module id; computed on first use
    std::vector<char> m_concernedKnown;
    std::vector<int> m_ran;                    // module ids of ModuleRan, in order

    // Animation.
    std::vector<Visit> m_visits;
    QElapsedTimer m_clock;
    QTimer *m_timer = nullptr;
    qint64 m_lastLitMs = kNever;
    static constexpr int kFadeMs = 150;
    static constexpr int kLeaveMs = 350;
    static constexpr int kMaxVisits = 48;
    static constexpr int kMaxFlightsPerRoute = 3;

    // Per-token sums: the token being computed (per lane, plus one slot for devices without a
    // lane), and a ring of the last kTokensShown closed tokens.
    std::vector<double> m_curCompute, m_curTransfer;
    std::vector<double> m_ringCompute, m_ringTransfer; // kTokensShown x slots
    // A token's seconds on device `d` in one of the two rings (0 when scrolled out or unknown).
    double tokenSeconds(const std::vector<double> &ring, int tokenIndex, const planner::Device &d) const;
    // Groups: their names and titles, the header of each (canvas coordinates), the group whose
    // Token events close a token (the last one: the stage that samples it).
    std::vector<LaneGroup> m_groups;
    std::vector<QRectF> m_groupHeaders;
    int m_tokenGroup = -1;
    std::vector<int> m_ranGroup;               // the group of each m_ran entry
    std::vector<TokenRow> m_ring;
    int m_ringStart = 0, m_ringSize = 0;
    bool m_timelineDirty = false;
    // The timeline's plottables, kept while the same series have data (only their data is
    // replaced); made again when that changes or on a new language, direction, palette or lanes.
    std::vector<char> m_timelineShape;
    std::vector<QCPBars *> m_computeBars, m_transferBars; // per slot; null: no series
    QCPGraph *m_wallGraph = nullptr;
    bool m_timelineStyleDirty = true;
    qint64 m_lastReplotMs = -1000000;

    // Totals for the summary sentence: the prefill (token 0) and the decode tokens apart.
    struct Totals {
        int tokens = 0;
        double wall = 0, compute = 0, transfer = 0, exposed = 0;
        std::vector<double> computeOn;      // per slot (lane, or the extra slot)
        std::vector<double> transferFrom;   // per source slot
        std::vector<std::vector<int>> movedFrom; // per source slot: module ids, first seen order
        std::vector<std::vector<int>> movedTo;   // per source slot: lanes the weights went to
    };
    Totals m_prefill, m_decode;
    std::vector<double> m_curFrom;           // transfer seconds per source slot for the open token
    std::vector<std::vector<int>> m_curMoved;
    std::vector<std::vector<int>> m_curMovedTo;

    bool m_finished = false;
    std::vector<runtime::RunResult> m_results; // one per group (grouped), else the run's
    bool m_groupedResults = false;
    QString m_where, m_details;
    QString m_simulatedText, m_emptyLaneText, m_captionText;
    QRectF m_captionRect;
    // What does not move (lanes, labels, unlit blocks and their names), painted once per layout.
    QPixmap m_staticCache;
    bool m_staticValid = false;
    double m_runToView = 0; // view ms = run seconds * 1000 + this

    LaneCanvas *m_canvas = nullptr;
    QScrollArea *m_scroll = nullptr;
    QCustomPlot *m_plot = nullptr;
    QLabel *m_summary = nullptr;
};

} // namespace mizan::gui
