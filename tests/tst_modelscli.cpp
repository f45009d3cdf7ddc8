// Runs `mizan-cli make-demo` and `mizan-cli presets` as a user would and checks what they write.

#include "loader/checkpoint.h"
#include "models/describe.h"

#include <QTemporaryDir>
#include <QtTest>

#include "testutil.h"

#include <nlohmann/json.hpp>

using namespace mizan;

using mizan::test::CliRun;
using mizan::test::runCli;

class TestModelsCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { qputenv("MIZAN_RESOURCES", QByteArray(MIZAN_SOURCE_DIR "/resources")); }

    void makeDemoDefault()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + "/demo";
        const CliRun r = runCli({"make-demo", path, "--seed", "5"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.startsWith("wrote "));
        const auto checkpoint = loader::open(path.toStdString());
        QCOMPARE(checkpoint.format, loader::Format::ShardedSafetensors);
        QCOMPARE(checkpoint.catalog.shards.size(), std::size_t(2));
        QCOMPARE(checkpoint.configInfo.architectures, std::vector<std::string>{"LlamaForCausalLM"});
        QCOMPARE(checkpoint.configInfo.torchDtype, std::optional<DType>(DType::F16));
        const auto model = models::describe(checkpoint);
        QVERIFY(model.fromRegistry);
        QVERIFY(model.missingTensors.empty() && model.unexpectedTensors.empty() && model.shapeMismatches.empty());
        QCOMPARE(model.dims.numLayers, std::int64_t(4));
    }

    void makeDemoOptions()
    {
        QTemporaryDir dir;
        const CliRun r = runCli({"make-demo", dir.path(), "--preset", "qwen2-7b", "--layers", "2", "--hidden", "256",
                                 "--dtype", "float32", "--shards", "3"});
        QCOMPARE(r.exitCode, 0);
        const auto checkpoint = loader::open(dir.path().toStdString());
        QCOMPARE(checkpoint.catalog.shards.size(), std::size_t(3));
        QCOMPARE(checkpoint.config["hidden_size"].get<int>(), 256);
        QCOMPARE(checkpoint.config["num_hidden_layers"].get<int>(), 2);
        QCOMPARE(checkpoint.catalog.tensors.front().dtype, DType::F32);
        const auto model = models::describe(checkpoint);
        QCOMPARE(model.architecture, std::string("Qwen2ForCausalLM"));
        QVERIFY(model.missingTensors.empty() && model.unexpectedTensors.empty() && model.shapeMismatches.empty());
        QCOMPARE(model.dims.headDim, std::int64_t(128)); // head size kept: 256 / 2 heads
    }

    // Every family the forward passes run is makeable small: hidden 64 below a preset's head
    // size shrinks the head size (to the largest power of two leaving 2 key/value heads at the
    // preset's grouping: Llama 3.1 8B's 32/8 heads become 8 of 8 with 2 key/value heads).
    void makeDemoSmallFamilies_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("layout");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kvHeads");
        QTest::addColumn<int>("tensors");
        QTest::newRow("llama-3.1-8b") << "llama-3.1-8b" << "v5" << 8 << 2 << 21;
        QTest::newRow("llama-2-7b") << "llama-2-7b" << "v5" << 2 << 2 << 21;
        QTest::newRow("mistral-7b") << "mistral-7b" << "v5" << 8 << 2 << 21;
        QTest::newRow("qwen2-7b") << "qwen2-7b" << "v5" << 16 << 2 << 27;        // ratio 7 -> 14 heads: 16 of 4
        QTest::newRow("mixtral-8x7b") << "mixtral-8x7b" << "v5" << 8 << 2 << 21; // gate, gate_up_proj, down_proj
        QTest::newRow("mixtral-8x7b v4") << "mixtral-8x7b" << "v4" << 8 << 2 << 65; // gate + 8 x w1/w2/w3
        QTest::newRow("gpt2") << "gpt2" << "v5" << 1 << 0 << 28;
    }

    void makeDemoSmallFamilies()
    {
        QFETCH(QString, preset);
        QFETCH(QString, layout);
        QFETCH(int, heads);
        QFETCH(int, kvHeads);
        QFETCH(int, tensors);
        QTemporaryDir dir;
        const CliRun r = runCli({"make-demo", dir.path(), "--preset", preset, "--layers", "2", "--hidden", "64",
                                 "--dtype", "float32", "--layout", layout});
        QCOMPARE(r.exitCode, 0);
        const auto checkpoint = loader::open(dir.path().toStdString());
        QCOMPARE(checkpoint.catalog.tensors.size(), std::size_t(tensors));
        const auto &config = checkpoint.config;
        const char *headKey = config.contains("n_head") ? "n_head" : "num_attention_heads";
        QCOMPARE(config[headKey].get<int>(), heads);
        if (kvHeads > 0)
            QCOMPARE(config["num_key_value_heads"].get<int>(), kvHeads);
        const auto model = models::describe(checkpoint);
        QVERIFY(model.missingTensors.empty() && model.unexpectedTensors.empty() && model.shapeMismatches.empty());
        QCOMPARE(model.dims.hiddenSize, std::int64_t(64));
        QCOMPARE(checkpoint.catalog.find("model.layers.0.block_sparse_moe.gate.weight") >= 0, layout == "v4" && preset.startsWith("mixtral"));
        const CliRun inspect = runCli({"inspect", dir.path()});
        QCOMPARE(inspect.exitCode, 0);
    }

    void makeDemoRejectsBadArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("code");
        QTest::newRow("no dir") << QStringList{"make-demo"} << 2;
        QTest::newRow("one shard") << QStringList{"make-demo", "DIR", "--shards", "1"} << 2;
        QTest::newRow("int dtype") << QStringList{"make-demo", "DIR", "--dtype", "int8"} << 2;
        QTest::newRow("negative layers") << QStringList{"make-demo", "DIR", "--layers", "-1"} << 2;
        QTest::newRow("unknown option") << QStringList{"make-demo", "DIR", "--fast"} << 2;
        QTest::newRow("unknown preset") << QStringList{"make-demo", "DIR", "--preset", "nope"} << 1;
        QTest::newRow("hidden not a head multiple") << QStringList{"make-demo", "DIR", "--hidden", "100"} << 1;
        QTest::newRow("hidden below the head size, odd") << QStringList{"make-demo", "DIR", "--hidden", "15"} << 1;
        QTest::newRow("unknown layout") << QStringList{"make-demo", "DIR", "--layout", "v3"} << 2;
        QTest::newRow("presets positional") << QStringList{"presets", "extra"} << 2;
    }

    void makeDemoRejectsBadArguments()
    {
        QFETCH(QStringList, args);
        QFETCH(int, code);
        QTemporaryDir dir;
        args.replaceInStrings("DIR", dir.path() + "/out");
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, code);
        QVERIFY(!r.err.isEmpty());
        QVERIFY(!QFileInfo::exists(dir.path() + "/out/config.json"));
    }

    void presetsJson()
    {
        const CliRun r = runCli({"presets", "--json"});
        QCOMPARE(r.exitCode, 0);
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["format"].get<std::string>(), std::string("mizan-presets"));
        QCOMPARE(j["models"].size(), std::size_t(17));
        QCOMPARE(j["hardware"].size(), std::size_t(9));
        // Cluster profiles list their hosts and link.
        bool cluster = false;
        for (const auto &h : j["hardware"])
            if (h["name"] == "2x-8xh100") {
                cluster = true;
                QCOMPARE(h["hosts"].size(), std::size_t(2));
                QCOMPARE(h["hosts"][1]["address"].get<std::string>(), std::string("10.0.0.2"));
                QCOMPARE(h["hosts"][1]["devices"].size(), std::size_t(9));
                QCOMPARE(h["link_bandwidth"].get<double>(), 40e9);
            }
        QVERIFY(cluster);
        bool found = false;
        for (const auto &m : j["models"])
            if (m["name"] == "llama-3.1-405b") {
                found = true;
                QCOMPARE(m["parameters"].get<std::int64_t>(), std::int64_t(405853388800));
                QCOMPARE(m["architecture"].get<std::string>(), std::string("LlamaForCausalLM"));
            }
        QVERIFY(found);
        const CliRun text = runCli({"presets"});
        QCOMPARE(text.exitCode, 0);
        QVERIFY(text.out.contains("llama-3.1-405b"));
        QVERIFY(text.out.contains("rtx4090-64gb"));
    }
};

QTEST_GUILESS_MAIN(TestModelsCli)
#include "tst_modelscli.moc"
