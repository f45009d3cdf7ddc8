// Mutated inputs of every JSON kind Mizan reads (config.json, a safetensors index, a device map, a
// plan file, a preset, a hardware profile, an offload folder's index): 520 files per kind, made
// from a valid seed by byte flips, truncation, junk, deep nesting, values of the wrong type, huge
// numbers, odd unicode and renamed or deleted keys. Each is read and, when accepted, used as a
// user would (described, planned, validated). Nothing may crash (the sanitizer stage runs this),
// and every refusal is a mizan::Error whose file names the input it read.

#include "loader/checkpoint.h"
#include "loader/offloadfolder.h"
#include "models/demo.h"
#include "models/describe.h"
#include "models/planoptions.h"
#include "models/resources.h"
#include "models/source.h"
#include "planner/cluster.h"
#include "planner/error.h"
#include "planner/mapfile.h"
#include "planner/plan.h"
#include "planner/planfile.h"
#include "planner/validate.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>

using namespace mizan;
using Json = nlohmann::ordered_json;

namespace {

constexpr int kMutationsPerKind = 520;

// Values that readers get wrong: wrong types, out-of-range and non-finite numbers, unicode that
// reorders or hides text, control characters, very long strings, empty containers.
std::vector<Json> hostileValues()
{
    std::vector<Json> v = {-1, 0, 1, 3.5, -0.0, 1e308, -1e308, std::numeric_limits<std::int64_t>::min(),
                           std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::uint64_t>::max(),
                           true, false, nullptr, "", "\u202eevil", std::string("a\0b", 3), "\x1b[31mred\x07",
                           std::string(100000, 'x'), Json::object(), Json::array(), Json::array({1, 2, 3}),
                           Json{{"a", 1}}, "cpu", "disk", "cuda:99999999999", "0", "-1", "1e999GiB", "nanGiB",
                           "infGB", "float16", "model", "..", "model..layers", "\xf0\x9f\x92\xa5"};
    return v;
}

// Every JSON pointer into `j` (the root included), in document order.
void pointers(const Json &j, const Json::json_pointer &at, std::vector<Json::json_pointer> &out)
{
    out.push_back(at);
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            pointers(it.value(), at / it.key(), out);
    else if (j.is_array())
        for (std::size_t i = 0; i < j.size(); ++i)
            pointers(j[i], at / i, out);
}

class Mutator {
public:
    Mutator(std::string seedText, std::uint64_t seed) : m_text(std::move(seedText)), m_rng(seed), m_values(hostileValues())
    {
        m_json = Json::parse(m_text);
        pointers(m_json, Json::json_pointer(), m_pointers);
    }

    // The `i`th mutation: the families take turns so that every one is tried ~1/8 of the time.
    std::string mutate(int i)
    {
        switch (i % 8) {
        case 0: return flipBytes();
        case 1: return m_text.substr(0, pick(m_text.size()));
        case 2: return insertJunk();
        case 3: return replaceValue();
        case 4: return nest();
        case 5: return deleteKey();
        case 6: return renameKey();
        default: return numberEdge();
        }
    }

private:
    std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(m_rng); }

    std::string flipBytes()
    {
        std::string t = m_text;
        for (std::size_t k = 0, n = 1 + pick(4); k < n; ++k)
            t[pick(t.size())] = static_cast<char>(pick(256));
        return t;
    }

    std::string insertJunk()
    {
        static const char *junk[] = {"{", "[", "\"", "\\u0000", "\xff", "1e999", "-", ",", ":", "}}]]", "\\ud800", "null,", "\x00"};
        std::string t = m_text;
        t.insert(pick(t.size() + 1), junk[pick(std::size(junk))]);
        return t;
    }

    Json::json_pointer somewhere() { return m_pointers[pick(m_pointers.size())]; }

    std::string replaceValue()
    {
        Json j = m_json;
        j[somewhere()] = m_values[pick(m_values.size())];
        return j.dump();
    }

    // A value wrapped in arrays or objects, around the depth limit and far past it.
    std::string nest()
    {
        static const int depths[] = {10, 62, 63, 64, 65, 300, 60000};
        const int depth = depths[pick(std::size(depths))];
        const bool objects = pick(2) == 1;
        std::string inner = "1";
        std::string open, close;
        for (int d = 0; d < depth; ++d) {
            open += objects ? "{\"a\":" : "[";
            close += objects ? "}" : "]";
        }
        Json j = m_json;
        const auto at = somewhere();
        if (at.empty())
            return open + m_text + close;
        j[at] = "@@NEST@@";
        std::string t = j.dump();
        t.replace(t.find("\"@@NEST@@\""), 10, open + inner + close);
        return t;
    }

