// The live view of a test inference (offscreen): which lane items an event concerns, every
// ModuleRan received in order at 405B scale, per-token compute/transfer sums, memory gauges, the
// sentence saying where time went, right-to-left mirroring, and pictures of a run in progress in
// English and Arabic (written to <temp>/mizan-liveview/ for a person to look at).
#include "guiformat.h"
#include "liveview.h"

#include "runtime/session.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QPixmap>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTest>
#include <QTranslator>

#include <cmath>

using namespace mizan;
using namespace mizan::gui;
using planner::Device;
using runtime::RunEvent;
using runtime::RunEventKind;

namespace {

constexpr qint64 kMiB = 1024 * 1024;
constexpr qint64 kGiB = 1024 * kMiB;

LaneSetup lane(Device device, const QStringList &modules, qint64 bytesEach, bool simulated = false, qint64 capacity = -1, qint64 planned = -1)
{
    LaneSetup l;
    l.device = device;
    l.simulated = simulated;
    l.capacityBytes = capacity;
    l.plannedBytes = planned;
    for (const QString &m : modules)
        l.modules.push_back({m, bytesEach});
    return l;
}

QStringList layers(int first, int last, const QString &stem = QStringLiteral("model.layers"))
{
    QStringList out;
    for (int i = first; i <= last; ++i)
        out << QStringLiteral("%1.%2").arg(stem).arg(i);
    return out;
}

// A run's events, built step by step with a clock.
struct Script {
    std::vector<RunEvent> events;
    double at = 0;

    RunEvent &add(RunEventKind kind, const QString &module = {})
    {
        RunEvent e;
        e.kind = kind;
        e.at = at;
        e.module = module.toStdString();
        events.push_back(std::move(e));
        return events.back();
    }
    void ran(const QString &module, Device on, double seconds)
    {
        at += seconds;
        auto &e = add(RunEventKind::ModuleRan, module);
        e.to = on;
        e.seconds = seconds;
    }
    void moved(const QString &module, Device from, Device to, qint64 bytes, double seconds, bool prefetched, bool advance = true)
    {
        if (advance)
            at += seconds;
        auto &e = add(RunEventKind::WeightMoved, module);
        e.from = from;
        e.to = to;
        e.bytes = bytes;
        e.seconds = seconds;
        e.prefetched = prefetched;
    }
    void released(const QString &module, Device from)
    {
        add(RunEventKind::WeightReleased, module).to = from;
    }
    void memory(Device d, qint64 bytes, qint64 peak)
    {
        auto &e = add(RunEventKind::Memory);
        e.to = d;
        e.bytes = bytes;
        e.peakBytes = peak;
    }
    void token(int index, double seconds)
    {
        auto &e = add(RunEventKind::Token);
        e.index = index;
        e.token = 100 + index;
        e.seconds = seconds;
    }
};

// The lanes of an 8B-shaped plan over two simulated GPUs, the CPU and the disk.
std::vector<LaneSetup> demoLanes()
{
    const qint64 layer = 436 * kMiB;
    std::vector<LaneSetup> lanes;
    auto gpu0 = lane(Device::gpu(0), layers(0, 9), layer, true, 7 * kGiB, 5 * kGiB + 300 * kMiB);
    gpu0.modules.insert(gpu0.modules.begin(), LaneModule{QStringLiteral("model.embed_tokens"), 1002 * kMiB});
    lanes.push_back(gpu0);
    lanes.push_back(lane(Device::gpu(1), layers(10, 19), layer, true, 6 * kGiB, 4 * kGiB + 260 * kMiB));
    lanes.push_back(lane(Device::cpu(), layers(20, 27), layer, false, 32 * kGiB, 3 * kGiB + 420 * kMiB));
    auto disk = lane(Device::disk(), layers(28, 31), layer);
    disk.modules.push_back({QStringLiteral("model.norm"), 16 * 1024});
    disk.modules.push_back({QStringLiteral("lm_head"), 1002 * kMiB});
    lanes.push_back(disk);
    return lanes;
}

// One token of the demo plan, executed on GPU 0 except GPU 1's layers: the CPU's layers are
// prefetched (hidden behind the computation), the disk's are read when their turn comes.
void demoToken(Script &s, const std::vector<LaneSetup> &lanes, int index)
{
    const Device gpu0 = Device::gpu(0);
    const qint64 resident = 5 * kGiB + 300 * kMiB;
    double compute = 0, waited = 0;
    for (const auto &l : lanes)
        for (const auto &m : l.modules) {
            const bool offloaded = !l.device.isGpu();
            if (offloaded) {
                const bool prefetched = l.device == Device::cpu();
                s.moved(m.name, l.device, gpu0, m.bytes, prefetched ? 0.02 : 0.06, prefetched, !prefetched);
                waited += prefetched ? 0 : 0.06;
                s.memory(gpu0, resident + m.bytes, resident + 2 * 1002 * kMiB);
            }
            s.ran(m.name, offloaded ? gpu0 : l.device, 0.03);
            compute += 0.03;
            if (offloaded) {
                s.released(m.name, gpu0);
                s.memory(gpu0, resident, resident + 2 * 1002 * kMiB);
            }
        }
    s.token(index, compute + waited + 0.004);
}

// The middle of the next token: GPU 1 computes model.layers.10-15 (the last ones still lit), while
// model.layers.20 has been prefetched to GPU 0 and model.layers.21 is on its way.
void midToken(Script &s, const std::vector<LaneSetup> &lanes)
{
    const Device gpu0 = Device::gpu(0), gpu1 = Device::gpu(1);
    const qint64 resident = 5 * kGiB + 300 * kMiB;
    const qint64 layer = lanes[2].modules[0].bytes;
    for (const auto &m : lanes[0].modules) {
        if (m.name == QLatin1String("model.layers.7")) {
            s.moved(QStringLiteral("model.layers.20"), Device::cpu(), gpu0, layer, 0.2, true, false);
            s.memory(gpu0, resident + layer, resident + 2 * 1002 * kMiB);
        }
        s.ran(m.name, gpu0, 0.03);
    }
    s.memory(gpu1, 4 * kGiB + 100 * kMiB, 4 * kGiB + 600 * kMiB);
    for (int i = 10; i <= 15; ++i) {
        if (i == 13)
            s.moved(QStringLiteral("model.layers.21"), Device::cpu(), gpu0, layer, 0.2, true, false);
        s.ran(QStringLiteral("model.layers.%1").arg(i), gpu1, 0.03);
    }
    s.memory(gpu0, resident + 2 * layer, resident + 2 * 1002 * kMiB);
}

QString shotsDir()
{
    const QString dir = QDir::temp().filePath(QStringLiteral("mizan-liveview"));
    QDir().mkpath(dir);
    return dir;
}

bool hasArabicLetters(const QString &text)
{
    for (const QChar c : text)
        if (c.unicode() >= 0x0600 && c.unicode() <= 0x06ff && c.isLetter())
            return true;
    return false;
}

} // namespace

