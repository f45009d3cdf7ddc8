// What mizan-cli writes, under hostile names and failing outputs: every write to standard output
// is checked (a full disk or a file-size limit is exit 1 with a message), names with control
// characters are escaped in text and error messages, the Python snippet parses back to the same
// names, a signal during -o leaves no temporary file, and a bad output path writes nothing.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>

#include "planner/planfile.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <csignal>

#include <sys/types.h>
#include <unistd.h>

using mizan::test::CliRun;
using mizan::test::runCli;

namespace {

// The tensor names of the hostile checkpoint: each its own top-level module, so each is a map key.
const std::vector<std::string> &hostileNames()
{
    static const std::vector<std::string> names = {
        std::string("new\nline.weight"),
        std::string("esc\x1b[31mred.weight"),
        std::string("bel\x07.weight"),
        std::string("nul\0byte.weight", 15),
        std::string("tab\tcr\r.weight"),
        std::string("quote\"back\\slash'.weight"),
        std::string("rlo\xe2\x80\xae" "evil.weight"),   // U+202E
        std::string("c1\xc2\x9b" "2J.weight"),       // U+009B, the one-byte CSI
        std::string("unicode\xc3\xbc\xf0\x9d\x94\x98.weight"), // ü, 𝔘
        std::string("plain.weight"),
    };
    return names;
}

// A .safetensors file with one float32 tensor [2] per name.
QByteArray safetensorsWith(const std::vector<std::string> &names)
{
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::int64_t offset = 0;
    for (const auto &n : names) {
        header[n] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {offset, offset + 8}}};
        offset += 8;
    }
    const std::string text = header.dump();
    QByteArray bytes;
    std::uint64_t length = text.size();
    for (int i = 0; i < 8; ++i)
        bytes.append(static_cast<char>((length >> (8 * i)) & 0xff));
    bytes.append(text.data(), static_cast<qsizetype>(text.size()));
    bytes.append(QByteArray(static_cast<qsizetype>(offset), '\0'));
    return bytes;
}

bool hasPython()
{
    return !QStandardPaths::findExecutable(QStringLiteral("python3")).isEmpty()
           && mizan::test::runProgram(QStringLiteral("python3"), {QStringLiteral("-c"), QStringLiteral("import ast")},
                                      QProcessEnvironment::systemEnvironment())
                      .exitCode
                  == 0;
}

// Control bytes and sequences that must never reach a terminal raw.
QString rawControlIn(const QByteArray &bytes)
{
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return QStringLiteral("byte 0x%1 at %2").arg(c, 2, 16, QLatin1Char('0')).arg(i);
    }
    if (bytes.contains("\xc2\x9b"))
        return QStringLiteral("U+009B");
    if (bytes.contains("\xe2\x80\xae"))
        return QStringLiteral("U+202E");
    if (bytes.contains("\xff"))
        return QStringLiteral("invalid UTF-8 byte 0xff");
    return {};
}

} // namespace

