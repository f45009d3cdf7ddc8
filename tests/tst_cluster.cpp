// Plans across hosts (issue 15): host-qualified devices, the stage trees, the split chosen for the
// least predicted time per token (with the hop between hosts), each host's map over its own
// modules only, the cluster plan file, cluster hardware profiles, and `mizan-cli plan --hardware
// CLUSTER` as a user runs it.
#include "models/describe.h"
#include "models/planoptions.h"
#include "models/resources.h"
#include "planner/cluster.h"
#include "planner/cost.h"
#include "planner/error.h"
#include "planner/export.h"
#include "planner/plan.h"
#include "planner/planfile.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <QElapsedTimer>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdlib>
#include <set>

using namespace mizan;
using namespace mizan::planner;
using nlohmann::json;

namespace {

json tensor(const std::string &name, std::vector<std::int64_t> shape, int tie = -1)
{
    json t = {{"name", name}, {"shape", shape}, {"dtype", "float32"}};
    if (tie >= 0)
        t["tie"] = tie;
    return t;
}

json module(const std::string &name, const std::string &cls, json params, json children = json::array())
{
    return {{"name", name}, {"class", cls}, {"params", std::move(params)}, {"buffers", json::array()}, {"children", std::move(children)}};
}

// A toy decoder: model.embed (Embedding, 100 x 16, tied to lm_head), `blocks` Block layers of
// 2 x (16 x 16 + 16) floats = 2176 B, model.norm, lm_head (its weight tied to the embedding).
constexpr std::int64_t kBlockBytes = 2176;
ModuleTree toyDecoder(int blocks, bool tied = true)
{
    json layers = module("layers", "ModuleList", json::array());
    for (int i = 0; i < blocks; ++i)
        layers["children"].push_back(module(std::to_string(i), "Block", json::array(),
                                            {module("attn", "Linear", {tensor("weight", {16, 16}), tensor("bias", {16})}),
                                             module("mlp", "Linear", {tensor("weight", {16, 16}), tensor("bias", {16})})}));
    json model = module("model", "Model", json::array(),
                        {module("embed", "Embedding", {tensor("weight", {100, 16}, tied ? 0 : -1)}), layers,
                         module("norm", "RMSNorm", {tensor("weight", {16})})});
    json root = module("", "ForCausalLM", json::array(), {model, module("lm_head", "Linear", {tensor("weight", {100, 16}, tied ? 0 : -1)})});
    return ModuleTree::fromJson(root);
}

ClusterHost host(const std::string &name, const std::string &maxMemory, const SpeedModel &speeds = assumedSpeedModel())
{
    ClusterHost h;
    h.name = name;
    h.options.maxMemory = parseMaxMemory(maxMemory);
    h.options.noSplitClasses = {"Block"};
    h.speeds = speeds;
    return h;
}

// Every tensor of `tree` covered by exactly one key of `map`.
QString coverageProblem(const ModuleTree &tree, const DeviceMap &map)
{
    for (int id : tree.preorder()) {
        const Module &m = tree.module(id);
        for (const auto *list : {&m.params, &m.buffers})
            for (const Tensor &t : *list) {
                const std::string name = tree.tensorName(id, t);
                int covering = 0;
                for (const auto &entry : map)
                    covering += nameWithin(name, entry.first) ? 1 : 0;
                if (covering != 1)
                    return QString::fromStdString(name) + QStringLiteral(" covered by %1 keys").arg(covering);
            }
    }
    return {};
}

std::vector<int> countsOf(const ClusterPlan &plan)
{
    return plan.blocksPerStage();
}

} // namespace

