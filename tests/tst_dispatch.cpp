// Dispatched inference (runtime/session.h through the libtorch backend module): every placement
// of every family gives the generated ids and logits of the single-device run (float32: within
// 1e-6): all on the CPU, split over 2-3 simulated GPUs, CPU offload, disk offload, a split inside
// a block, tied weights on two devices, prefetch 0/1/2. Plus events, cancel, simulated
// out-of-memory, a shard gone at run time and maps that do not cover the model. Prefetch on a
// simulated GPU sized for a run without it; disk modules read from Accelerate offload folders.
#include "loader/checkpoint.h"
#include "loader/offloadfolder.h"
#include "models/demo.h"
#include "models/resources.h"
#include "runtime/backend.h"
#include "runtime/session.h"
#include "placements.h"
#include "testutil.h"
#include "tinydemo.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>

using namespace mizan;
using planner::Device;
using runtime::RunEvent;
using runtime::RunEventKind;
using runtime::RunRequest;
using runtime::RunResult;

namespace {

struct Demo {
    QTemporaryDir dir;
    std::string family;
    int layers = 3;
    std::string path() const { return dir.path().toStdString(); }
};

std::unique_ptr<Demo> makeDemo(const std::string &preset, bool tied = false, int layers = 3)
{
    auto demo = std::make_unique<Demo>();
    models::DemoOptions o = test::tinyDemoOptions(preset, layers, 200, 11);
    if (tied)
        o.config["tie_word_embeddings"] = true;
    models::writeDemo(demo->path(), o);
    demo->family = preset.substr(0, preset.find('-'));
    demo->layers = layers;
    return demo;
}

// GPUs 0..n-1 simulated, without a capacity.
std::vector<runtime::RunDevice> simulatedGpus(int n, std::int64_t capacity = -1)
{
    std::vector<runtime::RunDevice> out;
    for (int i = 0; i < n; ++i)
        out.push_back({Device::gpu(i), true, capacity, {}});
    return out;
}

// The map of a named placement for `demo` (tests/placements.h).
planner::DeviceMap placement(const std::string &name, const Demo &demo)
{
    return test::placementMap(name, demo.family, demo.layers);
}

runtime::Backend *backend()
{
    const auto &load = runtime::loadBackend();
    return load.backend;
}

struct Run {
    RunResult result;
    std::vector<RunEvent> events;
};

// A run's weight moves: how many, how many prefetched, and how many not from `from` to `to`.
struct Moves {
    int count = 0, prefetched = 0, elsewhere = 0;
};
Moves movesOf(const Run &run, Device from, Device to)
{
    Moves m;
    for (const auto &e : run.events)
        if (e.kind == RunEventKind::WeightMoved) {
            ++m.count;
            m.prefetched += e.prefetched;
            m.elsewhere += !(e.from == from) || !(e.to == to);
        }
    return m;
}

Run runOnce(RunRequest request, const std::function<void(runtime::Session &, const std::vector<RunEvent> &)> &onEvents = {})
{
    Run out;
    std::mutex mutex;
    auto session = backend()->createSession(request);
    runtime::Session *s = session.get();
    out.result = session->run([&](const std::vector<RunEvent> &batch) {
        {
            const std::lock_guard lock(mutex);
            out.events.insert(out.events.end(), batch.begin(), batch.end());
        }
        if (onEvents)
            onEvents(*s, batch);
    });
    return out;
}

RunRequest requestFor(const Demo &demo, planner::DeviceMap map, int gpus, int prefetch = 1)
{
    RunRequest r;
    r.checkpointPath = demo.path();
    r.map = std::move(map);
    r.devices = simulatedGpus(gpus);
    r.promptIds = {5, 17, 99, 3, 150, 42};
    r.maxNewTokens = 6;
    r.prefetch = prefetch;
    r.keepLogits = true;
    return r;
}

double maxDiff(const std::vector<std::vector<float>> &a, const std::vector<std::vector<float>> &b)
{
    return test::maxLogitDiff(a, b);
}

QString failure(const RunResult &r)
{
    return r.error ? QString::fromStdString(std::string(toString(r.error->kind)) + ": " + r.error->file + " " + r.error->message)
                   : QString();
}

bool hasNote(const RunResult &r, const std::string &text)
{
    for (const auto &n : r.notes)
        if (n.find(text) != std::string::npos)
            return true;
    return false;
}

QString notesOf(const RunResult &r)
{
    QString out;
    for (const auto &n : r.notes)
        out += QString::fromStdString(n) + "\n";
    return out;
}

int countOf(const std::vector<RunEvent> &events, RunEventKind kind)
{
    int n = 0;
    for (const auto &e : events)
        n += e.kind == kind;
    return n;
}

} // namespace

