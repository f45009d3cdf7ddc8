// planner/cost: the predicted speed of a device map (prefill, time per token with and without
// prefetch, bytes moved), checked against time lines worked out by hand, and the speed model's
// JSON.
#include "planner/cost.h"
#include "planner/error.h"
#include "planner/validate.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <algorithm>

using namespace mizan;
using namespace mizan::planner;

namespace {

// embed (Embedding [10, 4]), layers.0 and layers.1 (class Block, one [4, 4] linear each), head
// (Linear [10, 4]); every weight float32 unless `dtype` says otherwise. Blocks are no-split.
ModuleTree tinyTree(DType blockDtype = DType::F32)
{
    ModuleTree tree;
    const int embed = tree.addChild(ModuleTree::kRoot, "embed", "Embedding");
    tree.addTensor(embed, Tensor{"weight", DType::F32, {10, 4}});
    const int layers = tree.addChild(ModuleTree::kRoot, "layers", "ModuleList");
    for (int i = 0; i < 2; ++i) {
        const int block = tree.addChild(layers, std::to_string(i), "Block");
        const int lin = tree.addChild(block, "lin", "Linear");
        tree.addTensor(lin, Tensor{"weight", blockDtype, {4, 4}});
    }
    const int head = tree.addChild(ModuleTree::kRoot, "head", "Linear");
    tree.addTensor(head, Tensor{"weight", DType::F32, {10, 4}});
    return tree;
}

PlanOptions options()
{
    PlanOptions o;
    o.maxMemory = {{Device::cpu(), 1 << 20}};
    o.noSplitClasses = {"Block"};
    return o;
}

// Round numbers: 64 bytes/s of weights, 0.5 s per module, 64 FLOP/s; a 32 bytes/s host link.
SpeedModel speeds()
{
    SpeedModel s;
    s.cpu.device = Device::cpu();
    s.cpu.compute = {64, 64, 0.5};
    DeviceSpeed gpu;
    gpu.device = Device::gpu(0);
    gpu.compute = {64, 64, 0.5};
    gpu.hostLink = 32;
    s.gpus = {gpu};
    s.assumedGpu = gpu;
    s.memcpyBandwidth = 128;
    s.pageCacheBandwidth = 128;
    s.diskBandwidth = 16;
    s.pageCacheBytes = 1 << 20;
    s.convertBandwidth = 32;
    return s;
}

DeviceMap mapOf(const char *layer0)
{
    return {{"embed", Device::gpu(0)}, {"layers.0", Device::fromString(layer0)}, {"layers.1", Device::gpu(0)}, {"head", Device::gpu(0)}};
}

// embed [V, 4], N blocks of one [W, 4] linear, head [V, 4] (tied to embed when `tied`): float32.
ModuleTree chainTree(int blocks, std::int64_t width, bool tied)
{
    ModuleTree tree;
    const int embed = tree.addChild(ModuleTree::kRoot, "embed", "Embedding");
    tree.addTensor(embed, Tensor{"weight", DType::F32, {32, 4}, false, true, tied ? 0 : -1});
    const int layers = tree.addChild(ModuleTree::kRoot, "layers", "ModuleList");
    for (int i = 0; i < blocks; ++i) {
        const int block = tree.addChild(layers, std::to_string(i), "Block");
        const int lin = tree.addChild(block, "lin", "Linear");
        tree.addTensor(lin, Tensor{"weight", DType::F32, {width + i % 3, 4}});
    }
    const int head = tree.addChild(ModuleTree::kRoot, "head", "Linear");
    tree.addTensor(head, Tensor{"weight", DType::F32, {32, 4}, false, true, tied ? 0 : -1});
    return tree;
}

// embed [10, 4], two Block layers of attn [4, 4], mlp.gate [4, 4] and mlp.experts (4 experts stacked:
// gate_up_proj [4, 8, 4], down_proj [4, 4, 4], 768 bytes), head [10, 4]: float32, Mixtral's v5 layout.
ModuleTree moeTree(DType expertsDtype = DType::F32)
{
    ModuleTree tree;
    const int embed = tree.addChild(ModuleTree::kRoot, "embed", "Embedding");
    tree.addTensor(embed, Tensor{"weight", DType::F32, {10, 4}});
    const int layers = tree.addChild(ModuleTree::kRoot, "layers", "ModuleList");
    for (int i = 0; i < 2; ++i) {
        const int block = tree.addChild(layers, std::to_string(i), "Block");
        tree.addTensor(tree.addChild(block, "attn", "Linear"), Tensor{"weight", DType::F32, {4, 4}});
        const int mlp = tree.addChild(block, "mlp", "SparseMoeBlock");
        tree.addTensor(tree.addChild(mlp, "gate", "Linear"), Tensor{"weight", DType::F32, {4, 4}});
        const int experts = tree.addChild(mlp, "experts", "Experts");
        tree.addTensor(experts, Tensor{"gate_up_proj", expertsDtype, {4, 8, 4}});
        tree.addTensor(experts, Tensor{"down_proj", expertsDtype, {4, 4, 4}});
    }
    const int head = tree.addChild(ModuleTree::kRoot, "head", "Linear");
    tree.addTensor(head, Tensor{"weight", DType::F32, {10, 4}});
    return tree;
}

Device deviceOf(const DeviceMap &map, const std::string &module)
{
    // The key naming the module or its closest ancestor.
    std::string best;
    std::optional<Device> found;
    for (const auto &[key, device] : map)
        if ((key.empty() || module == key || module.rfind(key + ".", 0) == 0) && (!found || key.size() >= best.size())) {
            best = key;
            found = device;
        }
    return found.value_or(Device::disk());
}

} // namespace