class TestCliOutput : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_demo;     // make-demo's checkpoint
    QString m_map;      // a valid device_map.json of it
    QString m_diskMap;  // one that puts modules on disk
    QString m_hostile;  // a checkpoint whose tensor names hold control characters, in a folder named so too

    QString path(const QString &name) const { return m_dir.filePath(name); }
    // `args` with the placeholders DEMO, MAP, DISKMAP, HOSTILE, TMP/ replaced.
    QStringList expand(QStringList args) const
    {
        for (auto &a : args) {
            a.replace(QStringLiteral("DISKMAP"), m_diskMap);
            a.replace(QStringLiteral("MAP"), m_map);
            a.replace(QStringLiteral("DEMO"), m_demo);
            a.replace(QStringLiteral("HOSTILE"), m_hostile);
            a.replace(QStringLiteral("TMP/"), m_dir.path() + QLatin1Char('/'));
        }
        return args;
    }
    // mizan-cli with `args` and standard output sent where `shellRedirect` says, through sh.
    CliRun runRedirected(const QStringList &args, const QString &shellPrefix, const QString &redirect) const
    {
        QStringList shArgs{QStringLiteral("-c"), shellPrefix + QStringLiteral(" exec \"$0\" \"$@\" ") + redirect, mizan::test::cliPath()};
        shArgs += args;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
        return mizan::test::runProgram(QStringLiteral("/bin/sh"), shArgs, env);
    }
    QStringList tempFilesIn(const QString &dir) const
    {
        return QDir(dir).entryList({QStringLiteral(".*.tmp-*")}, QDir::Files | QDir::Hidden);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = path(QStringLiteral("demo"));
        const CliRun demo = mizan::test::makeDemo(m_demo);
        QVERIFY2(demo.exitCode == 0, demo.err.constData());
        m_map = path(QStringLiteral("map.json"));
        const CliRun plan = runCli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                    QStringLiteral("--device-map-out"), m_map});
        QVERIFY2(plan.exitCode == 0, plan.err.constData());
        m_diskMap = path(QStringLiteral("disk-map.json"));
        const CliRun disk = runCli({QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=1"),
                                    QStringLiteral("--device-map-out"), m_diskMap});
        QVERIFY2(disk.exitCode == 0, disk.err.constData());
        QVERIFY(QFile(m_diskMap).open(QIODevice::ReadOnly));

        QVERIFY(QDir(m_dir.path()).mkdir(QStringLiteral("we\"ird\\dir\nx\x1b")));
        m_hostile = path(QStringLiteral("we\"ird\\dir\nx\x1b/model.safetensors"));
        QVERIFY(mizan::test::writeFile(m_hostile, safetensorsWith(hostileNames())));
    }

    // ---- failed writes to standard output ---------------------------------------------------

    void failedStandardOutput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("limit"); // "full": > /dev/full; "fsize": ulimit -f 1 into a file
        QTest::addColumn<QString>("words"); // expected in standard error

        const QString nospace = QStringLiteral("No space left on device");
        const QString toobig = QStringLiteral("File too large");
        const QStringList maxMem{QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")};
        // Split over two GPUs, the CPU and the disk: a longer plan.
        const QStringList split{QStringLiteral("--max-memory"), QStringLiteral("0=600KiB,1=600KiB,cpu=600KiB")};
        struct Row {
            const char *name;
            QStringList args;
            bool bigOutput; // more than 1 KiB (ulimit -f 1 is 512 or 1024 bytes): also a row under the file-size limit
        };
        const Row rows[] = {
            {"help", {QStringLiteral("--help")}, false},
            {"version", {QStringLiteral("--version")}, false},
            {"inspect", {QStringLiteral("inspect"), QStringLiteral("DEMO")}, true},
            {"inspect --json", {QStringLiteral("inspect"), QStringLiteral("DEMO"), QStringLiteral("--json")}, true},
            {"plan", QStringList{QStringLiteral("plan"), QStringLiteral("DEMO")} + split, true},
            {"plan --json", QStringList{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--json")} + split, true},
            {"plan --explain", QStringList{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--explain")} + split, true},
            {"presets", {QStringLiteral("presets")}, true},
            {"presets --json", {QStringLiteral("presets"), QStringLiteral("--json")}, true},
            {"validate", {QStringLiteral("validate"), QStringLiteral("DEMO"), QStringLiteral("MAP")}, false},
            {"validate --json", {QStringLiteral("validate"), QStringLiteral("DEMO"), QStringLiteral("MAP"), QStringLiteral("--json")}, false},
            {"edit", {QStringLiteral("edit"), QStringLiteral("DEMO"), QStringLiteral("MAP"), QStringLiteral("--move"), QStringLiteral("lm_head=cpu")}, false},
            {"edit --json",
             {QStringLiteral("edit"), QStringLiteral("DEMO"), QStringLiteral("MAP"), QStringLiteral("--move"), QStringLiteral("lm_head=cpu"),
              QStringLiteral("--json")},
             false},
            {"make-demo", {QStringLiteral("make-demo"), QStringLiteral("TMP/demo-full")}, false},
            {"offload",
             {QStringLiteral("offload"), QStringLiteral("DEMO"), QStringLiteral("--device-map"), QStringLiteral("DISKMAP"), QStringLiteral("--folder"),
              QStringLiteral("TMP/offload-full")},
             false},
            {"devices", {QStringLiteral("devices")}, false},
            {"devices --json", {QStringLiteral("devices"), QStringLiteral("--json")}, false},
#ifdef MIZAN_WITH_RUN
            {"run",
             QStringList{QStringLiteral("run"), QStringLiteral("DEMO"), QStringLiteral("--prompt-ids"), QStringLiteral("1,2"), QStringLiteral("--max-new-tokens"),
                         QStringLiteral("2")}
                 + maxMem,
             false},
#endif
        };
        for (const Row &r : rows) {
            QTest::addRow("%s > /dev/full", r.name) << r.args << QStringLiteral("full") << nospace;
            if (r.bigOutput)
                QTest::addRow("%s, file-size limit", r.name) << r.args << QStringLiteral("fsize") << toobig;
        }
    }
    void failedStandardOutput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, limit);
        QFETCH(QString, words);
        args = expand(args);
        // The same command with a working standard output succeeds and prints something.
        const CliRun ok = runCli(args);
        QVERIFY2(ok.exitCode == 0, ok.err.constData());
        QVERIFY(!ok.out.isEmpty());
        if (limit == QLatin1String("fsize"))
            QVERIFY2(ok.out.size() > 1024, "the output must be larger than the limit");

        const QString sink = path(QStringLiteral("limited.out"));
        const CliRun r = limit == QLatin1String("full") ? runRedirected(args, QString(), QStringLiteral("> /dev/full"))
                                                        : runRedirected(args, QStringLiteral("ulimit -f 1;"), QStringLiteral("> '") + sink + QLatin1Char('\''));
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.errText().contains(QStringLiteral("cannot write to standard output")), r.err.constData());
        QVERIFY2(r.errText().contains(words), r.err.constData());
        if (limit == QLatin1String("fsize")) {
            QFile out(sink);
            QVERIFY(out.open(QIODevice::ReadOnly));
            QVERIFY(out.size() < ok.out.size()); // truncated, and said so
        }
    }

    // ---- names with control characters ------------------------------------------------------

    void escapedNames_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QStringList>("words"); // in standard output + error, as printed (escaped)

        const QStringList names{QStringLiteral("new\\nline"), QStringLiteral("esc\\x1b[31mred"), QStringLiteral("bel\\x07"),
                                QStringLiteral("nul\\x00byte"), QStringLiteral("tab\\tcr\\r"), QStringLiteral("rlo\\u202eevil"),
                                QStringLiteral("c1\\u009b2J"), QStringLiteral("unicode\u00fc")};
        const QString folder = QStringLiteral("we\"ird\\dir\\nx\\x1b");
        QTest::newRow("inspect") << QStringList{QStringLiteral("inspect"), QStringLiteral("HOSTILE")} << 0 << (names + QStringList{folder});
        QTest::newRow("plan") << QStringList{QStringLiteral("plan"), QStringLiteral("HOSTILE"), QStringLiteral("--max-memory"), QStringLiteral("0=24,cpu=24")} << 0
                              << (names + QStringList{folder});
        QTest::newRow("plan --explain split over devices")
            << QStringList{QStringLiteral("plan"), QStringLiteral("HOSTILE"), QStringLiteral("--max-memory"), QStringLiteral("0=24,cpu=24"), QStringLiteral("--explain")}
            << 0 << names;
        QTest::newRow("validate: unknown module in the map, error lines")
            << QStringList{QStringLiteral("validate"), QStringLiteral("HOSTILE"), QStringLiteral("TMP/hostile-map.json")} << 1
            << QStringList{QStringLiteral("ghost\\x1b]0;title\\x07")};
        QTest::newRow("error message: missing file")
            << QStringList{QStringLiteral("inspect"), QStringLiteral("TMP/no\x1b[2Jsuch\nfile\x07")} << 1
            << QStringList{QStringLiteral("no\\x1b[2Jsuch\\nfile\\x07")};
        QTest::newRow("usage error: unknown option")
            << QStringList{QStringLiteral("inspect"), QStringLiteral("HOSTILE"), QStringLiteral("--\x1b[31mbogus")} << 2
            << QStringList{QStringLiteral("\\x1b[31mbogus")};
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frob\x1b[5m")} << 2 << QStringList{QStringLiteral("frob\\x1b[5m")};
    }
    void escapedNames()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QStringList, words);
        // A map naming a module that does not exist, with an OSC title sequence in its name.
        const nlohmann::json map = {{"ghost\x1b]0;title\x07", "cpu"}, {"plain", "cpu"}};
        QVERIFY(mizan::test::writeFile(path(QStringLiteral("hostile-map.json")), QByteArray::fromStdString(map.dump())));

        const CliRun r = runCli(expand(args));
        QVERIFY2(r.exitCode == exitCode, (r.out + r.err).constData());
        const QByteArray all = r.out + r.err;
        const QString raw = rawControlIn(all);
        QVERIFY2(raw.isEmpty(), qPrintable(raw + QStringLiteral(" in:\n") + QString::fromUtf8(all)));
        for (const QString &w : words)
            QVERIFY2(QString::fromUtf8(all).contains(w), qPrintable(w + QStringLiteral(" not in:\n") + QString::fromUtf8(all)));
    }

    void invalidUtf8IsEscaped()
    {
        // A path argument with bytes that are not UTF-8 (QProcess passes only text: through sh).
        const CliRun r = runRedirected({QStringLiteral("inspect")}, QStringLiteral("set -- \"$@\" \"$(printf '/no/such/\\377\\376x')\";"), QString());
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(rawControlIn(r.err).isEmpty(), r.err.constData());
        QVERIFY2(r.err.contains("\\xff\\xfex"), r.err.constData());
    }

    void jsonKeepsNamesExactly()
    {
        const CliRun r = runCli(expand({QStringLiteral("inspect"), QStringLiteral("HOSTILE"), QStringLiteral("--json")}));
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(rawControlIn(r.out).isEmpty(), r.out.constData());
        const auto modules = QJsonDocument::fromJson(r.out).object()[QStringLiteral("modules")].toArray();
        QStringList seen;
        for (const auto &m : modules)
            seen << m.toObject()[QStringLiteral("name")].toString();
        for (const auto &n : hostileNames()) {
            const std::string module = n.substr(0, n.rfind('.'));
            QVERIFY2(seen.contains(QString::fromUtf8(module.data(), static_cast<qsizetype>(module.size()))), module.c_str());
        }
    }

    // ---- the Python snippet -----------------------------------------------------------------

    void pythonSnippetParses_data()
    {
        QTest::addColumn<QByteArrayList>("names");
        QTest::addColumn<QByteArray>("modelPath");
        QByteArrayList hostile;
        for (const auto &n : hostileNames())
            hostile << QByteArray::fromStdString(n.substr(0, n.rfind('.')));
        QTest::newRow("control characters, quotes, unicode") << hostile << QByteArray("/models/we\"ird\\path\n'x'");
        QTest::newRow("bytes that are not UTF-8") << QByteArrayList{QByteArray("bad\xff\xfe"), QByteArray("cut\xe2\x80"), QByteArray("sur\xed\xa0\x80")}
                                                  << QByteArray("/models/\xff\xfe");
        QTest::newRow("empty name and astral") << QByteArrayList{QByteArray(), QByteArray("\xf0\x9f\x98\x80"), QByteArray("\x7f")} << QByteArray("m");
    }
    void pythonSnippetParses()
    {
        QFETCH(QByteArrayList, names);
        QFETCH(QByteArray, modelPath);
        if (!hasPython())
            QSKIP("python3 is not installed: the snippet cannot be parsed here");
        mizan::planner::DeviceMap map;
        for (const auto &n : names)
            map.emplace_back(n.toStdString(), mizan::planner::Device::cpu());
        const std::string snippet = mizan::planner::pythonSnippet(modelPath.toStdString(), map, {{mizan::planner::Device::cpu(), 1000}}, {}, false);
        for (unsigned char c : snippet)
            QVERIFY2(c == '\n' || (c >= 0x20 && c < 0x7f), "the snippet is plain printable ASCII");
        const QString file = path(QStringLiteral("snippet.py"));
        QVERIFY(mizan::test::writeFile(file, QByteArray::fromStdString(snippet)));
        // Parse it, and print every map key and the model path as the bytes they stand for.
        const QString check = QStringLiteral(
            "import ast, sys\n"
            "tree = ast.parse(open(sys.argv[1]).read())\n"
            "for node in tree.body:\n"
            "    if isinstance(node, ast.Assign) and node.targets[0].id == 'device_map':\n"
            "        for key in ast.literal_eval(node.value):\n"
            "            print('key ' + key.encode('utf-8', 'surrogateescape').hex())\n"
            "    if isinstance(node, ast.Assign) and node.targets[0].id == 'model':\n"
            "        print('path', ast.literal_eval(node.value.args[0]).encode('utf-8', 'surrogateescape').hex())\n");
        const CliRun py = mizan::test::runProgram(QStringLiteral("python3"), {QStringLiteral("-c"), check, file}, QProcessEnvironment::systemEnvironment());
        QVERIFY2(py.exitCode == 0, (py.err + "\n" + QByteArray::fromStdString(snippet)).constData());
        // Bytes that are not UTF-8 (a lone surrogate ED A0 80 among them) come back through
        // surrogateescape as they were.
        QByteArrayList expected;
        for (const auto &n : names)
            expected << QByteArray("key ") + n.toHex();
        expected << QByteArray("path ") + modelPath.toHex();
        QByteArrayList got = py.out.split('\n');
        if (!got.isEmpty() && got.last().isEmpty())
            got.removeLast();
        QCOMPARE(got, expected);
    }

    void pythonOutFromTheCommandLine()
    {
        if (!hasPython())
            QSKIP("python3 is not installed: the snippet cannot be parsed here");
        const QString out = path(QStringLiteral("hostile.py"));
        const CliRun r = runCli(expand({QStringLiteral("plan"), QStringLiteral("HOSTILE"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                                        QStringLiteral("--no-clean"), QStringLiteral("--python-out"), out, QStringLiteral("--json")}));
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QStringList keys = QJsonDocument::fromJson(r.out).object()[QStringLiteral("device_map")].toObject().keys();
        QVERIFY(keys.size() >= static_cast<int>(hostileNames().size()));
        const CliRun py = mizan::test::runProgram(
            QStringLiteral("python3"),
            {QStringLiteral("-c"),
             QStringLiteral("import ast, sys, json\ntree = ast.parse(open(sys.argv[1]).read())\n"
                            "d = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'device_map'][0]\n"
                            "print(json.dumps(sorted(ast.literal_eval(d.value))))\n"),
             out},
            QProcessEnvironment::systemEnvironment());
        QVERIFY2(py.exitCode == 0, py.err.constData());
        QStringList parsed;
        for (const auto &v : QJsonDocument::fromJson(py.out).array())
            parsed << v.toString();
        keys.sort();
        parsed.sort();
        QCOMPARE(parsed, keys);
    }

    // ---- leftovers --------------------------------------------------------------------------

    void signalDuringSaveLeavesNoTempFile_data()
    {
        QTest::addColumn<int>("signal");
        QTest::newRow("SIGTERM") << int(SIGTERM);
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGHUP") << int(SIGHUP);
    }
    void signalDuringSaveLeavesNoTempFile()
    {
        QFETCH(int, signal);
        struct sigaction current = {};
        QCOMPARE(::sigaction(signal, nullptr, &current), 0);
        if (current.sa_handler == SIG_IGN)
            QSKIP("the signal is ignored in this process (a background job): mizan-cli keeps it ignored, as it should");
        const QString dir = path(QStringLiteral("signal-%1").arg(signal));
        QVERIFY(QDir().mkpath(dir));
        const QString out = dir + QStringLiteral("/plan.mizan.json");
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
        env.insert(QStringLiteral("MIZAN_TEST_COMMIT_DELAY_MS"), QStringLiteral("60000")); // the save waits, its temp file written
        p.setProcessEnvironment(env);
        p.start(mizan::test::cliPath(), {QStringLiteral("plan"), m_demo, QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("-o"), out});
        QVERIFY(p.waitForStarted());
        QElapsedTimer waited;
        waited.start();
        while (tempFilesIn(dir).isEmpty() && waited.elapsed() < 60000 && p.state() == QProcess::Running)
            QThread::msleep(20);
        QVERIFY2(!tempFilesIn(dir).isEmpty(), p.readAllStandardError().constData());
        QCOMPARE(::kill(static_cast<pid_t>(p.processId()), signal), 0);
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::CrashExit); // ended by the signal, as without the handler
        QCOMPARE(p.exitCode(), signal);
        QCOMPARE(tempFilesIn(dir), QStringList());
        QVERIFY(!QFile::exists(out));
    }

    void badOutputPathWritesNothing_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("words");
        const QStringList plan{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"), QStringLiteral("-o"),
                               QStringLiteral("TMP/out/plan.mizan.json")};
        QTest::newRow("--device-map-out in a missing folder")
            << (plan + QStringList{QStringLiteral("--device-map-out"), QStringLiteral("TMP/missing/map.json")})
            << QStringList{QStringLiteral("TMP/missing/map.json"), QStringLiteral("does not exist")};
        QTest::newRow("--python-out is a folder") << (plan + QStringList{QStringLiteral("--python-out"), QStringLiteral("TMP/out")})
                                                  << QStringList{QStringLiteral("is a folder")};
        QTest::newRow("--device-map-out under a file")
            << (plan + QStringList{QStringLiteral("--device-map-out"), QStringLiteral("MAP/map.json")}) << QStringList{QStringLiteral("is not a folder")};
        QTest::newRow("--python-out is a device") << (plan + QStringList{QStringLiteral("--python-out"), QStringLiteral("/dev/null")})
                                                  << QStringList{QStringLiteral("/dev/null"), QStringLiteral("not a regular file")};
        QTest::newRow("the same file twice") << (plan + QStringList{QStringLiteral("--device-map-out"), QStringLiteral("TMP/out/plan.mizan.json")})
                                             << QStringList{QStringLiteral("two outputs")};
        QTest::newRow("edit -o in a missing folder")
            << QStringList{QStringLiteral("edit"), QStringLiteral("DEMO"), QStringLiteral("MAP"), QStringLiteral("--move"), QStringLiteral("lm_head=cpu"),
                           QStringLiteral("-o"), QStringLiteral("TMP/missing/edited.json")}
            << QStringList{QStringLiteral("does not exist")};
        if (::geteuid() != 0) // root writes in read-only folders
            QTest::newRow("-o in a read-only folder")
                << QStringList{QStringLiteral("plan"), QStringLiteral("DEMO"), QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB"),
                               QStringLiteral("--device-map-out"), QStringLiteral("TMP/out/map.json"), QStringLiteral("-o"),
                               QStringLiteral("TMP/readonly/plan.mizan.json")}
                << QStringList{QStringLiteral("cannot write in its folder")};
    }
    void badOutputPathWritesNothing()
    {
        QFETCH(QStringList, args);
        QFETCH(QStringList, words);
        const QString out = path(QStringLiteral("out"));
        QDir(out).removeRecursively();
        QVERIFY(QDir().mkpath(out));
        const QString readonly = path(QStringLiteral("readonly"));
        QVERIFY(QDir().mkpath(readonly));
        QVERIFY(QFile::setPermissions(readonly, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
        const CliRun r = runCli(expand(args));
        QFile::setPermissions(readonly, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        QCOMPARE(r.exitCode, 1);
        for (const QString &w : expand(words))
            QVERIFY2(r.errText().contains(w), r.err.constData());
        QCOMPARE(QDir(out).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
        QVERIFY(r.out.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCliOutput)
#include "tst_clioutput.moc"
