// The repository stands alone: no test, CMake file, script, CI file or benchmark refers to a
// path outside it (the design folder next to the checkout, someone's home or work folder, a
// `..` that climbs above the root). One row per scanned file, plus rows over small samples that
// show the check flags what it must and lets the usual references (/usr, /proc, /tmp, includes
// that stay inside) through. scripts/test.sh runs ctest, so such a reference fails the test command.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>

namespace {

struct Finding {
    int line = 0;       // 1-based
    QString reference;  // the path as written
    QString why;
};

bool isSeparator(QChar c)
{
    return c.isSpace() || QStringView(u"\"'`()<>;,|&=:\\[]").contains(c);
}

// Variables whose value is known: the repository root, the folder of the file being read, or a
// build folder (which may be anywhere, so climbing out of it is climbing out of the repository).
enum class Base { Root, Folder, Build };
struct Prefix {
    const char *text;
    Base base;
};
constexpr Prefix kPrefixes[] = {
    {"${CMAKE_SOURCE_DIR}", Base::Root},         {"${PROJECT_SOURCE_DIR}", Base::Root},
    {"${Mizan_SOURCE_DIR}", Base::Root},         {"${MIZAN_ROOT}", Base::Root},
    {"$MIZAN_ROOT", Base::Root},                 {"${CMAKE_CURRENT_SOURCE_DIR}", Base::Folder},
    {"${CMAKE_CURRENT_LIST_DIR}", Base::Folder}, {"${CMAKE_BINARY_DIR}", Base::Build},
    {"${CMAKE_CURRENT_BINARY_DIR}", Base::Build}, {"${PROJECT_BINARY_DIR}", Base::Build},
    {"${MIZAN_BUILD_DIR}", Base::Build},         {"$MIZAN_BUILD_DIR", Base::Build},
};

// Where a path token that contains `..` starts from, or nullopt when it cannot be known (another
// variable, or an absolute path: those are checked by their own rule).
std::optional<Base> baseOf(const QString &line, qsizetype start, QString &rest)
{
    const QString token = rest;
    for (const auto &p : kPrefixes) {
        const QString prefix = QString::fromLatin1(p.text);
        if (token.startsWith(prefix) && (token.size() == prefix.size() || token[prefix.size()] == u'/')) {
            rest = token.mid(prefix.size());
            return p.base;
        }
    }
    if (token.startsWith(u'$'))
        return std::nullopt;
    if (!token.startsWith(u'/'))
        return Base::Folder; // relative: CMake and #include resolve it against the file's folder
    // "/.." right after something: C string concatenation with a path macro, or a shell
    // `$(dirname "${BASH_SOURCE[0]}")`.
    const QString before = line.left(start);
    static const QRegularExpression dirnameOfScript(QString::fromLatin1("\\$\\(dirname \"(\\$\\{BASH_SOURCE\\[0\\]\\}|\\$0|\\$\\{0\\})\"\\)$"));
    if (dirnameOfScript.match(before).hasMatch())
        return Base::Folder;
    static const QRegularExpression macroThenString(QString::fromLatin1("(MIZAN_SOURCE_DIR|MIZAN_BINARY_DIR)\\s*\"$"));
    const auto m = macroThenString.match(before);
    if (m.hasMatch())
        return m.captured(1) == QLatin1String("MIZAN_SOURCE_DIR") ? Base::Root : Base::Build;
    return std::nullopt;
}

// Every reference in `text` to a path outside the repository; `folder` is the file's folder
// relative to the repository root ("" for the root).
QList<Finding> outsideReferences(const QString &text, const QString &folder)
{
    QList<Finding> out;
    const QString shared = QStringLiteral("..") + QStringLiteral("/shared");
    // /work... and /home... as the start of a path (not "http://host/home", not "$X/work").
    static const QRegularExpression absolute(QString::fromLatin1("(?<![\\w.$}/-])/(?:work|home)(?=$|/|[\\s\"'`):;,\\]])"));
    const int folderDepth = folder.isEmpty() ? 0 : static_cast<int>(folder.split(u'/').size());
    const QStringList lines = text.split(u'\n');
    for (int n = 0; n < lines.size(); ++n) {
        const QString &line = lines[n];
        if (line.contains(shared))
            out.append({n + 1, shared, QStringLiteral("the design folder beside the checkout, not part of the repository")});
        for (auto it = absolute.globalMatch(line); it.hasNext();) {
            const auto m = it.next();
            qsizetype end = m.capturedStart();
            while (end < line.size() && !isSeparator(line[end]))
                ++end;
            out.append({n + 1, line.mid(m.capturedStart(), end - m.capturedStart()),
                        QStringLiteral("an absolute path outside the repository")});
        }
        for (qsizetype i = line.indexOf(QLatin1String("..")); i >= 0; i = line.indexOf(QLatin1String(".."), i)) {
            // `..` as a whole path component: not part of "..." or "a..b".
            qsizetype dots = i;
            while (dots < line.size() && line[dots] == u'.')
                ++dots;
            const bool component = dots - i == 2 && (i == 0 || line[i - 1] == u'/' || isSeparator(line[i - 1]))
                                   && (dots == line.size() || line[dots] == u'/' || isSeparator(line[dots]));
            if (!component) {
                i = dots;
                continue;
            }
            qsizetype start = i;
            while (start > 0 && !isSeparator(line[start - 1]))
                --start;
            qsizetype end = dots;
            while (end < line.size() && !isSeparator(line[end]))
                ++end;
            i = end;
            const QString token = line.mid(start, end - start);
            QString rest = token;
            const auto base = baseOf(line, start, rest);
            if (!base)
                continue;
            int depth = *base == Base::Folder ? folderDepth : 0;
            for (const QString &part : rest.split(u'/', Qt::SkipEmptyParts)) {
                if (part == QLatin1String("."))
                    continue;
                if (part != QLatin1String("..")) {
                    ++depth;
                    continue;
                }
                if (--depth < 0) {
                    out.append({n + 1, token,
                                *base == Base::Build ? QStringLiteral("climbs out of the build folder, which may be anywhere")
                                : *base == Base::Root ? QStringLiteral("climbs above the repository root")
                                                      : QStringLiteral("climbs above the repository root from ") + (folder.isEmpty() ? QStringLiteral("the root") : folder + u'/')});
                    break;
                }
            }
        }
    }
    return out;
}

QString describe(const QString &file, const QList<Finding> &findings)
{
    QStringList lines;
    for (const auto &f : findings)
        lines << QStringLiteral("%1:%2: \"%3\": %4").arg(file).arg(f.line).arg(f.reference, f.why);
    return lines.join(u'\n');
}

// The files to check, relative to the root: tests (C++), every CMake file, scripts, CI files and
// benchmarks. Build folders (a CMakeCache.txt), hidden folders other than .ci, tests/data and the
// generated demo/ are skipped.
QStringList scannedFiles()
{
    const QDir root(QStringLiteral(MIZAN_SOURCE_DIR));
    QStringList out;
    QStringList pending{QString()};
    while (!pending.isEmpty()) {
        const QString rel = pending.takeFirst();
        const QDir dir(rel.isEmpty() ? root.path() : root.filePath(rel));
        const auto entries = dir.entryInfoList(QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
        for (const QFileInfo &e : entries) {
            const QString path = rel.isEmpty() ? e.fileName() : rel + u'/' + e.fileName();
            if (e.isDir()) {
                const bool hidden = e.fileName().startsWith(u'.') && e.fileName() != QLatin1String(".ci");
                if (!hidden && !e.isSymLink() && path != QLatin1String("tests/data") && path != QLatin1String("demo")
                    && !QFileInfo::exists(e.filePath() + QStringLiteral("/CMakeCache.txt")))
                    pending << path;
                continue;
            }
            const bool test = path.startsWith(QLatin1String("tests/"))
                              && (e.suffix() == QLatin1String("cpp") || e.suffix() == QLatin1String("h"));
            const bool cmake = e.fileName() == QLatin1String("CMakeLists.txt") || e.suffix() == QLatin1String("cmake");
            const bool tooling = path.startsWith(QLatin1String("scripts/")) || path.startsWith(QLatin1String(".ci/"))
                                 || path.startsWith(QLatin1String("bench/"));
            if (test || cmake || tooling)
                out << path;
        }
    }
    out.sort();
    return out;
}

// Samples are written with {up} for "..", {work} and {home} for the absolute folders, so that this
// file itself holds none of the references it looks for.
QString sample(const char *text)
{
    return QString::fromUtf8(text)
        .replace(QStringLiteral("{up}"), QStringLiteral(".."))
        .replace(QStringLiteral("{work}"), QStringLiteral("/wo") + QStringLiteral("rk"))
        .replace(QStringLiteral("{home}"), QStringLiteral("/ho") + QStringLiteral("me"));
}

} // namespace

class TestRepository : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void detector_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("folder");
        QTest::addColumn<bool>("flagged");
        // CMake
        QTest::newRow("cmake: root/{up}/shared") << sample("MIZAN_SHARED_DIR=\"${CMAKE_SOURCE_DIR}/{up}/shared/x\"") << "tests" << true;
        QTest::newRow("cmake: root/tests/data") << sample("MIZAN_DATA=\"${CMAKE_SOURCE_DIR}/tests/data\"") << "tests" << false;
        QTest::newRow("cmake: root/{up}/elsewhere") << sample("set(X ${CMAKE_SOURCE_DIR}/{up}/elsewhere)") << "" << true;
        QTest::newRow("cmake: project root/{up}") << sample("include(${PROJECT_SOURCE_DIR}/{up}/x.cmake)") << "" << true;
        QTest::newRow("cmake: current/{up} inside") << sample("target_include_directories(t PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/{up})") << "loader" << false;
        QTest::newRow("cmake: current/{up}/{up} outside") << sample("add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/{up}/{up}/x)") << "loader" << true;
        QTest::newRow("cmake: relative {up}/{up} inside") << sample("add_subdirectory({up}/{up}/x)") << "app/cli" << false;
        QTest::newRow("cmake: relative {up}/{up}/{up} outside") << sample("add_subdirectory({up}/{up}/{up}/x)") << "app/cli" << true;
        QTest::newRow("cmake: build/{up}") << sample("file(WRITE ${CMAKE_BINARY_DIR}/{up}/x \"\")") << "" << true;
        QTest::newRow("cmake: down and up inside") << sample("${CMAKE_SOURCE_DIR}/a/b/{up}/c") << "" << false;
        QTest::newRow("cmake: down, then above") << sample("${CMAKE_SOURCE_DIR}/a/{up}/{up}/c") << "" << true;
        // C++
        QTest::newRow("c++: source macro /{up}") << sample("std::ifstream in(MIZAN_SOURCE_DIR \"/{up}/data.json\");") << "tests" << true;
        QTest::newRow("c++: source macro tests/data") << sample("std::ifstream in(MIZAN_SOURCE_DIR \"/tests/data/parity/cases.json\");") << "tests" << false;
        QTest::newRow("c++: binary macro /{up}") << sample("QString p = MIZAN_BINARY_DIR \"/{up}/x\";") << "tests" << true;
        QTest::newRow("c++: include {up}/x.h") << sample("#include \"{up}/planner/plan.h\"") << "tests" << false;
        QTest::newRow("c++: include {up}/{up}/x.h") << sample("#include \"{up}/{up}/x.h\"") << "tests" << true;
        QTest::newRow("c++: comment {up}/shared") << sample("// Every case of {up}/shared/parity/cases.json") << "tests" << true;
        QTest::newRow("c++: shard name with {up}") << sample("j[\"weight_map\"][\"x\"] = \"{up}/model-00003.safetensors\";") << "tests" << false;
        QTest::newRow("c++: ellipsis") << sample("qDebug() << \"opening...\" << a..b; // and so on...") << "tests" << false;
        QTest::newRow("c++: url") << sample("// see https://example.com{home}/page and http://host{work}/x") << "tests" << false;
        // Absolute paths
        QTest::newRow("abs: work") << sample("std::ifstream in(\"{work}/shared/parity/cases.json\");") << "tests" << true;
        QTest::newRow("abs: home") << sample("DATA={home}/someone/models") << "scripts" << true;
        QTest::newRow("abs: home alone") << sample("cd {home}") << "scripts" << true;
        QTest::newRow("abs: system") << sample("open(\"/proc/meminfo\"); run(\"/bin/true\"); \"/usr/lib/x\" > /dev/null; /tmp/mizan") << "bench" << false;
        QTest::newRow("abs: workspace var") << sample("cd \"${HOME}{work}\"; x=$ROOT{work}") << "scripts" << false;
        // Shell
        QTest::newRow("sh: script dir/{up}") << sample("MIZAN_ROOT=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")/{up}\" && pwd)\"") << "scripts" << false;
        QTest::newRow("sh: script dir/{up}/{up}") << sample("cd \"$(dirname \"${BASH_SOURCE[0]}\")/{up}/{up}\"") << "scripts" << true;
        QTest::newRow("sh: $0 dir/{up}/{up}") << sample("cd \"$(dirname \"$0\")/{up}/{up}/x\"") << ".ci" << true;
        QTest::newRow("sh: root/{up}/shared") << sample("cp \"$MIZAN_ROOT/{up}/shared/x\" .") << "scripts" << true;
        QTest::newRow("sh: root/{up}/other") << sample("cp \"${MIZAN_ROOT}/{up}/other\" .") << "scripts" << true;
        QTest::newRow("sh: root/build") << sample("BUILD=\"${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}\"") << "scripts" << false;
    }
    void detector()
    {
        QFETCH(QString, text);
        QFETCH(QString, folder);
        QFETCH(bool, flagged);
        const auto findings = outsideReferences(text, folder);
        QVERIFY2(findings.isEmpty() != flagged,
                 qPrintable((flagged ? QStringLiteral("not flagged: ") + text : describe(QStringLiteral("sample"), findings))));
    }

    // The scan covers what it should (an empty listing would make every row below pass).
    void scansTheRepository()
    {
        const QStringList files = scannedFiles();
        for (const char *expected : {"CMakeLists.txt", "tests/CMakeLists.txt", "tests/tst_repository.cpp",
                                     "scripts/test.sh", "scripts/run.sh", ".ci/run",
                                     "bench/inspect.cpp", "planner/CMakeLists.txt"})
            QVERIFY2(files.contains(QLatin1String(expected)), expected);
        for (const QString &f : files)
            QVERIFY2(!f.startsWith(QLatin1String("tests/data/")) && !f.startsWith(QLatin1String("build")), qPrintable(f));
    }

    void staysInside_data()
    {
        QTest::addColumn<QString>("file");
        for (const QString &f : scannedFiles())
            QTest::newRow(qPrintable(f)) << f;
    }
    void staysInside()
    {
        QFETCH(QString, file);
        QFile f(QDir(QStringLiteral(MIZAN_SOURCE_DIR)).filePath(file));
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(QStringLiteral("cannot read ") + f.fileName()));
        const QString folder = QFileInfo(file).path() == QLatin1String(".") ? QString() : QFileInfo(file).path();
        const auto findings = outsideReferences(QString::fromUtf8(f.readAll()), folder);
        QVERIFY2(findings.isEmpty(), qPrintable(describe(file, findings)));
    }
};

QTEST_GUILESS_MAIN(TestRepository)
#include "tst_repository.moc"