class TestCost : public QObject {
    Q_OBJECT
private slots:
    void residentComputeIsOverheadPlusStreamedWeights();
    void prefetchHidesTransfers_data();
    void prefetchHidesTransfers();
    void simulatedGpuCopiesSlowTheComputation_data();
    void simulatedGpuCopiesSlowTheComputation();
    void diskBeyondThePageCacheIsReadEveryToken();
    void cpuComputesDiskWeightsInPlaceOrConverts();
    void prefillIsBoundByFlopsOrBandwidth();
    void expertsOnTheCpuComputeThere();
    void uncoveredWeightIsAnError();
    void speedModelJsonRoundTrip();
    void speedModelJsonNamesTheBadField_data();
    void speedModelJsonNamesTheBadField();
    void optimalIsNeverSlowerThanGreedy_data();
    void optimalIsNeverSlowerThanGreedy();
    void optimalHonoursPinsForbidsAndTies();
    void optimalStrategyName();
};

void TestCost::residentComputeIsOverheadPlusStreamedWeights()
{
    const Prediction p = predict(tinyTree(), {{"", Device::cpu()}}, options(), speeds());
    // embed: 0.5 (one row read, not streamed); each block 0.5 + 64/64; head 0.5 + 160/64.
    QCOMPARE(p.steps.size(), std::size_t(4));
    QCOMPARE(p.steps[1].module, std::string("layers.0"));
    QCOMPARE(p.steps[0].computeSeconds, 0.5);
    QCOMPARE(p.steps[1].computeSeconds, 1.5);
    QCOMPARE(p.steps[3].computeSeconds, 3.0);
    QCOMPARE(p.decodeSeconds, 6.5);
    QCOMPARE(p.decodeSecondsNoPrefetch, 6.5);
    QCOMPARE(p.decodeSecondsResident, 6.5);
    QCOMPARE(p.bytesMovedPerToken, std::int64_t(0));
    QCOMPARE(p.offloadedSteps, 0);
    QCOMPARE(p.slowdown(), 1.0);
}