    std::string deleteKey()
    {
        Json j = m_json;
        const auto at = somewhere();
        if (at.empty())
            return "{}";
        Json &parent = j[at.parent_pointer()];
        if (parent.is_object())
            parent.erase(at.back());
        else
            parent.erase(static_cast<std::size_t>(std::stoul(at.back())));
        return j.dump();
    }

    std::string renameKey()
    {
        static const std::string names[] = {"", "\u202e", std::string("\0", 1), "\n", "a.b", std::string(5000, 'k'), "__proto__", "\xc3\xa9"};
        Json j = m_json;
        const auto at = somewhere();
        if (at.empty() || !j[at.parent_pointer()].is_object())
            return j.dump() + " ";
        Json &parent = j[at.parent_pointer()];
        Json value = parent[at.back()];
        parent.erase(at.back());
        parent[names[pick(std::size(names))]] = std::move(value);
        return j.dump();
    }

    // A numeric value replaced by its neighbours at the edges of what readers convert.
    std::string numberEdge()
    {
        static const char *numbers[] = {"-1", "0", "1", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
                                        "18446744073709551615", "18446744073709551616", "1e19", "-9223372036854775809",
                                        "1.5", "1e-400", "1e400", "-0"};
        Json j = m_json;
        std::vector<Json::json_pointer> numeric;
        for (const auto &p : m_pointers)
            if (j[p].is_number())
                numeric.push_back(p);
        const auto at = numeric.empty() ? somewhere() : numeric[pick(numeric.size())];
        if (at.empty())
            return numbers[pick(std::size(numbers))];
        j[at] = "@@NUM@@";
        std::string t = j.dump();
        t.replace(t.find("\"@@NUM@@\""), 9, numbers[pick(std::size(numbers))]);
        return t;
    }

    std::string m_text;
    Json m_json;
    std::vector<Json::json_pointer> m_pointers;
    std::mt19937_64 m_rng;
    std::vector<Json> m_values;
};

bool writeText(const std::string &path, const std::string &text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    return bool(out.flush());
}

std::string readText(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

planner::PlanOptions smallBudgets(const models::ModelDescription &model)
{
    planner::PlanOptions o;
    o.maxMemory = {{planner::Device::gpu(0), 1 << 20}, {planner::Device::cpu(), 2 << 20}};
    o.noSplitClasses = model.noSplitClasses;
    return o;
}

// Uses an accepted model as `plan` would: plans it under small budgets and validates the result.
void planAndValidate(const models::ModelDescription &model)
{
    if (model.tree.size() > 20000)
        return;
    try {
        const planner::PlanOptions options = smallBudgets(model);
        const planner::Plan p = planner::plan(model.tree, options);
        planner::validate(model.tree, p.deviceMap, options);
    } catch (const Error &e) {
        if (e.kind() != ErrorKind::Impossible && e.kind() != ErrorKind::InvalidArgument)
            throw;
    }
}

struct Outcome {
    int accepted = 0;
    int refused = 0;
};

} // namespace

