// runtime: the device probe (GPUs through libtorch, RAM, offload disk) and Accelerate's default
// budget built from it.
#include "runtime/devices.h"

#include <QtTest>

#include <QTemporaryDir>

#include <torch/cuda.h>

#include <filesystem>
#include <fstream>

using namespace mizan;

class TestRuntime : public QObject {
    Q_OBJECT
private Q_SLOTS:
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
        QVERIFY(report.torchLinked);
        QVERIFY(!report.backend.empty());
        QVERIFY(report.host.totalBytes > (std::int64_t(64) << 20));
        QVERIFY(report.host.availableBytes > 0);
        QVERIFY(report.host.availableBytes <= report.host.totalBytes);
        QVERIFY(!report.disk); // no folder asked
        // Every GPU libtorch sees is listed, with memory, in index order.
        QCOMPARE(report.gpus.size(), torch::cuda::device_count());
        for (std::size_t i = 0; i < report.gpus.size(); ++i) {
            QCOMPARE(report.gpus[i].index, static_cast<int>(i));
            QVERIFY(report.gpus[i].totalBytes > 0);
            QVERIFY(report.gpus[i].freeBytes <= report.gpus[i].totalBytes);
            QVERIFY(!report.gpus[i].name.empty());
        }
        if (!report.cudaBuild)
            QVERIFY(report.gpus.empty());
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