class TestLiveView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void concerns_data();
    void concerns();
    void itemsConcerned_data();
    void itemsConcerned();
    void compactNames_data();
    void compactNames();
    void everyModuleRanInOrderAt405BScale();
    void timelineSumsPerToken_data();
    void timelineSumsPerToken();
    void timelineKeepsTheLastTokens();
    void memoryGauges_data();
    void memoryGauges();
    void whereTimeWent_data();
    void whereTimeWent();
    void summaryPerDevice();
    void animationStopsWhenNothingMoves();
    void mirroredRightToLeft();
    void groupsKeepHostsApart_data();
    void groupsKeepHostsApart();
    void picturesMidRun_data();
    void picturesMidRun();
};

void TestLiveView::concerns_data()
{
    QTest::addColumn<QString>("item");
    QTest::addColumn<QString>("event");
    QTest::addColumn<bool>("expected");
    QTest::newRow("same") << "model.layers.5" << "model.layers.5" << true;
    QTest::newRow("event coarser") << "model.layers.5" << "model" << true;
    QTest::newRow("event finer") << "model.layers.3" << "model.layers.3.mlp" << true;
    QTest::newRow("event much finer") << "model.layers" << "model.layers.3.mlp.up_proj" << true;
    QTest::newRow("1 is not 10") << "model.layers.1" << "model.layers.10" << false;
    QTest::newRow("10 is not 1") << "model.layers.10" << "model.layers.1" << false;
    QTest::newRow("sibling") << "model.layers.3" << "model.layers.4" << false;
    QTest::newRow("text prefix, not dotted") << "lm_head" << "lm" << false;
    QTest::newRow("gpt2 block") << "transformer.h.3" << "transformer.h.3" << true;
    QTest::newRow("gpt2 other block") << "transformer.h.3" << "transformer.h.30" << false;
    QTest::newRow("root item") << "" << "model.norm" << true;
    QTest::newRow("other tree") << "lm_head" << "model.norm" << false;
}

void TestLiveView::concerns()
{
    QFETCH(QString, item);
    QFETCH(QString, event);
    QFETCH(bool, expected);
    QCOMPARE(LiveView::concerns(item.toStdString(), event.toStdString()), expected);
}

void TestLiveView::itemsConcerned_data()
{
    QTest::addColumn<QString>("event");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("a layer") << "model.layers.1" << QStringList{"model.layers.1"};
    QTest::newRow("a sublayer") << "model.layers.10.self_attn" << QStringList{"model.layers.10"};
    QTest::newRow("the model") << "model" << (QStringList{"model.embed_tokens"} + layers(0, 11) + QStringList{"model.norm"});
    QTest::newRow("the head") << "lm_head" << QStringList{"lm_head"};
    QTest::newRow("nothing") << "transformer.h.1" << QStringList{};
}

void TestLiveView::itemsConcerned()
{
    QFETCH(QString, event);
    QFETCH(QStringList, expected);
    LiveView view;
    auto gpu = lane(Device::gpu(0), QStringList{"model.embed_tokens"} + layers(0, 5), kMiB, true);
    auto cpu = lane(Device::cpu(), layers(6, 11) + QStringList{"model.norm", "lm_head"}, kMiB);
    view.setLanes({gpu, cpu});
    QCOMPARE(view.itemsConcerned(event), expected);
}