void TestCost::prefetchHidesTransfers_data()
{
    QTest::addColumn<int>("prefetch");
    QTest::addColumn<double>("handoff");
    QTest::addColumn<double>("decode");
    // layers.0 lives in RAM and runs on GPU 0: 64 bytes over a 32 B/s link = 2 s per token.
    QTest::newRow("no prefetch: compute + transfer") << 0 << 0.0 << 8.5;
    // Brought in while embed computes (0.5 s): the block waits 1.5 s more.
    QTest::newRow("prefetch 1: overlaps embed") << 1 << 0.0 << 8.0;
    // Brought in while the previous token's head computes (3 s): hidden entirely.
    QTest::newRow("prefetch 2: hidden behind the head") << 2 << 0.0 << 6.5;
    // A prefetch thread that starts 0.25 s after its launch and a worker that wakes 0.25 s after
    // it ends: nothing without prefetch (no thread), 0.5 s more where the block waited for it
    // (2.25 s to bring in from the start of embed, then the wake), nothing where it was hidden.
    QTest::newRow("hand-off, no prefetch") << 0 << 0.25 << 8.5;
    QTest::newRow("hand-off, prefetch 1: waited for") << 1 << 0.25 << 8.5;
    QTest::newRow("hand-off, prefetch 2: still hidden") << 2 << 0.25 << 6.5;
}

void TestCost::prefetchHidesTransfers()
{
    QFETCH(int, prefetch);
    QFETCH(double, handoff);
    QFETCH(double, decode);
    Workload w;
    w.prefetch = prefetch;
    SpeedModel s = speeds();
    s.prefetchHandoff = handoff;
    const Prediction p = predict(tinyTree(), mapOf("cpu"), options(), s, w);
    QCOMPARE(p.steps[1].exec, Device::gpu(0));
    QCOMPARE(p.steps[1].transferSeconds, 2.0);
    QCOMPARE(p.bytesMovedPerToken, std::int64_t(64));
    QCOMPARE(p.decodeSeconds, decode);
    QCOMPARE(p.decodeSecondsNoPrefetch, 8.5);
    QCOMPARE(p.offloadedSteps, 1);
    QCOMPARE(p.diskSteps, 0);
    QVERIFY(qFuzzyCompare(p.slowdown(), decode / 6.5));
}

void TestCost::simulatedGpuCopiesSlowTheComputation_data()
{
    QTest::addColumn<int>("prefetch");
    QTest::addColumn<double>("decode");
    // GPU 0 simulated in host RAM: layers.0's 64 bytes are copied by the CPU (0.5 s at 128 B/s),
    // then wait for the 32 B/s link (2 s in all, as for a real GPU). Without prefetch the copy
    // is part of the wait; a prefetch's copy takes memory bandwidth from the step computing
    // meanwhile, which is slowed by as long as they overlap.
    QTest::newRow("no prefetch: compute + transfer") << 0 << 8.5;
    // The copy overlaps embed (0.5 s): embed ends at 1 s, the block still waits for the link until 2 s.
    QTest::newRow("prefetch 1: embed slowed, still waited for") << 1 << 8.0;
    // The copy overlaps the previous token's head (3 s), which takes 0.5 s longer: 6.5 + 0.5.
    QTest::newRow("prefetch 2: head slowed by the copy") << 2 << 7.0;
}

void TestCost::simulatedGpuCopiesSlowTheComputation()
{
    QFETCH(int, prefetch);
    QFETCH(double, decode);
    Workload w;
    w.prefetch = prefetch;
    SpeedModel s = speeds();
    s.gpus[0].simulated = true;
    const Prediction p = predict(tinyTree(), mapOf("cpu"), options(), s, w);
    QCOMPARE(p.steps[1].transferSeconds, 2.0);
    QCOMPARE(p.steps[1].hostCopySeconds, 0.5);
    QCOMPARE(p.decodeSeconds, decode);
    QCOMPARE(p.decodeSecondsNoPrefetch, 8.5);
    // A real GPU copies by DMA: nothing taken from the computation.
    s.gpus[0].simulated = false;
    const Prediction real = predict(tinyTree(), mapOf("cpu"), options(), s, w);
    QCOMPARE(real.steps[1].hostCopySeconds, 0.0);
    QCOMPARE(real.decodeSeconds, prefetch == 2 ? 6.5 : decode);
}

