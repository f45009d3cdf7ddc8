// planner/atomicfile: saves never destroy the previous file, leave no temporary files behind,
// and name the file in their errors.
#include "planner/atomicfile.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "planner/planfile.h"

#include <QtTest>

#include "testutil.h"

#include <QTemporaryDir>

#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>

using namespace mizan;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<unreadable>");
}

QStringList entries(const QString &dir)
{
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
}

} // namespace

class TestAtomicFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writesAndReplaces()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("map.json");
        writeFileAtomically(path.toStdString(), "first\n");
        QCOMPARE(readAll(path), QByteArray("first\n"));
        writeFileAtomically(path.toStdString(), "second, longer\n");
        QCOMPARE(readAll(path), QByteArray("second, longer\n"));
        QCOMPARE(entries(dir.path()), QStringList{"map.json"}); // no temporary file left
        // Usual permissions (umask applies), not mkstemp's 0600.
        struct stat st {};
        QCOMPARE(::stat(path.toLocal8Bit().constData(), &st), 0);
        const mode_t mask = ::umask(0);
        ::umask(mask);
        QCOMPARE(st.st_mode & 0777, 0666 & ~mask);
    }

    void abandonedWriteKeepsThePreviousFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("plan.mizan.json");
        writeFileAtomically(path.toStdString(), "keep me\n");
        {
            AtomicFile file(path.toStdString());
            file.write("half of a new", 13);
            QCOMPARE(entries(dir.path()).size(), 2); // the temporary file exists meanwhile
            // no commit(): an exception or a cancel unwinds here
        }
        QCOMPARE(readAll(path), QByteArray("keep me\n"));
        QCOMPARE(entries(dir.path()), QStringList{"plan.mizan.json"});
    }

    void failuresNameTheFileAndKeepTheOld_data()
    {
        QTest::addColumn<QString>("target");  // relative to the temporary folder
        QTest::addColumn<QString>("message");
        QTest::newRow("missing folder") << "no/such/folder/map.json" << "cannot create a temporary file next to it";
        QTest::newRow("target is a folder") << "existing" << "cannot rename the temporary file into place";
    }
    void failuresNameTheFileAndKeepTheOld()
    {
        QFETCH(QString, target);
        QFETCH(QString, message);
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkdir("existing"));
        QFile keep(dir.filePath("existing/inside.txt"));
        QVERIFY(keep.open(QIODevice::WriteOnly));
        keep.write("old");
        keep.close();
        const QString path = dir.filePath(target);
        const auto error = test::errorOf([&] { writeFileAtomically(path.toStdString(), "new"); });
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::Io);
        QCOMPARE(QString::fromStdString(error->file()), path);
        QVERIFY2(QString::fromStdString(error->message()).contains(message), error->what());
        QCOMPARE(readAll(dir.filePath("existing/inside.txt")), QByteArray("old"));
        QCOMPARE(entries(dir.path()), QStringList{"existing"});
    }

    void fileSizeLimitFailsTheWrite()
    {
        // ulimit -f: with SIGXFSZ ignored (as mizan-cli does) write() fails with EFBIG.
        QTemporaryDir dir;
        const QString path = dir.filePath("plan.mizan.json");
        writeFileAtomically(path.toStdString(), "keep me\n");
        rlimit old{};
        QCOMPARE(::getrlimit(RLIMIT_FSIZE, &old), 0);
        const auto previous = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 4096;
        QCOMPARE(::setrlimit(RLIMIT_FSIZE, &small), 0);
        const auto error = test::errorOf([&] { writeFileAtomically(path.toStdString(), std::string(100000, 'x')); });
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, previous);
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::Io);
        QVERIFY2(QString::fromStdString(error->message()).contains("write failed"), error->what());
        QCOMPARE(readAll(path), QByteArray("keep me\n"));
        QCOMPARE(entries(dir.path()), QStringList{"plan.mizan.json"});
    }

    void checkOutputPath_data()
    {
        QTest::addColumn<QString>("target"); // relative to the temporary folder; "/dev/null" as is
        QTest::addColumn<QString>("message"); // empty: writable
        QTest::newRow("new file") << "new.json" << "";
        QTest::newRow("existing file") << "file.json" << "";
        QTest::newRow("a folder") << "folder" << "is a folder";
        QTest::newRow("missing folder") << "missing/map.json" << "does not exist";
        QTest::newRow("under a file") << "file.json/map.json" << "is not a folder";
        QTest::newRow("a device") << "/dev/null" << "not a regular file";
        QTest::newRow("no name") << "" << "needs a name";
    }
    void checkOutputPath()
    {
        QFETCH(QString, target);
        QFETCH(QString, message);
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkdir("folder"));
        writeFileAtomically(dir.filePath("file.json").toStdString(), "{}");
        const QString path = target.isEmpty() || target.startsWith('/') ? target : dir.filePath(target);
        const auto error = test::errorOf([&] { mizan::checkOutputPath(path.toStdString()); });
        if (message.isEmpty()) {
            QVERIFY2(!error, error ? error->what() : "");
        } else {
            QVERIFY(error);
            QCOMPARE(error->kind(), ErrorKind::Io);
            QCOMPARE(QString::fromStdString(error->file()), path);
            QVERIFY2(QString::fromStdString(error->message()).contains(message), error->what());
        }
        QCOMPARE(entries(dir.path()), (QStringList{"file.json", "folder"})); // a check writes nothing
    }

    void planFilesGoThroughIt()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("map.json");
        planner::writeDeviceMapFile(path.toStdString(), {{"model", planner::Device::gpu(0)}});
        QCOMPARE(readAll(path), QByteArray("{\n  \"model\": 0\n}\n"));
        QCOMPARE(entries(dir.path()), QStringList{"map.json"});
    }
};

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "tst_atomicfile.moc"