void TestLiveView::compactNames_data()
{
    QTest::addColumn<QStringList>("names");
    QTest::addColumn<QString>("expected");
    QTest::newRow("one range") << layers(20, 31) << QStringLiteral("model.layers.20\u201331");
    QTest::newRow("one") << layers(7, 7) << QStringLiteral("model.layers.7");
    QTest::newRow("gap") << (layers(1, 3) + layers(5, 6)) << QStringLiteral("model.layers.1\u20133, model.layers.5\u20136");
    QTest::newRow("with head") << (layers(28, 31) + QStringList{"model.norm", "lm_head"})
                               << QStringLiteral("model.layers.28\u201331, model.norm, lm_head");
    QTest::newRow("gpt2") << layers(0, 11, QStringLiteral("transformer.h")) << QStringLiteral("transformer.h.0\u201311");
    QTest::newRow("many groups") << QStringList{"a.1", "b", "a.3", "c", "a.9", "d"} << QStringLiteral("a.1, b, a.3, c, \u2026");
}

void TestLiveView::compactNames()
{
    QFETCH(QStringList, names);
    QFETCH(QString, expected);
    QCOMPARE(LiveView::compactNames(names), expected);
}

void TestLiveView::everyModuleRanInOrderAt405BScale()
{
    // A 405B-shaped map: embed, 126 layers, norm, head over 8 simulated GPUs, the CPU and the disk.
    const qint64 layer = 3 * kGiB + 200 * kMiB;
    QStringList all = QStringList{"model.embed_tokens"} + layers(0, 125) + QStringList{"model.norm", "lm_head"};
    std::vector<LaneSetup> lanes;
    int next = 0;
    for (int g = 0; g < 8; ++g) {
        lanes.push_back(lane(Device::gpu(g), all.mid(next, 12), layer, true, 40 * kGiB, 38 * kGiB));
        next += 12;
    }
    lanes.push_back(lane(Device::cpu(), all.mid(next, 20), layer, false, 512 * kGiB, 64 * kGiB));
    next += 20;
    lanes.push_back(lane(Device::disk(), all.mid(next), layer));
    LiveView view;
    view.resize(1200, 800);
    view.show();
    view.setLanes(lanes);
    // Every block has a place of at least a pixel, within the canvas, in order on its lane.
    for (int l = 0; l < view.laneCount(); ++l) {
        double previous = -1;
        for (int b = 0; b < static_cast<int>(lanes[static_cast<std::size_t>(l)].modules.size()); ++b) {
            const QRectF r = view.blockRect(l, b);
            QVERIFY(r.width() >= 1);
            QVERIFY(r.left() >= 0 && r.right() <= view.canvas()->width());
            QVERIFY(r.left() > previous);
            previous = r.left();
        }
    }
    const int tokens = 6;
    Script s;
    QStringList expected;
    for (int t = 0; t < tokens; ++t) {
        for (const auto &l : lanes)
            for (const auto &m : l.modules) {
                const bool offloaded = !l.device.isGpu();
                if (offloaded)
                    s.moved(m.name, l.device, Device::gpu(0), m.bytes, 0.001, l.device == Device::cpu());
                // Finer steps than the map keys for the GPU layers (GPT-2-like per-block hooks).
                s.ran(m.name, offloaded ? Device::gpu(0) : l.device, 0.001);
                expected << m.name;
                if (offloaded)
                    s.released(m.name, Device::gpu(0));
            }
        s.token(t, 0.2);
    }
    // Delivered in batches of arbitrary size, as the session's observer thread coalesces them.
    std::size_t pos = 0;
    const std::size_t sizes[] = {1, 7, 300, 2, 999};
    for (int i = 0; pos < s.events.size(); ++i) {
        const std::size_t n = std::min(sizes[i % 5], s.events.size() - pos);
        view.addEvents(std::vector<RunEvent>(s.events.begin() + static_cast<std::ptrdiff_t>(pos), s.events.begin() + static_cast<std::ptrdiff_t>(pos + n)));
        pos += n;
        QCoreApplication::processEvents();
    }
    QCOMPARE(view.ranModules(), expected);
    QCOMPARE(static_cast<int>(view.timelineTokens().size()), tokens);
    QVERIFY(view.isAnimating());
    QVERIFY(view.grab().save(QDir(shotsDir()).filePath(QStringLiteral("liveview-405b.png"))));

    // One batch of 10 000 events (a 1 ms-per-layer model behind a slow observer).
    Script big;
    while (big.events.size() < 10000)
        for (const auto &l : lanes)
            for (const auto &m : l.modules) {
                if (!l.device.isGpu())
                    big.moved(m.name, l.device, Device::gpu(0), m.bytes, 0.001, true);
                big.ran(m.name, l.device.isGpu() ? l.device : Device::gpu(0), 0.001);
                if (!l.device.isGpu())
                    big.released(m.name, Device::gpu(0));
            }
    const int before = static_cast<int>(view.ranModules().size());
    QStringList ranInBig;
    for (const auto &e : big.events)
        if (e.kind == RunEventKind::ModuleRan)
            ranInBig << QString::fromStdString(e.module);
    QElapsedTimer timer;
    timer.start();
    view.addEvents(big.events);
    const qint64 addNs = timer.nsecsElapsed();
    view.canvas()->repaint(); // the first frame lays out text caches
    timer.restart();
    constexpr int kFrames = 20;
    for (int i = 0; i < kFrames; ++i)
        view.canvas()->repaint();
    const qint64 paintNs = timer.nsecsElapsed() / kFrames;
    qInfo("addEvents of %d events: %.2f ms; one frame of %d lanes, %d blocks: %.2f ms", static_cast<int>(big.events.size()),
          static_cast<double>(addNs) / 1e6, view.laneCount(), static_cast<int>(all.size()), static_cast<double>(paintNs) / 1e6);
    QCOMPARE(view.ranModules().mid(before), ranInBig);
}