void TestCost::diskBeyondThePageCacheIsReadEveryToken()
{
    SpeedModel s = speeds();
    Workload w;
    w.prefetch = 0;
    const Prediction cached = predict(tinyTree(), mapOf("disk"), options(), s, w);
    QCOMPARE(cached.steps[1].transferSeconds, 2.0); // page cache, then the link
    QCOMPARE(cached.bytesFromDiskPerToken, std::int64_t(0));
    s.pageCacheBytes = 63; // the block's 64 bytes do not fit
    const Prediction cold = predict(tinyTree(), mapOf("disk"), options(), s, w);
    QCOMPARE(cold.steps[1].transferSeconds, 2.0 + 64.0 / 16);
    QCOMPARE(cold.bytesFromDiskPerToken, std::int64_t(64));
    QCOMPARE(cold.decodeSeconds, 6.5 + 6.0);
    QCOMPARE(cold.diskSteps, 1);
    // CPU weights take RAM from the page cache.
    s.pageCacheBytes = 64 + 64;
    DeviceMap map = mapOf("disk");
    map[2].second = Device::cpu();
    QCOMPARE(predict(tinyTree(), map, options(), s, w).bytesFromDiskPerToken, std::int64_t(0));
    s.pageCacheBytes = 64 + 63;
    QCOMPARE(predict(tinyTree(), map, options(), s, w).bytesFromDiskPerToken, std::int64_t(64));
}

void TestCost::cpuComputesDiskWeightsInPlaceOrConverts()
{
    Workload w;
    w.prefetch = 0;
    const DeviceMap map{{"embed", Device::cpu()}, {"layers.0", Device::disk()}, {"layers.1", Device::cpu()}, {"head", Device::cpu()}};
    // float32 on disk, computed on the CPU: used in place from the page cache, nothing moved.
    const Prediction inPlace = predict(tinyTree(), map, options(), speeds(), w);
    QCOMPARE(inPlace.steps[1].exec, Device::cpu());
    QCOMPARE(inPlace.steps[1].transferSeconds, 0.0);
    QCOMPARE(inPlace.bytesMovedPerToken, std::int64_t(0));
    QCOMPARE(inPlace.decodeSeconds, 6.5);
    // float16 on disk: 32 stored bytes converted at 32 B/s, 64 bytes of float32 made.
    const Prediction converted = predict(tinyTree(DType::F16), map, options(), speeds(), w);
    QCOMPARE(converted.steps[1].transferSeconds, 1.0);
    QCOMPARE(converted.steps[1].bytesMoved, std::int64_t(64));
    QCOMPARE(converted.steps[1].computeSeconds, 1.5); // computed in float32
    QCOMPARE(converted.decodeSeconds, 7.5);
}

void TestCost::prefillIsBoundByFlopsOrBandwidth()
{
    Workload w;
    w.promptTokens = 4;
    const Prediction p = predict(tinyTree(), {{"", Device::cpu()}}, options(), speeds(), w);
    // A block: 16 weights, 2 FLOPs each per token, 4 tokens = 128 FLOP at 64 FLOP/s = 2 s > 1 s of weights.
    QCOMPARE(p.steps[1].prefillComputeSeconds, 0.5 + 2.0);
    // The head, after the last block, computes the last position only (as the runtime does): 80
    // FLOP at 64 FLOP/s is less than its 160 bytes of weights at 64 B/s.
    QCOMPARE(p.steps[3].prefillComputeSeconds, 0.5 + 2.5);
    QCOMPARE(p.prefillSeconds, 0.5 + 2.5 * 2 + 0.5 + 2.5);
    w.promptTokens = 1; // one token: bandwidth-bound, as a decode step
    QCOMPARE(predict(tinyTree(), {{"", Device::cpu()}}, options(), speeds(), w).prefillSeconds, 6.5);
}

