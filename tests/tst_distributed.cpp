// A plan run as pipeline stages over libtorch's c10d (issue 15): `mizan-cli run --local-ranks N`
// and ranks started one by one (`run --distributed`, `stage`) on 127.0.0.1, with the CPU,
// simulated GPUs and disk offload per rank. The same tokens as the single-process run for every
// split; a rank that never joins or is killed mid-run fails the others cleanly within the timeout;
// different checkpoints or settings are refused at the rendezvous, before any weights load.
// Every wait is bounded; ports are the kernel's free ones.
#include "testutil.h"

#include "runtime/session.h"

#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <memory>
#include <vector>

namespace {

using mizan::test::CliRun;
using mizan::test::runCli;
using mizan::test::idsOf;
using mizan::test::jsonOf;
using mizan::test::text;

using mizan::runtime::freePort;

const QString kTimeout = QStringLiteral("4"); // seconds every rank waits for another in these tests

// Ranks started one by one, as on several hosts.
struct Ranks {
    std::vector<std::unique_ptr<QProcess>> processes;

    void start(const QStringList &args)
    {
        auto p = std::make_unique<QProcess>();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
        p->setProcessEnvironment(env);
        p->start(mizan::test::cliPath(), args);
        processes.push_back(std::move(p));
    }
    // Waits (bounded) for every rank; true when all ended.
    bool finish(int timeoutMs)
    {
        QElapsedTimer clock;
        clock.start();
        bool all = true;
        for (auto &p : processes)
            all = p->waitForFinished(static_cast<int>(std::max<qint64>(1, timeoutMs - clock.elapsed()))) && all;
        return all;
    }
    ~Ranks()
    {
        for (auto &p : processes)
            if (p->state() != QProcess::NotRunning) {
                p->kill();
                p->waitForFinished(5000);
            }
    }
};

} // namespace

// The tests that need c10d with gloo in the backend.
#if MIZAN_HAVE_GLOO
#define REQUIRE_GLOO()
#else
#define REQUIRE_GLOO() QSKIP("this build has no c10d/gloo support (libgloo-dev was not found)")
#endif