void TestLiveView::timelineSumsPerToken_data()
{
    QTest::addColumn<QList<double>>("gpuCompute");   // ModuleRan seconds on GPU 0 in token 1
    QTest::addColumn<QList<double>>("cpuCompute");   // ... on the CPU
    QTest::addColumn<QList<double>>("transfers");    // WeightMoved seconds CPU -> GPU 0
    QTest::newRow("compute only") << QList<double>{0.002, 0.003, 0.004} << QList<double>{} << QList<double>{};
    QTest::newRow("with transfers") << QList<double>{0.001, 0.001} << QList<double>{} << QList<double>{0.010, 0.020};
    QTest::newRow("two devices") << QList<double>{0.005} << QList<double>{0.007, 0.0015} << QList<double>{0.003};
    QTest::newRow("nothing") << QList<double>{} << QList<double>{} << QList<double>{};
}

void TestLiveView::timelineSumsPerToken()
{
    QFETCH(QList<double>, gpuCompute);
    QFETCH(QList<double>, cpuCompute);
    QFETCH(QList<double>, transfers);
    LiveView view;
    view.setLanes({lane(Device::gpu(0), layers(0, 3), kMiB, true), lane(Device::cpu(), layers(4, 7), kMiB)});
    // Token 0 with other numbers, so that sums cannot leak between tokens.
    Script s;
    s.ran(QStringLiteral("model.layers.0"), Device::gpu(0), 1.0);
    s.moved(QStringLiteral("model.layers.4"), Device::cpu(), Device::gpu(0), kMiB, 2.0, false);
    s.token(0, 3.0);
    double gpu = 0, cpu = 0, moved = 0;
    for (double v : gpuCompute) {
        s.ran(QStringLiteral("model.layers.1.mlp"), Device::gpu(0), v);
        gpu += v;
    }
    for (double v : transfers) {
        s.moved(QStringLiteral("model.layers.5"), Device::cpu(), Device::gpu(0), kMiB, v, true);
        moved += v;
    }
    for (double v : cpuCompute) {
        s.ran(QStringLiteral("model.layers.6"), Device::cpu(), v);
        cpu += v;
    }
    s.token(1, 0.5);
    // Events of token 2, not closed yet: not in the timeline.
    s.ran(QStringLiteral("model.layers.0"), Device::gpu(0), 9.0);
    view.addEvents(s.events);
    QCOMPARE(view.timelineTokens(), (std::vector<int>{0, 1}));
    QCOMPARE(view.tokenComputeSeconds(0, Device::gpu(0)), 1.0);
    QCOMPARE(view.tokenTransferSeconds(0, Device::gpu(0)), 2.0);
    QVERIFY(std::abs(view.tokenComputeSeconds(1, Device::gpu(0)) - gpu) < 1e-12);
    QVERIFY(std::abs(view.tokenComputeSeconds(1, Device::cpu()) - cpu) < 1e-12);
    QVERIFY(std::abs(view.tokenTransferSeconds(1, Device::gpu(0)) - moved) < 1e-12);
    QCOMPARE(view.tokenTransferSeconds(1, Device::cpu()), 0.0);
}

void TestLiveView::timelineKeepsTheLastTokens()
{
    LiveView view;
    view.setLanes({lane(Device::gpu(0), layers(0, 1), kMiB, true)});
    Script s;
    for (int t = 0; t < LiveView::kTokensShown + 8; ++t) {
        s.ran(QStringLiteral("model.layers.0"), Device::gpu(0), 0.001 * (t + 1));
        s.token(t, 0.001 * (t + 1));
    }
    view.addEvents(s.events);
    const auto tokens = view.timelineTokens();
    QCOMPARE(static_cast<int>(tokens.size()), LiveView::kTokensShown);
    QCOMPARE(tokens.front(), 8);
    QCOMPARE(tokens.back(), LiveView::kTokensShown + 7);
    QVERIFY(std::abs(view.tokenComputeSeconds(20, Device::gpu(0)) - 0.021) < 1e-12);
    QCOMPARE(view.tokenComputeSeconds(3, Device::gpu(0)), 0.0); // scrolled out
    // The chart holds the same numbers: one bar per kept token, the last one's height in ms.
    // (redrawn at most five times a second: the first batch at once, later ones by the timer).
    QCustomPlot *plot = view.timeline();
    auto lastBar = [plot]() -> double {
        auto *bars = plot->plottableCount() > 0 ? qobject_cast<QCPBars *>(plot->plottable(0)) : nullptr;
        return bars && bars->data()->size() == LiveView::kTokensShown ? (bars->data()->end() - 1)->value : -1.0;
    };
    QTRY_VERIFY(std::abs(lastBar() - 1000.0 * 0.001 * (LiveView::kTokensShown + 8)) < 1e-9);
    QCOMPARE(plot->plottableCount(), 2); // GPU 0's computation and the time of each token
}

