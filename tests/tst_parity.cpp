// Every case of tests/data/parity/cases.json against planner/accelerate.h: real Accelerate's
// results, asserted exactly (device maps as unordered maps, sizes as exact doubles, errors by
// message). Where the cases come from: tests/data/README.md.
#include "planner/accelerate.h"
#include "planner/error.h"
#include "planner/moduletree.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <map>

using namespace mizan;
using namespace mizan::planner;
using nlohmann::json;

namespace {

const json &cases()
{
    return testdata::parityFile().value;
}

Device deviceOf(const json &j)
{
    return Device::fromJson(j);
}

std::map<std::string, std::string> mapOf(const json &pairs)
{
    std::map<std::string, std::string> out;
    for (const auto &p : pairs)
        out[p[0].get<std::string>()] = deviceOf(p[1]).toString();
    return out;
}

std::map<std::string, std::string> mapOf(const std::vector<std::pair<std::string, Device>> &map)
{
    std::map<std::string, std::string> out;
    for (const auto &[k, d] : map)
        out[k] = d.toString();
    return out;
}

std::string describe(const std::map<std::string, std::string> &m)
{
    std::string s = "{";
    for (const auto &[k, v] : m)
        s += "\"" + k + "\": " + v + ", ";
    return s + "}";
}

std::optional<DType> dtypeOf(const json &input)
{
    if (!input.contains("dtype") || input["dtype"].is_null())
        return std::nullopt;
    auto d = dtypeFromTorch(input["dtype"].get<std::string>());
    if (!d)
        throw std::runtime_error("unknown dtype in case");
    return d;
}

accel::SpecialDtypes specialOf(const json &input)
{
    accel::SpecialDtypes out;
    if (input.contains("special_dtypes"))
        for (auto it = input["special_dtypes"].begin(); it != input["special_dtypes"].end(); ++it)
            out.emplace_back(it.key(), *dtypeFromTorch(it.value().get<std::string>()));
    return out;
}

std::vector<std::string> noSplitOf(const json &input)
{
    std::vector<std::string> out;
    if (input.contains("no_split_module_classes") && !input["no_split_module_classes"].is_null())
        for (const auto &c : input["no_split_module_classes"])
            out.push_back(c.get<std::string>());
    return out;
}

std::vector<std::pair<std::string, Device>> deviceMapOf(const json &pairs)
{
    std::vector<std::pair<std::string, Device>> out;
    for (const auto &p : pairs)
        out.emplace_back(p[0].get<std::string>(), deviceOf(p[1]));
    return out;
}

} // namespace