// A block's experts mapped to "cpu" while the block runs on GPU 0 compute on the CPU, as the
// runtime does: per token the routed experts' weights at the CPU's bandwidth plus the hidden state's
// hop there and back, nothing moved; the prompt reads them all (or is FLOP-bound).
void TestCost::expertsOnTheCpuComputeThere()
{
    Workload w;
    w.promptTokens = 4;
    w.prefetch = 0;
    const DeviceMap map{{"embed", Device::gpu(0)}, {"layers.0", Device::gpu(0)}, {"layers.0.mlp.experts", Device::cpu()},
                        {"layers.1", Device::gpu(0)}, {"head", Device::gpu(0)}};
    const Prediction p = predict(moeTree(), map, options(), speeds(), w);
    QCOMPARE(p.steps[1].module, std::string("layers.0"));
    QCOMPARE(p.steps[1].exec, Device::gpu(0));
    // GPU: 3 modules x 0.5 + 128 bytes / 64, minus the experts' 0.5 now paid on the CPU.
    // CPU: 0.5 + 768 bytes x 2 of 4 experts / 64 + 32 bytes of hidden state there and back / 32 = 7.5.
    QCOMPARE(p.steps[1].cpuComputeSeconds, 0.5 + 6.0 + 1.0);
    QCOMPARE(p.steps[1].computeSeconds, 3.5 - 0.5 + 7.5);
    QCOMPARE(p.steps[1].bytesMoved, std::int64_t(0));
    QCOMPARE(p.steps[1].offloadedBytes, std::int64_t(0));
    QCOMPARE(p.steps[1].cpuComputedBytes, std::int64_t(768));
    QCOMPARE(p.bytesMovedPerToken, std::int64_t(0));
    QCOMPARE(p.offloadedSteps, 0);
    QCOMPARE(p.cpuExpertSteps, 1);
    QCOMPARE(p.cpuComputeSecondsPerToken, 7.5);
    // The block on layers.1, all on GPU 0: 3 modules with weights x 0.5, and per token the
    // attention and router (128 B) and the routed 2 of 4 experts (384 of 768 B) at 64 B/s; its
    // prompt reads every expert: max(896 / 64, 2 x (32 + 192 x 0.5) x 4 / 64) = 16 s.
    QCOMPARE(p.steps[2].computeSeconds, 1.5 + 8.0);
    QCOMPARE(p.steps[2].prefillComputeSeconds, 1.5 + 16.0);
    QCOMPARE(p.steps[2].cpuComputeSeconds, 0.0);
    // Prefill of 4 tokens: GPU max(128 / 64, 2 x 32 x 4 / 64) = 4 s + 1.5 s; CPU max(768 / 64,
    // 2 x 192 x 0.5 x 4 / 64) = 12 s + 0.5 s + 4 hops of 1 s.
    QCOMPARE(p.steps[1].cpuPrefillComputeSeconds, 0.5 + 12.0 + 4.0);
    QCOMPARE(p.steps[1].prefillComputeSeconds, 5.5 - 0.5 + 16.5);
    QVERIFY(summarize(p).find("experts of 1 block computed on the CPU") != std::string::npos);
    // The RAM they take there: in the CPU's compute dtype. float32 experts are held as planned;
    // float16 ones take twice what the plan counts in float32, as stored in bfloat16.
    auto ramNote = [](const Prediction &pr) {
        for (const auto &n : pr.notes)
            if (n.find("held there in") != std::string::npos)
                return n;
        return std::string();
    };
    QCOMPARE(p.cpuExpertsPlannedBytes, std::int64_t(768));
    QCOMPARE(p.cpuExpertsHeldBytes, std::int64_t(768));
    QCOMPARE(ramNote(p), std::string());
    PlanOptions half = options();
    half.dtype = DType::F16;
    const Prediction f16 = predict(moeTree(), map, half, speeds(), w);
    QCOMPARE(f16.cpuExpertsPlannedBytes, std::int64_t(384));
    QCOMPARE(f16.cpuExpertsHeldBytes, std::int64_t(768));
    QCOMPARE(ramNote(f16), std::string("the experts computed on the CPU are held there in float32: 768 B of RAM where the plan counts 384 B "
                                       "(run with --cpu-dtype bfloat16 to hold them in 2 bytes per weight)"));
    SpeedModel bf16 = speeds();
    bf16.cpuComputeDtype = DType::BF16;
    const Prediction held = predict(moeTree(), map, half, bf16, w);
    QCOMPARE(held.cpuExpertsHeldBytes, std::int64_t(384));
    QCOMPARE(ramNote(held), std::string());

    // Every expert read per token when the routing is not known.
    Workload all = w;
    all.expertsPerToken = 0;
    QCOMPARE(predict(moeTree(), map, options(), speeds(), all).steps[1].cpuComputeSeconds, 0.5 + 12.0 + 1.0);

    // On disk they compute on the CPU too, used in place from the page cache (their 768 B fit in
    // it): the same time as in RAM, nothing moved, no RAM held for them.
    DeviceMap onDisk = map;
    onDisk[2].second = Device::disk();
    const Prediction disk = predict(moeTree(), onDisk, options(), speeds(), w);
    QCOMPARE(disk.steps[1].cpuComputeSeconds, 7.5);
    QCOMPARE(disk.steps[1].offloadedBytes, std::int64_t(0));
    QCOMPARE(disk.steps[1].bytesMoved, std::int64_t(0));
    QCOMPARE(disk.cpuExpertSteps, 1);
    QCOMPARE(disk.cpuExpertsHeldBytes, std::int64_t(0));
    QCOMPARE(disk.bytesFromDiskPerToken, std::int64_t(0));
    // Not in the page cache: per token the routed half of their pages (384 B at 16 B/s), for the
    // prompt all of them (768 B).
    SpeedModel cold = speeds();
    cold.pageCacheBytes = 0;
    const Prediction uncached = predict(moeTree(), onDisk, options(), cold, w);
    QCOMPARE(uncached.steps[1].cpuComputeSeconds, 7.5 + 24.0);
    QCOMPARE(uncached.steps[1].cpuPrefillComputeSeconds, 0.5 + 12.0 + 4.0 + 48.0);
    QCOMPARE(uncached.bytesFromDiskPerToken, std::int64_t(384));
    // Stored in float16 and stacked in one tensor per projection: converted to float32 on every
    // use, every expert (384 B at 32 B/s), and a note says so.
    const Prediction stored16 = predict(moeTree(DType::F16), onDisk, options(), speeds(), w);
    QCOMPARE(stored16.steps[1].cpuComputeSeconds, 7.5 + 12.0);
    QVERIFY(std::any_of(stored16.notes.begin(), stored16.notes.end(), [](const std::string &n) {
        return n.find("converted from float16 to float32 on every use: 384 B per token") != std::string::npos;
    }));
    QVERIFY(std::none_of(disk.notes.begin(), disk.notes.end(), [](const std::string &n) { return n.find("on every use") != std::string::npos; }));
    // Brought in, not computed on the CPU: a part of the experts on GPU 0, the rest on disk.
    DeviceMap split = map;
    split[2] = {"layers.0.mlp.experts.gate_up_proj", Device::gpu(0)};
    split.insert(split.begin() + 3, {"layers.0.mlp.experts.down_proj", Device::disk()});
    const Prediction part = predict(moeTree(), split, options(), speeds(), w);
    QCOMPARE(part.steps[1].cpuComputeSeconds, 0.0);
    QCOMPARE(part.steps[1].offloadedBytes, std::int64_t(256));
    QCOMPARE(part.cpuExpertSteps, 0);
    // The whole block on the CPU: it computes there anyway, nothing split.
    DeviceMap cpuBlock = map;
    cpuBlock[1].second = Device::cpu();
    const Prediction whole = predict(moeTree(), cpuBlock, options(), speeds(), w);
    QCOMPARE(whole.steps[1].exec, Device::gpu(0)); // the execution device brings the block in
    QCOMPARE(whole.steps[1].cpuComputeSeconds, 0.0);
    QCOMPARE(whole.steps[1].offloadedBytes, std::int64_t(128 + 768));
}