void TestLiveView::memoryGauges_data()
{
    QTest::addColumn<QList<qint64>>("bytes");
    QTest::addColumn<QList<qint64>>("peaks");
    QTest::addColumn<qint64>("current");
    QTest::addColumn<qint64>("peak");
    QTest::newRow("one") << QList<qint64>{100} << QList<qint64>{150} << qint64(100) << qint64(150);
    QTest::newRow("grows then falls") << QList<qint64>{100, 300, 120} << QList<qint64>{100, 300, 300} << qint64(120) << qint64(300);
    QTest::newRow("peak from the current") << QList<qint64>{500, 200} << QList<qint64>{0, 0} << qint64(200) << qint64(500);
    QTest::newRow("peak never falls") << QList<qint64>{10, 20} << QList<qint64>{900, 30} << qint64(20) << qint64(900);
}

void TestLiveView::memoryGauges()
{
    QFETCH(QList<qint64>, bytes);
    QFETCH(QList<qint64>, peaks);
    QFETCH(qint64, current);
    QFETCH(qint64, peak);
    LiveView view;
    view.setLanes({lane(Device::gpu(0), layers(0, 1), kMiB, true, 1000, 800), lane(Device::cpu(), layers(2, 3), kMiB)});
    for (int i = 0; i < bytes.size(); ++i) {
        Script s;
        s.memory(Device::gpu(0), bytes[i], peaks[i]);
        view.addEvents(s.events);
    }
    QCOMPARE(view.currentBytes(Device::gpu(0)), current);
    QCOMPARE(view.peakBytes(Device::gpu(0)), peak);
    QCOMPARE(view.currentBytes(Device::cpu()), qint64(0)); // untouched
    // A device without a lane is ignored, not a crash.
    Script other;
    other.memory(Device::gpu(5), 1, 1);
    view.addEvents(other.events);
    QCOMPARE(view.currentBytes(Device::gpu(5)), qint64(0));
}

void TestLiveView::whereTimeWent_data()
{
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<QString>("expected");
    QTest::newRow("disk-bound") << "disk" << QStringLiteral("75% of each token is spent reading model.layers.20\u201331 from disk.");
    QTest::newRow("compute-bound") << "compute" << QStringLiteral("95% of each token is spent computing on GPU 0 (simulated).");
    QTest::newRow("prefetch-hidden")
        << "prefetch"
        << QStringLiteral("95% of each token is spent computing on GPU 0 (simulated); prefetch hid 93% of the transfers (14.0 ms per token) behind the computation.");
    QTest::newRow("cpu transfers") << "cpu" << QStringLiteral("59% of each token is spent moving model.layers.10\u201319 from CPU to GPU 0 (simulated).");
    QTest::newRow("no token") << "none" << QStringLiteral("No token was generated, so there is no time per token to explain.");
}

void TestLiveView::whereTimeWent()
{
    QFETCH(QString, scenario);
    QFETCH(QString, expected);
    const Device gpu = Device::gpu(0);
    LiveView view;
    view.setLanes({lane(gpu, layers(0, 9), kMiB, true), lane(Device::cpu(), layers(10, 19), kMiB), lane(Device::disk(), layers(20, 31), kMiB)});
    Script s;
    // The prefill (token 0) differs on purpose: the sentence is about the decode tokens.
    if (scenario != QLatin1String("none")) {
        s.ran(QStringLiteral("model.layers.0"), gpu, 5.0);
        s.token(0, 5.0);
    }
    for (int t = 1; t <= 3 && scenario != QLatin1String("none"); ++t) {
        double compute = 0, transfer = 0;
        for (int i = 0; i < 20; ++i) {
            const QString name = QStringLiteral("model.layers.%1").arg(i);
            if (i >= 10 && scenario == QLatin1String("prefetch")) {
                s.moved(name, Device::cpu(), gpu, kMiB, 0.0015, true);
                transfer += 0.0015;
            }
            if (i >= 10 && scenario == QLatin1String("cpu")) {
                s.moved(name, Device::cpu(), gpu, kMiB, 0.003, false);
                transfer += 0.003;
            }
            s.ran(name, gpu, 0.001);
            compute += 0.001;
        }
        if (scenario == QLatin1String("disk"))
            for (int i = 20; i < 32; ++i) {
                const QString name = QStringLiteral("model.layers.%1").arg(i);
                s.moved(name, Device::disk(), gpu, kMiB, 0.005, false);
                s.ran(name, gpu, 0.0);
                s.released(name, gpu);
                transfer += 0.005;
            }
        // The forward: computation plus what prefetch did not hide, plus a millisecond of the rest.
        const double wall = scenario == QLatin1String("prefetch") ? compute + 0.001 : compute + transfer + 0.001;
        s.token(t, scenario == QLatin1String("disk") ? compute + transfer : wall);
    }
    view.addEvents(s.events);
    QVERIFY(view.whereTimeWent().isEmpty()); // only after the run
    runtime::RunResult result;
    view.finish(result);
    QCOMPARE(view.whereTimeWent(), expected);
    QVERIFY(view.summaryText().startsWith(expected));
}

