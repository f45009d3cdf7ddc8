// What the programs load at start-up: mizan-cli and mizan have no libtorch among their libraries;
// only what needs libtorch (`mizan-cli devices`, `--max-memory auto`, `run`) opens the backend module,
// and a missing module is a note, not a failure. Timing is bench/bench_startup's business.
#include "testutil.h"

#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

namespace {

using Run = mizan::test::CliRun;

// `program` without $MIZAN_TORCH_BACKEND (the search path is what is tested), with `environment`
// ("NAME=value" entries) added.
Run run(const QString &program, const QStringList &args, const QStringList &environment = {})
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("MIZAN_TORCH_BACKEND"));
    for (const QString &kv : environment)
        env.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
    return mizan::test::runProgram(program, args, env);
}

Run cli(const QStringList &args, const QStringList &environment = {})
{
    return run(QStringLiteral(MIZAN_CLI), args, environment);
}

// The shared objects the dynamic loader opened, from its LD_DEBUG=files trace: "file=NAME [0];".
QStringList loadedFiles(const QByteArray &trace)
{
    QStringList files;
    static const QRegularExpression re(QStringLiteral(R"(\bfile=(\S+)\s+\[\d+\];)"));
    for (auto it = re.globalMatch(QString::fromUtf8(trace)); it.hasNext();)
        files << it.next().captured(1);
    files.removeDuplicates();
    return files;
}

QStringList torchFiles(const QStringList &files)
{
    QStringList torch;
    for (const QString &f : files)
        if (f.contains(QStringLiteral("libtorch")) || f.contains(QStringLiteral("libc10")) || f.contains(QStringLiteral("mizan_torch_backend")))
            torch << f;
    return torch;
}

} // namespace

class TestStartup : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_demo;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = m_dir.filePath(QStringLiteral("demo"));
        const Run r = cli({QStringLiteral("make-demo"), m_demo});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    // No libtorch among the libraries the executables need (what `ldd` lists).
    void executablesDoNotNeedTorch_data()
    {
        QTest::addColumn<QString>("program");
        QTest::newRow("mizan-cli") << QStringLiteral(MIZAN_CLI);
#ifdef MIZAN_GUI
        QTest::newRow("mizan") << QStringLiteral(MIZAN_GUI);
#endif
    }
    void executablesDoNotNeedTorch()
    {
        QFETCH(QString, program);
        // The dynamic loader lists every library it would load, and runs nothing.
        const Run r = run(program, {}, {QStringLiteral("LD_TRACE_LOADED_OBJECTS=1")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("libc.so"), r.out.constData()); // the list is there
        QVERIFY2(!r.out.contains("libtorch") && !r.out.contains("libc10"), r.out.constData());
    }

    // Commands that do not need libtorch never load it.
    void commandsDoNotLoadTorch_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("presets") << QStringList{QStringLiteral("presets")};
        QTest::newRow("inspect") << QStringList{QStringLiteral("inspect"), QStringLiteral("DEMO")};
        QTest::newRow("plan 405B") << QStringList{QStringLiteral("plan"), QStringLiteral("llama-3.1-405b"),
                                                  QStringLiteral("--hardware"), QStringLiteral("8x-h100-80gb")};
        QTest::newRow("plan demo") << QStringList{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"),
                                                  QStringLiteral("0=1MB,cpu=1GB"), QStringLiteral("--json")};
    }
    void commandsDoNotLoadTorch()
    {
        QFETCH(QStringList, args);
        args.replaceInStrings(QStringLiteral("DEMO"), m_demo);
        const Run r = cli(args, {QStringLiteral("LD_DEBUG=files")});
        QVERIFY2(r.exitCode == 0, r.err.right(2000).constData());
        const QStringList files = loadedFiles(r.err);
        QVERIFY2(files.contains(QStringLiteral("libstdc++.so.6")), r.err.left(2000).constData()); // the trace is there
        QVERIFY2(torchFiles(files).isEmpty(), qPrintable(torchFiles(files).join(QLatin1Char(' '))));
    }

    // `devices`, --max-memory auto and `run` open the backend, which brings libtorch.
    void devicesLoadsTheBackend_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("devices") << QStringList{QStringLiteral("devices"), QStringLiteral("--json")};
        QTest::newRow("plan auto") << QStringList{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"),
                                                  QStringLiteral("auto"), QStringLiteral("--json")};