void TestCost::uncoveredWeightIsAnError()
{
    const DeviceMap map{{"embed", Device::cpu()}, {"layers", Device::cpu()}};
    try {
        predict(tinyTree(), map, options(), speeds());
        QFAIL("no error");
    } catch (const Error &e) {
        QCOMPARE(e.kind(), ErrorKind::InvalidDeviceMap);
        QVERIFY2(QString::fromStdString(e.message()).contains("head.weight"), e.what());
    }
    try {
        predict(tinyTree(), {{"nothing", Device::cpu()}}, options(), speeds());
        QFAIL("no error");
    } catch (const Error &e) {
        QVERIFY2(QString::fromStdString(e.message()).contains("nothing"), e.what());
    }
}

void TestCost::speedModelJsonRoundTrip()
{
    SpeedModel s = speeds();
    s.gpus[0].simulated = true;
    s.gpus[0].source = "simulated in host RAM";
    s.cpuComputeDtype = DType::BF16;
    s.serialLink = false;
    s.prefetchHandoff = 4e-5;
    s.notes = {"a note"};
    const nlohmann::json j = nlohmann::json::parse(speedModelToJson(s).dump());
    const SpeedModel back = speedModelFromJson(j, assumedSpeedModel());
    QVERIFY(back == s);
    // Missing fields keep the base's.
    const SpeedModel partial = speedModelFromJson(nlohmann::json{{"disk_bandwidth", 5}}, s);
    QCOMPARE(partial.diskBandwidth, 5.0);
    QCOMPARE(partial.memcpyBandwidth, s.memcpyBandwidth);
}