void TestLiveView::summaryPerDevice()
{
    LiveView view;
    view.setLanes({lane(Device::gpu(0), layers(0, 1), kMiB, true, 8 * kGiB, 6 * kGiB), lane(Device::cpu(), layers(2, 3), kMiB)});
    runtime::RunResult result;
    runtime::DeviceRunReport gpu;
    gpu.device = Device::gpu(0);
    gpu.simulated = true;
    gpu.computeSeconds = 1.5;
    gpu.transferSeconds = 0.25;
    gpu.bytesMoved = 3 * kGiB;
    gpu.peakBytes = 7 * kGiB;
    gpu.plannedBytes = 6 * kGiB;
    runtime::DeviceRunReport cpu;
    cpu.device = Device::cpu();
    cpu.computeSeconds = 0.0125;
    cpu.peakBytes = 512 * kMiB;
    runtime::DeviceRunReport disk; // did nothing: no line
    disk.device = Device::disk();
    result.devices = {gpu, cpu, disk};
    result.cancelled = true;
    QVERIFY(view.summaryText().isEmpty());
    view.finish(result);
    const QStringList lines = view.summaryText().split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 4);
    QCOMPARE(lines[1], QStringLiteral("The run was cancelled."));
    QCOMPARE(lines[2], QStringLiteral("GPU 0 (simulated): computing 1.50 s, receiving weights 250.0 ms (3.00 GiB); peak 7.00 GiB against 6.00 GiB planned"));
    QCOMPARE(lines[3], QStringLiteral("CPU: computing 12.5 ms; peak 512.0 MiB"));
    // A new run clears the last one's summary.
    view.setLanes({lane(Device::cpu(), layers(0, 1), kMiB)});
    QVERIFY(view.summaryText().isEmpty());
}

void TestLiveView::animationStopsWhenNothingMoves()
{
    LiveView view;
    view.resize(800, 400);
    view.show();
    view.setLanes({lane(Device::gpu(0), layers(0, 1), kMiB, true), lane(Device::cpu(), layers(2, 3), kMiB)});
    QVERIFY(!view.isAnimating());
    Script s;
    s.moved(QStringLiteral("model.layers.2"), Device::cpu(), Device::gpu(0), kMiB, 0.01, true);
    s.ran(QStringLiteral("model.layers.2"), Device::gpu(0), 0.001);
    view.addEvents(s.events);
    QVERIFY(view.isAnimating());
    // Resident weights keep nothing moving once landed; released ones leave, then the timer stops.
    Script r;
    r.released(QStringLiteral("model.layers.2"), Device::gpu(0));
    view.addEvents(r.events);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isAnimating(), 5000);
    // A memory change repaints without animating.
    Script m;
    m.memory(Device::gpu(0), 10, 10);
    view.addEvents(m.events);
    QVERIFY(!view.isAnimating());
}

void TestLiveView::mirroredRightToLeft()
{
    // The same lanes in both directions: every block's rectangle in right-to-left is the mirror of
    // its left-to-right one across the canvas.
    auto lanes = demoLanes();
    LiveView en, ar;
    ar.setLayoutDirection(Qt::RightToLeft);
    for (LiveView *v : {&en, &ar}) {
        v->resize(1000, 600);
        v->show();
        v->setLanes(lanes);
    }
    QVERIFY(QTest::qWaitForWindowExposed(&en));
    QVERIFY(QTest::qWaitForWindowExposed(&ar));
    const double width = en.canvas()->width();
    QCOMPARE(ar.canvas()->width(), en.canvas()->width());
    int checked = 0;
    for (int l = 0; l < en.laneCount(); ++l)
        for (int b = 0; b < static_cast<int>(lanes[static_cast<std::size_t>(l)].modules.size()); ++b) {
            const QRectF e = en.blockRect(l, b), a = ar.blockRect(l, b);
            QVERIFY(!e.isEmpty());
            QCOMPARE(a.top(), e.top());
            QCOMPARE(a.width(), e.width());
            QVERIFY2(std::abs(a.left() - (width - e.right())) < 1e-9, qPrintable(QStringLiteral("lane %1 block %2").arg(l).arg(b)));
            ++checked;
        }
    QVERIFY(checked > 30);
    // The first block of a lane is at the reading start: left in English, right in Arabic.
    QVERIFY(en.blockRect(0, 0).center().x() < width / 2);
    QVERIFY(ar.blockRect(0, 0).center().x() > width / 2);
    // Switching direction at run time re-lays out.
    ar.setLayoutDirection(Qt::LeftToRight);
    QCOMPARE(ar.blockRect(1, 2), en.blockRect(1, 2));
}

