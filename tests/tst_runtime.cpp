// runtime: the device probe (GPUs through the libtorch backend, RAM, offload disk), Accelerate's
// default budget built from it, and the backend module: found, opened only when asked, checked.
// This test does not link libtorch: the backend brings it in.
#include "runtime/backend.h"
#include "runtime/devices.h"

#include <QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

using namespace mizan;

namespace {

// The file names mapped into this process.
QByteArray mappedFiles()
{
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly))
        qFatal("cannot read /proc/self/maps");
    return maps.readAll();
}

#ifdef MIZAN_TORCH_VERSION
const std::string kExpectedBackend = std::string("libtorch ") + MIZAN_TORCH_VERSION
                                     + (MIZAN_TORCH_CUDA_BUILD ? " with CUDA" : " (CPU only)");
#endif

} // namespace

class TestRuntime : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Runs first: linking the runtime does not load libtorch.
    void initTestCase()
    {
        const QByteArray maps = mappedFiles();
        QVERIFY2(maps.contains("libQt6Core"), maps.constData()); // the check reads what it should
        QVERIFY2(!maps.contains("libtorch"), maps.constData());
        QVERIFY2(!maps.contains("libmizan_torch_backend"), maps.constData());
        qunsetenv("MIZAN_TORCH_BACKEND");
    }

    void parsesMeminfo_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("total");
        QTest::addColumn<qint64>("available");
        QTest::newRow("linux") << "MemTotal:       24684084 kB\nMemFree:         1234 kB\nMemAvailable:   20000000 kB\n"
                               << qint64(24684084) * 1024 << qint64(20000000) * 1024;
        QTest::newRow("no available") << "MemTotal: 1000 kB\nMemFree: 10 kB\n" << qint64(1024000) << qint64(0);
        QTest::newRow("empty") << "" << qint64(0) << qint64(0);
        QTest::newRow("garbage") << "MemTotal: lots\nMemAvailable: -5 kB\n" << qint64(0) << qint64(0);
        QTest::newRow("prefix only") << "MemTotalX: 5 kB\n" << qint64(0) << qint64(0);
    }
    void parsesMeminfo()
    {
        QFETCH(QString, text);
        QFETCH(qint64, total);
        QFETCH(qint64, available);
        const auto host = runtime::parseMeminfo(text.toStdString());
        QCOMPARE(host.totalBytes, total);
        QCOMPARE(host.availableBytes, available);
    }

    void probesThisMachine()
    {
        const auto report = runtime::probeDevices();
#ifdef MIZAN_TORCH_VERSION
        // The probe loaded the backend module of this build, and libtorch with it.
        QVERIFY2(report.torchLinked, report.notes.empty() ? "" : report.notes.front().c_str());
        QCOMPARE(report.backend, kExpectedBackend);
        QCOMPARE(report.cudaBuild, bool(MIZAN_TORCH_CUDA_BUILD));
        QVERIFY(std::filesystem::exists(report.backendModule));
        const QByteArray maps = mappedFiles();
        QVERIFY(maps.contains(QByteArray::fromStdString(std::filesystem::canonical(report.backendModule).string())));
        QVERIFY(maps.contains("libtorch"));
#else
        QVERIFY(!report.torchLinked);
        QCOMPARE(report.backend, std::string("none"));
        QVERIFY(!report.notes.empty() && report.notes.front().find("libtorch backend not found") == 0);
#endif
        QVERIFY(report.host.totalBytes > (std::int64_t(64) << 20));
        QVERIFY(report.host.availableBytes > 0);
        QVERIFY(report.host.availableBytes <= report.host.totalBytes);
        QVERIFY(!report.disk); // no folder asked
        // Every GPU is listed, with memory, in index order.
        for (std::size_t i = 0; i < report.gpus.size(); ++i) {
            QCOMPARE(report.gpus[i].index, static_cast<int>(i));
            QVERIFY(report.gpus[i].totalBytes > 0);
            QVERIFY(report.gpus[i].freeBytes <= report.gpus[i].totalBytes);
            QVERIFY(!report.gpus[i].name.empty());
        }
        if (!report.cudaBuild)
            QVERIFY(report.gpus.empty());
    }

    void loadsTheBackendOnce()
    {
        // From several threads at once: one module, one object, one answer.
        std::vector<std::future<const runtime::BackendLoad *>> loads;
        for (int i = 0; i < 4; ++i)
            loads.push_back(std::async(std::launch::async, [] { return &runtime::loadBackend(); }));
        const runtime::BackendLoad *first = loads.front().get();
        for (std::size_t i = 1; i < loads.size(); ++i)
            QCOMPARE(loads[i].get(), first);
#ifdef MIZAN_TORCH_VERSION
        QVERIFY2(first->backend, first->error.c_str());
        QVERIFY(first->error.empty());
        QCOMPARE(first->backend->description(), kExpectedBackend);
        QCOMPARE(first->backend->torchVersion(), std::string(MIZAN_TORCH_VERSION));
        // Opening the same file again gives the same object (dlopen counts references).
        const runtime::BackendLoad again = runtime::openBackend(first->path);
        QCOMPARE(again.backend, first->backend);
#else
        QVERIFY(!first->backend);
        QVERIFY(!first->error.empty());
#endif
    }

    void searchesTheEnvironmentThenBesideTheProgram()
    {
        qputenv("MIZAN_TORCH_BACKEND", "/opt/elsewhere/libmizan_torch_backend.so");
        QCOMPARE(runtime::backendSearchPath(), std::vector<std::string>{"/opt/elsewhere/libmizan_torch_backend.so"});
        qunsetenv("MIZAN_TORCH_BACKEND");
        const auto paths = runtime::backendSearchPath();
        const std::filesystem::path here = QCoreApplication::applicationDirPath().toStdString();
        QVERIFY(paths.size() >= 2);
        QCOMPARE(paths[0], (here / "libmizan_torch_backend.so").string());
        QCOMPARE(paths[1], (here.parent_path() / "lib" / "mizan" / "libmizan_torch_backend.so").string());
#ifdef MIZAN_TORCH_VERSION
        QCOMPARE(paths.size(), std::size_t(3)); // then this build tree's module
        QCOMPARE(paths[2], runtime::loadBackend().path);
#else
        QCOMPARE(paths.size(), std::size_t(2));
#endif
    }

    void refusesWhatIsNotABackend_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("message");
        QTest::newRow("missing") << "missing" << "could not be loaded";
        QTest::newRow("not a shared object") << "text" << "could not be loaded";
        QTest::newRow("a library, not a backend") << "libc" << "is not a Mizan backend (no mizan_backend_abi_version";
        QTest::newRow("another interface version") << "old" << QString("has interface version %1, this program needs %2 (a module from another build")
                                                          .arg(runtime::kBackendAbiVersion + 1)
                                                          .arg(runtime::kBackendAbiVersion);
    }
    void refusesWhatIsNotABackend()
    {
        QFETCH(QString, what);
        QFETCH(QString, message);
        QTemporaryDir dir;
        std::string path;
        if (what == "missing") {
            path = dir.filePath("nothing/libmizan_torch_backend.so").toStdString();
        } else if (what == "text") {
            path = dir.filePath("libmizan_torch_backend.so").toStdString();
            std::ofstream(path) << "not an ELF file\n";
        } else if (what == "old") {
            path = MIZAN_OLD_BACKEND;
        } else {
            Dl_info info{};
            QVERIFY(dladdr(reinterpret_cast<void *>(&std::abort), &info) && info.dli_fname);
            path = info.dli_fname;
        }
        const runtime::BackendLoad load = runtime::openBackend(path);
        QVERIFY(!load.backend);
        QCOMPARE(load.path, path);
        QVERIFY2(load.error.find("libtorch backend " + path + " ") == 0, load.error.c_str());
        QVERIFY2(load.error.find(message.toStdString()) != std::string::npos, load.error.c_str());
    }

    void measuresTheOffloadDisk()
    {
        QTemporaryDir dir;
        // A folder that does not exist yet is measured on its nearest existing parent.
        const std::string folder = dir.filePath("offload/not/yet").toStdString();
        const auto report = runtime::probeDevices(folder);
        QVERIFY(report.disk);
        QCOMPARE(report.disk->folder, folder);
        QCOMPARE(report.disk->measuredAt, dir.path().toStdString());
        const auto space = std::filesystem::space(dir.path().toStdString());
        QCOMPARE(report.disk->capacityBytes, static_cast<std::int64_t>(space.capacity));
        // Free space moves with other processes: within 64 MiB of a second look.
        QVERIFY(std::llabs(report.disk->freeBytes - static_cast<std::int64_t>(space.available)) < (std::int64_t(64) << 20));
        QVERIFY(!QDir(dir.filePath("offload")).exists()); // probing never creates folders
    }

    void defaultBudgetIsAcceleratesOrder()
    {
        runtime::DeviceReport report;
        report.gpus = {{0, "A", 80, 70, 9, 0}, {1, "B", 40, 30, 8, 6}};
        report.host = {1000, 600};
        report.disk = runtime::DiskSpace{"/x", "/x", 5000, 4000};
        const auto memory = runtime::defaultMaxMemory(report);
        // get_max_memory(): free memory per GPU index, then available RAM as "cpu", no "disk".
        const planner::MaxMemory expected = {{planner::Device::gpu(0), 70}, {planner::Device::gpu(1), 30}, {planner::Device::cpu(), 600}};
        QVERIFY(memory == expected);
        QVERIFY(runtime::defaultMaxMemory(runtime::DeviceReport{}) == planner::MaxMemory({{planner::Device::cpu(), 0}}));
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