class TestCluster : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hostDevices_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("host");   // empty: refused
        QTest::addColumn<QString>("device"); // Accelerate's spelling
        QTest::newRow("gpu") << "node1:0" << "node1" << "0";
        QTest::newRow("cuda spelling") << "node1:cuda:3" << "node1" << "3";
        QTest::newRow("cpu") << "gpu-box.lan:cpu" << "gpu-box.lan" << "cpu";
        QTest::newRow("disk") << "n_2:disk" << "n_2" << "disk";
        QTest::newRow("no host") << "0" << "" << "";
        QTest::newRow("empty host") << ":0" << "" << "";
        QTest::newRow("space in host") << "node 1:0" << "" << "";
        QTest::newRow("bad device") << "node1:tpu" << "" << "";
    }
    void hostDevices()
    {
        QFETCH(QString, text);
        QFETCH(QString, host);
        QFETCH(QString, device);
        if (host.isEmpty()) {
            const auto e = test::errorOf([&] { (void)HostDevice::fromString(text.toStdString()); });
            QVERIFY(e);
            QCOMPARE(e->kind(), ErrorKind::InvalidArgument);
            return;
        }
        const HostDevice d = HostDevice::fromString(text.toStdString());
        QCOMPARE(QString::fromStdString(d.host), host);
        QCOMPARE(QString::fromStdString(d.device.toString()), device);
        QCOMPARE(QString::fromStdString(HostDevice::fromString(d.toString()).toString()), QString::fromStdString(d.toString()));
    }

    void stageTreeHoldsItsModulesOnly()
    {
        const ModuleTree tree = toyDecoder(6);
        QCOMPARE(pipelineBlocks(tree, {"Block"}).size(), std::size_t(6));
        QCOMPARE(pipelineBlocks(tree, {"Block"}).front(), std::string("model.layers.0"));

        const ModuleTree first = stageTree(tree, {"Block"}, 0, 2, true, false);
        QVERIFY(first.find("model.embed") >= 0);
        QVERIFY(first.find("model.layers.1.mlp") >= 0);
        QCOMPARE(first.find("model.layers.2"), -1);
        QCOMPARE(first.find("model.norm"), -1);
        QCOMPARE(first.find("lm_head"), -1);
        QCOMPARE(first.module(first.find("model.layers.0")).className, std::string("Block"));
        // The tie's partner is on another host: the embedding is a plain tensor here.
        QCOMPARE(first.module(first.find("model.embed")).params.front().tie, -1);

        const ModuleTree last = stageTree(tree, {"Block"}, 2, 6, false, true);
        QCOMPARE(last.find("model.embed"), -1);
        QVERIFY(last.find("model.layers.5") >= 0);
        QVERIFY(last.find("model.norm") >= 0);
        QVERIFY(last.find("lm_head") >= 0);
        QCOMPARE(last.module(last.find("lm_head")).params.front().tie, -1);
        QCOMPARE(aggregateSizes(last).totalBytes(), 4 * kBlockBytes + 64 + 6400);

        // One host: the whole model, the tie kept.
        const ModuleTree all = stageTree(tree, {"Block"}, 0, 6, true, true);
        QCOMPARE(aggregateSizes(all).totalBytes(), aggregateSizes(tree).totalBytes());
        QCOMPARE(all.module(all.find("lm_head")).params.front().tie, 0);
    }

    // Two equal hosts that each hold half the model: no offload, the blocks split evenly, every
    // weight covered by exactly one key, stages contiguous, no key spanning hosts.
    void equalHostsSplitEvenly()
    {
        const ModuleTree tree = toyDecoder(8, false);
        Cluster cluster;
        cluster.hosts = {host("a", "0=16KiB,cpu=1MiB"), host("b", "0=16KiB,cpu=1MiB")};
        cluster.linkBandwidth = 1e9;
        const ClusterPlan p = planCluster(tree, cluster, {});
        QCOMPARE(p.blocks, 8);
        QCOMPARE(countsOf(p), (std::vector<int>{4, 4}));
        QVERIFY(p.stages[0].embeddings && !p.stages[0].head);
        QVERIFY(!p.stages[1].embeddings && p.stages[1].head);
        for (const auto &s : p.stages) {
            QCOMPARE(s.prediction.offloadedSteps, 0);
            for (const auto &[key, device] : s.plan.deviceMap)
                QCOMPARE(device, Device::gpu(0));
        }
        const DeviceMap local = p.localDeviceMap();
        const QString problem = coverageProblem(tree, local);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        for (const auto &[key, device] : local)
            QVERIFY2(key != "" && key != "model" && key != "model.layers", key.c_str());
        // The qualified map names the host of every key.
        const auto qualified = p.deviceMap();
        QCOMPARE(qualified.size(), local.size());
        QCOMPARE(qualified.front().second.toString(), std::string("a:0"));
        QCOMPARE(qualified.back().second.toString(), std::string("b:0"));
    }

    // A fast host that holds all but a little, a slow CPU-only host: the least time per token puts
    // as many blocks as fit on the fast one; the prediction is the stages plus the hops.
    void fastHostTakesWhatFits()
    {
        const ModuleTree tree = toyDecoder(8, false);
        Cluster cluster;
        cluster.hosts = {host("gpu", "0=1MiB,cpu=1MiB"), host("cpu", "cpu=1MiB")};
        cluster.linkBandwidth = 1e8;
        cluster.linkLatency = 1e-4;
        ClusterOptions options;
        options.hiddenBytesPerToken = 64;
        const ClusterPlan p = planCluster(tree, cluster, options);
        QCOMPARE(countsOf(p), (std::vector<int>{7, 1}));
        const double hop = 64 / 1e8 + 1e-4;
        QCOMPARE(p.hopSecondsPerToken, hop + 1e-4 + 8 / 1e8);
        QCOMPARE(p.decodeSeconds, p.stages[0].prediction.decodeSeconds + p.stages[1].prediction.decodeSeconds + p.hopSecondsPerToken);
        // Any other split is predicted slower.
        for (int k = 1; k < 7; ++k) {
            options.blocksPerHost = {k, 8 - k};
            const ClusterPlan other = planCluster(tree, cluster, options);
            QVERIFY(!other.chosenSplit);
            QVERIFY2(other.decodeSeconds > p.decodeSeconds, qPrintable(QString::number(k)));
        }
    }

    // A host too small for its share offloads; the split moves blocks to the host with room.
    void splitAvoidsOffload()
    {
        const ModuleTree tree = toyDecoder(8, false);
        Cluster cluster;
        // a: room for the embedding and about 2 blocks on its GPU; b: room for everything.
        cluster.hosts = {host("a", "0=12KiB,cpu=1MiB"), host("b", "0=1MiB,cpu=1MiB")};
        const ClusterPlan p = planCluster(tree, cluster, {});
        for (const auto &s : p.stages)
            QCOMPARE(s.prediction.offloadedSteps, 0);
        QVERIFY(p.stages[0].endBlock <= 3);
    }

    void refusesWhatCannotBeSplit_data()
    {
        QTest::addColumn<int>("blocks");
        QTest::addColumn<QStringList>("hosts");
        QTest::addColumn<QList<int>>("split");
        QTest::addColumn<QString>("words");
        QTest::newRow("no hosts") << 4 << QStringList{} << QList<int>{} << "no hosts";
        QTest::newRow("more hosts than blocks") << 2 << QStringList{"a", "b", "c"} << QList<int>{} << "2 decoder block(s)";
        QTest::newRow("same host twice") << 4 << QStringList{"a", "a"} << QList<int>{} << "twice";
        QTest::newRow("bad host name") << 4 << QStringList{"a/b"} << QList<int>{} << "not a host name";
        QTest::newRow("split sum") << 4 << QStringList{"a", "b"} << QList<int>{2, 3} << "4 decoder block(s)";
        QTest::newRow("split count") << 4 << QStringList{"a", "b"} << QList<int>{4} << "1 stage(s)";
        QTest::newRow("empty stage") << 4 << QStringList{"a", "b"} << QList<int>{0, 4} << "at least one";
    }
    void refusesWhatCannotBeSplit()
    {
        QFETCH(int, blocks);
        QFETCH(QStringList, hosts);
        QFETCH(QList<int>, split);
        QFETCH(QString, words);
        Cluster cluster;
        for (const auto &h : hosts)
            cluster.hosts.push_back(host(h.toStdString(), "cpu=1MiB"));
        ClusterOptions options;
        options.blocksPerHost.assign(split.begin(), split.end());
        const auto e = test::errorOf([&] { (void)planCluster(toyDecoder(blocks), cluster, options); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::InvalidArgument);
        QVERIFY2(QString::fromStdString(e->message()).contains(words), e->message().c_str());
    }

    void planFileRoundTrips()
    {
        const ModuleTree tree = toyDecoder(6);
        Cluster cluster;
        cluster.hosts = {host("node0", "0=8KiB,cpu=1MiB"), host("node1", "0=8KiB,cpu=1MiB"), host("node2", "cpu=1MiB")};
        cluster.hosts[0].address = "10.0.0.1";
        cluster.linkBandwidth = 1e9;
        const ClusterPlan p = planCluster(tree, cluster, {});
        const CheckpointIdentity id = identityOf(tree, "toy");
        const ClusterPlanFile file = clusterPlanFileOf(p, id, "toy-cluster", {});
        QTemporaryDir dir;
        const std::string path = dir.filePath(QStringLiteral("c.mizan.json")).toStdString();
        writeClusterPlanFile(path, file, &p);
        const ClusterPlanFile back = readClusterPlanFile(path, &id);
        QCOMPARE(back.stages.size(), std::size_t(3));
        QCOMPARE(back.blocksPerStage(), p.blocksPerStage());
        QCOMPARE(back.localDeviceMap(), p.localDeviceMap());
        QCOMPARE(back.stages[0].address, std::string("10.0.0.1"));
        QCOMPARE(back.stages[2].plan.options.maxMemory, cluster.hosts[2].options.maxMemory);
        QVERIFY(back.stageOf("node1"));
        QVERIFY(!back.stageOf("node9"));
        const QString problem = coverageProblem(tree, back.localDeviceMap());
        QVERIFY2(problem.isEmpty(), qPrintable(problem));

        // Made for another checkpoint: refused, naming both fingerprints.
        const CheckpointIdentity other = identityOf(toyDecoder(7), "other");
        const auto e = test::errorOf([&] { (void)readClusterPlanFile(path, &other); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::VersionMismatch);

        // Damaged files: the field is named.
        const nlohmann::ordered_json good = clusterPlanFileToJson(file);
        auto damaged = [&](auto &&change) {
            nlohmann::ordered_json j = good;
            change(j);
            return test::errorOf([&] { (void)clusterPlanFileFromJson(j, "c.json"); });
        };
        auto expectWords = [](const std::optional<Error> &err, const char *words) {
            QVERIFY(err);
            QVERIFY2(QString::fromStdString(err->message()).contains(QLatin1String(words)), err->message().c_str());
            QCOMPARE(QString::fromStdString(err->file()), QStringLiteral("c.json"));
        };
        expectWords(damaged([](auto &j) { j["stages"][1]["first_block"] = 0; }), "contiguous");
        expectWords(damaged([](auto &j) { j["stages"][1]["host"] = j["stages"][0]["host"]; }), "two stages");
        expectWords(damaged([](auto &j) { j["stages"][0]["head"] = true; }), "the last the head");
        expectWords(damaged([](auto &j) { j["link"]["bandwidth"] = "fast"; }), "link.bandwidth");
        expectWords(damaged([](auto &j) { j["stages"][2].erase("plan"); }), "stages[2].plan");
        expectWords(damaged([](auto &j) { j["stages"][0]["plan"]["device_map"] = 3; }), "node0");
        expectWords(damaged([](auto &j) { j["version"] = 99; }), "newer Mizan");
        expectWords(damaged([](auto &j) { j["format"] = "mizan-plan"; }), "not a Mizan cluster plan");
    }

    // Export to engines that run past one machine: every host's GPUs in host order.
    void exportsToEngines()
    {
        const ModuleTree tree = toyDecoder(8, false);
        Cluster cluster;
        cluster.hosts = {host("a", "0=1MiB,1=1MiB,cpu=1MiB"), host("b", "0=1MiB,cpu=1MiB"), host("c", "0=1MiB,cpu=1MiB")};
        cluster.hosts[0].address = "10.0.0.1";
        ClusterOptions options;
        options.blocksPerHost = {4, 2, 2};
        const ClusterPlan p = planCluster(tree, cluster, options);
        const ClusterPlanFile file = clusterPlanFileOf(p, identityOf(tree, "toy"), {}, {});
        PlanOptions planOptions = cluster.hosts[0].options;

        ExportRequest request;
        request.engine = Engine::LlamaCpp;
        const EngineExport llama = exportCluster(tree, file, planOptions, request, 50100);
        const auto rpc = std::find(llama.args.begin(), llama.args.end(), "--rpc");
        QVERIFY(rpc != llama.args.end());
        QCOMPARE(*(rpc + 1), std::string("10.0.0.1:50100,b:50100"));
        // Devices a:0, a:1, b:0, c:0; host a's 4 blocks on its two GPUs as its plan put them.
        const auto ts = std::find(llama.args.begin(), llama.args.end(), "-ts");
        QVERIFY(ts != llama.args.end());
        int a0 = 0, a1 = 0;
        for (const auto &[key, device] : file.stages[0].plan.deviceMap)
            if (key.rfind("model.layers.", 0) == 0)
                (device.index == 0 ? a0 : a1) += 1;
        QCOMPARE(*(ts + 1), std::to_string(a0) + "," + std::to_string(a1) + ",2,3"); // the output layer on the last
        bool hostsNote = false;
        for (const auto &n : llama.notes)
            hostsNote = hostsNote || (n.kind == "cluster-hosts" && n.message.find("run this on c") == 0);
        QVERIFY(hostsNote);

        request.engine = Engine::Vllm;
        const EngineExport vllm = exportCluster(tree, file, planOptions, request);
        bool partition = false;
        for (const auto &[name, value] : vllm.env)
            partition = partition || (name == "VLLM_PP_LAYER_PARTITION" &&
                                       value == (a0 && a1 ? std::to_string(a0) + "," + std::to_string(a1) + ",2,2" : std::string("4,2,2")));
        QVERIFY2(partition, vllm.commandLine().c_str());

        request.engine = Engine::MistralRs;
        const auto e = test::errorOf([&] { (void)exportCluster(tree, file, planOptions, request); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::InvalidArgument);
    }

    void clusterProfiles()
    {
        const models::HardwareProfile demo = models::hardwareProfile("demo-2host");
        QVERIFY(demo.isCluster());
        QCOMPARE(demo.hosts.size(), std::size_t(2));
        QCOMPARE(demo.hosts[1].name, std::string("node1"));
        QCOMPARE(demo.linkBandwidth, 110e6);
        QCOMPARE(demo.linkLatency, 60e-6);
        const models::HardwareProfile h100 = models::hardwareProfile("2x-8xh100");
        QCOMPARE(h100.hosts.size(), std::size_t(2));
        QCOMPARE(h100.hosts[0].profile, std::string("8x-h100-80gb"));
        QCOMPARE(h100.hosts[0].devices.size(), models::hardwareProfile("8x-h100-80gb").devices.size());
        const models::HardwareProfile node = models::hostProfile(h100, 1);
        QCOMPARE(node.name, std::string("2x-8xh100/node1"));
        QCOMPARE(models::budgetsFor(node).maxMemory().size(), std::size_t(9));
    }

    void badClusterProfiles_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("words");
        const QByteArray devices = R"("devices": [{"device": "cpu", "capacity": "1GiB"}])";
        QTest::newRow("empty hosts") << QByteArray(R"({"hosts": []})") << "non-empty array";
        QTest::newRow("hosts and devices") << (R"({"hosts": [{"name": "a", )" + devices + R"(}], )" + devices + "}") << "not both";
        QTest::newRow("neither profile nor devices") << QByteArray(R"({"hosts": [{"name": "a"}]})") << "one of them";
        QTest::newRow("profile and devices") << (R"({"hosts": [{"name": "a", "profile": "demo-2gpu", )" + devices + "}]}") << "one of them";
        QTest::newRow("unknown profile") << QByteArray(R"({"hosts": [{"name": "a", "profile": "nope"}]})") << "no hardware profile \"nope\"";
        QTest::newRow("cluster of clusters") << QByteArray(R"({"hosts": [{"name": "a", "profile": "demo-2host"}]})") << "cluster";
        QTest::newRow("same host twice") << ("{\"hosts\": [{\"name\": \"a\", " + devices + "}, {\"name\": \"a\", " + devices + "}]}") << "twice";
        QTest::newRow("bad host name") << ("{\"hosts\": [{\"name\": \"a b\", " + devices + "}]}") << "not a host name";
        QTest::newRow("bad link") << ("{\"hosts\": [{\"name\": \"a\", " + devices + "}], \"link_bandwidth\": true}") << "link_bandwidth";
    }
    void badClusterProfiles()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, words);
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("hardware")));
        for (const char *name : {"demo-2gpu", "demo-2host"})
            QVERIFY(QFile::copy(QStringLiteral(MIZAN_SOURCE_DIR "/resources/hardware/%1.json").arg(QLatin1String(name)),
                                dir.filePath(QStringLiteral("hardware/%1.json").arg(QLatin1String(name)))));
        QVERIFY(test::writeFile(dir.filePath(QStringLiteral("hardware/bad.json")), content));
        const QByteArray old = qgetenv("MIZAN_RESOURCES");
        qputenv("MIZAN_RESOURCES", dir.path().toUtf8());
        const auto e = test::errorOf([] { (void)models::hardwareProfile("bad"); });
        const auto listed = models::listHardware();
        qputenv("MIZAN_RESOURCES", old);
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::InvalidHeader);
        QVERIFY2(QString::fromStdString(e->message()).contains(words), e->message().c_str());
        QVERIFY(QString::fromStdString(e->file()).endsWith(QStringLiteral("bad.json")));
        bool badListed = false;
        for (const auto &h : listed)
            badListed = badListed || (h.name == "bad" && !h.error.empty());
        QVERIFY(badListed);
    }

    // Llama 3.1 405B (810 GB in bfloat16) on two 8 x H100 nodes (1280 GB of GPU memory): every
    // weight on a GPU, the 126 blocks split about evenly, the plan made fast.
    void llama405bOnTwoNodes()
    {
        const models::ModelDescription model = models::describeConfig(models::presetConfig("llama-3.1-405b"));
        const models::HardwareProfile profile = models::hardwareProfile("2x-8xh100");
        models::PlanSettings settings;
        std::vector<std::vector<PlanDevice>> devices;
        const Cluster cluster = models::clusterFor(profile, model, settings, &devices);
        QCOMPARE(cluster.hosts.size(), std::size_t(2));
        QCOMPARE(devices.size(), std::size_t(2));
        QCOMPARE(cluster.linkBandwidth, 40e9);
        ClusterOptions options;
        options.hiddenBytesPerToken = models::hiddenBytesPerToken(model);
        QCOMPARE(options.hiddenBytesPerToken, std::int64_t(16384 * 4));
        QElapsedTimer clock;
        clock.start();
        const ClusterPlan p = planCluster(model.tree, cluster, options);
        qInfo("405B on 2 x 8 x H100: planned in %lld ms: %s", static_cast<long long>(clock.elapsed()), summarize(p).c_str());
        QCOMPARE(p.blocks, 126);
        for (const auto &s : p.stages) {
            QCOMPARE(s.prediction.offloadedSteps, 0);
            for (const auto &[key, device] : s.plan.deviceMap)
                QVERIFY2(device.isGpu(), key.c_str());
        }
        const auto counts = countsOf(p);
        QVERIFY2(std::abs(counts[0] - counts[1]) <= 2, qPrintable(QStringLiteral("%1/%2").arg(counts[0]).arg(counts[1])));
        const QString problem = coverageProblem(model.tree, p.localDeviceMap());
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

#ifdef MIZAN_WITH_CLI
    // `mizan-cli plan --hardware CLUSTER` as a user runs it.
    void cliPlansOnACluster()
    {
        QTemporaryDir dir;
        const QString demo = dir.filePath(QStringLiteral("demo"));
        const test::CliRun made = test::makeDemo(demo, {QStringLiteral("--layers"), QStringLiteral("4"), QStringLiteral("--hidden"), QStringLiteral("64")});
        QVERIFY2(made.exitCode == 0, made.err.constData());
        const QString plan = dir.filePath(QStringLiteral("c.mizan.json"));
        const QString map = dir.filePath(QStringLiteral("map.json"));
        const test::CliRun r = test::runCli({QStringLiteral("plan"), demo, QStringLiteral("--hardware"), QStringLiteral("demo-2host"),
                                             QStringLiteral("-o"), plan, QStringLiteral("--device-map-out"), map});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.outText().contains(QStringLiteral("== Host node0 (127.0.0.1): stage 1 of 2, embeddings, blocks 0-1")));
        QVERIFY(r.outText().contains(QStringLiteral("== Host node1 (127.0.0.1): stage 2 of 2, blocks 2-3, head")));
        QVERIFY(r.outText().contains(QStringLiteral("1 hop of")));
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("map.node0.json"))));
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("map.node1.json"))));
        const ClusterPlanFile file = readClusterPlanFile(plan.toStdString());
        QCOMPARE(file.blocksPerStage(), (std::vector<int>{2, 2}));
        QCOMPARE(file.profile, std::string("demo-2host"));
        const DeviceMap node1 = readDeviceMapFile(dir.filePath(QStringLiteral("map.node1.json")).toStdString());
        QCOMPARE(node1, file.stages[1].plan.deviceMap);

        const test::CliRun j = test::runCli({QStringLiteral("plan"), demo, QStringLiteral("--hardware"), QStringLiteral("demo-2host"),
                                             QStringLiteral("--split"), QStringLiteral("3,1"), QStringLiteral("--json")});
        QVERIFY2(j.exitCode == 0, j.err.constData());
        const json out = json::parse(j.out.toStdString());
        QCOMPARE(out["format"], "mizan-cluster-plan-result");
        QCOMPARE(out["stages"][0]["end_block"], 3);
        QCOMPARE(out["split_chosen"], false);
        QCOMPARE(out["device_map"]["lm_head"], "node1:0");

        const struct {
            QStringList args;
            const char *words;
        } refused[] = {
            {{QStringLiteral("plan"), demo, QStringLiteral("--hardware"), QStringLiteral("demo-2host"), QStringLiteral("--python-out"),
              dir.filePath(QStringLiteral("x.py"))},
             "--python-out"},
            {{QStringLiteral("plan"), demo, QStringLiteral("--hardware"), QStringLiteral("demo-2host"), QStringLiteral("--split"),
              QStringLiteral("4")},
             "1 stage(s)"},
            {{QStringLiteral("plan"), demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=1GiB"), QStringLiteral("--split"),
              QStringLiteral("2,2")},
             "cluster profile"},
            {{QStringLiteral("validate"), demo, dir.filePath(QStringLiteral("map.node0.json")), QStringLiteral("--hardware"), QStringLiteral("demo-2host")},
             "is a cluster of 2 hosts"},
        };
        for (const auto &c : refused) {
            const test::CliRun bad = test::runCli(c.args);
            QVERIFY2(bad.exitCode == 2, qPrintable(c.args.join(QLatin1Char(' ')) + QStringLiteral(": ") + bad.errText()));
            QVERIFY2(bad.errText().contains(QLatin1String(c.words)), qPrintable(bad.errText()));
        }
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("x.py"))));
        // Commands of one machine's map name what a cluster plan is and what to give them.
        for (const QStringList &args : {QStringList{QStringLiteral("validate"), demo, plan},
                                        QStringList{QStringLiteral("diff"), plan, plan}}) {
            const test::CliRun bad = test::runCli(args);
            QCOMPARE(bad.exitCode, 1);
            QVERIFY2(bad.errText().contains(QStringLiteral("is a cluster plan")), qPrintable(bad.errText()));
        }
        // export takes it: llama.cpp with the first host's rpc-server, run on the last host.
        const test::CliRun llama = test::runCli({QStringLiteral("export"), plan, QStringLiteral("--to"), QStringLiteral("llamacpp")});
        QVERIFY2(llama.exitCode == 0, qPrintable(llama.errText()));
        QVERIFY2(llama.outText().startsWith(QStringLiteral("llama-server -m MODEL.gguf --rpc 127.0.0.1:50052 -ngl 5 -ts 2,3\n")),
                 qPrintable(llama.outText()));
        const test::CliRun mistral = test::runCli({QStringLiteral("export"), plan, QStringLiteral("--to"), QStringLiteral("mistralrs")});
        QCOMPARE(mistral.exitCode, 1);
        QVERIFY2(mistral.errText().contains(QStringLiteral("one machine")), qPrintable(mistral.errText()));

        const test::CliRun presets = test::runCli({QStringLiteral("presets")});
        QVERIFY(presets.outText().contains(QStringLiteral("node1: 0=40.00 MiB, cpu=48.00 MiB")));
    }
#endif
};

QTEST_GUILESS_MAIN(TestCluster)
#include "tst_cluster.moc"
