// `mizan-cli run` as a user runs it: the same tokens whatever the placement (CPU, simulated GPUs,
// CPU and disk offload, prefetch, a plan file, a device_map.json), the JSON report, the errors and
// their exit codes, Ctrl-C. Small float32 demos so that every run takes a moment.
#include "testutil.h"
#include "torchsave.h"

#include "loader/checkpoint.h"
#include "loader/tokenizer.h"

#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <signal.h>

namespace {

using mizan::test::CliRun;
using mizan::test::runCli;
using mizan::test::idsOf;
using mizan::test::jsonOf;
using mizan::test::text;

// The devices a device map puts something on: "0", "1", "cpu", "disk".
QStringList mapDevices(const QJsonObject &map)
{
    QStringList devices;
    for (const auto &v : map)
        devices << (v.isDouble() ? QString::number(v.toInt()) : v.toString());
    devices.removeDuplicates();
    devices.sort();
    return devices;
}

QJsonObject deviceEntry(const QJsonObject &result, const QString &device)
{
    for (const auto &v : result.value(QStringLiteral("devices")).toArray()) {
        const QJsonObject d = v.toObject();
        const QJsonValue id = d.value(QStringLiteral("device"));
        if ((id.isDouble() ? QString::number(id.toInt()) : id.toString()) == device)
            return d;
    }
    return {};
}

} // namespace