class TestFuzz : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_demo;        // a small demo checkpoint (two shards, an index, config.json)
    models::Source m_source;   // it, opened

    std::string dir() const { return m_dir.path().toStdString(); }

    // Feeds the mutations of `seed` to `read` (which writes the file `path` is about and reads it).
    // A refusal must be a mizan::Error naming a file whose path contains `names`.
    void run(Outcome &o, const std::string &seed, std::uint64_t rngSeed, const std::string &names,
             const std::function<void(const std::string &text)> &read)
    {
        Mutator mutator(seed, rngSeed);
        for (int i = 0; i < kMutationsPerKind; ++i) {
            const std::string text = mutator.mutate(i);
            try {
                read(text);
                ++o.accepted;
            } catch (const Error &e) {
                ++o.refused;
                if (e.file().find(names) == std::string::npos || e.message().empty()) {
                    writeText(dir() + "/failing-input.json", text);
                    QFAIL(qPrintable(QStringLiteral("mutation %1: the error does not name %2: file \"%3\", message \"%4\" (input saved as %5)")
                                         .arg(i).arg(QString::fromStdString(names), QString::fromStdString(e.file()),
                                                     QString::fromStdString(e.message()), QString::fromStdString(dir() + "/failing-input.json"))));
                }
            } catch (const std::exception &e) {
                writeText(dir() + "/failing-input.json", text);
                QFAIL(qPrintable(QStringLiteral("mutation %1: %2 escaped as a non-Mizan exception (input saved as %3)")
                                     .arg(i).arg(QString::fromUtf8(e.what()), QString::fromStdString(dir() + "/failing-input.json"))));
            }
        }
        // Not vacuous: the mutations reach the checks, and some survive them.
        if (o.refused < kMutationsPerKind / 4 || o.accepted < 1)
            QFAIL(qPrintable(QStringLiteral("%1 accepted, %2 refused: the mutations do not exercise the reader").arg(o.accepted).arg(o.refused)));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = dir() + "/demo";
        models::DemoOptions options;
        options.layers = 2;
        options.hidden = 64;
        models::writeDemo(m_demo, options);
        m_source = models::openSource(m_demo);
        QVERIFY(m_source.model.tree.size() > 5);
    }

    void configs()
    {
        const std::string folder = dir() + "/config";
        QDir().mkpath(QString::fromStdString(folder));
        const std::string path = folder + "/config.json";
        Outcome o;
        run(o, readText(m_demo + "/config.json"), 1, path, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const models::Source s = models::openSource(folder);
            planAndValidate(s.model);
        });
        qInfo("config.json: %d accepted, %d refused", o.accepted, o.refused);
    }

    void indexes()
    {
        // The demo's shards beside a mutated index.
        const std::string folder = dir() + "/index";
        QDir().mkpath(QString::fromStdString(folder));
        for (const auto &shard : m_source.checkpoint.catalog.shards)
            QVERIFY(QFile::copy(QString::fromStdString(shard.path), QString::fromStdString(folder + "/" + shard.fileName)));
        const std::string path = folder + "/model.safetensors.index.json";
        Outcome o;
        run(o, readText(m_demo + "/model.safetensors.index.json"), 2, folder, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const models::Source s = models::openSource(path);
            planAndValidate(s.model);
        });
        qInfo("index: %d accepted, %d refused", o.accepted, o.refused);
    }

    void deviceMaps()
    {
        const planner::PlanOptions options = smallBudgets(m_source.model);
        const planner::Plan p = planner::plan(m_source.model.tree, options);
        const std::string path = dir() + "/device_map.json";
        Outcome o;
        run(o, planner::deviceMapToJson(p.deviceMap).dump(2), 3, path, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const planner::MapOrPlan read = planner::readMapOrPlanFile(path);
            planner::validate(m_source.model.tree, read.map, options);
        });
        qInfo("device map: %d accepted, %d refused", o.accepted, o.refused);
    }

    void planFiles()
    {
        planner::PlanFile file;
        file.options = smallBudgets(m_source.model);
        file.options.headroom.tokens = 16;
        file.options.pins.push_back({"lm_head", planner::Device::cpu(), false});
        const planner::Plan p = planner::plan(m_source.model.tree, file.options);
        file.checkpoint = planner::identityOf(m_source.model.tree, m_demo);
        file.deviceMap = p.deviceMap;
        file.usage = p.usage;
        const std::string path = dir() + "/plan.mizan.json";
        Outcome o;
        run(o, planner::planFileToJson(file).dump(2), 4, path, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const planner::MapOrPlan read = planner::readMapOrPlanFile(path, &file.checkpoint);
            planner::validate(m_source.model.tree, read.map, read.plan ? read.plan->options : file.options);
            if (read.plan) {
                // Planning again with the file's options, as `edit` and the window do.
                try {
                    planner::plan(m_source.model.tree, read.plan->options);
                } catch (const Error &e) {
                    if (e.kind() != ErrorKind::Impossible && e.kind() != ErrorKind::InvalidArgument && e.kind() != ErrorKind::NotFound)
                        throw;
                }
            }
        });
        qInfo("plan file: %d accepted, %d refused", o.accepted, o.refused);
    }

    void presetsAndProfiles_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("preset") << "models";
        QTest::newRow("hardware profile") << "hardware";
    }
    void presetsAndProfiles()
    {
        QFETCH(QString, kind);
        // A resource folder of its own, holding the one fuzzed file.
        const std::string resources = dir() + "/resources-" + kind.toStdString();
        QDir().mkpath(QString::fromStdString(resources + "/" + kind.toStdString()));
        const std::string path = resources + "/" + kind.toStdString() + "/fuzz.json";
        const std::string seed = kind == "models" ? readText(MIZAN_SOURCE_DIR "/resources/models/llama-3.1-8b.json")
                                                  : readText(MIZAN_SOURCE_DIR "/resources/hardware/2x-rtx3090.json");
        QVERIFY2(!seed.empty(), "seed resource missing");
        qputenv("MIZAN_RESOURCES", QByteArray::fromStdString(resources));
        Outcome o;
        run(o, seed, kind == "models" ? 5 : 6, path, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            if (kind == "models") {
                const models::Source s = models::openSource("fuzz");
                planAndValidate(s.model);
            } else {
                models::hardwareProfile("fuzz");
            }
        });
        qunsetenv("MIZAN_RESOURCES");
        qInfo("%s: %d accepted, %d refused", qPrintable(kind), o.accepted, o.refused);
    }

    // A cluster plan file (issue 15), read as `run --plan FILE` reads it, its stages' maps validated.
    void clusterPlanFiles()
    {
        planner::Cluster cluster;
        for (const char *name : {"node0", "node1"}) {
            planner::ClusterHost h;
            h.name = name;
            h.address = "127.0.0.1";
            h.options = smallBudgets(m_source.model);
            h.speeds = planner::assumedSpeedModel();
            cluster.hosts.push_back(h);
        }
        const planner::ClusterPlan p = planner::planCluster(m_source.model.tree, cluster, {});
        const planner::CheckpointIdentity id = planner::identityOf(m_source.model.tree, m_demo);
        const std::string path = dir() + "/cluster.mizan.json";
        Outcome o;
        run(o, planner::clusterPlanFileToJson(planner::clusterPlanFileOf(p, id, "demo-2host", {}), &p).dump(2), 8, path,
            [&](const std::string &text) {
                QVERIFY(writeText(path, text));
                const planner::ClusterPlanFile read = planner::readClusterPlanFile(path, &id);
                (void)read.blocksPerStage();
                for (const auto &stage : read.stages)
                    planner::validate(m_source.model.tree, read.localDeviceMap(), stage.plan.options);
            });
        qInfo("cluster plan file: %d accepted, %d refused", o.accepted, o.refused);
    }

    // A cluster profile (hosts and a link), read and planned on as `plan --hardware CLUSTER` does.
    void clusterProfiles()
    {
        const std::string resources = dir() + "/resources-cluster";
        QDir().mkpath(QString::fromStdString(resources + "/hardware"));
        const std::string path = resources + "/hardware/fuzz.json";
        const std::string seed = readText(MIZAN_SOURCE_DIR "/resources/hardware/demo-2host.json");
        QVERIFY2(!seed.empty(), "seed resource missing");
        qputenv("MIZAN_RESOURCES", QByteArray::fromStdString(resources));
        Outcome o;
        run(o, seed, 9, path, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const models::HardwareProfile profile = models::hardwareProfile("fuzz");
            if (!profile.isCluster())
                return;
            try {
                const planner::Cluster cluster = models::clusterFor(profile, m_source.model, {});
                planner::planCluster(m_source.model.tree, cluster, {});
            } catch (const Error &e) {
                // A cluster that cannot take this model is a clear refusal; the profile itself was read.
                if (e.kind() != ErrorKind::Impossible && e.kind() != ErrorKind::InvalidArgument)
                    throw;
            }
        });
        qunsetenv("MIZAN_RESOURCES");
        qInfo("cluster profile: %d accepted, %d refused", o.accepted, o.refused);
    }

    void offloadIndexes()
    {
        std::vector<std::string> names;
        for (const auto &t : m_source.checkpoint.catalog.tensors)
            names.push_back(t.name);
        const std::string folder = dir() + "/offload";
        loader::writeOffloadFolder(folder, m_source.checkpoint, names);
        const std::string path = loader::offloadIndexPath(folder);
        Outcome o;
        run(o, readText(path), 7, folder, [&](const std::string &text) {
            QVERIFY(writeText(path, text));
            const loader::Checkpoint cp = loader::openOffloadFolder(folder);
            QVERIFY(cp.catalog.tensors.size() <= names.size() + 8);
        });
        qInfo("offload index: %d accepted, %d refused", o.accepted, o.refused);
    }
};

QTEST_GUILESS_MAIN(TestFuzz)
#include "tst_fuzz.moc"