void TestLiveView::groupsKeepHostsApart_data()
{
    QTest::addColumn<Qt::LayoutDirection>("direction");
    QTest::newRow("left to right") << Qt::LeftToRight;
    QTest::newRow("right to left") << Qt::RightToLeft;
}

// Two hosts, each with a GPU 0 and a CPU: a rank's events go to its own host's lanes only, the
// timeline counts a token once (the last host's), the summary names each host's devices, and the
// headers sit above their lanes, on the reading side.
void TestLiveView::groupsKeepHostsApart()
{
    QFETCH(Qt::LayoutDirection, direction);
    LiveView view;
    view.setLayoutDirection(direction);
    view.resize(1000, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    std::vector<LaneSetup> lanes;
    for (int host = 0; host < 2; ++host) {
        auto gpu = lane(Device::gpu(0), layers(2 * host, 2 * host), kMiB, true, 8 * kGiB);
        auto cpu = lane(Device::cpu(), layers(2 * host + 1, 2 * host + 1), kMiB);
        if (host == 1)
            gpu.modules.push_back({QStringLiteral("lm_head"), kMiB});
        gpu.group = cpu.group = host;
        lanes.push_back(gpu);
        lanes.push_back(cpu);
    }
    // The same module name on both hosts' lanes (a buffer-only key each stage holds).
    lanes[0].modules.push_back({QStringLiteral("model.rotary_emb"), 0});
    lanes[2].modules.push_back({QStringLiteral("model.rotary_emb"), 0});
    view.setLanes(lanes, {{QStringLiteral("node0"), QStringLiteral("node0: blocks 0-1")}, {QStringLiteral("node1"), QStringLiteral("node1: blocks 2-3, head")}});
    QCOMPARE(view.groupCount(), 2);
    QCOMPARE(view.laneGroup(0), 0);
    QCOMPARE(view.laneGroup(3), 1);
    QCOMPARE(view.laneModules(2), (QStringList{QStringLiteral("model.layers.2"), QStringLiteral("lm_head"), QStringLiteral("model.rotary_emb")}));
    // Headers above their lanes, host 1's below host 0's lanes.
    const QRectF h0 = view.groupHeaderRect(0), h1 = view.groupHeaderRect(1);
    QVERIFY(!h0.isEmpty() && !h1.isEmpty());
    QVERIFY(h0.bottom() <= view.blockRect(0, 0).top());
    QVERIFY(h1.top() >= view.blockRect(1, 0).bottom());
    QVERIFY(h1.bottom() <= view.blockRect(2, 0).top());
    const double width = view.canvas()->width();
    QVERIFY(direction == Qt::LeftToRight ? view.blockRect(2, 0).center().x() < width / 2 : view.blockRect(2, 0).center().x() > width / 2);

    // Rank 1 (host 1): its GPU 0 and CPU, never host 0's.
    Script r1;
    r1.memory(Device::gpu(0), 3 * kMiB, 5 * kMiB);
    r1.moved(QStringLiteral("model.layers.3"), Device::cpu(), Device::gpu(0), kMiB, 0.002, false);
    r1.ran(QStringLiteral("model.layers.2"), Device::gpu(0), 0.001);
    r1.ran(QStringLiteral("model.layers.3"), Device::gpu(0), 0.001);
    r1.ran(QStringLiteral("model.rotary_emb"), Device::gpu(0), 0.0);
    r1.token(0, 0.01);
    view.addEvents(r1.events, 1);
    QCOMPARE(view.peakBytes(Device::gpu(0), 1), 5 * kMiB);
    QCOMPARE(view.currentBytes(Device::gpu(0), 1), 3 * kMiB);
    QCOMPARE(view.peakBytes(Device::gpu(0), 0), 0);
    QCOMPARE(view.blockRuns(2, 0), 1);
    QCOMPARE(view.blockRuns(2, 2), 1); // host 1's rotary_emb
    QCOMPARE(view.blockRuns(0, 1), 0); // not host 0's
    // Rank 0 (host 0): its own lanes; its Token (every rank receives it) closes nothing.
    Script r0;
    r0.memory(Device::gpu(0), 2 * kMiB, 2 * kMiB);
    r0.ran(QStringLiteral("model.layers.0"), Device::gpu(0), 0.004);
    r0.ran(QStringLiteral("model.rotary_emb"), Device::gpu(0), 0.0);
    r0.token(0, 0.01);
    view.addEvents(r0.events, 0);
    QCOMPARE(view.peakBytes(Device::gpu(0), 0), 2 * kMiB);
    QCOMPARE(view.peakBytes(Device::gpu(0), 1), 5 * kMiB);
    QCOMPARE(view.blockRuns(0, 0), 1);
    QCOMPARE(view.blockRuns(0, 1), 1);
    QCOMPARE(view.blockRuns(2, 2), 1);
    QCOMPARE(view.ranModules(0), (QStringList{QStringLiteral("model.layers.0"), QStringLiteral("model.rotary_emb")}));
    QCOMPARE(view.ranModules(1).size(), 3);
    QCOMPARE(view.timelineTokens(), std::vector<int>{0});

    // The summary: a line per host's devices, named with the host.
    runtime::RunResult a, b;
    for (runtime::RunResult *r : {&a, &b}) {
        runtime::DeviceRunReport gpu;
        gpu.device = Device::gpu(0);
        gpu.simulated = true;
        gpu.computeSeconds = r == &a ? 0.25 : 0.5;
        gpu.peakBytes = kMiB;
        r->devices = {gpu};
    }
    view.finish(std::vector<runtime::RunResult>{a, b});
    const QString summary = view.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("node0: GPU 0 (simulated): computing 250.0 ms")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("node1: GPU 0 (simulated): computing 500.0 ms")), qPrintable(summary));
    // New titles (a language change) keep the run.
    view.setGroups({{QStringLiteral("n0"), QStringLiteral("first")}, {QStringLiteral("n1"), QStringLiteral("second")}});
    QCOMPARE(view.groupTitle(1), QStringLiteral("second"));
    QCOMPARE(view.blockRuns(0, 0), 1);
    QVERIFY2(view.summaryText().contains(QStringLiteral("n1: GPU 0")), qPrintable(view.summaryText()));
}