class TestRunCli : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_demo;      // LLaMA, 4 layers, hidden 64, float32
    QString m_plan;      // a plan file over 2 simulated GPUs and the CPU
    QString m_map;       // the same map as device_map.json
    QString m_cpuOffloadPlan;  // GPU 0, then the CPU
    QString m_diskOffloadPlan; // GPU 0, the CPU, then disk
    QString m_splitBudget;
    QList<qint64> m_reference; // the tokens of the all-CPU run
    qint64 m_layerBytes = 0;   // one decoder layer
    qint64 m_embedBytes = 0;   // the embeddings (as large as the head)

    QString path(const QString &name) const { return m_dir.filePath(name); }

    QStringList withPaths(QStringList args) const
    {
        args.replaceInStrings(QStringLiteral("DEMO"), m_demo);
        args.replaceInStrings(QStringLiteral("CPUPLAN"), m_cpuOffloadPlan);
        args.replaceInStrings(QStringLiteral("DISKPLAN"), m_diskOffloadPlan);
        args.replaceInStrings(QStringLiteral("PLAN"), m_plan);
        args.replaceInStrings(QStringLiteral("MAP"), m_map);
        args.replaceInStrings(QStringLiteral("SPLIT"), m_splitBudget);
        args.replaceInStrings(QStringLiteral("GPUBUDGET"), QString::number(gpuBudget()));
        args.replaceInStrings(QStringLiteral("CPUBUDGET"), QString::number(cpuBudget()));
        args.replaceInStrings(QStringLiteral("DIR/"), m_dir.path() + QLatin1Char('/'));
        return args;
    }

    static QStringList prompt() { return {QStringLiteral("--prompt-ids"), QStringLiteral("1,5,9,2"), QStringLiteral("--max-new-tokens"), QStringLiteral("6")}; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = path(QStringLiteral("demo"));
        const CliRun made = mizan::test::makeDemo(m_demo, {QStringLiteral("--layers"), QStringLiteral("4"), QStringLiteral("--hidden"),
                                                           QStringLiteral("64"), QStringLiteral("--dtype"), QStringLiteral("float32")});
        QVERIFY2(made.exitCode == 0, made.err.constData());

        // The sizes of a decoder layer and of the embeddings, to set budgets that split the model.
        const CliRun planned = runCli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                       QStringLiteral("--no-clean"), QStringLiteral("--explain"), QStringLiteral("--json")});
        QVERIFY2(planned.exitCode == 0, planned.err.constData());
        for (const auto &v : jsonOf(planned).value(QStringLiteral("placements")).toArray())
        {
            const QString name = v.toObject().value(QStringLiteral("name")).toString();
            const auto bytes = static_cast<qint64>(v.toObject().value(QStringLiteral("bytes")).toDouble());
            if (name == QStringLiteral("model.layers.0"))
                m_layerBytes = bytes;
            if (name == QStringLiteral("model.embed_tokens"))
                m_embedBytes = bytes;
        }
        QVERIFY(m_layerBytes > 0 && m_embedBytes > m_layerBytes);
        m_splitBudget = QStringLiteral("0=%1,1=10MB,cpu=10GB").arg(gpuBudget());

        const CliRun reference = runCli(QStringList{QStringLiteral("run"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                                    QStringLiteral("--json")} + prompt());
        QVERIFY2(reference.exitCode == 0, qPrintable(text(reference)));
        m_reference = idsOf(jsonOf(reference).value(QStringLiteral("generated_ids")).toArray());
        QCOMPARE(m_reference.size(), 6);

        m_plan = path(QStringLiteral("split.mizan.json"));
        m_map = path(QStringLiteral("split_map.json"));
        const CliRun plan = runCli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), m_splitBudget, QStringLiteral("-o"), m_plan,
                                    QStringLiteral("--device-map-out"), m_map});
        QVERIFY2(plan.exitCode == 0, plan.err.constData());
        m_cpuOffloadPlan = path(QStringLiteral("cpu-offload.mizan.json"));
        m_diskOffloadPlan = path(QStringLiteral("disk-offload.mizan.json"));
        for (const auto &[file, budget] : {std::pair{m_cpuOffloadPlan, QStringLiteral("0=%1,cpu=10GB").arg(gpuBudget())},
                                           std::pair{m_diskOffloadPlan, QStringLiteral("0=%1,cpu=%2").arg(gpuBudget()).arg(cpuBudget())}}) {
            const CliRun r = runCli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), budget, QStringLiteral("-o"), file});
            QVERIFY2(r.exitCode == 0, r.err.constData());
        }
    }

    // GPU 0: the embeddings, a layer, and the largest layer kept free (Accelerate's reserve on the
    // main devices); the CPU: two layers and that reserve.
    qint64 gpuBudget() const { return 2 * m_embedBytes + m_layerBytes * 3 / 2; }
    qint64 cpuBudget() const { return m_embedBytes + m_layerBytes * 5 / 2; }

    // Every placement generates the same tokens as the all-CPU run.
    void sameTokens_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("devices");  // what the map must use, sorted
        QTest::addColumn<bool>("moves");           // weights brought to an execution device
        const QStringList cpuBig{QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")};
        QTest::newRow("all on the CPU") << cpuBig << QStringList{QStringLiteral("cpu")} << false;
        QTest::newRow("2 simulated GPUs") << QStringList{QStringLiteral("--max-memory"), QStringLiteral("SPLIT")}
                                          << QStringList{QStringLiteral("0"), QStringLiteral("1")} << false;
        QTest::newRow("hardware profile") << QStringList{QStringLiteral("--hardware"), QStringLiteral("demo-2gpu")}
                                          << QStringList{QStringLiteral("0"), QStringLiteral("1")} << false;
        // Planned here, under budgets: the simulated GPU is as large as its budget.
        QTest::newRow("cpu offload") << QStringList{QStringLiteral("--max-memory"), QStringLiteral("0=GPUBUDGET,cpu=10GB")}
                                     << QStringList{QStringLiteral("0"), QStringLiteral("cpu")} << true;
        QTest::newRow("disk offload") << QStringList{QStringLiteral("--max-memory"), QStringLiteral("0=GPUBUDGET,cpu=CPUBUDGET")}
                                      << QStringList{QStringLiteral("0"), QStringLiteral("cpu"), QStringLiteral("disk")} << true;
        QTest::newRow("disk offload without a GPU") << QStringList{QStringLiteral("--max-memory"), QStringLiteral("cpu=GPUBUDGET")} // without a GPU the CPU is the main device
                                                    << QStringList{QStringLiteral("cpu"), QStringLiteral("disk")} << true; // read from the mmapped file
        QTest::newRow("simulated bandwidth") << QStringList{QStringLiteral("--max-memory"), QStringLiteral("0=GPUBUDGET,cpu=10GB"),
                                                            QStringLiteral("--simulated-bandwidth"), QStringLiteral("1GB/s")}
                                             << QStringList{QStringLiteral("0"), QStringLiteral("cpu")} << true;
        // Prefetching K steps holds K steps' weights more than the plan's reserve of one layer: these
        // plans run on a simulated GPU of 4 MB.
        for (const char *prefetch : {"0", "1", "2"}) {
            QTest::newRow(qPrintable(QStringLiteral("cpu offload, prefetch %1").arg(QLatin1String(prefetch))))
                << QStringList{QStringLiteral("--plan"), QStringLiteral("CPUPLAN"), QStringLiteral("--max-memory"), QStringLiteral("0=4MB,cpu=10GB"),
                               QStringLiteral("--prefetch"), QLatin1String(prefetch)}
                << QStringList{QStringLiteral("0"), QStringLiteral("cpu")} << true;
            QTest::newRow(qPrintable(QStringLiteral("disk offload, prefetch %1").arg(QLatin1String(prefetch))))
                << QStringList{QStringLiteral("--plan"), QStringLiteral("DISKPLAN"), QStringLiteral("--max-memory"), QStringLiteral("0=4MB,cpu=10GB"),
                               QStringLiteral("--prefetch"), QLatin1String(prefetch)}
                << QStringList{QStringLiteral("0"), QStringLiteral("cpu"), QStringLiteral("disk")} << true;
        }
        // At the plan's own capacity (one layer of reserve), prefetch 2 defers what finds no room.
        QTest::newRow("disk offload, prefetch 2, the plan's capacity")
            << QStringList{QStringLiteral("--plan"), QStringLiteral("DISKPLAN"), QStringLiteral("--prefetch"), QStringLiteral("2")}
            << QStringList{QStringLiteral("0"), QStringLiteral("cpu"), QStringLiteral("disk")} << true;
        // The disk modules written to an Accelerate offload folder, then read from it.
        QTest::newRow("disk offload, --offload-folder")
            << QStringList{QStringLiteral("--plan"), QStringLiteral("DISKPLAN"), QStringLiteral("--offload-folder"), QStringLiteral("DIR/offload")}
            << QStringList{QStringLiteral("0"), QStringLiteral("cpu"), QStringLiteral("disk")} << true;
        QTest::newRow("--plan") << QStringList{QStringLiteral("--plan"), QStringLiteral("PLAN")}
                                << QStringList{QStringLiteral("0"), QStringLiteral("1")} << false;
        QTest::newRow("--device-map") << QStringList{QStringLiteral("--device-map"), QStringLiteral("MAP"), QStringLiteral("--max-memory"),
                                                     QStringLiteral("SPLIT")}
                                      << QStringList{QStringLiteral("0"), QStringLiteral("1")} << false;
        QTest::newRow("--device-map, no capacity") << QStringList{QStringLiteral("--device-map"), QStringLiteral("MAP")}
                                                   << QStringList{QStringLiteral("0"), QStringLiteral("1")} << false;
    }
    void sameTokens()
    {
        QFETCH(QStringList, args);
        QFETCH(QStringList, devices);
        QFETCH(bool, moves);
        args = withPaths(args);
        const CliRun r = runCli(QStringList{QStringLiteral("run"), m_demo, QStringLiteral("--json")} + args + prompt());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        const QJsonObject j = jsonOf(r);
        QCOMPARE(mapDevices(j.value(QStringLiteral("device_map")).toObject()), devices);
        QCOMPARE(idsOf(j.value(QStringLiteral("generated_ids")).toArray()), m_reference);
        qint64 moved = 0;
        for (const auto &v : j.value(QStringLiteral("devices")).toArray()) {
            const QJsonObject d = v.toObject();
            if (d.value(QStringLiteral("device")).isDouble()) // every GPU here is simulated
                QVERIFY2(d.value(QStringLiteral("simulated")).toBool() && d.value(QStringLiteral("label")).toString().contains(QStringLiteral("simulated")),
                         qPrintable(text(r)));
            moved += static_cast<qint64>(d.value(QStringLiteral("bytes_moved")).toDouble());
        }
        QCOMPARE(moved > 0, moves);
        if (args.contains(QStringLiteral("--offload-folder"))) {
            const QString folder = args.at(args.indexOf(QStringLiteral("--offload-folder")) + 1);
            QCOMPARE(j.value(QStringLiteral("offload_folder")).toString(), folder);
            QVERIFY2(QFile::exists(folder + QStringLiteral("/index.json")), qPrintable(text(r)));
            QVERIFY2(r.out.contains("read from the offload folder"), qPrintable(text(r)));
        }
    }

    // A policy that splits Mixtral's no-split decoder layers (experts on the CPU, the rest of each
    // layer on a simulated GPU) runs, and generates the all-CPU run's tokens, in both layouts.
    void mixtralPolicies_data()
    {
        QTest::addColumn<QString>("layout");
        QTest::addColumn<QStringList>("policies");
        QTest::addColumn<QStringList>("devices");
        for (const char *layout : {"v5", "v4"}) {
            QTest::newRow(qPrintable(QStringLiteral("%1, experts on the CPU").arg(QLatin1String(layout))))
                << QString::fromLatin1(layout) << QStringList{QStringLiteral("experts-on-cpu")}
                << QStringList{QStringLiteral("0"), QStringLiteral("cpu")};
            // Blocks 0-1 run on GPU 1, computing their experts on the CPU like the others.
            QTest::newRow(qPrintable(QStringLiteral("%1, first blocks on GPU 1, experts on the CPU").arg(QLatin1String(layout))))
                << QString::fromLatin1(layout) << QStringList{QStringLiteral("first:2=1"), QStringLiteral("experts-on-cpu")}
                << QStringList{QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("cpu")};
        }
    }
    void mixtralPolicies()
    {
        QFETCH(QString, layout);
        QFETCH(QStringList, policies);
        QFETCH(QStringList, devices);
        const QString demo = path(QStringLiteral("mixtral-") + layout);
        if (!QFileInfo::exists(demo)) {
            const CliRun made = mizan::test::makeDemo(demo, {QStringLiteral("--preset"), QStringLiteral("mixtral-8x7b"), QStringLiteral("--layers"),
                                                             QStringLiteral("4"), QStringLiteral("--hidden"), QStringLiteral("64"), QStringLiteral("--dtype"),
                                                             QStringLiteral("float32"), QStringLiteral("--layout"), layout});
            QVERIFY2(made.exitCode == 0, made.err.constData());
        }
        const CliRun reference = runCli(QStringList{QStringLiteral("run"), demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                                    QStringLiteral("--json")} + prompt());
        QVERIFY2(reference.exitCode == 0, qPrintable(text(reference)));
        const QString planFile = path(QStringLiteral("mixtral-policy.mizan.json"));
        QStringList plan{QStringLiteral("plan"), demo, QStringLiteral("--max-memory"), QStringLiteral("0=24MiB,1=24MiB,cpu=10GB"),
                         QStringLiteral("--strategy"), QStringLiteral("sequential"), QStringLiteral("--headroom-tokens"), QStringLiteral("16"), QStringLiteral("-o"), planFile};
        for (const auto &p : policies)
            plan << QStringLiteral("--policy") << p;
        const CliRun planned = runCli(plan);
        QVERIFY2(planned.exitCode == 0, qPrintable(text(planned)));
        const CliRun r = runCli(QStringList{QStringLiteral("run"), demo, QStringLiteral("--plan"), planFile, QStringLiteral("--json")} + prompt());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        const QJsonObject j = jsonOf(r);
        const QJsonObject map = j.value(QStringLiteral("device_map")).toObject();
        QCOMPARE(mapDevices(map), devices);
        const QString experts = layout == QStringLiteral("v5") ? QStringLiteral("model.layers.%1.mlp.experts") : QStringLiteral("model.layers.%1.block_sparse_moe.experts");
        for (int b = 0; b < 4; ++b) {
            QCOMPARE(map.value(experts.arg(b)).toString(), QStringLiteral("cpu"));
            QVERIFY(map.value(QStringLiteral("model.layers.%1.self_attn").arg(b)).isDouble()); // on a GPU
        }
        QCOMPARE(idsOf(j.value(QStringLiteral("generated_ids")).toArray()), idsOf(jsonOf(reference).value(QStringLiteral("generated_ids")).toArray()));
        // The experts computed on the CPU where they live: it has compute time, and a note says so.
        bool cpuComputed = false;
        for (const auto &d : j.value(QStringLiteral("devices")).toArray())
            if (d.toObject().value(QStringLiteral("device")).toString() == QStringLiteral("cpu"))
                cpuComputed = d.toObject().value(QStringLiteral("compute_ms")).toDouble() > 0;
        QVERIFY2(cpuComputed, qPrintable(text(r)));
        QVERIFY2(r.out.contains("4 mixture-of-experts block(s) computed their experts on the CPU"), qPrintable(text(r)));
    }

    // `mizan-cli offload` writes the disk modules' tensors into an offload folder that `run
    // --offload-folder` then reads without writing it again.
    void offloadCommand()
    {
        const QString folder = path(QStringLiteral("written-by-offload"));
        const CliRun w = runCli({QStringLiteral("offload"), m_demo, QStringLiteral("--device-map"), m_diskOffloadPlan, QStringLiteral("--folder"),
                                 folder});
        QVERIFY2(w.exitCode == 0, qPrintable(text(w)));
        QVERIFY2(w.out.contains("Wrote ") && QFile::exists(folder + QStringLiteral("/index.json")), qPrintable(text(w)));
        const CliRun r = runCli(QStringList{QStringLiteral("run"), m_demo, QStringLiteral("--plan"), m_diskOffloadPlan,
                                            QStringLiteral("--offload-folder"), folder, QStringLiteral("--json")} + prompt());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        QCOMPARE(idsOf(jsonOf(r).value(QStringLiteral("generated_ids")).toArray()), m_reference);
        QVERIFY2(!r.out.contains("wrote the") && r.out.contains("read from the offload folder"), qPrintable(text(r)));

        // A map with nothing on disk has nothing to offload; arguments missing are usage errors.
        const CliRun none = runCli({QStringLiteral("offload"), m_demo, QStringLiteral("--device-map"), m_cpuOffloadPlan, QStringLiteral("--folder"),
                                    path(QStringLiteral("nothing"))});
        QCOMPARE(none.exitCode, 1);
        QVERIFY2(none.err.contains("nothing to offload"), qPrintable(text(none)));
        const CliRun usage = runCli({QStringLiteral("offload"), m_demo, QStringLiteral("--device-map"), m_diskOffloadPlan});
        QCOMPARE(usage.exitCode, 2);
        QVERIFY2(usage.err.contains("--folder"), qPrintable(text(usage)));
    }

    // The demo saved as torch.save would (a pytorch_model.bin beside its config.json): inspect,
    // plan and run read it in place and generate the same tokens, offloaded to disk too.
    void pytorchBinRunsAsSafetensors()
    {
        const QString bin = path(QStringLiteral("as-bin"));
        QVERIFY(QDir().mkpath(bin));
        QVERIFY(QFile::copy(m_demo + QStringLiteral("/config.json"), bin + QStringLiteral("/config.json")));
        const mizan::loader::Checkpoint demo = mizan::loader::open(m_demo.toStdString());
        std::vector<mizan::test::torchsave::Tensor> tensors;
        std::vector<mizan::test::torchsave::Storage> storages;
        for (const auto &e : demo.catalog.tensors) {
            const auto bytes = demo.tensorBytes(e);
            const std::string key = std::to_string(storages.size());
            storages.push_back({key, e.dtype, QByteArray(reinterpret_cast<const char *>(bytes.data()), int(bytes.size()))});
            tensors.push_back({e.name, e.dtype, e.shape, {}, 0, key});
        }
        QVERIFY(mizan::test::writeFile(bin + QStringLiteral("/pytorch_model.bin"), mizan::test::torchsave::archive(tensors, storages, "pytorch_model")));

        const CliRun inspected = runCli({QStringLiteral("inspect"), bin});
        QVERIFY2(inspected.exitCode == 0 && inspected.out.contains("pytorch-bin"), qPrintable(text(inspected)));
        for (const QString &plan : {QStringLiteral("cpu=10GB"), m_splitBudget}) {
            const CliRun r = runCli(QStringList{QStringLiteral("run"), bin, QStringLiteral("--max-memory"), plan, QStringLiteral("--json")} + prompt());
            QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
            QCOMPARE(idsOf(jsonOf(r).value(QStringLiteral("generated_ids")).toArray()), m_reference);
        }
        const CliRun disk = runCli(QStringList{QStringLiteral("run"), bin, QStringLiteral("--plan"), m_diskOffloadPlan, QStringLiteral("--json")} + prompt());
        QVERIFY2(disk.exitCode == 0, qPrintable(text(disk)));
        QCOMPARE(idsOf(jsonOf(disk).value(QStringLiteral("generated_ids")).toArray()), m_reference);
    }

    // --prompt TEXT: encoded with the tokenizer in the checkpoint's folder, the same tokens on every
    // placement, the text decoded from them, and generation stopping at the end-of-sequence id.
    void promptText()
    {
        const QString withTokenizer = path(QStringLiteral("with-tokenizer"));
        QVERIFY(QDir().mkpath(withTokenizer));
        for (const QString &name : QDir(m_demo).entryList(QDir::Files))
            QVERIFY(QFile::copy(m_demo + QLatin1Char('/') + name, withTokenizer + QLatin1Char('/') + name));
        const QString tokenizerDir = QString::fromStdString(mizan::testdata::path("tokenizers/split-normalized"));
        for (const QString &name : {QStringLiteral("tokenizer.json"), QStringLiteral("tokenizer_config.json")})
            QVERIFY(QFile::copy(tokenizerDir + QLatin1Char('/') + name, withTokenizer + QLatin1Char('/') + name));
        const auto tokenizer = mizan::loader::Tokenizer::forModel(withTokenizer.toStdString());
        QVERIFY(tokenizer);
        const QString prompt = QStringLiteral("Hello world!"); // 3 tokens: the split budgets fit 4
        const QStringList args = {QStringLiteral("--prompt"), prompt, QStringLiteral("--max-new-tokens"), QStringLiteral("8"), QStringLiteral("--ignore-eos"),
                                  QStringLiteral("--json")};
        const CliRun cpu = runCli(QStringList{QStringLiteral("run"), withTokenizer, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")} + args);
        QVERIFY2(cpu.exitCode == 0, qPrintable(text(cpu)));
        const QJsonObject reference = jsonOf(cpu);
        const auto expectedPrompt = tokenizer->encode(prompt.toStdString(), true).ids;
        QCOMPARE(idsOf(reference.value(QStringLiteral("prompt_ids")).toArray()), QList<qint64>(expectedPrompt.begin(), expectedPrompt.end()));
        const QList<qint64> generated = idsOf(reference.value(QStringLiteral("generated_ids")).toArray());
        QCOMPARE(generated.size(), 8);
        const std::vector<std::int64_t> ids(generated.begin(), generated.end());
        QCOMPARE(reference.value(QStringLiteral("text")).toString(), QString::fromStdString(tokenizer->decode(ids)));
        QCOMPARE(reference.value(QStringLiteral("prompt")).toString(), prompt);
        QCOMPARE(reference.value(QStringLiteral("stopped_at_eos")).toBool(), false);
        // Split over two simulated GPUs and disk offload: the same ids and text.
        for (const QStringList &map : {QStringList{QStringLiteral("--max-memory"), m_splitBudget}, QStringList{QStringLiteral("--plan"), m_diskOffloadPlan}}) {
            const CliRun r = runCli(QStringList{QStringLiteral("run"), withTokenizer} + map + args);
            QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
            QCOMPARE(idsOf(jsonOf(r).value(QStringLiteral("generated_ids")).toArray()), generated);
            QCOMPARE(jsonOf(r).value(QStringLiteral("text")).toString(), reference.value(QStringLiteral("text")).toString());
        }
        // The text report streams the text, then the ids.
        const CliRun plain = runCli({QStringLiteral("run"), withTokenizer, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("--prompt"),
                                     prompt, QStringLiteral("--max-new-tokens"), QStringLiteral("8"), QStringLiteral("--ignore-eos")});
        QVERIFY2(plain.exitCode == 0, qPrintable(text(plain)));
        QVERIFY2(plain.outText().contains(QStringLiteral("Tokenizer   ")), qPrintable(text(plain)));
        QVERIFY2(plain.outText().contains(QStringLiteral("\nText        ")), qPrintable(text(plain)));
        QStringList idTexts;
        for (const qint64 id : generated)
            idTexts << QString::number(id);
        QVERIFY2(plain.outText().contains(QStringLiteral("Tokens      ") + idTexts.join(QLatin1Char(' '))), qPrintable(text(plain)));
        // generation_config.json's eos_token_id ends generation when it is generated (the third id).
        QVERIFY(mizan::test::writeFile(withTokenizer + QStringLiteral("/generation_config.json"),
                                       QStringLiteral("{\"eos_token_id\": [%1]}").arg(generated[2]).toUtf8()));
        QStringList stopArgs = args;
        stopArgs.removeAll(QStringLiteral("--ignore-eos"));
        const CliRun stopped = runCli(QStringList{QStringLiteral("run"), withTokenizer, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")} + stopArgs);
        QVERIFY2(stopped.exitCode == 0, qPrintable(text(stopped)));
        const int firstStop = static_cast<int>(generated.indexOf(generated[2]));
        QCOMPARE(idsOf(jsonOf(stopped).value(QStringLiteral("generated_ids")).toArray()), generated.mid(0, firstStop + 1));
        QVERIFY(jsonOf(stopped).value(QStringLiteral("stopped_at_eos")).toBool());
        // No tokenizer: --prompt is refused naming the folder; a tokenizer too large for the model too.
        const CliRun none = runCli({QStringLiteral("run"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("--prompt"), prompt});
        QCOMPARE(none.exitCode, 1);
        QVERIFY2(none.errText().contains(QStringLiteral("has no tokenizer")), qPrintable(text(none)));
        const CliRun both = runCli({QStringLiteral("run"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("--prompt"), prompt,
                                    QStringLiteral("--prompt-ids"), QStringLiteral("1")});
        QCOMPARE(both.exitCode, 2);
    }

    // The JSON report: its shape, and what the devices did under CPU offload to a simulated GPU.
    void jsonReport()
    {
        const qint64 budget = gpuBudget();
        const CliRun r = runCli(QStringList{QStringLiteral("run"), m_demo, QStringLiteral("--max-memory"),
                                            QStringLiteral("0=%1,cpu=10GB").arg(budget), QStringLiteral("--json")} + prompt());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        const QJsonObject j = jsonOf(r);
        QCOMPARE(j.value(QStringLiteral("format")).toString(), QStringLiteral("mizan-run-result"));
        QCOMPARE(j.value(QStringLiteral("version")).toInt(), 1);
        QCOMPARE(idsOf(j.value(QStringLiteral("prompt_ids")).toArray()), (QList<qint64>{1, 5, 9, 2}));
        for (const char *key : {"generated_ids", "devices", "prefill_ms", "decode_ms_per_token", "tokens_per_second", "load_ms", "cpu_dtype",
                                "converted_tensors", "converted_bytes", "notes"})
            QVERIFY2(j.contains(QLatin1String(key)), key);
        QVERIFY(j.value(QStringLiteral("prefill_ms")).toDouble() > 0);
        QVERIFY(j.value(QStringLiteral("decode_ms_per_token")).toDouble() > 0);
        QVERIFY(j.value(QStringLiteral("tokens_per_second")).toDouble() > 0);
        QCOMPARE(j.value(QStringLiteral("cpu_dtype")).toString(), QStringLiteral("float32"));
        QCOMPARE(j.value(QStringLiteral("converted_tensors")).toInt(), 0); // float32 weights used as stored
        for (const auto &v : j.value(QStringLiteral("devices")).toArray())
            for (const char *key : {"device", "label", "simulated", "compute_ms", "transfer_ms", "bytes_moved", "peak_bytes", "planned_bytes",
                                    "capacity_bytes"})
                QVERIFY2(v.toObject().contains(QLatin1String(key)), key);

        // GPU 0 computes everything (the CPU's modules run there) and receives the CPU's weights.
        const QJsonObject gpu = deviceEntry(j, QStringLiteral("0"));
        QVERIFY2(!gpu.isEmpty(), r.out.constData());
        QVERIFY(gpu.value(QStringLiteral("simulated")).toBool());
        QCOMPARE(gpu.value(QStringLiteral("label")).toString(), QStringLiteral("GPU 0 (simulated)"));
        QVERIFY(gpu.value(QStringLiteral("compute_ms")).toDouble() > 0);
        QVERIFY(gpu.value(QStringLiteral("bytes_moved")).toDouble() > 0);
        QCOMPARE(static_cast<qint64>(gpu.value(QStringLiteral("capacity_bytes")).toDouble()), budget);
        QVERIFY(gpu.value(QStringLiteral("planned_bytes")).toDouble() > 0);
        QVERIFY(gpu.value(QStringLiteral("peak_bytes")).toDouble() >= gpu.value(QStringLiteral("planned_bytes")).toDouble());
        QVERIFY(gpu.value(QStringLiteral("peak_bytes")).toDouble() <= static_cast<double>(budget));
        const QJsonObject cpu = deviceEntry(j, QStringLiteral("cpu"));
        QVERIFY2(!cpu.isEmpty(), r.out.constData());
        QVERIFY(!cpu.value(QStringLiteral("simulated")).toBool());
        QVERIFY(cpu.value(QStringLiteral("planned_bytes")).toDouble() > 0);
        QCOMPARE(cpu.value(QStringLiteral("capacity_bytes")), QJsonValue(QJsonValue::Null));
        bool simulatedNote = false;
        for (const auto &n : j.value(QStringLiteral("notes")).toArray())
            simulatedNote = simulatedNote || n.toString().startsWith(QStringLiteral("simulated: GPU 0"));
        QVERIFY2(simulatedNote, r.out.constData());
    }

    // The text report: tokens on one line, then a row per device and the speeds.
    void textReport()
    {
        const CliRun r = runCli(QStringList{QStringLiteral("run"), m_demo, QStringLiteral("--plan"), m_plan} + prompt());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        QStringList tokens;
        for (qint64 id : m_reference)
            tokens << QString::number(id);
        const QString out = r.outText();
        QVERIFY2(out.contains(QStringLiteral("\nTokens      ") + tokens.join(QLatin1Char(' ')) + QLatin1Char('\n')), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("\nSimulated   GPU 0 (")), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("\nGPU 0 (simulated) ")) && out.contains(QStringLiteral("\nGPU 1 (simulated) ")), qPrintable(out));
        for (const char *header : {"Compute", "Transfer", "Moved", "Peak", "Planned", "Capacity"})
            QVERIFY2(out.contains(QLatin1String(header)), header);
        QVERIFY2(out.contains(QStringLiteral("\nPrefill     4 tokens in ")), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("\nDecode      5 tokens, ")), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("\nnote: simulated: GPU 0 (")), qPrintable(out));
    }

    // Failures: exit 1 naming what failed; wrong arguments: exit 2.
    void errors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QString ids = QStringLiteral("--prompt-ids");
        const QString mm = QStringLiteral("--max-memory");
        const QString cpu = QStringLiteral("cpu=10GB");
        QTest::newRow("map missing a module") << QStringList{QStringLiteral("--device-map"), QStringLiteral("DIR/partial.json"), ids, QStringLiteral("1")}
                                              << 1 << QStringLiteral("\"lm_head");
        QTest::newRow("simulated GPU too small") << QStringList{QStringLiteral("--device-map"), QStringLiteral("DIR/gpu0.json"), mm,
                                                                QStringLiteral("0=1MB"), ids, QStringLiteral("1")}
                                                 << 1 << QStringLiteral("GPU 0 (simulated) is out of memory");
        QTest::newRow("token outside the vocabulary") << QStringList{mm, cpu, ids, QStringLiteral("1,99999999")} << 1
                                                      << QStringLiteral("prompt token id 99999999 is outside the vocabulary");
        QTest::newRow("plan of another checkpoint") << QStringList{QStringLiteral("--plan"), QStringLiteral("DIR/other.mizan.json"), ids, QStringLiteral("1")}
                                                    << 1 << QStringLiteral("other.mizan.json");
        QTest::newRow("unreadable map") << QStringList{QStringLiteral("--device-map"), QStringLiteral("DIR/nothing.json"), ids, QStringLiteral("1")}
                                        << 1 << QStringLiteral("nothing.json");
        QTest::newRow("preset without weights") << QStringList{QStringLiteral("PRESET"), mm, QStringLiteral("cpu=1000GB"), ids, QStringLiteral("1")}
                                                << 1 << QStringLiteral("has no weights to run");
        QTest::newRow("no prompt") << QStringList{mm, cpu} << 2 << QStringLiteral("missing the prompt: --prompt TEXT");
        QTest::newRow("bad --prompt-ids") << QStringList{mm, cpu, ids, QStringLiteral("1,x")} << 2 << QStringLiteral("--prompt-ids needs");
        QTest::newRow("empty --prompt-ids") << QStringList{mm, cpu, ids, QString()} << 2 << QStringLiteral("--prompt-ids needs");
        QTest::newRow("negative token id") << QStringList{mm, cpu, ids, QStringLiteral("-3")} << 2 << QStringLiteral("--prompt-ids needs");
        QTest::newRow("no map") << QStringList{ids, QStringLiteral("1")} << 2 << QStringLiteral("missing the map");
        QTest::newRow("--plan and --device-map") << QStringList{QStringLiteral("--plan"), QStringLiteral("PLAN"), QStringLiteral("--device-map"),
                                                                QStringLiteral("MAP"), ids, QStringLiteral("1")}
                                                 << 2 << QStringLiteral("not both");
        QTest::newRow("--strategy with a map") << QStringList{QStringLiteral("--plan"), QStringLiteral("PLAN"), QStringLiteral("--strategy"),
                                                              QStringLiteral("balanced"), ids, QStringLiteral("1")}
                                               << 2 << QStringLiteral("--strategy is for planning");
        QTest::newRow("bad --max-new-tokens") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--max-new-tokens"), QStringLiteral("-1")}
                                              << 2 << QStringLiteral("--max-new-tokens");
        QTest::newRow("bad --prefetch") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--prefetch"), QStringLiteral("two")}
                                        << 2 << QStringLiteral("--prefetch");
        QTest::newRow("bad --simulated-bandwidth") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--simulated-bandwidth"),
                                                                  QStringLiteral("fast")}
                                                   << 2 << QStringLiteral("--simulated-bandwidth");
        QTest::newRow("--simulated-bandwidth without a unit") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--simulated-bandwidth"),
                                                                             QStringLiteral("2")}
                                                              << 2 << QStringLiteral("under 1 MB/s: give a unit");
        QTest::newRow("float16 on the CPU") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--cpu-dtype"), QStringLiteral("float16")}
                                            << 2 << QStringLiteral("--cpu-dtype must be float32 or bfloat16");
        QTest::newRow("bad --temperature") << QStringList{mm, cpu, ids, QStringLiteral("1"), QStringLiteral("--temperature"), QStringLiteral("-1")}
                                           << 2 << QStringLiteral("--temperature");
    }
    void errors()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        // The fixtures some rows name.
        QVERIFY(mizan::test::writeFile(path(QStringLiteral("partial.json")),
                                       R"({"model.embed_tokens": "cpu", "model.layers": "cpu", "model.norm": "cpu"})"));
        QVERIFY(mizan::test::writeFile(path(QStringLiteral("gpu0.json")), R"({"": 0})"));
        if (!QFile::exists(path(QStringLiteral("other.mizan.json")))) {
            const QString other = path(QStringLiteral("other"));
            QCOMPARE(mizan::test::makeDemo(other, {QStringLiteral("--layers"), QStringLiteral("2"), QStringLiteral("--hidden"), QStringLiteral("64")}).exitCode, 0);
            QCOMPARE(runCli({QStringLiteral("plan"), other, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("-o"),
                             path(QStringLiteral("other.mizan.json"))})
                         .exitCode,
                     0);
        }
        QString target = m_demo;
        if (args.first() == QStringLiteral("PRESET")) {
            args.removeFirst();
            target = QStringLiteral("llama-2-7b");
        }
        const CliRun r = runCli(QStringList{QStringLiteral("run"), target} + withPaths(args));
        QVERIFY2(r.exitCode == exitCode, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(message), qPrintable(text(r)));
        if (exitCode == 2)
            QVERIFY2(r.errText().contains(QStringLiteral("usage: mizan-cli run")), qPrintable(text(r)));
    }

    // A shard deleted after planning: the run names the file.
    void missingShard()
    {
        QTemporaryDir dir;
        const QString demo = dir.filePath(QStringLiteral("demo"));
        QCOMPARE(mizan::test::makeDemo(demo, {QStringLiteral("--layers"), QStringLiteral("2"), QStringLiteral("--hidden"), QStringLiteral("64"),
                                              QStringLiteral("--dtype"), QStringLiteral("float32")})
                     .exitCode,
                 0);
        const QString plan = dir.filePath(QStringLiteral("plan.mizan.json"));
        QCOMPARE(runCli({QStringLiteral("plan"), demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("-o"), plan}).exitCode, 0);
        const QStringList shards = QDir(demo).entryList({QStringLiteral("*.safetensors")}, QDir::Files, QDir::Name);
        QVERIFY(shards.size() >= 2);
        QVERIFY(QFile::remove(QDir(demo).filePath(shards.last())));
        const CliRun r = runCli({QStringLiteral("run"), demo, QStringLiteral("--plan"), plan, QStringLiteral("--prompt-ids"), QStringLiteral("1")});
        QVERIFY2(r.exitCode == 1, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(shards.last()), qPrintable(text(r)));
    }

    // `calibrate` measures this machine through the runtime, saves the numbers where `devices`
    // and `plan` read them, and leaves nothing in its folder; a folder that is a file is refused.
    void calibrateMeasuresAndSaves()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("MIZAN_CALIBRATION"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
        const QString folder = dir.filePath(QStringLiteral("disk"));
        const CliRun r = runCli({QStringLiteral("calibrate"), QStringLiteral("--no-gpu"), QStringLiteral("--folder"), folder, QStringLiteral("--json")},
                                env, 300000);
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        const QJsonObject out = jsonOf(r);
        QCOMPARE(out.value(QStringLiteral("format")).toString(), QStringLiteral("mizan-calibration"));
        const QString saved = dir.filePath(QStringLiteral("config/mizan/calibration.json"));
        QCOMPARE(out.value(QStringLiteral("saved_to")).toString(), saved);
        QVERIFY(QFile::exists(saved));
        const QJsonObject speeds = out.value(QStringLiteral("speeds")).toObject();
        const QJsonObject cpu = speeds.value(QStringLiteral("cpu")).toObject().value(QStringLiteral("compute")).toObject();
        // Measured, not the assumed defaults (20 GB/s, 0.5 TFLOP/s, 30 us) and within what any CPU does.
        const double bandwidth = cpu.value(QStringLiteral("weight_bandwidth")).toDouble();
        const double flops = cpu.value(QStringLiteral("flops")).toDouble();
        const double overhead = cpu.value(QStringLiteral("module_overhead_s")).toDouble();
        QVERIFY2(bandwidth > 1e8 && bandwidth < 1e12 && bandwidth != 20e9, qPrintable(QString::number(bandwidth)));
        QVERIFY2(flops > 1e8 && flops < 1e14 && flops != 0.5e12, qPrintable(QString::number(flops)));
        QVERIFY2(overhead > 0 && overhead < 0.01 && overhead != 30e-6, qPrintable(QString::number(overhead)));
        for (const char *key : {"memcpy_bandwidth", "page_cache_bandwidth", "disk_bandwidth", "convert_bandwidth"})
            QVERIFY2(speeds.value(QLatin1String(key)).toDouble() > 1e6, key);
        // A thread started and a waiting one woken: microseconds to milliseconds, not the assumed 30 us.
        const double handoff = speeds.value(QStringLiteral("prefetch_handoff_s")).toDouble();
        QVERIFY2(handoff > 1e-7 && handoff < 0.01 && handoff != 30e-6, qPrintable(QString::number(handoff)));
        QVERIFY2(speeds.value(QStringLiteral("cpu")).toObject().value(QStringLiteral("source")).toString().startsWith(
                     QStringLiteral("calibrated on this machine")),
                 r.out.constData());
        // The test models and files are gone.
        QVERIFY2(QDir(folder).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).isEmpty(),
                 qPrintable(QDir(folder).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).join(QLatin1Char(' '))));

        const CliRun devices = runCli({QStringLiteral("devices")}, env);
        QVERIFY2(devices.exitCode == 0, qPrintable(text(devices)));
        QVERIFY2(devices.outText().contains(QStringLiteral("calibrated on this machine")), qPrintable(text(devices)));

        QFile file(dir.filePath(QStringLiteral("a-file")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        const CliRun refused = runCli({QStringLiteral("calibrate"), QStringLiteral("--no-gpu"), QStringLiteral("--no-save"), QStringLiteral("--folder"),
                                       file.fileName()},
                                      env);
        QVERIFY2(refused.exitCode == 1, qPrintable(text(refused)));
        QVERIFY2(refused.errText().contains(file.fileName()) && refused.errText().contains(QStringLiteral("not a folder")), qPrintable(text(refused)));
    }

    // Ctrl-C stops the run: exit 130, "cancelled".
    void interrupt()
    {
        // Slow enough to be interrupted mid-run: CPU offload through a 2 MB/s simulated link.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
        p.setProcessEnvironment(env);
        p.start(mizan::test::cliPath(), {QStringLiteral("run"), m_demo, QStringLiteral("--max-memory"),
                                         QStringLiteral("0=%1,cpu=10GB").arg(gpuBudget()), QStringLiteral("--simulated-bandwidth"),
                                         QStringLiteral("2MB"), QStringLiteral("--prompt-ids"), QStringLiteral("1"), QStringLiteral("--max-new-tokens"),
                                         QStringLiteral("100000")});
        QVERIFY(p.waitForStarted());
        QByteArray out;
        // Until the first token is printed: the run is under way.
        while (!QRegularExpression(QStringLiteral("Tokens +\\d")).match(QString::fromUtf8(out)).hasMatch()) {
            QVERIFY2(p.state() == QProcess::Running && p.waitForReadyRead(60000), out.constData());
            out += p.readAllStandardOutput();
        }
        QCOMPARE(::kill(static_cast<pid_t>(p.processId()), SIGINT), 0);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitCode() == 130, err.constData());
        QVERIFY2(err.contains("cancelled"), err.constData());
    }
};

QTEST_GUILESS_MAIN(TestRunCli)
#include "tst_runcli.moc"