class TestDispatch : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        const auto &load = runtime::loadBackend();
        QVERIFY2(load.backend, load.error.c_str());
    }

    void placementsGiveTheSingleDeviceResult_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<bool>("tied");
        QTest::addColumn<QString>("place");
        QTest::addColumn<int>("gpus");
        QTest::addColumn<int>("prefetch");
        struct Family {
            const char *preset;
            bool tied;
        };
        for (const Family f : {Family{"llama-3.1-8b", false}, Family{"llama-3.1-8b", true}, Family{"qwen2-7b", false},
                               Family{"mistral-7b", false}, Family{"mixtral-8x7b", false}, Family{"gpt2", true}}) {
            auto add = [&](const char *place, int gpus, int prefetch) {
                QTest::newRow(qPrintable(QString("%1%2 / %3 / prefetch %4")
                                             .arg(f.preset, f.tied && QString(f.preset) != "gpt2" ? " tied" : "", place)
                                             .arg(prefetch)))
                    << f.preset << f.tied << place << gpus << prefetch;
            };
            add("one gpu", 1, 1);
            add("2 gpus", 2, 1);
            add("3 gpus", 3, 1);
            add("cpu offload", 1, 0);
            add("cpu offload", 1, 1);
            add("cpu offload", 1, 2);
            add("disk offload", 1, 0);
            add("disk offload", 1, 2);
            add("disk, no gpu", 0, 1);
            add("split inside a block", 2, 1);
        }
    }

    void placementsGiveTheSingleDeviceResult()
    {
        QFETCH(QString, preset);
        QFETCH(bool, tied);
        QFETCH(QString, place);
        QFETCH(int, gpus);
        QFETCH(int, prefetch);
        const auto demo = makeDemo(preset.toStdString(), tied);
        const Run reference = runOnce(requestFor(*demo, placement("all cpu", *demo), 0));
        QVERIFY2(!reference.result.error, qPrintable(failure(reference.result)));
        QCOMPARE(reference.result.generatedIds.size(), std::size_t(6));

        const Run run = runOnce(requestFor(*demo, placement(place.toStdString(), *demo), gpus, prefetch));
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        QCOMPARE(run.result.generatedIds, reference.result.generatedIds);
        const double diff = maxDiff(run.result.logits, reference.result.logits);
        QVERIFY2(diff <= 1e-6, qPrintable(QString("max logit difference %1").arg(diff)));

        // What moved: offloaded placements bring weights in, resident ones never do.
        const int moved = countOf(run.events, RunEventKind::WeightMoved);
        const bool offloads = place.contains("offload") || place.contains("split") || place.contains("disk");
        QVERIFY2(offloads ? moved > 0 : moved == 0, qPrintable(QString("%1 weight moves").arg(moved)));
        QCOMPARE(countOf(run.events, RunEventKind::Token), 6);
        QVERIFY(!run.events.empty() && run.events.back().kind == RunEventKind::Finished);
        QCOMPARE(countOf(run.events, RunEventKind::WeightMoved) > 0, countOf(run.events, RunEventKind::WeightReleased) > 0 || place == "disk, no gpu");
        for (const auto &d : run.result.devices)
            QVERIFY2(d.peakBytes >= d.residentBytes, d.label.c_str());
    }

    // A mixture-of-experts block whose experts are mapped to "cpu" or "disk" while the rest of it is
    // on a (simulated) GPU computes its experts on the CPU where they live: the router runs on the
    // GPU, the hidden states go to the CPU and back; the experts' weights never move (on disk they
    // are read in place from the mmapped file). Both module layouts (v5 stacked experts, 4.x
    // ModuleList). Experts split between the GPU and disk are brought in, the disk part each time.
    void expertsOnTheCpuComputeThere_data()
    {
        QTest::addColumn<bool>("v4");
        QTest::addColumn<QString>("expertsOn");
        QTest::addColumn<int>("prefetch");
        for (const bool v4 : {false, true}) {
            const char *layout = v4 ? "4.x layout" : "v5 layout";
            QTest::newRow(qPrintable(QString("%1 / cpu / prefetch 1").arg(layout))) << v4 << "cpu" << 1;
            QTest::newRow(qPrintable(QString("%1 / cpu / prefetch 0").arg(layout))) << v4 << "cpu" << 0;
            QTest::newRow(qPrintable(QString("%1 / disk / prefetch 1").arg(layout))) << v4 << "disk" << 1;
            QTest::newRow(qPrintable(QString("%1 / disk / prefetch 0").arg(layout))) << v4 << "disk" << 0;
            QTest::newRow(qPrintable(QString("%1 / split gpu+disk / prefetch 1").arg(layout))) << v4 << "split" << 1;
        }
    }

    void expertsOnTheCpuComputeThere()
    {
        QFETCH(bool, v4);
        QFETCH(QString, expertsOn);
        QFETCH(int, prefetch);
        auto demo = std::make_unique<Demo>();
        models::DemoOptions o = test::tinyDemoOptions("mixtral-8x7b", 3, 200, 11);
        o.layout = v4 ? models::TransformersLayout::V4 : models::TransformersLayout::V5;
        models::writeDemo(demo->path(), o);
        const Run reference = runOnce(requestFor(*demo, {{"", Device::cpu()}}, 0));
        QVERIFY2(!reference.result.error, qPrintable(failure(reference.result)));

        const Device experts = expertsOn == "cpu" ? Device::cpu() : Device::disk();
        const std::string moe = v4 ? ".block_sparse_moe.experts" : ".mlp.experts";
        // "split": the first expert (4.x) or the stacked gate/up projections (v5) on GPU 0, the
        // rest of the experts on disk.
        const std::string onGpuPart = v4 ? moe + ".0." : moe + ".gate_up_proj";
        const bool split = expertsOn == "split";
        planner::DeviceMap map{{"model.embed_tokens", Device::gpu(0)}};
        for (int i = 0; i < 3; ++i) {
            const std::string block = "model.layers." + std::to_string(i);
            map.emplace_back(block, Device::gpu(0));
            if (split && v4) {
                for (int e = 0; e < o.config["num_local_experts"].get<int>(); ++e)
                    map.emplace_back(block + moe + "." + std::to_string(e), e == 0 ? Device::gpu(0) : Device::disk());
            } else if (split) {
                map.emplace_back(block + moe + ".gate_up_proj", Device::gpu(0));
                map.emplace_back(block + moe + ".down_proj", Device::disk());
            } else {
                map.emplace_back(block + moe, experts);
            }
        }
        map.emplace_back("model.norm", Device::gpu(0));
        map.emplace_back("lm_head", Device::cpu()); // something still brought in
        const Run run = runOnce(requestFor(*demo, map, 1, prefetch));
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        QCOMPARE(run.result.generatedIds, reference.result.generatedIds);
        const double diff = maxDiff(run.result.logits, reference.result.logits);
        QVERIFY2(diff <= 1e-5, qPrintable(QString("max logit difference %1").arg(diff)));

        // Bytes brought to GPU 0 per forward: the head's, plus the disk part of split experts.
        const loader::Checkpoint checkpoint = loader::open(demo->path());
        std::int64_t head = 0, expertBytes = 0;
        for (const auto &t : checkpoint.catalog.tensors) {
            if (t.name == "lm_head.weight")
                head += t.byteSize;
            if (t.name.find(moe + ".") != std::string::npos && t.name.find(onGpuPart) == std::string::npos)
                expertBytes += t.byteSize;
        }
        QVERIFY(head > 0 && expertBytes > 0);
        const bool onCpu = !split;
        const std::int64_t forwards = static_cast<std::int64_t>(run.result.generatedIds.size());
        const runtime::DeviceRunReport *gpu = nullptr, *cpu = nullptr;
        for (const auto &d : run.result.devices) {
            if (d.device == Device::gpu(0))
                gpu = &d;
            if (d.device == Device::cpu())
                cpu = &d;
        }
        QVERIFY(gpu && cpu);
        QCOMPARE(gpu->bytesMoved, forwards * (head + (onCpu ? 0 : expertBytes)));
        QVERIFY(gpu->computeSeconds > 0);
        QCOMPARE(cpu->computeSeconds > 0, onCpu);
        QCOMPARE(hasNote(run.result, "computed their experts on the CPU"), onCpu);

        // Events: the experts ran on the CPU, once per block and forward, and never moved.
        int expertRuns = 0, expertMoves = 0;
        for (const auto &e : run.events) {
            const bool isExperts = e.module.find(moe) != std::string::npos;
            if (e.kind == RunEventKind::ModuleRan && isExperts) {
                ++expertRuns;
                QVERIFY(e.to == Device::cpu());
            }
            if (e.kind == RunEventKind::WeightMoved && (isExperts || e.module.rfind("model.layers.", 0) == 0))
                ++expertMoves;
        }
        QCOMPARE(expertRuns, onCpu ? 3 * static_cast<int>(forwards) : 0);
        QCOMPARE(expertMoves > 0, !onCpu);
    }

    // Experts on disk computed on the CPU from a bfloat16 checkpoint are converted to float32 on
    // every use, inside the forward: the run report counts each of those conversions, where
    // experts on "cpu" are converted once, at load, like every other weight.
    void diskExpertsConvertedOnUseAreCounted_data()
    {
        QTest::addColumn<bool>("v4");
        QTest::newRow("4.x layout, one tensor per expert") << true;
        QTest::newRow("v5 layout, stacked experts") << false;
    }

    void diskExpertsConvertedOnUseAreCounted()
    {
        QFETCH(bool, v4);
        auto demo = std::make_unique<Demo>();
        models::DemoOptions o = test::tinyDemoOptions("mixtral-8x7b", 2, 200, 5);
        o.dtype = DType::BF16;
        o.layout = v4 ? models::TransformersLayout::V4 : models::TransformersLayout::V5;
        models::writeDemo(demo->path(), o);
        const std::string moe = v4 ? ".block_sparse_moe.experts" : ".mlp.experts";
        auto mapWith = [&](Device experts) {
            planner::DeviceMap map{{"model.embed_tokens", Device::gpu(0)}};
            for (int i = 0; i < 2; ++i) {
                map.emplace_back("model.layers." + std::to_string(i), Device::gpu(0));
                map.emplace_back("model.layers." + std::to_string(i) + moe, experts);
            }
            map.emplace_back("model.norm", Device::gpu(0));
            map.emplace_back("lm_head", Device::gpu(0));
            return map;
        };
        const Run cpu = runOnce(requestFor(*demo, mapWith(Device::cpu()), 1));
        const Run disk = runOnce(requestFor(*demo, mapWith(Device::disk()), 1));
        QVERIFY2(!cpu.result.error, qPrintable(failure(cpu.result)));
        QVERIFY2(!disk.result.error, qPrintable(failure(disk.result)));
        QCOMPARE(disk.result.generatedIds, cpu.result.generatedIds);

        const loader::Checkpoint checkpoint = loader::open(demo->path());
        std::int64_t total = 0, experts = 0; // stored bytes; experts of one block
        for (const auto &t : checkpoint.catalog.tensors) {
            total += t.byteSize;
            if (t.name.rfind("model.layers.0" + moe + ".", 0) == 0)
                experts += t.byteSize;
        }
        QVERIFY(experts > 0);
        const int count = o.config["num_local_experts"].get<int>(), routed = o.config["num_experts_per_tok"].get<int>();
        const std::int64_t forwards = static_cast<std::int64_t>(disk.result.generatedIds.size());
        // Experts on "cpu": every weight converted once, at load (the simulated GPU computes in
        // float32 too).
        QCOMPARE(cpu.result.convertedBytes, total);
        // On disk: the rest at load, then the experts a forward uses, every forward: at least the
        // routed ones of each block (all of them when stacked in one tensor per projection), at
        // most all of them.
        const std::int64_t perUse = disk.result.convertedBytes - (total - 2 * experts);
        const std::int64_t least = v4 ? forwards * 2 * routed * (experts / count) : forwards * 2 * experts;
        QVERIFY2(perUse >= least && perUse <= forwards * 2 * experts,
                 qPrintable(QString("converted on use %1 bytes, expected %2 to %3").arg(perUse).arg(least).arg(forwards * 2 * experts)));
        QVERIFY(disk.result.convertSeconds > 0);
        // More conversions than the load's (every tensor but the two blocks' experts).
        QVERIFY(disk.result.convertedTensors > cpu.result.convertedTensors - 2 * (v4 ? 3 * count : 2));
        QVERIFY(hasNote(disk.result, "weight conversion(s) to the compute dtype"));
    }

    // Offloaded weights come back for every forward; prefetched moves are marked as such.
    void prefetchBringsWeightsAhead()
    {
        const auto demo = makeDemo("llama-3.1-8b");
        RunRequest request = requestFor(*demo, placement("cpu offload", *demo), 1, 2);
        request.prefetchTakeBack = false; // every prefetch happens, however late its thread starts
        const Run run = runOnce(request);
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        const Moves moves = movesOf(run, Device::cpu(), Device::gpu(0));
        QCOMPARE(moves.elsewhere, 0);
        for (const auto &e : run.events)
            QVERIFY(e.kind != RunEventKind::WeightMoved || e.bytes > 0);
        // Two blocks and the head offloaded, six forwards.
        QCOMPARE(moves.count, 3 * 6);
        QVERIFY2(moves.prefetched > 0, "nothing was prefetched");
        const auto &gpu = run.result.devices.front();
        QVERIFY(gpu.device == Device::gpu(0));
        QVERIFY(gpu.bytesMoved > 0);
        QVERIFY(gpu.transferSeconds > 0);
        QVERIFY(gpu.computeSeconds > 0);
    }

    // Disk weights the CPU computes in place are prefetched once, to fault their pages in; after
    // that a step moves nothing, and the worker stages it itself rather than pay a thread's
    // hand-off. The tokens are those of a run without prefetch.
    void inPlaceDiskStepsPrefetchedOnce()
    {
        const auto demo = makeDemo("llama-3.1-8b");
        RunRequest request = requestFor(*demo, placement("disk, no gpu", *demo), 0, 1);
        request.prefetchTakeBack = false; // every prefetch happens, however late its thread starts
        const Run run = runOnce(request);
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        const Moves moves = movesOf(run, Device::disk(), Device::cpu());
        QCOMPARE(moves.elsewhere, 0);
        // Block 0, block 2 and the final norm on disk, six forwards; prefetched in the first only.
        QCOMPARE(moves.count, 3 * 6);
        QCOMPARE(moves.prefetched, 3);
        RunRequest plain = requestFor(*demo, placement("disk, no gpu", *demo), 0, 0);
        const Run reference = runOnce(plain);
        QVERIFY2(!reference.result.error, qPrintable(failure(reference.result)));
        QCOMPARE(run.result.generatedIds, reference.result.generatedIds);
    }

    // Weights on a simulated GPU count against its capacity: too small is an out-of-memory error
    // naming the device, and the next run works.
    void simulatedOutOfMemory()
    {
        const auto demo = makeDemo("llama-3.1-8b");
        RunRequest small = requestFor(*demo, placement("one gpu", *demo), 1);
        small.devices = simulatedGpus(1, 100 * 1024);
        const Run failed = runOnce(small);
        QVERIFY(failed.result.error);
        QCOMPARE(failed.result.error->kind, ErrorKind::OutOfMemory);
        QVERIFY2(failed.result.error->message.find("GPU 0") != std::string::npos, failed.result.error->message.c_str());
        QVERIFY(failed.events.back().kind == RunEventKind::Failed);

        // The KV cache and activations count too: room for the weights alone is not enough.
        RunRequest tight = requestFor(*demo, placement("one gpu", *demo), 1);
        const Run sized = runOnce(tight);
        QVERIFY2(!sized.result.error, qPrintable(failure(sized.result)));
        const std::int64_t weights = sized.result.devices.front().residentBytes;
        QVERIFY(sized.result.devices.front().peakBytes > weights);
        tight.devices = simulatedGpus(1, weights);
        const Run over = runOnce(tight);
        QVERIFY(over.result.error);
        QCOMPARE(over.result.error->kind, ErrorKind::OutOfMemory);

        tight.devices = simulatedGpus(1, sized.result.devices.front().peakBytes);
        const Run fits = runOnce(tight);
        QVERIFY2(!fits.result.error, qPrintable(failure(fits.result)));
        QCOMPARE(fits.result.generatedIds, sized.result.generatedIds);
    }

    // A simulated GPU holds what a real card would: a float16 checkpoint counts its float16 bytes
    // there although the CPU computes in float32 (not twice over); asked to run in float32, twice.
    void simulatedGpuCountsTheGpuDtype()
    {
        Demo demo;
        models::DemoOptions o = test::tinyDemoOptions("llama-3.1-8b", 2, 200, 3);
        o.dtype = DType::F16;
        const auto written = models::writeDemo(demo.path(), o);
        RunRequest r = requestFor(demo, {{"", Device::gpu(0)}}, 1);
        const Run half = runOnce(r);
        QVERIFY2(!half.result.error, qPrintable(failure(half.result)));
        QCOMPARE(half.result.devices.front().residentBytes, written.totalBytes);
        QCOMPARE(half.result.gpuDtype, std::string("float16"));
        r.gpuDtype = "float32";
        const Run full = runOnce(r);
        QVERIFY2(!full.result.error, qPrintable(failure(full.result)));
        QCOMPARE(full.result.devices.front().residentBytes, 2 * written.totalBytes);
        QCOMPARE(full.result.generatedIds, half.result.generatedIds); // the CPU computes in float32 either way
        // An arena of the float16 size runs the float16 plan.
        r.gpuDtype.clear();
        r.devices = simulatedGpus(1, half.result.devices.front().peakBytes);
        const Run fits = runOnce(r);
        QVERIFY2(!fits.result.error, qPrintable(failure(fits.result)));
    }

    // Prefetch never causes an out-of-memory error that a run without it would not hit: on a
    // simulated GPU with exactly the room a run without prefetch needs, prefetch 1 and 2 defer what
    // does not fit and give the same tokens; one byte less fails with prefetch too.
    void prefetchFitsWhereNoPrefetchFits_data()
    {
        QTest::addColumn<QString>("place");
        QTest::addColumn<int>("prefetch");
        QTest::newRow("cpu offload / prefetch 1") << "cpu offload" << 1;
        QTest::newRow("cpu offload / prefetch 2") << "cpu offload" << 2;
        QTest::newRow("disk offload / prefetch 1") << "disk offload" << 1;
        QTest::newRow("disk offload / prefetch 2") << "disk offload" << 2;
    }

    void prefetchFitsWhereNoPrefetchFits()
    {
        QFETCH(QString, place);
        QFETCH(int, prefetch);
        const auto demo = makeDemo("llama-3.1-8b");
        const planner::DeviceMap map = placement(place.toStdString(), *demo);
        const Run unlimited = runOnce(requestFor(*demo, map, 1, 0));
        QVERIFY2(!unlimited.result.error, qPrintable(failure(unlimited.result)));
        const std::int64_t need = unlimited.result.devices.front().peakBytes;
        QVERIFY(unlimited.result.devices.front().device == Device::gpu(0));

        RunRequest exact = requestFor(*demo, map, 1, prefetch);
        exact.devices = simulatedGpus(1, need);
        const Run run = runOnce(exact);
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        QCOMPARE(run.result.generatedIds, unlimited.result.generatedIds);
        QVERIFY2(maxDiff(run.result.logits, unlimited.result.logits) <= 1e-6, "logits differ");
        QVERIFY(run.result.devices.front().peakBytes <= need);
        // A step every earlier step of which prefetched is itself prefetched unless it was deferred
        // or taken back by the worker before its thread started (whether one is depends on the
        // prefetch thread's timing): the notes say so exactly then.
        int broughtAtTurn = 0;
        for (const auto &e : run.events)
            broughtAtTurn += e.kind == RunEventKind::WeightMoved && !e.prefetched;
        QCOMPARE(hasNote(run.result, "deferred: GPU 0 (simulated) had no room") || hasNote(run.result, "had not started when"),
                 broughtAtTurn > 0);

        exact.devices = simulatedGpus(1, need - 1);
        const Run over = runOnce(exact);
        QVERIFY2(over.result.error, "one byte less than a run without prefetch needs still ran");
        QCOMPARE(over.result.error->kind, ErrorKind::OutOfMemory);
        QVERIFY2(over.result.error->message.find("GPU 0") != std::string::npos, over.result.error->message.c_str());
    }

    // Disk modules read from an Accelerate offload folder give the tokens and logits of the all-CPU
    // run, whether the run writes the folder (it has no index.json) or finds it written.
    void offloadFolderGivesTheSameResult_data()
    {
        QTest::addColumn<QString>("place");
        QTest::addColumn<int>("gpus");
        QTest::addColumn<bool>("existing");
        for (const bool existing : {false, true}) {
            const char *how = existing ? "folder already written" : "folder written by the run";
            QTest::newRow(qPrintable(QString("disk offload / %1").arg(how))) << "disk offload" << 1 << existing;
            QTest::newRow(qPrintable(QString("disk, no gpu / %1").arg(how))) << "disk, no gpu" << 0 << existing;
        }
    }

    void offloadFolderGivesTheSameResult()
    {
        QFETCH(QString, place);
        QFETCH(int, gpus);
        QFETCH(bool, existing);
        const auto demo = makeDemo("llama-3.1-8b");
        const Run reference = runOnce(requestFor(*demo, placement("all cpu", *demo), 0));
        QVERIFY2(!reference.result.error, qPrintable(failure(reference.result)));
        QTemporaryDir tmp;
        const std::string folder = tmp.filePath("offload").toStdString();
        if (existing) {
            const loader::Checkpoint checkpoint = loader::open(demo->path());
            std::vector<std::string> all;
            for (const auto &t : checkpoint.catalog.tensors)
                all.push_back(t.name);
            loader::writeOffloadFolder(folder, checkpoint, all);
        }
        RunRequest r = requestFor(*demo, placement(place.toStdString(), *demo), gpus, 1);
        r.offloadFolder = folder;
        const Run run = runOnce(r);
        QVERIFY2(!run.result.error, qPrintable(failure(run.result)));
        QCOMPARE(run.result.generatedIds, reference.result.generatedIds);
        const double diff = maxDiff(run.result.logits, reference.result.logits);
        QVERIFY2(diff <= 1e-6, qPrintable(QString("max logit difference %1").arg(diff)));
        QCOMPARE(hasNote(run.result, "wrote the"), !existing);
        QVERIFY2(hasNote(run.result, "read from the offload folder"), qPrintable(notesOf(run.result)));
        QVERIFY(!loader::offloadIndexPath(folder).empty());
        if (!existing) {
            // Only the disk modules' tensors, in the checkpoint's dtype.
            const loader::Checkpoint written = loader::openOffloadFolder(folder);
            QVERIFY(!written.catalog.tensors.empty());
            for (const auto &t : written.catalog.tensors) {
                QVERIFY2(t.name.find("layers.0.") != std::string::npos || t.name.find("layers.2.") != std::string::npos ||
                             t.name == "model.norm.weight",
                         t.name.c_str());
                QCOMPARE(t.dtype, DType::F32);
            }
        }

        // The folder is what the run reads: a changed weight there changes the logits.
        const std::string dat = folder + "/model.layers.0.mlp.down_proj.weight.dat";
        QFile f(QString::fromStdString(dat));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QByteArray bytes = f.readAll();
        for (qsizetype i = 0; i + 4 <= bytes.size(); i += 4) {
            float v = 0;
            std::memcpy(&v, bytes.constData() + i, 4);
            v = v * 3 + 0.01f;
            std::memcpy(bytes.data() + i, &v, 4);
        }
        QVERIFY(f.seek(0) && f.write(bytes) == bytes.size());
        f.close();
        const Run changed = runOnce(r);
        QVERIFY2(!changed.result.error, qPrintable(failure(changed.result)));
        QVERIFY(maxDiff(changed.result.logits, reference.result.logits) > 1e-3);
    }

    void offloadFolderMismatchesAreClearErrors_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("index lacks a disk tensor") << "lacks" << int(ErrorKind::IndexMismatch) << "model.layers.2.mlp.up_proj.weight";
        QTest::newRow("shape differs from the checkpoint") << "shape" << int(ErrorKind::IndexMismatch) << "another model";
        QTest::newRow("a .dat missing") << "no dat" << int(ErrorKind::MissingShard) << "model.layers.0.mlp.up_proj.weight.dat";
        QTest::newRow("not a folder") << "file" << int(ErrorKind::UnsupportedFormat) << "must be a folder";
    }

    void offloadFolderMismatchesAreClearErrors()
    {
        QFETCH(QString, what);
        QFETCH(int, kind);
        QFETCH(QString, mentions);
        const auto demo = makeDemo("llama-3.1-8b");
        QTemporaryDir tmp;
        const std::string folder = tmp.filePath("offload").toStdString();
        RunRequest r = requestFor(*demo, placement("disk offload", *demo), 1);
        r.offloadFolder = folder;
        const Run first = runOnce(r); // writes the folder
        QVERIFY2(!first.result.error, qPrintable(failure(first.result)));
        const QString index = QString::fromStdString(folder + "/index.json");
        auto editIndex = [&](const std::function<void(nlohmann::ordered_json &)> &edit) {
            QFile f(index);
            QVERIFY(f.open(QIODevice::ReadOnly));
            auto j = nlohmann::ordered_json::parse(f.readAll().toStdString());
            f.close();
            edit(j);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(QByteArray::fromStdString(j.dump(2)));
        };
        if (what == "lacks") {
            editIndex([](auto &j) { j.erase("model.layers.2.mlp.up_proj.weight"); });
        } else if (what == "shape") {
            // The same bytes seen as another shape.
            editIndex([](auto &j) {
                auto &shape = j["model.layers.0.mlp.up_proj.weight"]["shape"];
                shape = {shape[1], shape[0]};
            });
        } else if (what == "no dat") {
            QVERIFY(QFile::remove(QString::fromStdString(folder + "/model.layers.0.mlp.up_proj.weight.dat")));
        } else if (what == "file") {
            r.offloadFolder = folder + "/index.json";
        }
        const Run run = runOnce(r);
        QVERIFY2(run.result.error, "no error");
        const std::string text = run.result.error->file + " " + run.result.error->message;
        QVERIFY2(int(run.result.error->kind) == kind, text.c_str());
        QVERIFY2(text.find(mentions.toStdString()) != std::string::npos, text.c_str());
        QVERIFY(run.events.back().kind == RunEventKind::Failed);
    }

    void cancelStopsTheRun()
    {
        const auto demo = makeDemo("llama-3.1-8b");
        RunRequest r = requestFor(*demo, placement("cpu offload", *demo), 1);
        r.maxNewTokens = 40;
        const Run run = runOnce(r, [](runtime::Session &s, const std::vector<RunEvent> &batch) {
            for (const auto &e : batch)
                if (e.kind == RunEventKind::Token)
                    s.cancel();
        });
        QVERIFY(run.result.cancelled);
        QVERIFY(!run.result.error);
        QVERIFY(run.result.generatedIds.size() < 40);
        QVERIFY(run.events.back().kind == RunEventKind::Cancelled);
        // Usable again.
        const Run again = runOnce(requestFor(*demo, placement("2 gpus", *demo), 2));
        QVERIFY2(!again.result.error, qPrintable(failure(again.result)));
    }

    void badRequestsAreClearErrors_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("map misses a module") << "missing" << int(ErrorKind::InvalidDeviceMap) << "model.layers.2";
        QTest::newRow("a real GPU this machine lacks") << "real gpu" << int(ErrorKind::InvalidArgument) << "GPU 64";
        QTest::newRow("token id outside the vocabulary") << "bad id" << int(ErrorKind::InvalidArgument) << "vocabulary";
        QTest::newRow("a shard gone at run time") << "no shard" << int(ErrorKind::MissingShard) << "model-00002-of-00002";
        QTest::newRow("float16 compute on the CPU") << "fp16 cpu" << int(ErrorKind::InvalidArgument) << "float16";
    }

    void badRequestsAreClearErrors()
    {
        QFETCH(QString, what);
        QFETCH(int, kind);
        QFETCH(QString, mentions);
        const auto demo = makeDemo("llama-3.1-8b");
        RunRequest r = requestFor(*demo, placement("2 gpus", *demo), 2);
        if (what == "missing") {
            r.map.erase(std::remove_if(r.map.begin(), r.map.end(), [](const auto &e) { return e.first == "model.layers.2"; }),
                        r.map.end());
        } else if (what == "real gpu") {
            // GPU 1 becomes a real GPU 64, which no machine here has.
            for (auto &entry : r.map)
                if (entry.second == Device::gpu(1))
                    entry.second = Device::gpu(64);
            r.devices = {{Device::gpu(0), true, -1, {}}, {Device::gpu(64), false, -1, {}}};
        } else if (what == "bad id") {
            r.promptIds.push_back(100000);
        } else if (what == "no shard") {
            QVERIFY(QFile::remove(demo->dir.filePath("model-00002-of-00002.safetensors")));
        } else if (what == "fp16 cpu") {
            r.cpuDtype = "float16";
        }
        const Run run = runOnce(r);
        QVERIFY2(run.result.error, "no error");
        const std::string text = run.result.error->file + " " + run.result.error->message;
        QVERIFY2(int(run.result.error->kind) == kind, text.c_str());
        QVERIFY2(text.find(mentions.toStdString()) != std::string::npos, text.c_str());
    }
};

QTEST_GUILESS_MAIN(TestDispatch)
#include "tst_dispatch.moc"