class TestParity : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hasAllCases()
    {
        QVERIFY2(testdata::parityFile().ok(), testdata::parityFile().error.c_str());
        QCOMPARE(cases()["cases"].size(), std::size_t(108));
    }

    void parity_data()
    {
        QTest::addColumn<int>("index");
        if (!testdata::parityFile().ok()) { // one row that fails with the file's name (QFAIL here would abort in QFETCH)
            QTest::newRow("unreadable test data") << -1;
            return;
        }
        const auto &all = cases()["cases"];
        for (std::size_t i = 0; i < all.size(); ++i)
            QTest::newRow(all[i]["id"].get<std::string>().c_str()) << static_cast<int>(i);
    }

    void parity()
    {
        QFETCH(int, index);
        QVERIFY2(index >= 0, testdata::parityFile().error.c_str());
        const json &c = cases()["cases"][static_cast<std::size_t>(index)];
        const std::string kind = c["kind"].get<std::string>();
        const json &input = c["input"];
        const json &expected = c["expected"];
        const ModuleTree tree = c.contains("model") ? ModuleTree::fromJson(c["model"]) : ModuleTree();

        if (kind == "dtype_byte_size") {
            QCOMPARE(accel::dtypeByteSize(input["dtype"].get<std::string>()), expected["bytes"].get<double>());
        } else if (kind == "convert_file_size_to_int") {
            auto call = [&] {
                return input["size"].is_string() ? accel::convertFileSizeToInt(input["size"].get<std::string>())
                                                 : accel::convertFileSizeToInt(input["size"].get<std::int64_t>());
            };
            if (expected.contains("error")) {
                try {
                    call();
                    QFAIL("expected an error");
                } catch (const Error &e) {
                    QCOMPARE(int(e.kind()), int(ErrorKind::InvalidArgument));
                    QCOMPARE(QString::fromStdString(e.message()), QString::fromStdString(expected["message"].get<std::string>()));
                }
            } else {
                QCOMPARE(call(), expected["bytes"].get<std::int64_t>());
            }
        } else if (kind == "compute_module_sizes") {
            const auto sizes = accel::computeModuleSizes(tree, dtypeOf(input), specialOf(input));
            const auto &want = expected["sizes"];
            QCOMPARE(sizes.size(), want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                QCOMPARE(QString::fromStdString(std::string(sizes.name(i))), QString::fromStdString(want[i][0].get<std::string>()));
                QCOMPARE(sizes.bytes(i), want[i][1].get<double>());
            }
        } else if (kind == "compute_module_total_buffer_size") {
            QCOMPARE(accel::computeModuleTotalBufferSize(tree, ModuleTree::kRoot, dtypeOf(input), specialOf(input)),
                     expected["bytes"].get<double>());
        } else if (kind == "find_tied_parameters") {
            const auto groups = accel::findTiedParameters(tree);
            std::vector<std::vector<std::string>> want = expected["groups_sorted"].get<std::vector<std::vector<std::string>>>();
            for (auto &g : want)
                std::sort(g.begin(), g.end());
            std::sort(want.begin(), want.end());
            QVERIFY(groups == want);
            if (c.contains("tied_groups")) {
                auto given = c["tied_groups"].get<std::vector<std::vector<std::string>>>();
                std::sort(given.begin(), given.end());
                QVERIFY(groups == given);
            }
        } else if (kind == "get_balanced_memory") {
            const auto memory = accel::maxMemoryFromAccelerateJson(input["max_memory"]);
            const auto result = accel::getBalancedMemory(tree, memory, noSplitOf(input), dtypeOf(input), specialOf(input),
                                                         input.value("low_zero", false));
            const auto want = accel::maxMemoryFromAccelerateJson(expected["max_memory"]);
            QCOMPARE(result.size(), want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                QCOMPARE(QString::fromStdString(result[i].first.toString()), QString::fromStdString(want[i].first.toString()));
                QCOMPARE(result[i].second, want[i].second);
            }
        } else if (kind == "infer_auto_device_map") {
            accel::InferOptions o;
            o.maxMemory = accel::maxMemoryFromAccelerateJson(input["max_memory"]);
            o.noSplitClasses = noSplitOf(input);
            o.dtype = dtypeOf(input);
            o.specialDtypes = specialOf(input);
            o.offloadBuffers = input.value("offload_buffers", false);
            o.fallbackAllocation = input.value("fallback_allocation", false);
            o.cleanResult = input.value("clean_result", true);
            const auto result = accel::inferAutoDeviceMap(tree, o);
            const auto got = mapOf(result.deviceMap);
            const auto want = mapOf(expected["device_map"]);
            QVERIFY2(got == want, ("got " + describe(got) + " want " + describe(want)).c_str());
            QCOMPARE(result.deviceMap.size(), expected["device_map"].size());
            QCOMPARE(result.bufferWarning, expected["buffer_warning"].get<bool>());
            const auto &log = expected["insufficient_memory_log_devices"];
            QCOMPARE(result.insufficientMemory.size(), log.size());
            for (std::size_t i = 0; i < log.size(); ++i) {
                QCOMPARE(QString::fromStdString(result.insufficientMemory[i].first.toString()),
                         QString::fromStdString(deviceOf(log[i][0]).toString()));
                QCOMPARE(result.insufficientMemory[i].second, log[i][1].get<double>());
            }
            QCOMPARE(result.insufficientMemoryText.find("insufficient memory") != std::string::npos, !log.empty());
        } else if (kind == "clean_device_map") {
            const auto result = accel::cleanDeviceMap(deviceMapOf(input["device_map"]));
            QCOMPARE(result.size(), expected["device_map"].size());
            QVERIFY(mapOf(result) == mapOf(expected["device_map"]));
        } else if (kind == "check_device_map") {
            const auto map = deviceMapOf(input["device_map"]);
            if (expected.contains("error")) {
                try {
                    accel::checkDeviceMap(tree, map);
                    QFAIL("expected an error");
                } catch (const Error &e) {
                    QCOMPARE(int(e.kind()), int(ErrorKind::InvalidDeviceMap));
                    QCOMPARE(QString::fromStdString(e.message()), QString::fromStdString(expected["message"].get<std::string>()));
                }
            } else {
                const std::string warning = accel::checkDeviceMap(tree, map);
                QCOMPARE(QString::fromStdString(warning), QString::fromStdString(expected.value("warning", std::string())));
            }
        } else {
            QFAIL(("unknown case kind " + kind).c_str());
        }
    }

    // Extra vectors where the spec is subtle (not in cases.json).
    void dtypeByteSizeRejectsNamesWithoutBits()
    {
        try {
            accel::dtypeByteSize("complex");
            QFAIL("expected an error");
        } catch (const Error &e) {
            QCOMPARE(QString::fromStdString(e.message()), QString("`dtype` is not a valid dtype: complex."));
        }
        QCOMPARE(accel::dtypeByteSize("torch.float16"), 2.0);
    }

    void sizeStringsFollowPythonFloat_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("bytes");
        QTest::newRow("spaces") << " 2 GB" << qint64(2000000000);
        QTest::newRow("exponent") << "1e3KB" << qint64(1000000);
        QTest::newRow("bits-kb") << "8kb" << qint64(1000);
        QTest::newRow("upper-gib") << "10GIB" << qint64(10737418240LL);
        QTest::newRow("fraction-kib") << "0.5KiB" << qint64(512);
    }
    void sizeStringsFollowPythonFloat()
    {
        QFETCH(QString, text);
        QFETCH(qint64, bytes);
        QCOMPARE(qint64(accel::convertFileSizeToInt(text.toStdString())), bytes);
    }

    void unknownMaxMemoryKeyIsRejected()
    {
        try {
            accel::maxMemoryFromAccelerateJson(json::parse(R"([["cuda:0", 100]])"));
            QFAIL("expected an error");
        } catch (const Error &e) {
            QCOMPARE(QString::fromStdString(e.message()),
                     QString("Device cuda:0 is not recognized, available devices are integers(for GPU/XPU), 'mps', 'cpu' and 'disk'"));
        }
    }

    void cleanKeepsMergedKeyAtFirstChild()
    {
        const auto out = accel::cleanDeviceMap({{"a.x", Device::gpu(0)}, {"a.y", Device::gpu(0)}, {"b.x", Device::gpu(1)}, {"b.y", Device::cpu()}});
        QCOMPARE(out.size(), std::size_t(3));
        QCOMPARE(QString::fromStdString(out[0].first), QString("a"));
        QCOMPARE(QString::fromStdString(out[1].first), QString("b.x"));
    }
};

QTEST_GUILESS_MAIN(TestParity)
#include "tst_parity.moc"