void TestCost::speedModelJsonNamesTheBadField_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("words");
    QTest::newRow("not an object") << "[1]" << "expected a JSON object";
    QTest::newRow("negative bandwidth") << R"({"disk_bandwidth": -1})" << "\"disk_bandwidth\" must be a finite number >= 0";
    QTest::newRow("string bandwidth") << R"({"memcpy_bandwidth": "fast"})" << "\"memcpy_bandwidth\" must be a number";
    QTest::newRow("cpu compute wrong type") << R"({"cpu": {"compute": {"flops": true}}})" << "\"cpu.compute.flops\" must be a number";
    QTest::newRow("gpu not a GPU") << R"({"gpus": [{"device": "cpu"}]})" << "\"gpus[0].device\" must be a GPU index";
    QTest::newRow("bad dtype") << R"({"cpu_compute_dtype": "float12"})" << "\"cpu_compute_dtype\" is not a torch dtype";
    QTest::newRow("notes not strings") << R"({"notes": [1]})" << "\"notes\" must be a list of strings";
}

void TestCost::speedModelJsonNamesTheBadField()
{
    QFETCH(QString, json);
    QFETCH(QString, words);
    try {
        speedModelFromJson(nlohmann::json::parse(json.toStdString()), assumedSpeedModel(), "speeds.json");
        QFAIL("no error");
    } catch (const Error &e) {
        QCOMPARE(QString::fromStdString(e.file()), QStringLiteral("speeds.json"));
        QVERIFY2(QString::fromStdString(e.message()).contains(words), e.what());
    }
}

void TestCost::optimalIsNeverSlowerThanGreedy_data()
{
    QTest::addColumn<int>("blocks");
    QTest::addColumn<QString>("budgets");
    QTest::addColumn<bool>("tied");
    QTest::addColumn<int>("prefetch");
    QTest::newRow("fits on one GPU") << 6 << "0=4KiB,cpu=1MiB" << false << 1;
    QTest::newRow("one GPU, CPU offload") << 12 << "0=1000,cpu=1MiB" << false << 1;
    QTest::newRow("two GPUs, CPU offload") << 16 << "0=1100,1=700,cpu=1MiB" << false << 1;
    QTest::newRow("two GPUs, CPU and disk") << 16 << "0=1100,1=700,cpu=900" << false << 0;
    QTest::newRow("uneven GPUs, tied head") << 16 << "0=1500,1=500,2=300,cpu=800" << true << 1;
    QTest::newRow("no GPU, CPU and disk") << 10 << "cpu=600" << false << 1;
    QTest::newRow("tiny GPU 0") << 10 << "0=100,1=3000,cpu=1MiB" << false << 2;
}

