// planner::plan(), validate() and the plan formats (beyond the Accelerate parity table).
#include "planner/accelerate.h"
#include "planner/error.h"
#include "planner/jsonfile.h"
#include "planner/mapfile.h"
#include "planner/planerror.h"
#include "planner/plan.h"
#include "planner/validate.h"
#include "planner/planfile.h"
#include "testutil.h"
#include "planner/usage.h"
#include "planner/memory.h"

#include <sys/resource.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include <QtTest>

#include <QTemporaryDir>

#include <map>
#include <set>
#include <random>

using namespace mizan;
using namespace mizan::planner;
using nlohmann::json;

namespace {

json linear(const std::string &name, int in, int out, bool bias = true, const char *tie = nullptr)
{
    json w = {{"name", "weight"}, {"shape", {out, in}}, {"dtype", "float32"}};
    if (tie)
        w["tie"] = tie;
    json params = json::array({w});
    if (bias)
        params.push_back({{"name", "bias"}, {"shape", {out}}, {"dtype", "float32"}});
    return {{"name", name}, {"class", "Linear"}, {"params", params}, {"buffers", json::array()}, {"children", json::array()}};
}

// A toy language model: embed (6400 B, tied to lm_head), 4 blocks of 3264 B, norm (64 B),
// lm_head (weight tied: 0 B of its own). Total 19520 B.
ModuleTree toyModel(int blocks = 4)
{
    json layers = {{"name", "layers"}, {"class", "ModuleList"}, {"params", json::array()}, {"buffers", json::array()}, {"children", json::array()}};
    for (int i = 0; i < blocks; ++i)
        layers["children"].push_back({{"name", std::to_string(i)}, {"class", "Block"}, {"params", json::array()}, {"buffers", json::array()},
                                      {"children", {linear("attn", 16, 16), linear("mlp", 16, 32)}}});
    json root = {{"name", ""}, {"class", "ToyLM"}, {"params", json::array()}, {"buffers", json::array()},
                 {"children", {{{"name", "embed"}, {"class", "Embedding"}, {"params", {{{"name", "weight"}, {"shape", {100, 16}}, {"dtype", "float32"}, {"tie", "emb"}}}},
                                {"buffers", json::array()}, {"children", json::array()}},
                               layers,
                               {{"name", "norm"}, {"class", "RMSNorm"}, {"params", {{{"name", "weight"}, {"shape", {16}}, {"dtype", "float32"}}}},
                                {"buffers", json::array()}, {"children", json::array()}},
                               linear("lm_head", 16, 100, false, "emb")}}};
    return ModuleTree::fromJson(root);
}

PlanOptions toyOptions(MaxMemory memory, Strategy strategy = Strategy::Sequential)
{
    PlanOptions o;
    o.maxMemory = std::move(memory);
    o.noSplitClasses = {"Block"};
    o.strategy = strategy;
    return o;
}

std::map<std::string, std::string> asMap(const DeviceMap &map)
{
    std::map<std::string, std::string> out;
    for (const auto &[k, d] : map)
        out[k] = d.toString();
    return out;
}

std::string keys(const DeviceMap &map)
{
    std::string s;
    for (const auto &[k, d] : map)
        s += (s.empty() ? "" : " ") + k + "=" + d.toString();
    return s;
}

const Placement &placementOf(const ModuleTree &tree, const Plan &plan, const std::string &name)
{
    return plan.placements[static_cast<std::size_t>(tree.find(name))];
}

const json &parityCases()
{
    return testdata::parityFile().value;
}

} // namespace

