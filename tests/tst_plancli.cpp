// mizan-cli plan / validate run as a process: exit codes, messages, JSON, files.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "testutil.h"

using mizan::test::CliRun;
using mizan::test::runCli;

namespace {

// Llama-2-70b's config.json (meta-llama/Llama-2-70b-hf), stored in float16.
const char *const kLlama2_70b = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "hidden_size": 8192, "intermediate_size": 28672, "max_position_embeddings": 4096, "num_attention_heads": 64,
    "num_hidden_layers": 80, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
    "tie_word_embeddings": false, "torch_dtype": "float16", "vocab_size": 32000})";

QString writeFixture(const QTemporaryDir &dir, const QString &name, const QByteArray &text)
{
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly))
        return {};
    f.write(text);
    return f.fileName();
}

int layersOn(const QJsonObject &map, const QJsonValue &device)
{
    int n = 0;
    for (auto it = map.begin(); it != map.end(); ++it)
        if (it.key().startsWith("model.layers.") && it.value() == device)
            ++n;
    return n;
}

} // namespace

class TestPlanCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(mizan::test::cliPath()), "build the mizan-cli target first");
    }

    void badArgumentsExitWith2_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("bad size") << QStringList{"plan", "gpt2", "--max-memory", "0=10XB"} << "`size` 10XB is not in a valid format";
        QTest::newRow("unknown device") << QStringList{"plan", "gpt2", "--max-memory", "meta=1GB"} << "unknown device \"meta\"";
        QTest::newRow("unknown strategy") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--strategy", "fastest"} << "unknown strategy \"fastest\"";
        QTest::newRow("bad pin") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--pin", "lm_head"} << "is not MODULE=DEVICE";
        QTest::newRow("pin device") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--pin", "lm_head=cuda:x"} << "unknown device";
        QTest::newRow("pin unknown module") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--pin", "nothing.here=0"} << "no module or tensor";
        QTest::newRow("no budgets") << QStringList{"plan", "gpt2"} << "missing --max-memory";
        QTest::newRow("bad dtype") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--dtype", "float7"} << "unknown dtype";
        QTest::newRow("unknown option") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--speed"} << "unknown option --speed";
        QTest::newRow("bad policy") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--policy", "experts"} << "\"experts\" is not a policy";
        QTest::newRow("policy device") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--policy", "first:2=gpu"} << "\"gpu\" is not a device";
        QTest::newRow("policy unknown class") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--policy", "class:MixtralExperts=cpu"}
                                              << "no module of the model has that class; its classes: ";
        QTest::newRow("no experts") << QStringList{"plan", "gpt2", "--max-memory", "0=1GB", "--policy", "experts-on-cpu"}
                                    << "the model has no mixture-of-experts layers";
        QTest::newRow("validate args") << QStringList{"validate", "gpt2"} << "too few arguments";
        QTest::newRow("validate bad size") << QStringList{"validate", "gpt2", "map.json", "--max-memory", "cpu=5TB"} << "`size` 5TB";
    }
    void badArgumentsExitWith2()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.errText().contains(message), r.err.constData());
    }

    void listsDevicesAndPlansWithAuto()
    {
        CliRun d = runCli({"devices", "--json"});
        QCOMPARE(d.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(d.out).object();
        QCOMPARE(j.value("format").toString(), QString("mizan-devices"));
        const double available = j.value("cpu").toObject().value("available_bytes").toDouble();
        QVERIFY(available > 0);
        const QJsonObject memory = j.value("max_memory").toObject();
        QCOMPARE(memory.value("cpu").toDouble(), available);
        QCOMPARE(memory.size(), 1 + j.value("gpus").toArray().size());
        QVERIFY(j.value("gpus").toArray().isEmpty() || j.value("cuda_build").toBool());

        // auto with overrides: this machine's devices, the CPU lowered, a GPU added.
        CliRun p = runCli({"plan", "gpt2", "--max-memory", "auto,cpu=1GB,0=100MB", "--json"});
        QCOMPARE(p.exitCode, 0);
        const QJsonObject plan = QJsonDocument::fromJson(p.out).object();
        QCOMPARE(plan.value("max_memory").toObject().value("cpu").toDouble(), 1e9);
        QVERIFY(plan.value("max_memory").toObject().contains("0"));
        CliRun bad = runCli({"plan", "gpt2", "--max-memory", "automatic"});
        QCOMPARE(bad.exitCode, 2);
        CliRun text = runCli({"devices", "--offload-folder", QDir::tempPath() + "/mizan-not-there/x"});
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("disk") && text.out.contains("--max-memory auto"), text.out.constData());
    }

    void editsMapsAndPlanFiles()
    {
        QTemporaryDir dir;
        const QString map = dir.filePath("map.json"), planFile = dir.filePath("p.mizan.json");
        QCOMPARE(runCli({"plan", "gpt2", "--max-memory", "0=200MB,cpu=1GB", "--device-map-out", map, "-o", planFile}).exitCode, 0);

        // A device_map: the edited map goes to stdout, the report to stderr.
        CliRun r = runCli({"edit", "gpt2", map, "--move", "transformer.h.3=0", "--move", "transformer.h.3.mlp=cpu"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject edited = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(edited.value("transformer.h.3.attn").toInt(-1), 0);
        QCOMPARE(edited.value("transformer.h.3.mlp").toString(), QString("cpu"));
        QCOMPARE(edited.value("transformer.h.2").toString(), QString("cpu"));
        QVERIFY(!edited.contains("transformer.h"));
        QVERIFY2(r.err.contains("no-split-broken"), r.err.constData()); // GPT2Block cut in two: a warning

        // A plan file stays a plan file, and validates.
        const QString out = dir.filePath("p2.mizan.json");
        r = runCli({"edit", "gpt2", planFile, "--move", "lm_head=cpu", "--move", "transformer.wte=cpu", "-o", out, "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(QJsonDocument::fromJson(r.out).object().value("valid").toBool());
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject plan = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(plan.value("format").toString(), QString("mizan-plan"));
        QCOMPARE(runCli({"validate", "gpt2", out}).exitCode, 0);

        // An invalid result (tied weights split) is not written; an unknown module exits 1, no move 2.
        const QString bad = dir.filePath("bad.json");
        r = runCli({"edit", "gpt2", map, "--move", "lm_head=cpu", "-o", bad});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains("tied-split") || r.out.contains("tied"), r.out.constData());
        QVERIFY(!QFileInfo::exists(bad));
        r = runCli({"edit", "gpt2", map, "--move", "transformer.nothing=cpu"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("is not a module of this model"), r.err.constData());
        QCOMPARE(runCli({"edit", "gpt2", map}).exitCode, 2);
        QCOMPARE(runCli({"edit", "gpt2", map, "--move", "lm_head!=cpu"}).exitCode, 2);
    }

    void plansAsJsonAndWritesFiles()
    {
        QTemporaryDir dir;
        const QString map = dir.filePath("device_map.json"), planFile = dir.filePath("gpt2.mizan.json"), py = dir.filePath("load.py");
        const CliRun r = runCli({"plan", "gpt2", "--max-memory", "0=200MB,cpu=1GB", "--strategy", "sequential", "--json", "--explain",
                           "--device-map-out", map, "-o", planFile, "--python-out", py});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j.value("format").toString(), QString("mizan-plan-result"));
        QVERIFY(!j.value("device_map").toObject().isEmpty());
        QVERIFY(!j.value("placements").toArray().isEmpty());
        QVERIFY(QFileInfo::exists(map));
        QVERIFY(QFileInfo::exists(planFile));
        QVERIFY(QFileInfo::exists(py));
        // The exported map validates against the same model and budgets.
        CliRun v = runCli({"validate", "gpt2", map, "--max-memory", "0=200MB,cpu=1GB"});
        QCOMPARE(v.exitCode, 0);
        QVERIFY2(v.out.contains("valid"), v.out.constData());
        v = runCli({"validate", "gpt2", planFile, "--json"});
        QCOMPARE(v.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(v.out).object().value("valid").toBool(), true);
        // Another model refuses the plan file.
        v = runCli({"validate", "gpt-j-6b", planFile});
        QCOMPARE(v.exitCode, 1);
        QVERIFY2(v.err.contains("another checkpoint"), v.err.constData());
    }

    void planFileRecordsItsDevices()
    {
        QTemporaryDir dir;
        const QString fromProfile = dir.filePath("profile.mizan.json"), fromList = dir.filePath("list.mizan.json");
        QCOMPARE(runCli({"plan", "gpt2", "--hardware", "2x-rtx3090", "-o", fromProfile}).exitCode, 0);
        QCOMPARE(runCli({"plan", "gpt2", "--max-memory", "0=200MB,cpu=1GB", "-o", fromList}).exitCode, 0);
        auto devicesOf = [](const QString &path) {
            QFile f(path);
            return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
        };
        const QJsonObject profile = devicesOf(fromProfile);
        QCOMPARE(profile.value("version").toInt(), 2);
        const QJsonArray devices = profile.value("devices").toArray();
        QCOMPARE(devices.size(), 3);
        const QJsonObject gpu = devices.at(0).toObject();
        QCOMPARE(gpu.value("device").toInt(-1), 0);
        QCOMPARE(gpu.value("label").toString(), QString("NVIDIA GeForce RTX 3090"));
        QCOMPARE(gpu.value("capacity_bytes").toDouble(), 24.0 * (1 << 30));
        QCOMPARE(gpu.value("simulated").toBool(true), false);
        QCOMPARE(devices.at(2).toObject().value("label").toString(), QString("system RAM"));
        const QJsonObject cpuOnly = devicesOf(fromList).value("devices").toArray().at(1).toObject();
        QCOMPARE(cpuOnly.value("device").toString(), QString("cpu"));
        QCOMPARE(cpuOnly.value("simulated").toBool(true), false);
        QVERIFY(!cpuOnly.contains("capacity_bytes"));
        // --max-memory auto: this machine's devices with their names and sizes (the CPU at least).
        const QString fromAuto = dir.filePath("auto.mizan.json");
        QCOMPARE(runCli({"plan", "gpt2", "--max-memory", "auto,cpu=2GB", "-o", fromAuto}).exitCode, 0);
        const QJsonArray autoDevices = devicesOf(fromAuto).value("devices").toArray();
        QVERIFY(!autoDevices.isEmpty());
        const QJsonObject autoCpu = autoDevices.last().toObject();
        QCOMPARE(autoCpu.value("device").toString(), QString("cpu"));
        QCOMPARE(autoCpu.value("label").toString(), QString("system RAM"));
        QVERIFY(autoCpu.value("capacity_bytes").toDouble() > 1e8);
        QCOMPARE(autoCpu.value("simulated").toBool(true), false);

        // `edit` keeps them, and reports the edited map's usage: every byte of the model somewhere.
        const QString edited = dir.filePath("edited.mizan.json");
        const CliRun r = runCli({"edit", "gpt2", fromList, "--move", "transformer.h.0=cpu", "-o", edited, "--json"});
        QCOMPARE(r.exitCode, 0);
        const CliRun planned = runCli({"plan", "gpt2", "--max-memory", "0=200MB,cpu=1GB", "--json"});
        double total = 0;
        for (const auto &u : QJsonDocument::fromJson(r.out).object().value("usage").toArray())
            total += u.toObject().value("planned_bytes").toDouble();
        QCOMPARE(total, QJsonDocument::fromJson(planned.out).object().value("total_bytes").toDouble());
        QCOMPARE(devicesOf(edited).value("devices"), devicesOf(fromList).value("devices"));
    }

    // --dtype means transformers' torch_dtype: Llama-2-70b (float16) loaded as float32 needs twice
    // the bytes per layer, so each 24 GiB GPU gets about half the layers (counts as in
    // tst_planoptions, from the layer sizes and Accelerate's fill).
    void dtypeIsTransformersTorchDtype_data()
    {
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<int>("gpu0");
        QTest::addColumn<int>("gpu1");
        QTest::addColumn<double>("totalBytes");
        // 68,976,648,192 parameters, 2 or 4 bytes each, and 2 x 64 rotary elements made in float32
        // (counted at no more than the load dtype; at 4 bytes as stored).
        const double params = 68976648192.0;
        QTest::newRow("as stored") << QString() << 13 << 15 << params * 2 + 128 * 4;
        QTest::newRow("float16") << "float16" << 13 << 15 << params * 2 + 128 * 2;
        QTest::newRow("float32") << "float32" << 6 << 7 << params * 4 + 128 * 4;
    }
    void dtypeIsTransformersTorchDtype()
    {
        QFETCH(QString, dtype);
        QFETCH(int, gpu0);
        QFETCH(int, gpu1);
        QFETCH(double, totalBytes);
        QTemporaryDir dir;
        const QString config = writeFixture(dir, "config.json", kLlama2_70b);
        QStringList args{"plan", config, "--max-memory", "0=24GiB,1=24GiB,cpu=64GiB", "--json"};
        if (!dtype.isEmpty())
            args << "--dtype" << dtype;
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        const QJsonObject map = j.value("device_map").toObject();
        QCOMPARE(layersOn(map, QJsonValue(0)), gpu0);
        QCOMPARE(layersOn(map, QJsonValue(1)), gpu1);
        QCOMPARE(j.value("total_bytes").toDouble(), totalBytes);
    }

    // A map planned for float16 is over budget when validated for a float32 load.
    void validateSizesInTheLoadDtype()
    {
        QTemporaryDir dir;
        const QString config = writeFixture(dir, "config.json", kLlama2_70b), map = dir.filePath("map.json");
        const QStringList budgets{"--max-memory", "0=24GiB,1=24GiB,cpu=64GiB"};
        QCOMPARE(runCli(QStringList{"plan", config, "--dtype", "float16", "--device-map-out", map} + budgets).exitCode, 0);
        CliRun v = runCli(QStringList{"validate", config, map, "--dtype", "float16", "--json"} + budgets);
        QCOMPARE(v.exitCode, 0);
        QVERIFY2(!v.out.contains("over-budget"), v.out.constData());
        v = runCli(QStringList{"validate", config, map, "--dtype", "float32", "--json"} + budgets);
        QCOMPARE(v.exitCode, 0); // warnings only
        QVERIFY2(v.out.contains("over-budget"), v.out.constData());
    }

    void helpSaysWhatTheDtypeMeans_data()
    {
        QTest::addColumn<QString>("command");
        QTest::newRow("plan") << "plan";
        QTest::newRow("validate") << "validate";
    }
    void helpSaysWhatTheDtypeMeans()
    {
        QFETCH(QString, command);
        const CliRun r = runCli({command, "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("from_pretrained(torch_dtype") && r.out.contains("float16 weights as float32: 4 bytes"), r.out.constData());
    }

    // --hardware: the profile's budgets; its disk entry is not one.
    void hardwareProfileBudgets()
    {
        QTemporaryDir dir;
        QDir(dir.path()).mkpath("hardware");
        writeFixture(dir, "hardware/box.json", R"({"devices": [{"device": 0, "capacity": "200MB"}, {"device": "cpu", "capacity": "1GB"},
                                                            {"device": "disk", "capacity": "900GB"}]})");
        writeFixture(dir, "hardware/twice.json", R"({"devices": [{"device": 0, "capacity": "1GB"}, {"device": 0, "capacity": "2GB"}]})");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("MIZAN_RESOURCES", dir.path());
        const QString config = writeFixture(dir, "config.json", R"({"architectures": ["GPT2LMHeadModel"], "n_embd": 64, "n_head": 4,
                                                                  "n_layer": 4, "n_positions": 64, "vocab_size": 1000})");
        CliRun r = runCli({"plan", config, "--hardware", "box", "--json"}, env);
        QCOMPARE(r.exitCode, 0);
        const QJsonObject memory = QJsonDocument::fromJson(r.out).object().value("max_memory").toObject();
        QCOMPARE(memory.value("0").toDouble(), 2e8);
        QCOMPARE(memory.value("cpu").toDouble(), 1e9);
        QVERIFY(!memory.contains("disk"));
        r = runCli({"plan", config, "--hardware", "twice"}, env);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("listed twice"), r.err.constData());
        r = runCli({"plan", config, "--hardware", "box", "--max-memory", "cpu=1GB"}, env);
        QCOMPARE(r.exitCode, 2);
    }

    void invalidMapExitsWith1()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath("bad.json");
        QVERIFY(mizan::test::writeFile(bad, R"({"transformer.h": 0, "lm_head": "cuda:3"})"));
        const CliRun r = runCli({"validate", "gpt2", bad, "--max-memory", "0=1GB,cpu=1GB", "--json"});
        QCOMPARE(r.exitCode, 1);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j.value("valid").toBool(), false);
        QStringList kinds;
        for (const auto &i : j.value("issues").toArray())
            kinds << i.toObject().value("kind").toString();
        QVERIFY2(kinds.contains("not-covered") && kinds.contains("unknown-device"), qPrintable(kinds.join(",")));
    }

    void policiesArePlannedSavedAndChecked()
    {
        QTemporaryDir dir;
        const QString planFile = dir.filePath("mixtral.mizan.json");
        const QStringList budgets{"--max-memory", "0=24GiB,1=24GiB,cpu=128GiB"};
        CliRun r = runCli(QStringList{"plan", "mixtral-8x7b", "--policy", "experts-on-cpu", "-o", planFile} + budgets);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("Policy      experts-on-cpu: 32 entries on CPU, 84.00 GiB (model.layers.0.mlp.experts, "), r.out.constData());
        QVERIFY2(r.out.contains("splits 32 no-split modules, the rest of each kept on one device"), r.out.constData());
        r = runCli(QStringList{"plan", "mixtral-8x7b", "--policy", "experts-on-cpu", "--json"} + budgets);
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        const QJsonObject policy = j.value("policies").toArray().at(0).toObject();
        QCOMPARE(policy.value("policy").toString(), QString("experts-on-cpu"));
        QCOMPARE(policy.value("device").toString(), QString("cpu"));
        QCOMPARE(policy.value("names").toArray().size(), 32);
        QCOMPARE(policy.value("bytes").toDouble(), 32.0 * 8 * 3 * 4096 * 14336 * 2);
        QCOMPARE(policy.value("split_blocks").toArray().size(), 32);
        const QJsonObject map = j.value("device_map").toObject();
        QCOMPARE(map.value("model.layers.7.mlp.experts").toString(), QString("cpu"));
        QCOMPARE(map.value("model.layers.7.self_attn").toInt(-1), 0);
        // The plan file keeps the policy: validate uses it (the split blocks are no warning) ...
        QFile f(planFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(f.readAll()).object().value("policies").toArray(), QJsonArray{"experts-on-cpu"});
        r = runCli({"validate", "mixtral-8x7b", planFile});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(!r.out.contains("no-split-broken"), r.out.constData());
        // ... and so does edit: moving an expert back to a GPU breaks it.
        const QString edited = dir.filePath("edited.mizan.json");
        r = runCli({"edit", "mixtral-8x7b", planFile, "--move", "model.layers.3.mlp.experts=1", "-o", edited});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains("[policy-violated]: policy \"experts-on-cpu\" places \"model.layers.3.mlp.experts\" on CPU but the map puts it on GPU 1"),
                 r.out.constData());
        QVERIFY(!QFileInfo::exists(edited));
        r = runCli({"edit", "mixtral-8x7b", planFile, "--move", "model.layers.3.self_attn=1", "-o", edited});
        QCOMPARE(r.exitCode, 0);
        QFile e(edited);
        QVERIFY(e.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(e.readAll()).object().value("policies").toArray(), QJsonArray{"experts-on-cpu"});
        // A policy that selects nothing of this model, given to validate, is an error of the map check.
        r = runCli({"validate", "mixtral-8x7b", planFile, "--policy", "name:model.layers.*.block_sparse_moe.experts=cpu", "--json"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains("policy-invalid") && r.out.contains("matches no module or tensor of the model"), r.out.constData());
    }

    void impossiblePinsExitWith1()
    {
        const CliRun r = runCli({"plan", "gpt2", "--max-memory", "0=10MB,cpu=1GB", "--pin", "transformer.wte=0"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("over by") && r.err.contains("GPU 0"), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestPlanCli)
#include "tst_plancli.moc"