void TestLiveView::picturesMidRun_data()
{
    QTest::addColumn<QString>("language");
    QTest::newRow("en") << QStringLiteral("en");
    QTest::newRow("ar") << QStringLiteral("ar");
}

void TestLiveView::picturesMidRun()
{
    QFETCH(QString, language);
    const bool arabic = language == QLatin1String("ar");
    QTranslator translator;
    QVERIFY(translator.load(QStringLiteral(":/i18n/mizan_%1.qm").arg(language)));
    const QLocale previous;
    QLocale::setDefault(arabic ? QLocale(QLocale::Arabic, QLocale::Egypt) : QLocale(QLocale::English, QLocale::UnitedStates));
    QCoreApplication::installTranslator(&translator);
    qApp->setLayoutDirection(arabic ? Qt::RightToLeft : Qt::LeftToRight);
    auto restore = qScopeGuard([&] {
        QCoreApplication::removeTranslator(&translator);
        QLocale::setDefault(previous);
        qApp->setLayoutDirection(Qt::LeftToRight);
    });

    const auto lanes = demoLanes();
    LiveView view;
    view.resize(1100, 680);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setLanes(lanes);
    // Six whole tokens, then the seventh up to the middle of model.layers.24 (CPU, brought to GPU 0).
    Script s;
    for (int t = 0; t < 6; ++t)
        demoToken(s, lanes, t);
    midToken(s, lanes);
    view.addEvents(s.events);
    QTest::qWait(30); // the chart's queued replot
    const QPixmap shot = view.grab();
    const QString file = QDir(shotsDir()).filePath(QStringLiteral("liveview-%1.png").arg(language));
    QVERIFY(shot.save(file));
    qInfo("%s", qPrintable(file));

    // The picture shows the lanes: a block of GPU 1 (not computing now) in its tint, at its place.
    const QImage image = shot.toImage();
    const QPoint offset = view.canvas()->mapTo(&view, QPoint(0, 0));
    const QRectF block = view.blockRect(1, 8);
    const QPoint inside = offset + QPoint(static_cast<int>(block.center().x()), static_cast<int>(block.top() + 3));
    const QColor expected = deviceTint(deviceColor(DeviceColorKind::Gpu, 1));
    const QColor got = image.pixelColor(inside * shot.devicePixelRatio());
    QVERIFY2(std::abs(got.red() - expected.red()) < 12 && std::abs(got.green() - expected.green()) < 12 && std::abs(got.blue() - expected.blue()) < 12,
             qPrintable(QStringLiteral("%1 at %2,%3, expected %4").arg(got.name()).arg(inside.x()).arg(inside.y()).arg(expected.name())));
    QCOMPARE(view.blockRect(1, 0).center().x() < view.canvas()->width() / 2.0, !arabic);
    QVERIFY(view.isAnimating()); // a weight is in flight

    // The summary in the language of the window.
    runtime::RunResult result;
    runtime::DeviceRunReport gpu;
    gpu.device = Device::gpu(0);
    gpu.simulated = true;
    gpu.computeSeconds = 1.2;
    gpu.transferSeconds = 2.5;
    gpu.bytesMoved = 40 * kGiB;
    gpu.peakBytes = 6 * kGiB;
    gpu.plannedBytes = 5 * kGiB;
    result.devices = {gpu};
    view.finish(result);
    const QString summary = view.summaryText();
    QVERIFY(!summary.isEmpty());
    QVERIFY(!summary.contains(QLatin1Char('%')) || !arabic);
    QCOMPARE(hasArabicLetters(summary), arabic);
    QVERIFY2(!summary.contains(QRegularExpression(QStringLiteral("%[0-9]"))), qPrintable(summary));
    QVERIFY(view.grab().save(QDir(shotsDir()).filePath(QStringLiteral("liveview-%1-finished.png").arg(language))));
}

QTEST_MAIN(TestLiveView)
#include "tst_liveview.moc"