class TestPlanner : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // ---- devices, sizes, strategies -----------------------------------------------------------
    void deviceRoundTrip_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("canonical");
        QTest::addColumn<QString>("label");
        QTest::newRow("int") << "0" << "0" << "GPU 0";
        QTest::newRow("cuda") << "cuda:1" << "1" << "GPU 1";
        QTest::newRow("cpu") << "cpu" << "cpu" << "CPU";
        QTest::newRow("CPU") << "CPU" << "cpu" << "CPU";
        QTest::newRow("disk") << "disk" << "disk" << "disk";
        QTest::newRow("mps") << "mps" << "mps" << "MPS";
    }
    void deviceRoundTrip()
    {
        QFETCH(QString, text);
        QFETCH(QString, canonical);
        QFETCH(QString, label);
        const Device d = Device::fromString(text.toStdString());
        QCOMPARE(QString::fromStdString(d.toString()), canonical);
        QCOMPARE(QString::fromStdString(d.label()), label);
        QVERIFY(Device::fromString(d.toString()) == d);
        QVERIFY(Device::fromJson(d.toJson()) == d);
    }
    void deviceJsonUsesIntegersForGpus()
    {
        QCOMPARE(Device::gpu(3).toJson(), json(3));
        QCOMPARE(Device::cpu().toJson(), json("cpu"));
        QVERIFY(Device::fromJson(json(2)) == Device::gpu(2));
    }
    void badDevicesAreRejected_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("meta") << "meta";
        QTest::newRow("negative") << "-1";
        QTest::newRow("empty") << "";
        QTest::newRow("cuda-bad") << "cuda:x";
    }
    void badDevicesAreRejected()
    {
        QFETCH(QString, text);
        const auto error = test::errorOf([&] { Device::fromString(text.toStdString()); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::InvalidArgument));
        QVERIFY(error->message().find("unknown device") != std::string::npos);
    }
    void parsesMaxMemory()
    {
        const MaxMemory m = parseMaxMemory("0=22GiB,1=22GiB,cpu=64GiB,disk=1000");
        QCOMPARE(m.size(), std::size_t(4));
        QVERIFY(m[0].first == Device::gpu(0));
        QCOMPARE(m[0].second, std::int64_t(22) << 30);
        QVERIFY(m[2].first == Device::cpu());
        QCOMPARE(m[3].second, std::int64_t(1000));
        QVERIFY(maxMemoryFromJson(maxMemoryToJson(m)) == m);
    }
    void readsMaxMemoryJson_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<bool>("accelerate");
        QTest::addColumn<QString>("expected");   // "0=N cpu=N" in the order read, or "error: <part of the message>"
        QTest::newRow("mizan keeps order") << QByteArray(R"({"cpu": 5, "cuda:1": "1KiB"})") << false << "cpu=5 1=1024";
        QTest::newRow("mizan pairs") << QByteArray(R"([[0, "1GB"], ["disk", 7]])") << false << "0=1000000000 disk=7";
        QTest::newRow("mizan twice") << QByteArray(R"({"0": 1, "cuda:0": 2})") << false << "error: listed twice";
        QTest::newRow("mizan fraction") << QByteArray(R"({"0": 1.5})") << false << "error: must be an integer (bytes)";
        QTest::newRow("mizan negative") << QByteArray(R"({"0": -1})") << false << "error: is not in a valid format";
        QTest::newRow("mizan bad device") << QByteArray(R"({"meta": 1})") << false << "error: unknown device";
        QTest::newRow("accelerate sorts") << QByteArray(R"({"cpu": 5, "1": 3, "0": "1KiB"})") << true << "0=1024 1=3 cpu=5";
        QTest::newRow("accelerate last wins") << QByteArray(R"([[0, 1], [0, 2]])") << true << "0=2";
        QTest::newRow("accelerate fraction") << QByteArray(R"({"0": 1.5})") << true << "0=1.5";
        QTest::newRow("accelerate cuda key") << QByteArray(R"([["cuda:0", 100]])") << true << "error: Device cuda:0 is not recognized";
        QTest::newRow("not a map") << QByteArray("3") << true << "error: must be an object or a list";
        QTest::newRow("bad pair") << QByteArray("[[0]]") << false << "error: pairs must be [device, size]";
    }
    void readsMaxMemoryJson()
    {
        QFETCH(QByteArray, json);
        QFETCH(bool, accelerate);
        QFETCH(QString, expected);
        const auto parsed = json::parse(json.toStdString());
        accel::Memory memory;
        const auto error = test::errorOf([&] {
            memory = accelerate ? accel::maxMemoryFromAccelerateJson(parsed) : accel::toMemory(maxMemoryFromJson(parsed));
        });
        if (expected.startsWith("error: ")) {
            QVERIFY(error);
            QCOMPARE(int(error->kind()), int(ErrorKind::InvalidArgument));
            QVERIFY2(QString::fromStdString(error->message()).contains(expected.mid(7)), error->what());
            return;
        }
        QVERIFY2(!error, error ? error->what() : "");
        QStringList got;
        for (const auto &[d, b] : memory)
            got << QString::fromStdString(d.toString()) + "=" + QString::number(b, 'g', 17);
        QCOMPARE(got.join(' '), expected);
    }
    void badMaxMemoryIsRejected_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("size") << "0=22XB";
        QTest::newRow("device") << "gpu0x=1GB";
        QTest::newRow("no-eq") << "0:1GB";
        QTest::newRow("twice") << "0=1GB,cuda:0=2GB";
        QTest::newRow("empty") << "";
    }
    void badMaxMemoryIsRejected()
    {
        QFETCH(QString, text);
        QVERIFY_THROWS_EXCEPTION(Error, parseMaxMemory(text.toStdString()));
    }
    void parseSizeMatchesAccelerate()
    {
        QCOMPARE(parseSize("10GiB"), std::int64_t(10737418240LL));
        QCOMPARE(parseSize("10GB"), std::int64_t(10000000000LL));
        QCOMPARE(parseSize("10gb"), std::int64_t(1250000000LL));
        const auto error = test::errorOf([&] { parseSize("5TB"); });
        QVERIFY(error);
        QCOMPARE(QString::fromStdString(error->message()),
                 QString("`size` 5TB is not in a valid format. Use an integer for bytes, or a string with an unit (like '5.0GB')."));
    }
    void formatsBytes()
    {
        QCOMPARE(QString::fromStdString(formatBytes(512)), QString("512 B"));
        QCOMPARE(QString::fromStdString(formatBytes(1536)), QString("1.50 KiB"));
        QCOMPARE(QString::fromStdString(formatBytes(22.0 * (1 << 30))), QString("22.00 GiB"));
    }
    void strategyRoundTrip()
    {
        for (Strategy s : {Strategy::Auto, Strategy::Balanced, Strategy::BalancedLow0, Strategy::Sequential})
            QVERIFY(strategyFromString(toString(s)) == s);
        QVERIFY_THROWS_EXCEPTION(Error, strategyFromString("fastest"));
    }
    void parsesPins()
    {
        Pin p = parsePin("model.layers.0=cuda:1");
        QCOMPARE(QString::fromStdString(p.module), QString("model.layers.0"));
        QVERIFY(p.device == Device::gpu(1));
        QVERIFY(!p.forbid);
        p = parsePin("lm_head!=0");
        QVERIFY(p.forbid);
        QVERIFY(p.device == Device::gpu(0));
        QVERIFY_THROWS_EXCEPTION(Error, parsePin("lm_head"));
        QVERIFY_THROWS_EXCEPTION(Error, parsePin("lm_head=meta"));
    }

    // ---- plan() builds on infer_auto_device_map ------------------------------------------------
    void planMatchesAccelerateOnParityTrees_data()
    {
        QTest::addColumn<int>("index");
        if (!testdata::parityFile().ok()) { // one row that fails with the file's name (QFAIL here would abort in QFETCH)
            QTest::newRow("unreadable test data") << -1;
            return;
        }
        const auto &all = parityCases()["cases"];
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i]["kind"] == "infer_auto_device_map")
                QTest::newRow(all[i]["id"].get<std::string>().c_str()) << static_cast<int>(i);
    }
    void planMatchesAccelerateOnParityTrees()
    {
        QFETCH(int, index);
        QVERIFY2(index >= 0, testdata::parityFile().error.c_str());
        const json &c = parityCases()["cases"][static_cast<std::size_t>(index)];
        const json &in = c["input"];
        const ModuleTree tree = ModuleTree::fromJson(c["model"]);
        PlanOptions o;
        o.maxMemory = accel::toMaxMemory(accel::maxMemoryFromAccelerateJson(in["max_memory"]));
        if (in.contains("no_split_module_classes"))
            o.noSplitClasses = in["no_split_module_classes"].get<std::vector<std::string>>();
        if (in.contains("dtype"))
            o.dtype = dtypeFromTorch(in["dtype"].get<std::string>());
        o.dtypeRule = DtypeRule::AccelerateNeverGrow; // Accelerate's dtype argument on a built tree
        if (in.contains("special_dtypes"))
            for (auto it = in["special_dtypes"].begin(); it != in["special_dtypes"].end(); ++it)
                o.specialDtypes.emplace_back(it.key(), *dtypeFromTorch(it.value().get<std::string>()));
        o.offloadBuffers = in.value("offload_buffers", false);
        o.fallbackAllocation = in.value("fallback_allocation", false);
        o.cleanResult = in.value("clean_result", true);
        o.strategy = Strategy::Sequential; // infer_auto_device_map without balancing
        const Plan p = plan(tree, o);
        std::map<std::string, std::string> want;
        for (const auto &pair : c["expected"]["device_map"])
            want[pair[0].get<std::string>()] = Device::fromJson(pair[1]).toString();
        QVERIFY2(asMap(p.deviceMap) == want, keys(p.deviceMap).c_str());
        QCOMPARE(p.bufferWarning, c["expected"]["buffer_warning"].get<bool>());
        QCOMPARE(p.placements.size(), static_cast<std::size_t>(tree.size()));
        for (int id = 0; id < tree.size(); ++id) {
            const Placement &pl = p.placements[static_cast<std::size_t>(id)];
            QVERIFY2(!pl.reason().empty(), tree.module(id).name.c_str());
            QVERIFY2(!pl.explanation.empty(), tree.module(id).name.c_str());
        }
        QCOMPARE(p.warningMessages.size(), p.warnings.size());
        for (std::size_t i = 0; i < p.warnings.size(); ++i)
            QCOMPARE(p.warnings[i], toEnglish(p.warningMessages[i]));
    }
    void balancedStrategyUsesBalancedMemory()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}}, Strategy::Balanced);
        const Plan p = plan(tree, o);
        const auto balanced = accel::getBalancedMemory(tree, accel::toMemory(o.maxMemory), o.noSplitClasses);
        QVERIFY(p.effectiveMaxMemory == accel::toMaxMemory(balanced));
        accel::InferOptions io;
        io.maxMemory = balanced;
        io.noSplitClasses = o.noSplitClasses;
        QVERIFY(asMap(p.deviceMap) == asMap(accel::inferAutoDeviceMap(tree, io).deviceMap));
        // Both GPUs are used: balanced spreads the blocks.
        QVERIFY(p.usageOf(Device::gpu(0))->moduleCount > 0);
        QVERIFY(p.usageOf(Device::gpu(1))->moduleCount > 0);
        // Sequential fills GPU 0 first.
        o.strategy = Strategy::Sequential;
        QCOMPARE(keys(plan(tree, o).deviceMap), std::string("=0"));
    }
    void keysComeInExecutionOrder()
    {
        const ModuleTree tree = toyModel();
        // GPU 0 (16000, minus 3264 reserved for the largest block) takes embed + lm_head (tied)
        // and layers.0; layers.1 goes to GPU 1 (6000), the rest to the CPU.
        const Plan p = plan(tree, toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}}));
        QCOMPARE(keys(p.deviceMap), std::string("embed=0 layers.0=0 layers.1=1 layers.2=cpu layers.3=cpu norm=cpu lm_head=0"));
    }
    void mergedParentTakesFirstChildPlace()
    {
        const ModuleTree tree = toyModel();
        const Plan p = plan(tree, toyOptions({{Device::gpu(0), 10000}, {Device::cpu(), 100000}}));
        // layers.* all on the CPU merge into "layers", placed where layers.0 was.
        QCOMPARE(keys(p.deviceMap), std::string("embed=0 layers=cpu norm=cpu lm_head=0"));
        QCOMPARE(int(placementOf(tree, p, "layers").kind), int(PlacementKind::Merged));
        const std::string why = placementOf(tree, p, "layers").reason();
        QVERIFY2(why.find("merged into one entry") != std::string::npos && why.find("\"layers.0\" did not fit on GPU 0") != std::string::npos, why.c_str());
        PlanOptions o = toyOptions({{Device::gpu(0), 10000}, {Device::cpu(), 100000}});
        o.cleanResult = false;
        QCOMPARE(keys(plan(tree, o).deviceMap), std::string("embed=0 layers.0=cpu layers.1=cpu layers.2=cpu layers.3=cpu norm=cpu lm_head=0"));
    }
    void plansAreDeterministic()
    {
        const ModuleTree tree = toyModel(12);
        PlanOptions o = toyOptions({{Device::gpu(0), 20000}, {Device::gpu(1), 12000}, {Device::cpu(), 8000}}, Strategy::Auto);
        const Plan a = plan(tree, o);
        for (int i = 0; i < 5; ++i) {
            const Plan b = plan(tree, o);
            QCOMPARE(deviceMapToJson(b.deviceMap).dump(), deviceMapToJson(a.deviceMap).dump());
            for (std::size_t k = 0; k < a.placements.size(); ++k)
                QCOMPARE(b.placements[k].reason(), a.placements[k].reason());
        }
    }

    // ---- explanations -------------------------------------------------------------------------
    // A model that fits on one device is the single map key "": the modules inside it are part of
    // the whole model, not of a key named "".
    void explainsModulesInsideTheWholeModelKey()
    {
        const ModuleTree tree = toyModel();
        const Plan p = plan(tree, toyOptions({{Device::gpu(0), 1000000}, {Device::cpu(), 100000}}));
        QCOMPARE(keys(p.deviceMap), std::string("=0"));
        const auto &inside = placementOf(tree, p, "layers.2.mlp");
        QCOMPARE(int(inside.kind), int(PlacementKind::Inside));
        QCOMPARE(inside.explanation.messages().size(), std::size_t(1));
        QVERIFY(inside.explanation[0].id == MessageId::PartOfWholeModel);
        QVERIFY(inside.explanation[0].args == (std::vector<MessageArg>{Device::gpu(0)}));
        QCOMPARE(QString::fromStdString(inside.reason()), QString("part of the whole model, which the map puts on GPU 0"));
    }
    void explainsEveryModule()
    {
        const ModuleTree tree = toyModel();
        const Plan p = plan(tree, toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}}));
        const auto &root = placementOf(tree, p, "");
        QCOMPARE(int(root.kind), int(PlacementKind::Mixed));
        QCOMPARE(QString::fromStdString(root.reason()), QString("the model is spread over several devices (parts on GPU 0, GPU 1, CPU)"));
        const auto &layers = placementOf(tree, p, "layers");
        QVERIFY2(layers.reason().find("did not fit on GPU 0") != std::string::npos && layers.reason().find("split into children") != std::string::npos, layers.reason().c_str());
        QVERIFY(!layers.device);
        const auto &moved = placementOf(tree, p, "layers.1");
        QCOMPARE(int(moved.kind), int(PlacementKind::Moved));
        QVERIFY2(moved.reason().find("did not fit on GPU 0") != std::string::npos && moved.reason().find("placed on GPU 1") != std::string::npos, moved.reason().c_str());
        const auto &inside = placementOf(tree, p, "layers.2.mlp");
        QCOMPARE(int(inside.kind), int(PlacementKind::Inside));
        QCOMPARE(QString::fromStdString(inside.reason()), QString("part of \"layers.2\" on CPU"));
        const auto &twice = placementOf(tree, p, "layers.2");
        QCOMPARE(QString::fromStdString(twice.reason()), QString("did not fit on GPU 1: 2.67 KiB free, needs 3.19 KiB; placed on CPU"));
        const auto &tied = placementOf(tree, p, "lm_head");
        QCOMPARE(int(tied.kind), int(PlacementKind::Tied));
        QCOMPARE(QString::fromStdString(tied.reason()), QString("tied to \"embed\": placed with it on GPU 0"));
        const auto &fits = placementOf(tree, p, "layers.0");
        QCOMPARE(int(fits.kind), int(PlacementKind::Placed));
        QVERIFY2(fits.reason().find("fits on GPU 0") != std::string::npos, fits.reason().c_str());
        // The same explanations as structured messages (what the GUI translates).
        auto ids = [](const Placement &pl) {
            std::vector<MessageId> out;
            for (const auto &m : pl.explanation)
                out.push_back(m.id);
            return out;
        };
        QVERIFY(ids(root) == (std::vector<MessageId>{MessageId::SpreadOverDevices, MessageId::PartsOn}));
        QVERIFY(root.explanation[1].args == (std::vector<MessageArg>{std::vector<Device>{Device::gpu(0), Device::gpu(1), Device::cpu()}}));
        QVERIFY(ids(twice) == (std::vector<MessageId>{MessageId::DidNotFitOn, MessageId::PlacedOn}));
        QVERIFY(twice.explanation[1].args == (std::vector<MessageArg>{Device::cpu()}));
        QVERIFY(ids(inside) == std::vector<MessageId>{MessageId::PartOf});
        QVERIFY(inside.explanation[0].args == (std::vector<MessageArg>{std::string("layers.2"), Device::cpu()}));
        QVERIFY(ids(tied) == std::vector<MessageId>{MessageId::TiedTo});
        QCOMPARE(ids(fits).size(), std::size_t(1));
        QVERIFY(fits.explanation[0].id == MessageId::FitsOnFreeReserved);
    }

    // ---- structured messages ------------------------------------------------------------------
    void everyMessageRendersInEnglish_data()
    {
        QTest::addColumn<int>("id");
        for (int i = 0; i < static_cast<int>(MessageId::Count); ++i)
            QTest::newRow(toString(static_cast<MessageId>(i))) << i;
    }
    void everyMessageRendersInEnglish()
    {
        QFETCH(int, id);
        const QString problem = test::englishProblems(static_cast<MessageId>(id));
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }
    void messageNamesAreUnique()
    {
        const QStringList bad = test::badMessageNames<MessageId>();
        QVERIFY2(bad.isEmpty(), qPrintable(bad.join(", ")));
    }
    void messagesJoinIntoOneText()
    {
        const Device g0 = Device::gpu(0), g1 = Device::gpu(1), cpu = Device::cpu();
        // Sentences with "; ", details in one parenthesis.
        QCOMPARE(toEnglish(std::vector<Message>{{MessageId::Merged, {cpu}},
                                                {MessageId::PartDidNotFitOn, {std::string("layers.0"), g0, ByteCount{1024}, ByteCount{2048}}},
                                                {MessageId::PartDidNotFitOnReserved, {std::string("layers.0"), g1, ByteCount{0}, ByteCount{512}, ByteCount{2048}}}}),
                 std::string("all its parts went to CPU: merged into one entry (\"layers.0\" did not fit on GPU 0: 1.00 KiB free, needs 2.00 KiB; "
                             "\"layers.0\" did not fit on GPU 1: 0 B free after reserving 512 B for the largest layer, needs 2.00 KiB)"));
        QCOMPARE(toEnglish(std::vector<Message>{{MessageId::DidNotFitOn, {g0, ByteCount{10}, ByteCount{20}}}, {MessageId::SplitIntoChildren, {}},
                                                {MessageId::PartsOn, {std::vector<Device>{g0, cpu}}}}),
                 std::string("did not fit on GPU 0: 10 B free, needs 20 B; split into children (parts on GPU 0, CPU)"));
        // Accelerate's texts, byte for byte (bytes as Python prints them, devices as its keys).
        QCOMPARE(toEnglish(std::vector<Message>{{MessageId::InsufficientMemory, {}},
                                                {MessageId::InsufficientMemoryDevice, {g1, ByteCount{3264}}},
                                                {MessageId::InsufficientMemoryDevice, {cpu, ByteCount{0.125}}},
                                                {MessageId::InsufficientMemoryAdvice, {}}}),
                 std::string("Based on the current allocation process, no modules could be assigned to the following devices due to insufficient memory:\n"
                             "  - 1: 3264 bytes required\n  - cpu: 0.125 bytes required\n"
                             "These minimum requirements are specific to this allocation attempt and may vary. Consider increasing the available "
                             "memory for these devices to at least the specified minimum, or adjusting the model config."));
        QCOMPARE(toEnglish(Message{MessageId::BufferWarning, {ByteCount{4096}}}),
                 std::string("Current model requires 4096 bytes of buffer for offloaded layers, which seems does not fit any GPU's remaining memory. "
                             "If you are experiencing a OOM later, please consider using offload_buffers=True."));
    }
    void reportsUsagePerDevice()
    {
        const ModuleTree tree = toyModel();
        const Plan p = plan(tree, toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}}));
        const DeviceUsage *g0 = p.usageOf(Device::gpu(0));
        QVERIFY(g0);
        QCOMPARE(g0->budgetBytes, std::int64_t(16000));
        QCOMPARE(g0->plannedBytes, 6400.0 + 3264.0);
        QCOMPARE(g0->moduleCount, 3);
        QCOMPARE(g0->reservedLargestLayerBytes, std::int64_t(3264));
        QCOMPARE(g0->freeBytes, 16000.0 - 9664.0 - 3264.0);
        QCOMPARE(p.usageOf(Device::gpu(1))->plannedBytes, 3264.0);
        QCOMPARE(p.usageOf(Device::gpu(1))->reservedLargestLayerBytes, std::int64_t(0));
        QCOMPARE(p.usageOf(Device::cpu())->plannedBytes, 2 * 3264.0 + 64.0);
        QCOMPARE(p.totalBytes, 19520.0);
    }

    // ---- pins ---------------------------------------------------------------------------------
    void pinsArePlacedAround()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 16000}, {Device::cpu(), 100000}});
        o.pins = {{"layers.1", Device::gpu(1), false}};
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        QCOMPARE(QString::fromStdString(m.at("layers.1")), QString("1"));
        QCOMPARE(int(placementOf(tree, p, "layers.1").kind), int(PlacementKind::Pinned));
        QCOMPARE(QString::fromStdString(placementOf(tree, p, "layers.1").reason()), QString("pinned to GPU 1 by the user"));
        QVERIFY(validate(tree, p.deviceMap, o).empty());
        // GPU 1's budget was reduced by the pin: planned bytes there include it.
        QVERIFY(p.usageOf(Device::gpu(1))->plannedBytes >= 3264.0);
    }
    void pinningTheWholeModel()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::cpu(), 100000}});
        o.pins = {{"", Device::cpu(), false}};
        const Plan p = plan(tree, o);
        QCOMPARE(keys(p.deviceMap), std::string("=cpu"));
        QVERIFY(validate(tree, p.deviceMap, o).empty());
        // A pin to the CPU when only GPUs have budgets still shows up in the usage.
        o.maxMemory = {{Device::gpu(0), 100000}};
        const Plan q = plan(tree, o);
        QVERIFY(q.usageOf(Device::cpu()));
        QCOMPARE(q.usageOf(Device::cpu())->plannedBytes, 19520.0);
        QCOMPARE(q.usageOf(Device::cpu())->budgetBytes, std::int64_t(-1));
    }
    void pinPullsTiedWeights()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 16000}, {Device::cpu(), 100000}});
        o.pins = {{"lm_head", Device::cpu(), false}};
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        QCOMPARE(QString::fromStdString(m.at("embed")), QString("cpu"));
        QCOMPARE(int(placementOf(tree, p, "embed").kind), int(PlacementKind::Tied));
        QVERIFY(!hasErrors(validate(tree, p.deviceMap, o)));
    }
    void forbiddenDeviceIsAvoided()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}});
        o.pins = {{"layers.0", Device::gpu(0), true}};
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        QCOMPARE(QString::fromStdString(m.at("layers.0")), QString("1"));
        QCOMPARE(QString::fromStdString(m.at("layers.1")), QString("0")); // the others stay on GPU 0
        QCOMPARE(int(placementOf(tree, p, "layers.0").kind), int(PlacementKind::Moved));
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void forbiddenPartMovesItsNoSplitModule()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}});
        o.pins = {{"layers.2.mlp", Device::gpu(0), true}};
        const Plan p = plan(tree, o);
        QCOMPARE(keys(p.deviceMap), std::string("embed=0 layers.0=0 layers.1=0 layers.2=1 layers.3=0 norm=0 lm_head=0"));
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void pinErrorsAreStructured_data()
    {
        QTest::addColumn<QString>("pins");      // "module=device" or "module!=device", space-separated
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("id");            // the first message's id
        QTest::addColumn<QString>("english");   // a part of the English text
        QTest::newRow("unknown module") << "layers.9=0" << int(ErrorKind::InvalidArgument) << int(MessageId::PinUnknownModule)
                                        << "pin \"layers.9\": the model has no module or tensor of that name";
        QTest::newRow("device without budget") << "layers.0=3" << int(ErrorKind::InvalidArgument) << int(MessageId::PinDeviceWithoutBudget)
                                               << "pin \"layers.0\" -> GPU 3: that device has no budget (max memory lists GPU 0, CPU)";
        QTest::newRow("inside a no-split module") << "layers.0.mlp=cpu" << int(ErrorKind::Impossible) << int(MessageId::PinInsideNoSplit)
                                                  << "cannot pin \"layers.0.mlp\": it is part of \"layers.0\" (class Block, never split); pin \"layers.0\" instead";
        QTest::newRow("overlap") << "layers=0 layers.1=cpu" << int(ErrorKind::InvalidArgument) << int(MessageId::PinsOverlap)
                                 << "pins \"layers\" and \"layers.1\" overlap";
        QTest::newRow("contradiction") << "layers.0=0 layers!=0" << int(ErrorKind::InvalidArgument) << int(MessageId::PinsContradict)
                                       << "pins contradict: \"layers.0\" is pinned to GPU 0 but \"layers\" is forbidden there";
        QTest::newRow("over budget") << "layers.0=0 layers.1=0" << int(ErrorKind::Impossible) << int(MessageId::PinsOverBudget)
                                     << "pins need 6.38 KiB on GPU 0 but its budget is 4.88 KiB: over by 1528 bytes (\"layers.0\" 3.19 KiB; \"layers.1\" 3.19 KiB)";
    }
    void pinErrorsAreStructured()
    {
        QFETCH(QString, pins);
        QFETCH(int, kind);
        QFETCH(int, id);
        QFETCH(QString, english);
        PlanOptions o = toyOptions({{Device::gpu(0), 5000}, {Device::cpu(), 100000}});
        for (const QString &p : pins.split(' '))
            o.pins.push_back(parsePin(p.toStdString()));
        try {
            plan(toyModel(), o);
            QFAIL("expected an error");
        } catch (const PlanError &e) {
            QCOMPARE(int(e.kind()), kind);
            QVERIFY(!e.messages().empty());
            QCOMPARE(int(e.messages().front().id), id);
            QCOMPARE(e.message(), toEnglish(e.messages()));
            QVERIFY2(QString::fromStdString(e.message()).contains(english), e.what());
        }
    }

    // Property check on generated trees: every plan covers the model exactly once, respects its
    // pins and passes Accelerate's check_device_map.
    void generatedTreesGiveValidPlans()
    {
        std::mt19937 rng(20261125);
        int spread = 0, pinned = 0, split = 0;
        auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
        for (int round = 0; round < 300; ++round) {
            json root = {{"name", ""}, {"class", "Root"}, {"params", json::array()}, {"buffers", json::array()}, {"children", json::array()}};
            auto build = [&](auto &&self, json &node, int depth) -> void {
                const int kids = depth >= 3 ? 0 : pick(4);
                for (int k = 0; k < kids; ++k) {
                    json child = {{"name", "m" + std::to_string(k)}, {"class", pick(3) == 0 ? "Block" : "Seq"}, {"params", json::array()},
                                  {"buffers", json::array()}, {"children", json::array()}};
                    self(self, child, depth + 1);
                    node["children"].push_back(child);
                }
                if (kids == 0 || pick(3) == 0)
                    node["params"].push_back({{"name", "weight"}, {"shape", {1 + pick(40), 1 + pick(40)}}, {"dtype", pick(2) ? "float32" : "float16"}});
            };
            build(build, root, 0);
            const ModuleTree tree = ModuleTree::fromJson(root);
            PlanOptions o;
            o.noSplitClasses = {"Block"};
            o.maxMemory = {{Device::gpu(0), pick(6000)}, {Device::gpu(1), pick(6000)}, {Device::cpu(), pick(8000)}};
            o.strategy = static_cast<Strategy>(pick(4));
            o.fallbackAllocation = pick(4) == 0;
            o.cleanResult = pick(4) != 0;
            // A pin on a module that is not inside a Block, with a device that has room enough.
            if (pick(2) == 0 && tree.size() > 1) {
                const int id = 1 + pick(tree.size() - 1);
                bool insideBlock = false;
                for (int m = tree.module(id).parent; m > 0; m = tree.module(m).parent)
                    insideBlock = insideBlock || tree.module(m).className == "Block";
                if (!insideBlock)
                    o.pins = {{tree.module(id).name, Device::cpu(), false}};
                o.maxMemory[2].second = 1000000;
            }
            if (pick(3) == 0 && tree.size() > 1)
                o.pins.push_back({tree.module(1 + pick(tree.size() - 1)).name, Device::gpu(0), true});
            Plan p;
            try {
                p = plan(tree, o);
            } catch (const Error &e) {
                QFAIL(qPrintable(QString("round %1: %2").arg(round).arg(QString::fromStdString(e.message()))));
            }
            const auto issues = validate(tree, p.deviceMap, o);
            for (const auto &i : issues)
                QVERIFY2(i.severity != Severity::Error, qPrintable(QString("round %1: %2").arg(round).arg(QString::fromStdString(i.message()))));
            try {
                accel::checkDeviceMap(tree, p.deviceMap);
            } catch (const Error &e) {
                QFAIL(qPrintable(QString("round %1: %2").arg(round).arg(QString::fromStdString(e.message()))));
            }
            QCOMPARE(p.placements.size(), static_cast<std::size_t>(tree.size()));
            spread += p.usage.size() > 1 && std::count_if(p.usage.begin(), p.usage.end(), [](const auto &u) { return u.moduleCount > 0; }) > 1;
            pinned += !o.pins.empty();
            // A module other than the root (id 0) whose parts are on several devices.
            split += std::any_of(p.placements.begin() + 1, p.placements.end(), [](const auto &x) { return x.kind == PlacementKind::Mixed; });
        }
        // The generator exercises what it should.
        QVERIFY2(spread > 100 && pinned > 50 && split > 30, qPrintable(QString("%1 %2 %3").arg(spread).arg(pinned).arg(split)));
    }

    // ---- headroom -----------------------------------------------------------------------------
    void headroomIsReservedOnGpus()
    {
        Headroom h;
        h.batchSize = 1;
        h.tokens = 10;
        h.hiddenSize = 16;
        h.numLayers = 4;
        h.numAttentionHeads = 4;
        h.numKeyValueHeads = 2;
        h.intermediateSize = 32;
        h.vocabSize = 100;
        h.dtype = DType::F16;
        const HeadroomEstimate e = estimateHeadroom(h);
        QCOMPARE(e.kvCachePerLayerBytes, std::int64_t(2 * 10 * 2 * 4 * 2));
        QCOMPARE(e.activationBytes, std::int64_t(10 * (4 * 16 + 2 * 32) * 2 + 100 * 4));
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 20000}, {Device::cpu(), 100000}});
        QCOMPARE(keys(plan(tree, o).deviceMap), std::string("=0"));
        o.headroom = h;
        const Plan p = plan(tree, o);
        QCOMPARE(p.usageOf(Device::gpu(0))->headroomBytes, e.totalBytes(4));
        QVERIFY(asMap(p.deviceMap).at("norm") == "cpu"); // no longer everything on GPU 0
        QVERIFY(validate(tree, p.deviceMap, o).empty());

        // Two GPUs: the even spread would reserve the KV cache of 2 layers each, but sequential
        // planning puts all 4 on GPU 0; the plan is redone with GPU 0's reservation for 4.
        PlanOptions two = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}});
        two.headroom = h;
        const Plan q = plan(tree, two);
        QCOMPARE(keys(q.deviceMap), std::string("=0"));
        QCOMPARE(q.usageOf(Device::gpu(0))->headroomBytes, e.totalBytes(4));
        QCOMPARE(q.usageOf(Device::gpu(1))->headroomBytes, e.totalBytes(2));
        QVERIFY(validate(tree, q.deviceMap, two).empty());
    }

    // ---- validation ---------------------------------------------------------------------------
    void validation_data()
    {
        QTest::addColumn<QString>("map");
        QTest::addColumn<QString>("pins");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("severity");
        const int err = static_cast<int>(Severity::Error), warn = static_cast<int>(Severity::Warning);
        QTest::newRow("not-covered") << R"({"embed":0,"layers":0,"norm":0})" << "" << int(IssueKind::NotCovered) << err;
        QTest::newRow("covered-twice") << R"({"":0,"embed":0})" << "" << int(IssueKind::CoveredTwice) << err;
        QTest::newRow("covered-twice-tensor") << R"({"embed":0,"layers":0,"norm":0,"lm_head":0,"norm.weight":0})" << "" << int(IssueKind::CoveredTwice) << err;
        QTest::newRow("unknown-module") << R"({"":0,"decoder":0})" << "" << int(IssueKind::UnknownModule) << err;
        QTest::newRow("tied-split") << R"({"embed":0,"layers":0,"norm":0,"lm_head":1})" << "" << int(IssueKind::TiedSplit) << err;
        QTest::newRow("unknown-device") << R"({"":5})" << "" << int(IssueKind::UnknownDevice) << err;
        QTest::newRow("pin-violated") << R"({"":0})" << "layers.0=1" << int(IssueKind::PinViolated) << err;
        QTest::newRow("pin-forbid-violated") << R"({"":0})" << "layers.0!=0" << int(IssueKind::PinViolated) << err;
        QTest::newRow("over-budget") << R"({"":0})" << "" << int(IssueKind::OverBudget) << warn;
        QTest::newRow("disk-while-cpu-has-room") << R"({"embed":1,"layers":"disk","norm":1,"lm_head":1})" << "" << int(IssueKind::DiskWhileCpuHasRoom) << warn;
        QTest::newRow("empty-gpu") << R"({"":1})" << "" << int(IssueKind::EmptyGpu) << warn;
        QTest::newRow("no-split-broken") << R"({"embed":1,"layers.0.attn":1,"layers.0.mlp":"cpu","layers.1":1,"layers.2":1,"layers.3":1,"norm":1,"lm_head":1})"
                                         << "" << int(IssueKind::NoSplitBroken) << warn;
    }
    void validation()
    {
        QFETCH(QString, map);
        QFETCH(QString, pins);
        QFETCH(int, kind);
        QFETCH(int, severity);
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 10000}, {Device::gpu(1), 100000}, {Device::cpu(), 100000}});
        if (!pins.isEmpty())
            o.pins = {parsePin(pins.toStdString())};
        const auto issues = validate(tree, deviceMapFromJson(nlohmann::ordered_json::parse(map.toStdString())), o);
        // The message ids each kind may carry (what, then fix).
        const std::map<IssueKind, std::pair<std::set<MessageId>, std::set<MessageId>>> idsOf = {
            {IssueKind::NotCovered, {{MessageId::NotCoveredOne, MessageId::NotCoveredMany, MessageId::NotCoveredMore}, {MessageId::FixGiveDevice}}},
            {IssueKind::CoveredTwice, {{MessageId::KeyTwice, MessageId::KeyInside, MessageId::KeyInsideWholeModel},
                                       {MessageId::FixKeepOneEntry, MessageId::FixRemoveOneOfTwo}}},
            {IssueKind::UnknownModule, {{MessageId::UnknownKey}, {MessageId::FixRemoveOrCorrect, MessageId::FixDidYouMean}}},
            {IssueKind::TiedSplit, {{MessageId::TiedOnDifferentDevices}, {MessageId::FixSameDevice}}},
            {IssueKind::UnknownDevice, {{MessageId::UnknownDevice}, {MessageId::FixListedDevice}}},
            {IssueKind::PinViolated, {{MessageId::PinViolated, MessageId::PinForbids}, {MessageId::FixMoveToPinned, MessageId::FixAnotherDevice}}},
            {IssueKind::OverBudget, {{MessageId::OverBudget, MessageId::OverBudgetHeadroom}, {MessageId::FixMoveFrom}}},
            {IssueKind::DiskWhileCpuHasRoom, {{MessageId::DiskWhileCpuHasRoom}, {MessageId::FixMoveToCpu}}},
            {IssueKind::EmptyGpu, {{MessageId::EmptyGpu}, {MessageId::FixMoveFirstModules}}},
            {IssueKind::NoSplitBroken, {{MessageId::NoSplitBroken}, {MessageId::FixMapAsOneEntry}}},
        };
        bool found = false;
        for (const auto &i : issues) {
            QVERIFY(!i.message().empty());
            QVERIFY(!i.suggestedFix().empty());
            const auto &[whats, fixes] = idsOf.at(i.kind);
            QVERIFY2(whats.count(i.what.id), toString(i.what.id));
            QVERIFY2(fixes.count(i.fix.id), toString(i.fix.id));
            if (static_cast<int>(i.kind) == kind) {
                found = true;
                QCOMPARE(static_cast<int>(i.severity), severity);
            }
        }
        QVERIFY2(found, toString(static_cast<IssueKind>(kind)));
    }
    void unknownNamesGetASuggestion_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("fix");
        QTest::newRow("missing prefix") << "2.mlp" << "did you mean \"layers.2.mlp\"?";
        QTest::newRow("extra prefix") << "model.lm_head" << "did you mean \"lm_head\"?";
        QTest::newRow("nothing close") << "decoder" << "remove the entry or correct the name";
    }
    void unknownNamesGetASuggestion()
    {
        QFETCH(QString, key);
        QFETCH(QString, fix);
        const auto issues = validate(toyModel(), {{"", Device::gpu(0)}, {key.toStdString(), Device::gpu(0)}}, PlanOptions{});
        bool found = false;
        for (const auto &i : issues)
            if (i.kind == IssueKind::UnknownModule) {
                found = true;
                QCOMPARE(QString::fromStdString(i.suggestedFix()), fix);
            }
        QVERIFY(found);
    }
    // Many unknown keys (entered in the unknown-key table in one batch), some listed twice: every
    // repeat names its first listing, every other gets its own issue and suggestion, in map order.
    void manyUnknownKeysAndTheirRepeats()
    {
        DeviceMap map = {{"", Device::gpu(0)}};
        constexpr int kUnknown = 40000, kRepeats = 10000;
        for (int i = 0; i < kUnknown; ++i)
            map.emplace_back("x" + std::to_string(i), Device::gpu(i % 2));
        for (int i = 0; i < kRepeats; ++i)
            map.emplace_back("x" + std::to_string(i * 3), Device::cpu());
        map.emplace_back("2.mlp", Device::gpu(0));
        map.emplace_back("2.mlp", Device::gpu(1));
        const auto issues = validate(toyModel(), map, PlanOptions{});
        QCOMPARE(issues.size(), std::size_t(kUnknown + kRepeats + 2));
        for (int i = 0; i < kUnknown; ++i) {
            QCOMPARE(int(issues[static_cast<std::size_t>(i)].kind), int(IssueKind::UnknownModule));
            QCOMPARE(issues[static_cast<std::size_t>(i)].module, "x" + std::to_string(i));
        }
        for (int i = 0; i < kRepeats; ++i) {
            const Issue &twice = issues[static_cast<std::size_t>(kUnknown + i)];
            QCOMPARE(int(twice.kind), int(IssueKind::CoveredTwice));
            QCOMPARE(twice.module, "x" + std::to_string(i * 3));
            // The device of the first listing, then this one's.
            QVERIFY(twice.what.args[1] == MessageArg(Device::gpu(i * 3 % 2)));
        }
        QCOMPARE(issues[kUnknown + kRepeats].suggestedFix(), std::string("did you mean \"layers.2.mlp\"?"));
        QCOMPARE(int(issues[kUnknown + kRepeats + 1].kind), int(IssueKind::CoveredTwice));
    }
    void validMapHasNoIssues()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}});
        const Plan p = plan(tree, o);
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void overBudgetSaysByHowMuch()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 10000}});
        const auto issues = validate(tree, {{"", Device::gpu(0)}}, o);
        QCOMPARE(issues.size(), std::size_t(1));
        QVERIFY2(issues[0].message().find("over its budget by 9520 bytes") != std::string::npos, issues[0].message().c_str());
    }
    void validateIsFastOnLargeTrees()
    {
        const ModuleTree tree = toyModel(2000);
        PlanOptions o = toyOptions({{Device::gpu(0), 1000000}, {Device::cpu(), 100000000}});
        const Plan p = plan(tree, o);
        QElapsedTimer t;
        t.start();
        const auto issues = validate(tree, p.deviceMap, o);
        QVERIFY(!hasErrors(issues));
        QVERIFY2(t.elapsed() < 200, qPrintable(QString::number(t.elapsed())));
    }

    // ---- formats ------------------------------------------------------------------------------
    void deviceMapJsonRoundTrip()
    {
        const DeviceMap map = {{"model.embed_tokens", Device::gpu(0)}, {"model.layers", Device::gpu(1)}, {"model.norm", Device::cpu()}, {"lm_head", Device::disk()}};
        const auto j = deviceMapToJson(map);
        QCOMPARE(QString::fromStdString(j.dump()), QString(R"({"model.embed_tokens":0,"model.layers":1,"model.norm":"cpu","lm_head":"disk"})"));
        QVERIFY(deviceMapFromJson(j) == map);
    }
    void orderedObjectIndexKeepsOrderAndReplacesInPlace()
    {
        // What ordered_json's operator[] does, without scanning the keys before each new one.
        nlohmann::ordered_json j = nlohmann::ordered_json::parse(R"({"z": 1, "a": 2})");
        planner::OrderedObjectIndex members(j);
        members["m"] = 3;
        members["a"] = 20; // already there: keeps its place
        members["m"] = 30;
        members["b"] = nlohmann::ordered_json::array();
        QCOMPARE(QString::fromStdString(j.dump()), QString(R"({"z":1,"a":20,"m":30,"b":[]})"));
        // A repeated key in a device map: its first place, its last device (as before).
        const auto dup = deviceMapToJson({{"x", Device::gpu(0)}, {"y", Device::cpu()}, {"x", Device::disk()}});
        QCOMPARE(QString::fromStdString(dup.dump()), QString(R"({"x":"disk","y":"cpu"})"));
    }
    void importsAccelerateSpellings()
    {
        const auto map = deviceMapFromJson(nlohmann::ordered_json::parse(R"({"b": "cuda:1", "a": 0, "c": "cpu", "d": "disk", "e": "2"})"));
        QCOMPARE(keys(map), std::string("b=1 a=0 c=cpu d=disk e=2"));
        const auto error = test::errorOf([&] { deviceMapFromJson(nlohmann::ordered_json::parse(R"({"a": "meta"})"), "map.json"); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::InvalidDeviceMap));
        QVERIFY(error->message().find("\"a\"") != std::string::npos);
    }
    void planFileRoundTrip()
    {
        QTemporaryDir dir;
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 16000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}}, Strategy::BalancedLow0);
        o.dtype = DType::F16;
        o.pins = {{"norm", Device::cpu(), false}};
        o.headroom.tokens = 8;
        o.headroom.hiddenSize = 16;
        const Plan p = plan(tree, o);
        PlanFile f{identityOf(tree, "toy"), o, p.deviceMap, p.usage, {}};
        f.devices = {{Device::gpu(0), "NVIDIA H100 80GB HBM3", std::int64_t(80) << 30, false},
                     {Device::gpu(1), "", 6000, true},
                     {Device::cpu(), "system RAM", -1, false}};
        const std::string path = (dir.path() + "/toy.mizan.json").toStdString();
        writePlanFile(path, f);
        const CheckpointIdentity id = identityOf(tree, "toy");
        const PlanFile back = readPlanFile(path, &id);
        QVERIFY(back.options == o);
        QVERIFY(back.deviceMap == p.deviceMap);
        QVERIFY(back.devices == f.devices);
        QVERIFY(back.deviceInfo(Device::gpu(0)) && !back.deviceInfo(Device::gpu(0))->simulated);
        QVERIFY(back.deviceInfo(Device::gpu(1)) && back.deviceInfo(Device::gpu(1))->simulated);
        QVERIFY(!back.deviceInfo(Device::disk()));
        QCOMPARE(back.usage.size(), p.usage.size());
        QCOMPARE(planFileToJson(back).dump(), planFileToJson(f).dump());
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1); // no temporary left behind
    }
    void readsVersion1PlanFiles()
    {
        // As Mizan wrote them before devices had labels, capacities and the simulated flag.
        const ModuleTree tree = toyModel();
        const CheckpointIdentity id = identityOf(tree, "toy");
        json old = json::parse(R"({"format": "mizan-plan", "version": 1, "checkpoint": {"path": "toy", "total_bytes": 19520}})");
        old["checkpoint"]["fingerprint"] = id.fingerprint;
        old["devices"] = json::parse(R"([{"device": 0, "budget_bytes": 16000}, {"device": "cpu", "budget_bytes": 100000}])");
        old["options"] = json::parse(R"({"strategy": "sequential", "dtype": null, "no_split_module_classes": ["Block"], "special_dtypes": {}})");
        old["pins"] = json::array();
        old["device_map"] = json::parse(R"([["", 0]])");
        const PlanFile f = planFileFromJson(old, "old.mizan.json", &id);
        QCOMPARE(f.options.maxMemory, (MaxMemory{{Device::gpu(0), 16000}, {Device::cpu(), 100000}}));
        QVERIFY(f.devices.empty());
        QVERIFY(!f.deviceInfo(Device::gpu(0)));
        QCOMPARE(planFileToJson(f)["version"].get<int>(), PlanFile::kVersion);
    }
    void newerPlanFileIsRefused()
    {
        auto j = planFileToJson(PlanFile{identityOf(toyModel(), "toy"), toyOptions({{Device::gpu(0), 1}}), {{"", Device::gpu(0)}}, {}, {}});
        j["version"] = 7;
        const auto error = test::errorOf([&] { planFileFromJson(json::parse(j.dump()), "x.mizan.json"); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::VersionMismatch));
        QVERIFY(error->message().find("newer Mizan") != std::string::npos);
    }
    void planForAnotherCheckpointIsRefused()
    {
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/p.mizan.json").toStdString();
        writePlanFile(path, PlanFile{identityOf(toyModel(4), "four"), toyOptions({{Device::gpu(0), 1}}), {{"", Device::gpu(0)}}, {}, {}});
        const CheckpointIdentity other = identityOf(toyModel(5), "five");
        const auto error = test::errorOf([&] { readPlanFile(path, &other); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::VersionMismatch));
        QVERIFY(error->message().find("another checkpoint") != std::string::npos);
    }
    void readsAMapOrAPlan_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("text");   // empty: the toy model's plan file
        QTest::addColumn<bool>("isPlan");
        QTest::addColumn<QString>("keys");
        QTest::newRow("map object") << "device_map.json" << QByteArray(R"({"embed": 0, "layers": "cuda:1", "norm": "cpu", "lm_head": "disk"})")
                                    << false << "embed=0 layers=1 norm=cpu lm_head=disk";
        QTest::newRow("map of pairs") << "pairs.json" << QByteArray(R"([["layers", 1], ["embed", "0"]])") << false << "layers=1 embed=0";
        QTest::newRow("wrapped map") << "wrapped.json" << QByteArray(R"({"device_map": {"": "cpu"}})") << false << "=cpu";
        QTest::newRow("plan file") << "toy.mizan.json" << QByteArray() << true << "=0";
        QTest::newRow("plan under a plain name") << "saved.json" << QByteArray() << true << "=0";
    }
    void readsAMapOrAPlan()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, text);
        QFETCH(bool, isPlan);
        QFETCH(QString, keys);
        QTemporaryDir dir;
        const std::string path = dir.filePath(name).toStdString();
        const ModuleTree tree = toyModel();
        const CheckpointIdentity id = identityOf(tree, "toy");
        if (text.isEmpty())
            writePlanFile(path, PlanFile{id, toyOptions({{Device::gpu(0), 123456}}), {{"", Device::gpu(0)}}, {}, {}});
        else
            QVERIFY(test::writeFile(dir.filePath(name), text));
        const MapOrPlan file = readMapOrPlanFile(path, &id);
        QCOMPARE(file.isPlan(), isPlan);
        QCOMPARE(QString::fromStdString(::keys(file.map)), keys);
        if (isPlan) {
            QCOMPARE(file.plan->options.maxMemory, (MaxMemory{{Device::gpu(0), 123456}}));
            QVERIFY(file.plan->deviceMap == file.map);
        }
    }
    void mapOrPlanErrorsNameTheFile_data()
    {
        QTest::addColumn<QByteArray>("text");   // "-": no file at all; "plan:N": a plan file for the toy model with N blocks
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("message");
        QTest::newRow("missing") << QByteArray("-") << int(ErrorKind::Io) << "cannot open";
        QTest::newRow("broken JSON") << QByteArray(R"({"embed": )") << int(ErrorKind::InvalidJson) << "invalid JSON at byte";
        QTest::newRow("not an object") << QByteArray("42") << int(ErrorKind::InvalidDeviceMap) << "must be a JSON object";
        QTest::newRow("bad device") << QByteArray(R"({"embed": "meta"})") << int(ErrorKind::InvalidDeviceMap) << "\"embed\": unknown device";
        QTest::newRow("bad pair") << QByteArray(R"([["embed"]])") << int(ErrorKind::InvalidDeviceMap) << "[\"module name\", device]";
        QTest::newRow("newer plan") << QByteArray(R"({"format": "mizan-plan", "version": 99})") << int(ErrorKind::VersionMismatch) << "newer Mizan";
        QTest::newRow("malformed plan") << QByteArray(R"({"format": "mizan-plan", "version": 1})") << int(ErrorKind::InvalidHeader) << "\"checkpoint\" is missing";
        QTest::newRow("another checkpoint") << QByteArray("plan:5") << int(ErrorKind::VersionMismatch) << "another checkpoint";
    }
    void mapOrPlanErrorsNameTheFile()
    {
        QFETCH(QByteArray, text);
        QFETCH(int, kind);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("input.json"));
        if (text.startsWith("plan:"))
            writePlanFile(path.toStdString(), PlanFile{identityOf(toyModel(text.mid(5).toInt()), "other"), toyOptions({{Device::gpu(0), 1}}),
                                                       {{"", Device::gpu(0)}}, {}, {}});
        else if (text != "-")
            QVERIFY(test::writeFile(path, text));
        const CheckpointIdentity id = identityOf(toyModel(), "toy");
        const auto error = test::errorOf([&] { readMapOrPlanFile(path.toStdString(), &id); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), kind);
        QCOMPARE(error->file(), path.toStdString());
        QVERIFY2(QString::fromStdString(error->message()).contains(message), error->what());
    }

    // ---- usage of a map -----------------------------------------------------------------------
    void usageOfAPlannedMapIsThePlans()
    {
        const ModuleTree tree = toyModel();
        const PlanOptions o = toyOptions({{Device::gpu(0), 8000}, {Device::gpu(1), 6000}, {Device::cpu(), 100000}});
        const Plan p = plan(tree, o);
        const auto usage = usageOf(tree, p.deviceMap, o);
        QCOMPARE(usage.size(), p.usage.size());
        for (std::size_t i = 0; i < usage.size(); ++i) {
            QCOMPARE(usage[i].device, p.usage[i].device);
            QCOMPARE(usage[i].plannedBytes, p.usage[i].plannedBytes);
            QCOMPARE(usage[i].moduleCount, p.usage[i].moduleCount);
            QCOMPARE(usage[i].budgetBytes, p.usage[i].budgetBytes);
        }
    }
    void usageCountsAsValidationDoes()
    {
        // Tensor keys, a special dtype (norm.weight kept in float32 under float16), an unknown key and a
        // repeated key (counted once), a device without a budget (disk).
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 1000}, {Device::cpu(), 100000}});
        o.dtype = DType::F16;
        o.specialDtypes = {{"norm.weight", DType::F32}};
        const DeviceMap map = {{"embed", Device::gpu(0)}, {"layers.0", Device::gpu(0)}, {"layers.1", Device::cpu()}, {"layers.2", Device::cpu()},
                               {"layers.3", Device::disk()}, {"norm.weight", Device::gpu(0)}, {"lm_head", Device::gpu(0)},
                               {"nothing.here", Device::cpu()}, {"layers.2", Device::gpu(0)}};
        std::vector<double> bytes;
        const auto usage = usageOf(tree, map, o, &bytes);
        QCOMPARE(bytes, (std::vector<double>{3200, 1632, 1632, 1632, 1632, 64, 0, 0, 1632}));
        QCOMPARE(usage.size(), std::size_t(3));
        QCOMPARE(usage[0].device, Device::gpu(0));
        QCOMPARE(usage[0].plannedBytes, 3200.0 + 1632 + 64);
        QCOMPARE(usage[0].moduleCount, 4);
        QCOMPARE(usage[0].freeBytes, 1000.0 - (3200 + 1632 + 64));
        QCOMPARE(usage[1].device, Device::cpu());
        QCOMPARE(usage[1].plannedBytes, 2.0 * 1632);
        QCOMPARE(usage[2].device, Device::disk());
        QCOMPARE(usage[2].budgetBytes, std::int64_t(-1));
        QCOMPARE(usage[2].plannedBytes, 1632.0);
        const auto issues = validate(tree, map, o);
        const auto over = std::find_if(issues.begin(), issues.end(), [](const Issue &i) { return i.kind == IssueKind::OverBudget; });
        QVERIFY(over != issues.end());
        QCOMPARE(std::get<ByteCount>(over->what.args.at(2)).bytes, usage[0].plannedBytes);
        QCOMPARE(usageToJson(usage).size(), std::size_t(3));
        QCOMPARE(usageToJson(usage)[0]["planned_bytes"].get<double>(), usage[0].plannedBytes);
    }
    void usageReservesHeadroomForTheLayersHeld()
    {
        const ModuleTree tree = toyModel();
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}, {Device::cpu(), 100000}});
        o.headroom.tokens = 4;
        o.headroom.hiddenSize = 16;
        o.headroom.numLayers = 4;
        o.headroom.numAttentionHeads = 2;
        const HeadroomEstimate e = estimateHeadroom(o.headroom);
        // Three blocks on GPU 0, one on GPU 1: the even spread (2 each) is the floor.
        const DeviceMap map = {{"embed", Device::gpu(0)}, {"layers.0", Device::gpu(0)}, {"layers.1", Device::gpu(0)}, {"layers.2", Device::gpu(0)},
                               {"layers.3", Device::gpu(1)}, {"norm", Device::cpu()}, {"lm_head", Device::cpu()}};
        const auto usage = usageOf(tree, map, o);
        QCOMPARE(usage[0].headroomBytes, e.totalBytes(3));
        QCOMPARE(usage[1].headroomBytes, e.totalBytes(2));
        QCOMPARE(usage[2].headroomBytes, std::int64_t(0));
    }
    void pythonSnippetLoadsTheSameMap()
    {
        const std::string s = pythonSnippet("meta-llama/Llama-3.1-8B", {{"model.embed_tokens", Device::gpu(0)}, {"lm_head", Device::disk()}},
                                            {{Device::gpu(0), 1000}, {Device::cpu(), 2000}}, DType::BF16, false);
        QVERIFY(s.find("\"model.embed_tokens\": 0,") != std::string::npos);
        QVERIFY(s.find("\"lm_head\": \"disk\",") != std::string::npos);
        QVERIFY(s.find("max_memory = {0: 1000, \"cpu\": 2000}") != std::string::npos);
        QVERIFY(s.find("torch_dtype=torch.bfloat16") != std::string::npos);
        QVERIFY(s.find("offload_folder=") != std::string::npos);
    }
    // After keepFreedMemory(), a large block freed is served again without touching new pages:
    // without it glibc maps a 64 MiB block afresh each time (16,384 page faults a time).
    void keepFreedMemoryReusesPages()
    {
        if (!mizan::keepFreedMemory())
            QSKIP("this C library's malloc has no such settings (or a sanitizer replaced it)");
        constexpr std::size_t kBytes = std::size_t(64) << 20;
        auto touchOnce = [&] {
            rusage before{}, after{};
            getrusage(RUSAGE_SELF, &before);
            auto *p = static_cast<volatile char *>(std::malloc(kBytes));
            if (!p)
                return -1L;
            for (std::size_t i = 0; i < kBytes; i += 4096)
                p[i] = 1;
            std::free(const_cast<char *>(p));
            getrusage(RUSAGE_SELF, &after);
            return after.ru_minflt - before.ru_minflt;
        };
        touchOnce();
        const long second = touchOnce();
        QVERIFY2(second >= 0 && second < 1024, qPrintable(QString("%1 page faults touching a freed 64 MiB block again").arg(second)));
    }
};

QTEST_GUILESS_MAIN(TestPlanner)
#include "tst_planner.moc"