#ifdef MIZAN_TORCH_VERSION
        // (without the backend, run fails: tst_runcli's business)
        QTest::newRow("run") << QStringList{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                            QStringLiteral("--prompt-ids"), QStringLiteral("1,2"), QStringLiteral("--max-new-tokens"),
                                            QStringLiteral("1"), QStringLiteral("--json")};
#endif
    }
    void devicesLoadsTheBackend()
    {
        QFETCH(QStringList, args);
        args.replaceInStrings(QStringLiteral("DEMO"), m_demo);
        const Run r = cli(args, {QStringLiteral("LD_DEBUG=files")});
        QVERIFY2(r.exitCode == 0, r.err.right(2000).constData());
        const QStringList torch = torchFiles(loadedFiles(r.err));
#ifdef MIZAN_TORCH_VERSION
        QVERIFY2(torch.filter(QStringLiteral("libmizan_torch_backend.so")).size() == 1, qPrintable(torch.join(QLatin1Char(' '))));
        QVERIFY2(!torch.filter(QStringLiteral("libtorch")).isEmpty(), qPrintable(torch.join(QLatin1Char(' '))));
        if (args.first() == QStringLiteral("devices")) {
            const QJsonObject j = QJsonDocument::fromJson(r.out).object();
            const QString expected = QStringLiteral("libtorch " MIZAN_TORCH_VERSION) + (MIZAN_TORCH_CUDA_BUILD ? QStringLiteral(" with CUDA") : QStringLiteral(" (CPU only)"));
            QCOMPARE(j.value(QStringLiteral("backend")).toString(), expected);
            QVERIFY(j.value(QStringLiteral("backend_module")).toString().endsWith(QStringLiteral("/libmizan_torch_backend.so")));
            QCOMPARE(j.value(QStringLiteral("cuda_build")).toBool(), bool(MIZAN_TORCH_CUDA_BUILD));
        }
#else
        QVERIFY(torch.isEmpty());
#endif
    }

    // A backend that cannot be found is a note: no GPU, the RAM still listed, exit 0.
    void missingBackendIsANote_data()
    {
        QTest::addColumn<bool>("json");
        QTest::newRow("json") << true;
        QTest::newRow("text") << false;
    }
    void missingBackendIsANote()
    {
        QFETCH(bool, json);
        const QString missing = m_dir.filePath(QStringLiteral("nonexistent/libmizan_torch_backend.so"));
        QStringList args{QStringLiteral("devices")};
        if (json)
            args << QStringLiteral("--json");
        const Run r = cli(args, {QStringLiteral("MIZAN_TORCH_BACKEND=") + missing});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QString note = QStringLiteral("libtorch backend not found: looked in ") + missing + QStringLiteral(" (from MIZAN_TORCH_BACKEND)");
        if (json) {
            const QJsonObject j = QJsonDocument::fromJson(r.out).object();
            QCOMPARE(j.value(QStringLiteral("backend")).toString(), QStringLiteral("none"));
            QVERIFY(j.value(QStringLiteral("gpus")).toArray().isEmpty());
            QVERIFY(j.value(QStringLiteral("cpu")).toObject().value(QStringLiteral("total_bytes")).toDouble() > 0);
            QVERIFY2(j.value(QStringLiteral("notes")).toArray().first().toString().startsWith(note), r.out.constData());
        } else {
            QVERIFY2(r.out.contains("backend: none\n"), r.out.constData());
            QVERIFY2(r.out.contains("the libtorch backend is not loaded"), r.out.constData());
            QVERIFY2(r.out.contains(("note: " + note).toUtf8()), r.out.constData());
        }
        // --max-memory auto still plans, on the CPU alone.
        const Run p = cli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("auto"), QStringLiteral("--json")},
                          {QStringLiteral("MIZAN_TORCH_BACKEND=") + missing});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        const QJsonObject plan = QJsonDocument::fromJson(p.out).object();
        QCOMPARE(plan.value(QStringLiteral("max_memory")).toObject().keys(), QStringList{QStringLiteral("cpu")});
    }
};

QTEST_GUILESS_MAIN(TestStartup)
#include "tst_startup.moc"
