// mizan-cli export / diff run as a process: plans made by `plan`, exit codes, messages, JSON, files.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "testutil.h"

using mizan::test::CliRun;
using mizan::test::runCli;
using mizan::test::jsonOf;

namespace {

QString readText(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

} // namespace

class TestExportCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_twoGpus, m_offload, m_map, m_gpt2;

    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(mizan::test::cliPath()), "build the mizan-cli target first");
        QVERIFY(m_dir.isValid());
        m_twoGpus = path("two.mizan.json");
        m_offload = path("offload.mizan.json");
        m_map = path("map.json");
        m_gpt2 = path("gpt2.mizan.json");
        CliRun r = runCli({"plan", "llama-3.1-8b", "--hardware", "2x-rtx3090", "-o", m_twoGpus, "--device-map-out", m_map});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = runCli({"plan", "llama-3.1-8b", "--max-memory", "0=8GiB,cpu=6GiB", "--strategy", "sequential", "-o", m_offload});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = runCli({"plan", "gpt2", "--max-memory", "0=100MB,cpu=1GB", "-o", m_gpt2});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    // -ts gives each GPU the layers the plan gives it, the output layer with the head's GPU.
    void llamaCppFollowsThePlan()
    {
        CliRun plan = runCli({"plan", "llama-3.1-8b", "--hardware", "2x-rtx3090", "--json"});
        QCOMPARE(plan.exitCode, 0);
        const QJsonObject map = jsonOf(plan).value("device_map").toObject();
        int onGpu[2] = {0, 0};
        for (auto it = map.begin(); it != map.end(); ++it)
            if (it.key().startsWith("model.layers.") && it.value().isDouble())
                ++onGpu[it.value().toInt()];
        QCOMPARE(onGpu[0] + onGpu[1], 32);
        const int head = map.value("lm_head").toInt(-1);
        QVERIFY(head == 1);

        CliRun r = runCli({"export", m_twoGpus, "--to", "llamacpp", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject j = jsonOf(r);
        QCOMPARE(j.value("format").toString(), QString("mizan-export"));
        QCOMPARE(j.value("engine").toString(), QString("llamacpp"));
        QCOMPARE(j.value("model").toString(), QString("llama-3.1-8b"));
        QCOMPARE(j.value("layers").toObject().value("count").toInt(), 32);
        QStringList args;
        for (const auto &a : j.value("args").toArray())
            args << a.toString();
        QCOMPARE(args, (QStringList{"-ngl", "33", "-ts", QString("%1,%2").arg(onGpu[0]).arg(onGpu[1] + 1)}));
        QVERIFY(j.value("command").toString().startsWith("llama-server -m MODEL.gguf -ngl 33 -ts "));

        r = runCli({"export", m_twoGpus, "--to", "llamacpp"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.outText().startsWith(j.value("command").toString() + "\n"), r.out.constData());
        QVERIFY2(r.outText().contains("note [input-on-cpu]: "), r.out.constData());
    }

    void vllmAndMistralRs()
    {
        CliRun r = runCli({"export", m_twoGpus, "--to", "vllm"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.outText().contains(QRegularExpression("^VLLM_PP_LAYER_PARTITION=\\d+,\\d+ vllm serve MODEL --pipeline-parallel-size 2\n")),
                 r.out.constData());
        r = runCli({"export", m_offload, "--to", "vllm"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.outText().contains("vllm serve MODEL --cpu-offload-gb "), r.out.constData());
        QVERIFY2(r.outText().contains("note [cpu-offload]: "), r.out.constData());

        r = runCli({"export", m_offload, "--to", "mistralrs"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.outText().startsWith("mistralrs serve -m MODEL --topology topology.yaml\n\ntopology.yaml:\n# mistral.rs topology"),
                 r.out.constData());
        QVERIFY2(r.outText().contains("  device: cpu\n"), r.out.constData());
    }

    void writesFiles()
    {
        const QString topology = path("topo.yaml");
        CliRun r = runCli({"export", m_offload, "--to", "mistralrs", "-o", topology});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.outText().startsWith("mistralrs serve -m MODEL --topology " + topology + "\n"), r.out.constData());
        QVERIFY2(r.outText().endsWith("wrote " + topology + "\n"), r.out.constData());
        QVERIFY(!r.outText().contains("# mistral.rs topology")); // in the file, not on the terminal
        QVERIFY(readText(topology).startsWith("# mistral.rs topology written by mizan-cli export"));

        const QString script = path("run.sh");
        r = runCli({"export", m_offload, "--to", "llamacpp", "-o", script, "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(jsonOf(r).value("written").toString(), script);
        const QString text = readText(script);
        QVERIFY2(text.startsWith("#!/bin/sh\n# written by mizan-cli export --to llamacpp from "), qPrintable(text));
        QVERIFY2(text.endsWith(jsonOf(r).value("command").toString() + "\n"), qPrintable(text));
    }

    void deviceMapsNeedTheModel()
    {
        CliRun r = runCli({"export", m_map, "--to", "vllm"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.errText().contains(m_map + " is a device map: give --model PATH"), r.err.constData());
        CliRun withModel = runCli({"export", m_map, "--to", "vllm", "--model", "llama-3.1-8b"});
        QVERIFY2(withModel.exitCode == 0, withModel.err.constData());
        CliRun fromPlan = runCli({"export", m_twoGpus, "--to", "vllm"});
        QCOMPARE(withModel.out, fromPlan.out);
    }

    // A plan naming its checkpoint by a path relative to the plan's folder opens from elsewhere.
    void checkpointBesideThePlan()
    {
        const QString demo = path("demo");
        CliRun r = mizan::test::makeDemo(demo);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QString planFile = path("demo.mizan.json");
        r = runCli({"plan", demo, "--max-memory", "0=3MB,cpu=1GB", "-o", planFile});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QJsonObject plan = QJsonDocument::fromJson(readText(planFile).toUtf8()).object();
        QJsonObject checkpoint = plan.value("checkpoint").toObject();
        QCOMPARE(checkpoint.value("path").toString(), demo);
        checkpoint["path"] = "demo";
        plan["checkpoint"] = checkpoint;
        QVERIFY(mizan::test::writeFile(planFile, QJsonDocument(plan).toJson()));
        QVERIFY(!QFileInfo::exists("demo"));
        r = runCli({"export", planFile, "--to", "llamacpp", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(jsonOf(r).value("model").toString(), m_dir.path() + "/demo");
        QCOMPARE(jsonOf(r).value("layers").toObject().value("prefix").toString(), QString("model.layers"));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("no engine") << QStringList{"export", "PLAN"} << 2 << "missing --to ENGINE";
        QTest::newRow("unknown engine") << QStringList{"export", "PLAN", "--to", "tgi"} << 2 << "unknown engine \"tgi\"";
        QTest::newRow("two plans") << QStringList{"export", "PLAN", "PLAN", "--to", "vllm"} << 2 << "unexpected argument";
        QTest::newRow("missing file") << QStringList{"export", "DIR/nothing.json", "--to", "vllm"} << 1 << "DIR/nothing.json";
        QTest::newRow("unknown key") << QStringList{"export", "DIR/bad.json", "--to", "vllm", "--model", "gpt2"} << 1
                                     << "DIR/bad.json: \"transformer.nothing\" is not a module or tensor of this model";
        QTest::newRow("another model") << QStringList{"export", "PLAN", "--to", "vllm", "--model", "gpt2"} << 1 << "PLAN: ";
        QTest::newRow("two stacks") << QStringList{"export", "DIR/t5.json", "--to", "llamacpp", "--model", "t0pp"} << 1
                                    << "DIR/t5.json: the model has 2 stacks of layers (encoder.block, decoder.block)";
        QTest::newRow("vllm without gpu") << QStringList{"export", "DIR/cpu.json", "--to", "vllm", "--model", "gpt2"} << 1
                                          << "DIR/cpu.json: the map puts nothing on a GPU";
        QTest::newRow("output folder") << QStringList{"export", "PLAN", "--to", "vllm", "-o", "DIR/no/such/run.sh"} << 1 << "DIR/no/such/run.sh";
        QTest::newRow("diff one file") << QStringList{"diff", "PLAN"} << 2 << "too few arguments";
        QTest::newRow("diff two maps") << QStringList{"diff", "DIR/cpu.json", "DIR/cpu.json"} << 2 << "give --model PATH";
        QTest::newRow("diff two models") << QStringList{"diff", "PLAN", "GPT2"} << 1 << "is a plan of another model than";
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        QVERIFY(mizan::test::writeFile(path("bad.json"), R"({"transformer": 0, "lm_head": 0, "transformer.nothing": "cpu"})"));
        QVERIFY(mizan::test::writeFile(path("t5.json"), R"({"": 0})"));
        QVERIFY(mizan::test::writeFile(path("cpu.json"), R"({"": "cpu"})"));
        for (QString &a : args)
            a.replace("PLAN", m_twoGpus).replace("GPT2", m_gpt2).replace("DIR", m_dir.path());
        message.replace("PLAN", m_twoGpus).replace("DIR", m_dir.path());
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, exitCode);
        QVERIFY2(r.errText().contains(message), r.err.constData());
    }

    void diffsPlansAndMaps()
    {
        CliRun r = runCli({"diff", m_twoGpus, m_offload, "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject j = jsonOf(r);
        QCOMPARE(j.value("format").toString(), QString("mizan-diff"));
        QCOMPARE(j.value("a").toObject().value("kind").toString(), QString("plan"));
        QVERIFY(!j.value("identical").toBool());
        QVERIFY(!j.value("moves").toArray().isEmpty());
        double gpu1Before = -1, gpu1After = -1, change = 0;
        for (const auto &d : j.value("devices").toArray()) {
            const QJsonObject o = d.toObject();
            change += o.value("change").toDouble();
            if (o.value("device") == QJsonValue(1)) {
                gpu1Before = o.value("bytes_before").toDouble();
                gpu1After = o.value("bytes_after").toDouble();
            }
        }
        QVERIFY(gpu1Before > 0);
        QCOMPARE(gpu1After, 0.0);
        QCOMPARE(change, 0.0);
        // Both plans predicted with one set of speeds (this machine's or assumed ones here).
        const QJsonObject predicted = j.value("predicted").toObject();
        QVERIFY(predicted.value("a").toObject().value("decode_seconds_per_token").toDouble() > 0);
        QVERIFY(predicted.value("b").toObject().value("prefill_seconds").toDouble() > 0);
        QVERIFY(!predicted.value("source").toString().isEmpty());

        // With a profile's speeds: each side is what `plan` predicts for it on that profile, and
        // the plan that offloads 8 GiB is the slower one.
        r = runCli({"diff", m_twoGpus, m_offload, "--hardware", "2x-rtx3090", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject onProfile = jsonOf(r).value("predicted").toObject();
        QCOMPARE(onProfile.value("source").toString(), QString("profile 2x-rtx3090"));
        const double a = onProfile.value("a").toObject().value("decode_seconds_per_token").toDouble();
        const double b = onProfile.value("b").toObject().value("decode_seconds_per_token").toDouble();
        CliRun plan = runCli({"plan", "llama-3.1-8b", "--hardware", "2x-rtx3090", "--json"});
        QCOMPARE(plan.exitCode, 0);
        QCOMPARE(a, jsonOf(plan).value("prediction").toObject().value("decode_s_per_token").toDouble());
        QVERIFY2(b > 3 * a, qPrintable(QStringLiteral("%1 vs %2").arg(b).arg(a)));
        r = runCli({"diff", m_twoGpus, m_offload, "--hardware", "2x-rtx3090"});
        QVERIFY2(r.outText().contains("slower than A (profile 2x-rtx3090)"), r.out.constData());
        QCOMPARE(runCli({"diff", m_twoGpus, m_offload, "--hardware", "no-such-machine"}).exitCode, 2);

        r = runCli({"diff", m_twoGpus, m_offload});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.outText().contains("Moved") && r.outText().contains("GPU 1") && r.outText().contains(" modules moved ("), r.out.constData());
        QVERIFY2(r.outText().endsWith(j.value("summary").toString() + "\n"), r.out.constData());

        // The device map written with the plan: the same placement, other keys are no move.
        r = runCli({"diff", m_twoGpus, m_map});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.outText().endsWith("no module moved\n"), r.out.constData());
        QVERIFY2(r.outText().contains("(device map, "), r.out.constData());
    }
};

QTEST_GUILESS_MAIN(TestExportCli)
#include "tst_exportcli.moc"