class TestDistributed : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_demo;   // LLaMA, 4 layers, hidden 64, float32
    QString m_gpt2;   // GPT-2 (head tied to the embeddings), 3 layers
    QString m_half;   // the LLaMA demo in float16: other file sizes and dtypes
    QString m_map;    // embeddings and block 0 on GPU 0, block 1 on the CPU, block 2 on GPU 1, block 3 on disk, norm and head on GPU 1
    QString m_slowMap; // every block offloaded (CPU or disk) to a simulated GPU, for runs that take a while

    QString path(const QString &name) const { return m_dir.filePath(name); }

    QStringList withPaths(QStringList args) const
    {
        args.replaceInStrings(QStringLiteral("DEMO"), m_demo);
        args.replaceInStrings(QStringLiteral("GPT2"), m_gpt2);
        args.replaceInStrings(QStringLiteral("HALF"), m_half);
        args.replaceInStrings(QStringLiteral("SLOWMAP"), m_slowMap);
        args.replaceInStrings(QStringLiteral("MAP"), m_map);
        args.replaceInStrings(QStringLiteral("DIR/"), m_dir.path() + QLatin1Char('/'));
        return args;
    }

    static QStringList prompt() { return {QStringLiteral("--prompt-ids"), QStringLiteral("1,5,9,2"), QStringLiteral("--max-new-tokens"), QStringLiteral("6")}; }

    static bool writeFile(const QString &file, const QByteArray &data)
    {
        QFile f(file);
        return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = path(QStringLiteral("demo"));
        m_gpt2 = path(QStringLiteral("gpt2"));
        m_half = path(QStringLiteral("half"));
        const QStringList small{QStringLiteral("--hidden"), QStringLiteral("64")};
        for (const auto &[dir, options] :
             {std::pair{m_demo, QStringList{QStringLiteral("--layers"), QStringLiteral("4"), QStringLiteral("--dtype"), QStringLiteral("float32")}},
              std::pair{m_half, QStringList{QStringLiteral("--layers"), QStringLiteral("4"), QStringLiteral("--dtype"), QStringLiteral("float16")}},
              std::pair{m_gpt2, QStringList{QStringLiteral("--preset"), QStringLiteral("gpt2"), QStringLiteral("--layers"), QStringLiteral("3"),
                                            QStringLiteral("--dtype"), QStringLiteral("float32")}}}) {
            const CliRun made = mizan::test::makeDemo(dir, small + options);
            QVERIFY2(made.exitCode == 0, made.err.constData());
        }
        m_map = path(QStringLiteral("map.json"));
        QVERIFY(writeFile(m_map, R"({"model.embed_tokens": 0, "model.layers.0": 0, "model.layers.1": "cpu", "model.layers.2": 1,
                                     "model.layers.3": "disk", "model.norm": 1, "lm_head": 1})"));
        m_slowMap = path(QStringLiteral("slow.json"));
        QVERIFY(writeFile(m_slowMap, R"({"model.embed_tokens": 0, "model.layers.0": "cpu", "model.layers.1": "disk", "model.layers.2": "cpu",
                                         "model.layers.3": "disk", "model.norm": 0, "lm_head": 0})"));
    }

    // The stage split: contiguous, non-empty, balanced by bytes (what precedes the first block
    // counts with it, what follows the last with it).
    void balancedStages_data()
    {
        QTest::addColumn<QList<qint64>>("weights");
        QTest::addColumn<QList<bool>>("blocks");
        QTest::addColumn<int>("world");
        QTest::addColumn<QList<int>>("expected");
        const QList<bool> four{false, true, true, true, true, false, false};
        QTest::newRow("one stage") << QList<qint64>{10, 5, 5, 5, 5, 1, 10} << four << 1 << QList<int>{4};
        QTest::newRow("equal blocks, 2") << QList<qint64>{0, 5, 5, 5, 5, 0, 0} << four << 2 << QList<int>{2, 2};
        QTest::newRow("large embeddings") << QList<qint64>{20, 5, 5, 5, 5, 0, 0} << four << 2 << QList<int>{1, 3};
        QTest::newRow("large head") << QList<qint64>{0, 5, 5, 5, 5, 1, 20} << four << 2 << QList<int>{3, 1};
        QTest::newRow("one block each") << QList<qint64>{1, 5, 5, 5, 5, 1, 1} << four << 4 << QList<int>{1, 1, 1, 1};
        // The largest stage is the first block whatever the split; the others as even as they go.
        QTest::newRow("uneven, 3") << QList<qint64>{0, 9, 1, 1, 1, 1, 0} << QList<bool>{false, true, true, true, true, true, false} << 3
                                   << QList<int>{1, 2, 2};
        QTest::newRow("uneven, 2") << QList<qint64>{0, 1, 1, 1, 1, 1, 1, 6, 0} << QList<bool>{false, true, true, true, true, true, true, true, false} << 2
                                   << QList<int>{6, 1};
    }
    void balancedStages()
    {
        QFETCH(QList<qint64>, weights);
        QFETCH(QList<bool>, blocks);
        QFETCH(int, world);
        QFETCH(QList<int>, expected);
        const std::vector<int> counts = mizan::runtime::balancedStages(std::vector<std::int64_t>(weights.begin(), weights.end()),
                                                                       std::vector<bool>(blocks.begin(), blocks.end()), world);
        QCOMPARE(QList<int>(counts.begin(), counts.end()), expected);
    }
    void balancedStagesRefusesMoreStagesThanBlocks()
    {
        try {
            mizan::runtime::balancedStages({1, 2, 2, 1}, {false, true, true, false}, 3);
            QFAIL("three stages of two blocks were accepted");
        } catch (const mizan::Error &e) {
            QCOMPARE(e.kind(), mizan::ErrorKind::InvalidArgument);
            QVERIFY2(QString::fromStdString(e.message()).contains(QStringLiteral("cannot split 2 decoder block(s) into 3")), e.what());
        }
    }

    // Every split generates what the single-process run generates, the stages are visible in
    // the JSON, and each stage sends exactly one hidden state per position.
    void sameTokens_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("ranks");
        QTest::addColumn<QList<int>>("split"); // blocks per stage expected; empty: only checked to cover the model
        QTest::addColumn<int>("diskRank");     // the rank whose devices include disk, -1 none
        const QStringList cpu{QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")};
        const QStringList mixed{QStringLiteral("--device-map"), QStringLiteral("MAP"), QStringLiteral("--max-memory"), QStringLiteral("0=8MB,1=8MB,cpu=10GB")};
        QTest::newRow("CPU, 1 rank") << QStringLiteral("DEMO") << cpu << 1 << QList<int>{4} << -1;
        QTest::newRow("CPU, 2 ranks") << QStringLiteral("DEMO") << cpu << 2 << QList<int>{} << -1;
        QTest::newRow("CPU, 3 ranks") << QStringLiteral("DEMO") << cpu << 3 << QList<int>{} << -1;
        QTest::newRow("CPU, 4 ranks") << QStringLiteral("DEMO") << cpu << 4 << QList<int>{1, 1, 1, 1} << -1;
        QTest::newRow("CPU, split 1,3") << QStringLiteral("DEMO") << cpu + QStringList{QStringLiteral("--split"), QStringLiteral("1,3")} << 2
                                        << QList<int>{1, 3} << -1;
        QTest::newRow("CPU, split 3,1") << QStringLiteral("DEMO") << cpu + QStringList{QStringLiteral("--split"), QStringLiteral("3,1")} << 2
                                        << QList<int>{3, 1} << -1;
        QTest::newRow("simulated GPUs, CPU and disk, 2 ranks")
            << QStringLiteral("DEMO") << mixed + QStringList{QStringLiteral("--split"), QStringLiteral("2,2")} << 2 << QList<int>{2, 2} << 1;
        QTest::newRow("simulated GPUs, CPU and disk, 3 ranks")
            << QStringLiteral("DEMO") << mixed + QStringList{QStringLiteral("--split"), QStringLiteral("1,2,1")} << 3 << QList<int>{1, 2, 1} << 2;
        QTest::newRow("disk rank with an offload folder")
            << QStringLiteral("DEMO")
            << mixed + QStringList{QStringLiteral("--split"), QStringLiteral("3,1"), QStringLiteral("--offload-folder"), QStringLiteral("DIR/offload")}
            << 2 << QList<int>{3, 1} << 1;
        QTest::newRow("sampling, 3 ranks") << QStringLiteral("DEMO")
                                           << cpu + QStringList{QStringLiteral("--temperature"), QStringLiteral("0.9"), QStringLiteral("--top-k"),
                                                                QStringLiteral("20"), QStringLiteral("--seed"), QStringLiteral("7")}
                                           << 3 << QList<int>{} << -1;
        QTest::newRow("bfloat16 on the CPU, 2 ranks") << QStringLiteral("DEMO") << cpu + QStringList{QStringLiteral("--cpu-dtype"), QStringLiteral("bfloat16")}
                                                      << 2 << QList<int>{} << -1;
        QTest::newRow("GPT-2, tied head on the last stage, 3 ranks") << QStringLiteral("GPT2") << cpu << 3 << QList<int>{1, 1, 1} << -1;
    }
    void sameTokens()
    {
        REQUIRE_GLOO();
        QFETCH(QString, model);
        QFETCH(QStringList, args);
        QFETCH(int, ranks);
        QFETCH(QList<int>, split);
        QFETCH(int, diskRank);
        // The single-process run: the same arguments without the split and the offload folder.
        QStringList single = args;
        for (const QString &option : {QStringLiteral("--split"), QStringLiteral("--offload-folder")})
            if (const qsizetype at = single.indexOf(option); at >= 0)
                single.remove(at, 2);
        const CliRun reference = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--json")} + single + prompt()));
        QVERIFY2(reference.exitCode == 0, qPrintable(text(reference)));
        const QList<qint64> expected = idsOf(jsonOf(reference).value(QStringLiteral("generated_ids")).toArray());
        QCOMPARE(expected.size(), 6);

        const CliRun run = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--json"), QStringLiteral("--local-ranks"),
                                                        QString::number(ranks), QStringLiteral("--timeout"), QStringLiteral("60")} +
                                            args + prompt()));
        QVERIFY2(run.exitCode == 0, qPrintable(text(run)));
        const QJsonObject result = jsonOf(run);
        QCOMPARE(idsOf(result.value(QStringLiteral("generated_ids")).toArray()), expected);
        QCOMPARE(result.value(QStringLiteral("local_ranks")).toInt(), ranks);

        const QJsonArray stages = result.value(QStringLiteral("stages")).toArray();
        QCOMPARE(stages.size(), ranks);
        const int hidden = 64, promptLength = 4, newTokens = 6;
        int nextBlock = 0;
        QList<int> counts;
        for (int r = 0; r < ranks; ++r) {
            const QJsonObject s = stages.at(r).toObject();
            QCOMPARE(s.value(QStringLiteral("rank")).toInt(), r);
            QCOMPARE(s.value(QStringLiteral("world")).toInt(), ranks);
            const QJsonArray blocks = s.value(QStringLiteral("blocks")).toArray();
            QCOMPARE(blocks.at(0).toInt(), nextBlock);
            QVERIFY(blocks.at(1).toInt() > nextBlock);
            counts << blocks.at(1).toInt() - nextBlock;
            nextBlock = blocks.at(1).toInt();
            QCOMPARE(s.value(QStringLiteral("embeddings")).toBool(), r == 0);
            QCOMPARE(s.value(QStringLiteral("head")).toBool(), r == ranks - 1);
            // A hidden state [1, T, 64] in float32 per forward to the next stage; the last stage sends the tokens.
            const qint64 sent = static_cast<qint64>(s.value(QStringLiteral("bytes_sent")).toDouble());
            if (ranks == 1)
                QCOMPARE(sent, 0);
            else if (r < ranks - 1)
                QCOMPARE(sent, static_cast<qint64>(promptLength + newTokens - 1) * hidden * 4);
            else
                QCOMPARE(sent, static_cast<qint64>(newTokens) * 8 * (ranks - 1));
            bool disk = false;
            for (const auto &d : s.value(QStringLiteral("devices")).toArray())
                disk = disk || d.toObject().value(QStringLiteral("device")).toString() == QStringLiteral("disk");
            if (diskRank >= 0)
                QCOMPARE(disk, r == diskRank);
        }
        const int layers = model == QStringLiteral("GPT2") ? 3 : 4;
        QCOMPARE(nextBlock, layers);
        if (!split.isEmpty())
            QCOMPARE(counts, split);
        if (args.contains(QStringLiteral("--offload-folder")))
            QVERIFY2(QFile::exists(path(QStringLiteral("offload/rank-%1/index.json").arg(diskRank))), "the disk rank wrote no offload folder");

        // The text report names each stage.
        const CliRun textRun = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--local-ranks"), QString::number(ranks)} +
                                                args + prompt()));
        QVERIFY2(textRun.exitCode == 0, qPrintable(text(textRun)));
        QVERIFY2(textRun.outText().contains(QStringLiteral("as %1 pipeline stage").arg(ranks)), qPrintable(text(textRun)));
        QVERIFY2(textRun.outText().contains(QStringLiteral("Sent/token")), qPrintable(text(textRun)));
        QStringList idsText;
        for (const auto id : expected)
            idsText << QString::number(id);
        QVERIFY2(textRun.outText().contains(QStringLiteral("Tokens      ") + idsText.join(QLatin1Char(' '))), qPrintable(text(textRun)));
    }

    // A cluster plan (`plan --hardware demo-2host`, issue 15) runs as its stages: rank R runs the
    // R-th host's blocks on that host's devices; the same tokens as one process; a run with
    // another number of ranks, or none, is refused with what to do.
    void clusterPlanRunsAsItsStages_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("split"); // empty: chosen by the planner
        QTest::newRow("llama, chosen split") << QStringLiteral("DEMO") << QString();
        QTest::newRow("llama, 3+1") << QStringLiteral("DEMO") << QStringLiteral("3,1");
        QTest::newRow("gpt2 (tied head), 1+2") << QStringLiteral("GPT2") << QStringLiteral("1,2");
    }
    void clusterPlanRunsAsItsStages()
    {
        REQUIRE_GLOO();
        QFETCH(QString, model);
        QFETCH(QString, split);
        const QString plan = path(QStringLiteral("cluster-%1-%2.mizan.json").arg(model.toLower(), split.isEmpty() ? QStringLiteral("auto") : split));
        QStringList planArgs{QStringLiteral("plan"), model, QStringLiteral("--hardware"), QStringLiteral("demo-2host"), QStringLiteral("-o"), plan};
        if (!split.isEmpty())
            planArgs << QStringLiteral("--split") << split;
        const CliRun planned = runCli(withPaths(planArgs));
        QVERIFY2(planned.exitCode == 0, qPrintable(text(planned)));

        const CliRun reference = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--json"), QStringLiteral("--max-memory"),
                                                              QStringLiteral("cpu=1GiB")} + prompt()));
        QVERIFY2(reference.exitCode == 0, qPrintable(text(reference)));
        const QList<qint64> expected = idsOf(jsonOf(reference).value(QStringLiteral("generated_ids")).toArray());

        const CliRun run = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--json"), QStringLiteral("--plan"), plan,
                                                        QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--timeout"),
                                                        QStringLiteral("60")} + prompt()));
        QVERIFY2(run.exitCode == 0, qPrintable(text(run)));
        const QJsonObject result = jsonOf(run);
        QCOMPARE(idsOf(result.value(QStringLiteral("generated_ids")).toArray()), expected);
        const QJsonArray stages = result.value(QStringLiteral("stages")).toArray();
        QCOMPARE(stages.size(), 2);
        QFile f(plan);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonArray planned2 = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("stages")).toArray();
        for (int r = 0; r < 2; ++r) {
            const QJsonArray blocks = stages.at(r).toObject().value(QStringLiteral("blocks")).toArray();
            QCOMPARE(blocks.at(0).toInt(), planned2.at(r).toObject().value(QStringLiteral("first_block")).toInt());
            QCOMPARE(blocks.at(1).toInt(), planned2.at(r).toObject().value(QStringLiteral("end_block")).toInt());
        }
        if (!split.isEmpty())
            QCOMPARE(stages.at(0).toObject().value(QStringLiteral("blocks")).toArray().at(1).toInt(), split.section(QLatin1Char(','), 0, 0).toInt());

        // Host by host, as on two machines: `stage --host NAME` takes its rank from the plan.
        {
            const QString master = QStringLiteral("127.0.0.1:%1").arg(freePort());
            Ranks ranks;
            for (const QString &host : {QStringLiteral("node1"), QStringLiteral("node0")})
                ranks.start(withPaths(QStringList{QStringLiteral("stage"), model, QStringLiteral("--plan"), plan, QStringLiteral("--master"), master,
                                                  QStringLiteral("--host"), host, QStringLiteral("--timeout"), QStringLiteral("60"),
                                                  QStringLiteral("--json")} + prompt()));
            QVERIFY2(ranks.finish(90000), "a host's stage still runs");
            for (int i = 0; i < 2; ++i) {
                QProcess &p = *ranks.processes[static_cast<std::size_t>(i)];
                const QByteArray out = p.readAllStandardOutput();
                QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
                const QJsonObject r = QJsonDocument::fromJson(out).object();
                QCOMPARE(idsOf(r.value(QStringLiteral("generated_ids")).toArray()), expected);
            }
        }
        const CliRun unknownHost = runCli(withPaths(QStringList{QStringLiteral("stage"), model, QStringLiteral("--plan"), plan, QStringLiteral("--master"),
                                                                QStringLiteral("127.0.0.1:1"), QStringLiteral("--host"), QStringLiteral("node7")} + prompt()));
        QVERIFY2(unknownHost.exitCode == 2 && unknownHost.errText().contains(QStringLiteral("node0, node1")), qPrintable(text(unknownHost)));

        for (const QStringList &wrong : {QStringList{}, QStringList{QStringLiteral("--local-ranks"), QStringLiteral("3")},
                                         QStringList{QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--split"), QStringLiteral("2,2")}}) {
            const CliRun refused = runCli(withPaths(QStringList{QStringLiteral("run"), model, QStringLiteral("--plan"), plan} + wrong + prompt()));
            QVERIFY2(refused.exitCode == 2, qPrintable(text(refused)));
            QVERIFY2(refused.errText().contains(QStringLiteral("cluster plan")), qPrintable(text(refused)));
        }
    }

    // A rank that never comes: the others give up within the timeout, naming what they waited for.
    void neverJoins_data()
    {
        QTest::addColumn<int>("rank");
        QTest::addColumn<int>("world");
        QTest::addColumn<QString>("message");
        QTest::newRow("rank 0 alone of 2") << 0 << 2 << QStringLiteral("rank 1 did not join the rendezvous");
        QTest::newRow("rank 0 alone of 3") << 0 << 3 << QStringLiteral("did not join the rendezvous");
        QTest::newRow("rank 1 without rank 0") << 1 << 2 << QStringLiteral("rank 1 could not reach the master");
    }
    void neverJoins()
    {
        REQUIRE_GLOO();
        QFETCH(int, rank);
        QFETCH(int, world);
        QFETCH(QString, message);
        const CliRun r = runCli(withPaths({QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                           QStringLiteral("--prompt-ids"), QStringLiteral("1,2"), QStringLiteral("--distributed"), QStringLiteral("--master"),
                                           QStringLiteral("127.0.0.1:%1").arg(freePort()), QStringLiteral("--rank"), QString::number(rank),
                                           QStringLiteral("--world"), QString::number(world), QStringLiteral("--timeout"), QStringLiteral("2")}),
                                60000);
        QVERIFY2(r.exitCode == 1, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(message), qPrintable(text(r)));
        QVERIFY2(r.errText().contains(QStringLiteral("within 2 s")), qPrintable(text(r)));
    }

    // A rank killed in the middle of the generation: every other rank fails with a clear error
    // within the timeout, and none hangs.
    void killedRank_data()
    {
        QTest::addColumn<int>("world");
        QTest::addColumn<int>("victim");
        QTest::newRow("last of 2") << 2 << 1;
        QTest::newRow("middle of 3") << 3 << 1;
        QTest::newRow("last of 3") << 3 << 2;
        QTest::newRow("rank 0 (the master) of 3") << 3 << 0;
    }
    void killedRank()
    {
        REQUIRE_GLOO();
        QFETCH(int, world);
        QFETCH(int, victim);
        // Slow enough to be killed mid-run: every block offloaded, brought in at 1 MB/s.
        const QString master = QStringLiteral("127.0.0.1:%1").arg(freePort());
        Ranks ranks;
        for (int r = 0; r < world; ++r)
            ranks.start(withPaths({QStringLiteral("stage"), QStringLiteral("DEMO"), QStringLiteral("--device-map"), QStringLiteral("SLOWMAP"),
                                   QStringLiteral("--max-memory"), QStringLiteral("0=8MB,cpu=10GB"), QStringLiteral("--simulated-bandwidth"),
                                   QStringLiteral("1MB"), QStringLiteral("--prompt-ids"), QStringLiteral("1,2"), QStringLiteral("--max-new-tokens"),
                                   QStringLiteral("200"), QStringLiteral("--master"), master, QStringLiteral("--rank"), QString::number(r),
                                   QStringLiteral("--world"), QString::number(world), QStringLiteral("--timeout"), kTimeout}));
        // A witness that is not the victim prints the tokens as they come: wait for the second one.
        QProcess &witness = *ranks.processes[victim == 0 ? 1 : 0];
        QByteArray seen;
        QElapsedTimer clock;
        clock.start();
        for (;;) {
            witness.waitForReadyRead(200);
            seen += witness.readAllStandardOutput();
            const qsizetype at = seen.indexOf("Tokens      ");
            if (at >= 0 && seen.mid(at + 12).trimmed().split(' ').size() >= 2)
                break;
            QVERIFY2(witness.state() == QProcess::Running && clock.elapsed() < 90000,
                     qPrintable(QStringLiteral("no tokens came: ") + QString::fromUtf8(seen) + QString::fromUtf8(witness.readAllStandardError())));
        }
        ranks.processes[static_cast<std::size_t>(victim)]->kill(); // SIGKILL: no goodbye
        QVERIFY2(ranks.finish(60000), "a rank still runs a minute after another was killed");
        for (int r = 0; r < world; ++r) {
            if (r == victim)
                continue;
            QProcess &p = *ranks.processes[static_cast<std::size_t>(r)];
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 1, qPrintable(QStringLiteral("rank %1: ").arg(r) + err));
            QVERIFY2(err.contains(QStringLiteral("lost rank")), qPrintable(QStringLiteral("rank %1: ").arg(r) + err));
        }
    }

    // A rank that fails on its own (its simulated GPU is too small) under --local-ranks: the run
    // fails with that rank's error and the others' (which name it).
    void failingLocalRank()
    {
        REQUIRE_GLOO();
        const CliRun r = runCli(withPaths(QStringList{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--device-map"), QStringLiteral("MAP"),
                                                      QStringLiteral("--max-memory"), QStringLiteral("0=8MB,1=100KB,cpu=10GB"), QStringLiteral("--split"),
                                                      QStringLiteral("2,2"), QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--timeout"),
                                                      kTimeout} +
                                          prompt()),
                                120000);
        QVERIFY2(r.exitCode == 1, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(QStringLiteral("rank 1 of 2 failed")), qPrintable(text(r)));
        QVERIFY2(r.errText().contains(QStringLiteral("out of memory")), qPrintable(text(r)));
        QVERIFY2(r.errText().contains(QStringLiteral("rank 0 of 2 failed")), qPrintable(text(r)));
        // Rank 0 names rank 1's failure: it lost rank 1, or (when rank 1 failed while the ranks were
        // still connecting) it quotes what rank 1 reported through the store.
        QVERIFY2(r.errText().contains(QStringLiteral("lost rank 1")) || r.errText().contains(QStringLiteral("rank 1 reported: GPU 1 (simulated) is out of memory")),
                 qPrintable(text(r)));
    }

    // Ranks that disagree fail at the rendezvous, every one of them, naming what differs, before
    // loading anything: the disk rank's offload folder is not even written.
    void fingerprintMismatch_data()
    {
        QTest::addColumn<QStringList>("rank1");   // what rank 1 runs differently (appended, or the model)
        QTest::addColumn<QString>("part");
        QTest::newRow("another checkpoint") << QStringList{QStringLiteral("HALF")} << QStringLiteral("checkpoint");
        QTest::newRow("another map") << QStringList{QStringLiteral("--device-map"), QStringLiteral("SLOWMAP")} << QStringLiteral("plan");
        QTest::newRow("another split") << QStringList{QStringLiteral("--split"), QStringLiteral("3,1")} << QStringLiteral("stage split");
        QTest::newRow("more tokens") << QStringList{QStringLiteral("--max-new-tokens"), QStringLiteral("7")} << QStringLiteral("generation settings");
        QTest::newRow("another seed") << QStringList{QStringLiteral("--seed"), QStringLiteral("3")} << QStringLiteral("generation settings");
    }
    void fingerprintMismatch()
    {
        REQUIRE_GLOO();
        QFETCH(QStringList, rank1);
        QFETCH(QString, part);
        const QString master = QStringLiteral("127.0.0.1:%1").arg(freePort());
        Ranks ranks;
        for (int r = 0; r < 2; ++r) {
            QStringList args{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--device-map"), QStringLiteral("MAP"), QStringLiteral("--max-memory"),
                             QStringLiteral("0=8MB,1=8MB,cpu=10GB"), QStringLiteral("--split"), QStringLiteral("2,2")};
            args += prompt();
            if (r == 1) {
                if (rank1.size() == 1)
                    args[1] = rank1.front();
                else
                    args += rank1; // the last occurrence wins
                args += {QStringLiteral("--offload-folder"), QStringLiteral("DIR/never-written")};
            }
            args += {QStringLiteral("--distributed"), QStringLiteral("--master"), master, QStringLiteral("--rank"), QString::number(r),
                     QStringLiteral("--world"), QStringLiteral("2"), QStringLiteral("--timeout"), QStringLiteral("20")};
            ranks.start(withPaths(args));
        }
        QVERIFY2(ranks.finish(60000), "a rank still runs a minute after the rendezvous");
        for (int r = 0; r < 2; ++r) {
            QProcess &p = *ranks.processes[static_cast<std::size_t>(r)];
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 1, qPrintable(QStringLiteral("rank %1: ").arg(r) + err));
            QVERIFY2(err.contains(QStringLiteral("rank %1's %2 differs from rank %3's").arg(1 - r).arg(part).arg(r)),
                     qPrintable(QStringLiteral("rank %1: ").arg(r) + err));
            QVERIFY2(err.contains(QStringLiteral("before any weights were loaded")), qPrintable(err));
        }
        QVERIFY2(!QFile::exists(path(QStringLiteral("never-written/index.json"))), "rank 1 wrote its offload folder before the rendezvous failed");
    }

    // A build without gloo refuses pipeline runs with a clear error, on every rank.
    void withoutGloo()
    {
#if MIZAN_HAVE_GLOO
        QSKIP("this build has c10d/gloo support: the refusal is for builds without libgloo-dev");
#else
        const CliRun r = runCli(withPaths(QStringList{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                                      QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--timeout"), kTimeout} +
                                          prompt()),
                                120000);
        QVERIFY2(r.exitCode == 1, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(QStringLiteral("has no c10d/gloo support")), qPrintable(text(r)));
#endif
    }

    // Arguments are checked before anything starts.
    void usage_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QStringList base{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                               QStringLiteral("--prompt-ids"), QStringLiteral("1,2")};
        QTest::newRow("--rank alone") << base + QStringList{QStringLiteral("--rank"), QStringLiteral("1")} << 2 << QStringLiteral("--rank goes with --distributed");
        QTest::newRow("--distributed without --master")
            << base + QStringList{QStringLiteral("--distributed"), QStringLiteral("--rank"), QStringLiteral("0"), QStringLiteral("--world"), QStringLiteral("2")}
            << 2 << QStringLiteral("--distributed needs --master");
        QTest::newRow("--master without a port")
            << base + QStringList{QStringLiteral("--distributed"), QStringLiteral("--master"), QStringLiteral("127.0.0.1"), QStringLiteral("--rank"),
                                  QStringLiteral("0"), QStringLiteral("--world"), QStringLiteral("2")}
            << 2 << QStringLiteral("--master needs ADDR:PORT");
        QTest::newRow("rank beyond the world")
            << base + QStringList{QStringLiteral("--distributed"), QStringLiteral("--master"), QStringLiteral("127.0.0.1:1234"), QStringLiteral("--rank"),
                                  QStringLiteral("2"), QStringLiteral("--world"), QStringLiteral("2")}
            << 2 << QStringLiteral("--rank must be below --world");
        QTest::newRow("both modes") << base + QStringList{QStringLiteral("--distributed"), QStringLiteral("--local-ranks"), QStringLiteral("2")} << 2
                                    << QStringLiteral("not both");
        QTest::newRow("no ranks") << base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("0")} << 2 << QStringLiteral("from 1 to 64");
        QTest::newRow("split of another size") << base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("3"), QStringLiteral("--split"), QStringLiteral("2,2")}
                                               << 2 << QStringLiteral("--split gives 2 stage(s) for 3 rank(s)");
        QTest::newRow("split not covering the model")
            << base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--split"), QStringLiteral("1,1")} << 1
            << QStringLiteral("the model 4 decoder block(s)");
        QTest::newRow("more ranks than blocks") << base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("5")} << 1
                                                << QStringLiteral("cannot split 4 decoder block(s) into 5 pipeline stages");
        QTest::newRow("bad timeout") << base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("2"), QStringLiteral("--timeout"), QStringLiteral("0")}
                                     << 2 << QStringLiteral("--timeout needs a number of seconds");
        QTest::newRow("stage without its rank") << QStringList{QStringLiteral("stage"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"),
                                                               QStringLiteral("cpu=10GB"), QStringLiteral("--prompt-ids"), QStringLiteral("1,2")}
                                                << 2 << QStringLiteral("--distributed needs --master");
    }
    void usage()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const CliRun r = runCli(withPaths(args), 120000);
        QVERIFY2(r.exitCode == exitCode, qPrintable(text(r)));
        QVERIFY2(r.errText().contains(message), qPrintable(text(r)));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