void TestCost::optimalIsNeverSlowerThanGreedy()
{
    QFETCH(int, blocks);
    QFETCH(QString, budgets);
    QFETCH(bool, tied);
    QFETCH(int, prefetch);
    const ModuleTree tree = chainTree(blocks, 12, tied);
    PlanOptions o = options();
    o.maxMemory = parseMaxMemory(budgets.toStdString());
    SpeedModel s = speeds();
    s.gpus.push_back(s.gpus[0]);
    s.gpus.back().device = Device::gpu(1);
    s.gpus.push_back(s.gpus[0]);
    s.gpus.back().device = Device::gpu(2);
    o.speeds = s;
    o.prefetch = prefetch;
    Workload w;
    w.prefetch = prefetch;
    PlanOptions greedyOptions = o;
    greedyOptions.strategy = Strategy::Auto;
    const Plan greedy = plan(tree, greedyOptions);
    o.strategy = Strategy::Optimal;
    const Plan optimal = plan(tree, o);
    const Prediction pg = predict(tree, greedy.deviceMap, o, s, w);
    const Prediction po = predict(tree, optimal.deviceMap, o, s, w);
    QVERIFY2(po.decodeSeconds <= pg.decodeSeconds, qPrintable(QStringLiteral("optimal %1 s, greedy %2 s").arg(po.decodeSeconds).arg(pg.decodeSeconds)));
    // Within the budgets (validate's checks), every weight covered.
    const auto issues = validate(tree, optimal.deviceMap, o);
    for (const auto &i : issues)
        QVERIFY2(i.severity != Severity::Error, i.message().c_str());
    // Whenever something is offloaded, no GPU keeps free room the smallest offloaded block fits in
    // (beyond the reserve for bringing offloaded blocks in).
    double smallest = -1;
    for (const auto &step : po.steps)
        if (step.offloadedBytes > 0 && step.module.rfind("layers.", 0) == 0)
            smallest = smallest < 0 ? double(step.offloadedBytes) : std::min(smallest, double(step.offloadedBytes));
    if (smallest > 0)
        for (const auto &u : optimal.usage)
            if (u.device.isGpu())
                QVERIFY2(u.freeBytes < smallest, qPrintable(QStringLiteral("%1 keeps %2 B free, a %3 B block is offloaded")
                                                                .arg(QString::fromStdString(u.device.label()))
                                                                .arg(u.freeBytes)
                                                                .arg(smallest)));
}

void TestCost::optimalHonoursPinsForbidsAndTies()
{
    const ModuleTree tree = chainTree(8, 12, true);
    PlanOptions o = options();
    o.maxMemory = parseMaxMemory("0=600,1=600,cpu=1MiB");
    SpeedModel s = speeds();
    s.gpus.push_back(s.gpus[0]);
    s.gpus.back().device = Device::gpu(1);
    o.speeds = s;
    o.strategy = Strategy::Optimal;
    o.pins = {parsePin("layers.7=1"), parsePin("layers.0!=0")};
    const Plan p = plan(tree, o);
    QCOMPARE(deviceOf(p.deviceMap, "layers.7"), Device::gpu(1));
    QVERIFY(deviceOf(p.deviceMap, "layers.0") != Device::gpu(0));
    QCOMPARE(deviceOf(p.deviceMap, "head"), deviceOf(p.deviceMap, "embed")); // tied
    for (const auto &i : validate(tree, p.deviceMap, o))
        QVERIFY2(i.severity != Severity::Error, i.message().c_str());
}

void TestCost::optimalStrategyName()
{
    QCOMPARE(std::string(toString(Strategy::Optimal)), std::string("optimal"));
    QCOMPARE(strategyFromString("optimal"), Strategy::Optimal);
    try {
        strategyFromString("fastest");
        QFAIL("no error");
    } catch (const Error &e) {
        QVERIFY2(QString::fromStdString(e.message()).contains("optimal"), e.what());
    }
}

QTEST_APPLESS_MAIN(TestCost)
#include "tst_cost.moc"
