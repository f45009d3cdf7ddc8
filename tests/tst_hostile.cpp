// Hostile and careless input given to mizan-cli as a user would (issue 12): files nested far
// too deep, FIFOs and devices in place of files, loops of links, huge files, wrong types and
// impossible values. One row per case: the command, its exit code, words its message must say
// (the file and the problem) and words it must not say. A hang is a failure (bounded wait), so
// is a crash.

#include "testutil.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace mizan;

namespace {

// `text` with the innermost value wrapped `depth` times in objects or arrays.
QByteArray nested(int depth, bool objects)
{
    QByteArray out;
    out.reserve(depth * 8);
    for (int i = 0; i < depth; ++i)
        out += objects ? "{\"a\":" : "[";
    out += "1";
    for (int i = 0; i < depth; ++i)
        out += objects ? "}" : "]";
    return out;
}

// A safetensors file holding float32 tensors of two elements, named as given.
QByteArray safetensors(const QStringList &names)
{
    nlohmann::json header = nlohmann::json::object();
    std::int64_t offset = 0;
    for (const auto &n : names) {
        header[n.toStdString()] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {offset, offset + 8}}};
        offset += 8;
    }
    std::string h = header.dump();
    while (h.size() % 8)
        h += ' ';
    QByteArray out;
    const quint64 length = h.size();
    for (int i = 0; i < 8; ++i)
        out += char((length >> (8 * i)) & 0xff);
    out += QByteArray::fromStdString(h);
    out += QByteArray(int(offset), '\0');
    return out;
}

} // namespace

class TestHostile : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    QString at(const QString &name) const { return m_dir.filePath(name); }

    bool copyDemoShards(const QString &to) const
    {
        QDir().mkpath(to);
        for (const QString &f : QDir(at("demo")).entryList({"*.safetensors"}, QDir::Files))
            if (!QFile::copy(at("demo/") + f, to + "/" + f))
                return false;
        return true;
    }

    // The demo's config.json with `key` set to `value`, alone in folder `name`.
    bool configWith(const QString &name, const char *key, const nlohmann::json &value) const
    {
        QFile in(at("demo/config.json"));
        if (!in.open(QIODevice::ReadOnly))
            return false;
        nlohmann::json c = nlohmann::json::parse(in.readAll().toStdString());
        c[key] = value;
        QDir().mkpath(at(name));
        return test::writeFile(at(name + "/config.json"), QByteArray::fromStdString(c.dump()));
    }

    // The plan file with `pointer` set to `value`.
    bool planWith(const QString &name, const char *pointer, const nlohmann::json &value) const
    {
        QFile in(at("plan.json"));
        if (!in.open(QIODevice::ReadOnly))
            return false;
        nlohmann::json p = nlohmann::json::parse(in.readAll().toStdString());
        p[nlohmann::json::json_pointer(pointer)] = value;
        return test::writeFile(at(name), QByteArray::fromStdString(p.dump()));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        const auto demo = test::makeDemo(at("demo"), {"--layers", "2", "--hidden", "64"});
        QVERIFY2(demo.exitCode == 0, qPrintable(demo.errText()));
        const auto plan = test::runCli({"plan", at("demo"), "--max-memory", "0=200KiB,cpu=1GiB", "-o", at("plan.json"),
                                        "--device-map-out", at("map.json")});
        QVERIFY2(plan.exitCode == 0, qPrintable(plan.errText()));

        // Nesting: a config 50,000 objects deep, one 300,000 arrays deep, a map and a plan 60,000 deep.
        QDir().mkpath(at("deep-objects"));
        QVERIFY(test::writeFile(at("deep-objects/config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"x\": " + nested(50000, true) + "}"));
        QDir().mkpath(at("deep-arrays"));
        QVERIFY(test::writeFile(at("deep-arrays/config.json"), "{\"x\": " + nested(300000, false) + "}"));
        QVERIFY(test::writeFile(at("deep-map.json"), nested(60000, true)));
        QVERIFY(test::writeFile(at("deep-plan.json"), "{\"format\": \"mizan-plan\", \"version\": 2, \"device_map\": " + nested(60000, false) + "}"));

        // FIFOs where files are expected: an index, a shard, a config, a map, a plan.
        QVERIFY(copyDemoShards(at("fifo-index")));
        QVERIFY(::mkfifo(qPrintable(at("fifo-index/model.safetensors.index.json")), 0600) == 0);
        QVERIFY(copyDemoShards(at("fifo-shard")));
        QVERIFY(QFile::copy(at("demo/model.safetensors.index.json"), at("fifo-shard/model.safetensors.index.json")));
        QVERIFY(QFile::remove(at("fifo-shard/model-00002-of-00002.safetensors")));
        QVERIFY(::mkfifo(qPrintable(at("fifo-shard/model-00002-of-00002.safetensors")), 0600) == 0);
        QDir().mkpath(at("fifo-config"));
        QVERIFY(::mkfifo(qPrintable(at("fifo-config/config.json")), 0600) == 0);
        QVERIFY(::mkfifo(qPrintable(at("fifo-map.json")), 0600) == 0);
        QVERIFY(::mkfifo(qPrintable(at("fifo-plan.mizan.json")), 0600) == 0);
        QVERIFY(::mkfifo(qPrintable(at("fifo.safetensors")), 0600) == 0);

        // Unbounded or odd paths: a map that is /dev/zero, a loop of links, a folder named config.json,
        // a sparse map of 300 MiB (over the device-map limit).
        QVERIFY(QFile::link("/dev/zero", at("zero-map.json")));
        QVERIFY(QFile::link(at("loop-b"), at("loop-a")));
        QVERIFY(QFile::link(at("loop-a"), at("loop-b")));
        QDir().mkpath(at("folder-config/config.json"));
        {
            QFile big(at("huge-map.json"));
            QVERIFY(big.open(QIODevice::WriteOnly));
            QVERIFY(big.resize(qint64(300) << 20));
        }
        QVERIFY(test::writeFile(at("overflow-map.json"), "{\"lm_head\": 1e400}"));

        // Wrong types and impossible values.
        QVERIFY(planWith("plan-string-budget.json", "/devices/0/budget_bytes", "lots"));
        QVERIFY(planWith("plan-negative-budget.json", "/devices/0/budget_bytes", -1));
        QVERIFY(planWith("plan-huge-budget.json", "/devices/0/budget_bytes", std::numeric_limits<std::uint64_t>::max()));
        QVERIFY(planWith("plan-label-number.json", "/devices/0/label", 7));
        QVERIFY(planWith("plan-pins-object.json", "/pins", nlohmann::json::object()));
        QVERIFY(configWith("layers-fraction", "num_hidden_layers", 3.5));
        QVERIFY(configWith("layers-bool", "num_hidden_layers", true));
        QVERIFY(configWith("kv-zero", "num_key_value_heads", 0));
        QVERIFY(configWith("vocab-string", "vocab_size", "big"));
        QVERIFY(test::writeFile(at("empty-name.safetensors"), safetensors({""})));
        QVERIFY(test::writeFile(at("double-dot.safetensors"), safetensors({"model..weight"})));
    }

    void refusedCleanly_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QStringList>("words");   // each must appear in stderr
        QTest::addColumn<QStringList>("absent");  // none may appear in the message (first line)
        const QString mm = "0=200KiB,cpu=1GiB";
        const QString deep = "nested more than 64 levels";

        QTest::newRow("config 50,000 objects deep (inspect)") << QStringList{"inspect", "@deep-objects"} << 1 << QStringList{"deep-objects/config.json", deep} << QStringList{};
        QTest::newRow("config 300,000 arrays deep (plan)") << QStringList{"plan", "@deep-arrays", "--max-memory", mm} << 1 << QStringList{"deep-arrays/config.json", deep} << QStringList{};
        QTest::newRow("map 60,000 deep (validate)") << QStringList{"validate", "@demo", "@deep-map.json"} << 1 << QStringList{"deep-map.json", deep} << QStringList{};
        QTest::newRow("map 60,000 deep (edit)") << QStringList{"edit", "@demo", "@deep-map.json", "--move", "lm_head=cpu"} << 1 << QStringList{"deep-map.json", deep} << QStringList{};
        QTest::newRow("plan 60,000 deep (validate)") << QStringList{"validate", "@demo", "@deep-plan.json"} << 1 << QStringList{"deep-plan.json", deep} << QStringList{};

        QTest::newRow("index is a FIFO") << QStringList{"inspect", "@fifo-index"} << 1 << QStringList{"model.safetensors.index.json", "named pipe"} << QStringList{};
        QTest::newRow("shard is a FIFO") << QStringList{"inspect", "@fifo-shard"} << 1 << QStringList{"model-00002-of-00002.safetensors", "named pipe"} << QStringList{};
        QTest::newRow("config is a FIFO") << QStringList{"inspect", "@fifo-config"} << 1 << QStringList{"fifo-config/config.json", "named pipe"} << QStringList{"no model.safetensors"};
        QTest::newRow("map is a FIFO") << QStringList{"validate", "@demo", "@fifo-map.json"} << 1 << QStringList{"fifo-map.json", "named pipe"} << QStringList{};
        QTest::newRow("plan is a FIFO") << QStringList{"edit", "@demo", "@fifo-plan.mizan.json", "--move", "lm_head=cpu"} << 1 << QStringList{"fifo-plan.mizan.json", "named pipe"} << QStringList{};
        QTest::newRow("checkpoint is a FIFO") << QStringList{"inspect", "@fifo.safetensors"} << 1 << QStringList{"fifo.safetensors", "named pipe"} << QStringList{};

        QTest::newRow("map links to /dev/zero") << QStringList{"validate", "@demo", "@zero-map.json"} << 1 << QStringList{"zero-map.json", "character device"} << QStringList{"bad_alloc"};
        QTest::newRow("map of 300 MiB") << QStringList{"validate", "@demo", "@huge-map.json"} << 1 << QStringList{"huge-map.json", "314572800 bytes", "a device map"} << QStringList{};
        QTest::newRow("symbolic link loop") << QStringList{"inspect", "@loop-a"} << 1 << QStringList{"loop-a", "symbolic link loop"} << QStringList{"no such file"};
        QTest::newRow("folder named config.json") << QStringList{"inspect", "@folder-config"} << 1 << QStringList{"config.json", "is a folder"} << QStringList{"no model.safetensors"};
        QTest::newRow("number beyond a double") << QStringList{"validate", "@demo", "@overflow-map.json"} << 1 << QStringList{"overflow-map.json", "number overflow"} << QStringList{"json.exception"};

        QTest::newRow("plan field of the wrong type") << QStringList{"validate", "@demo", "@plan-string-budget.json"} << 1 << QStringList{"plan-string-budget.json", "devices[0].budget_bytes", "a string"} << QStringList{"type_error", "json.exception"};
        QTest::newRow("plan budget -1") << QStringList{"validate", "@demo", "@plan-negative-budget.json"} << 1 << QStringList{"devices[0].budget_bytes", "below 0"} << QStringList{};
        QTest::newRow("plan budget beyond int64") << QStringList{"validate", "@demo", "@plan-huge-budget.json"} << 1 << QStringList{"devices[0].budget_bytes", "18446744073709551615"} << QStringList{};
        QTest::newRow("plan label a number") << QStringList{"edit", "@demo", "@plan-label-number.json", "--move", "lm_head=cpu"} << 1 << QStringList{"devices[0].label", "a string"} << QStringList{"type_error"};
        QTest::newRow("plan pins an object") << QStringList{"validate", "@demo", "@plan-pins-object.json"} << 1 << QStringList{"\"pins\" must be an array", "an object"} << QStringList{};

        QTest::newRow("tensor named \"\"") << QStringList{"plan", "@empty-name.safetensors", "--max-memory", mm} << 1 << QStringList{"empty-name.safetensors", "is empty"} << QStringList{"16 B"};
        QTest::newRow("tensor name with an empty part") << QStringList{"inspect", "@double-dot.safetensors"} << 1 << QStringList{"model..weight", "empty part"} << QStringList{};
        QTest::newRow("num_hidden_layers 3.5") << QStringList{"inspect", "@layers-fraction"} << 1 << QStringList{"layers-fraction/config.json", "num_hidden_layers", "3.5"} << QStringList{};
        QTest::newRow("num_hidden_layers true") << QStringList{"plan", "@layers-bool", "--max-memory", mm} << 1 << QStringList{"num_hidden_layers", "true"} << QStringList{};
        QTest::newRow("num_key_value_heads 0") << QStringList{"inspect", "@kv-zero"} << 1 << QStringList{"num_key_value_heads", "from 1"} << QStringList{};
        QTest::newRow("vocab_size a string") << QStringList{"inspect", "@vocab-string"} << 1 << QStringList{"vocab_size", "a string"} << QStringList{};
        QTest::newRow("make-demo --layers 0") << QStringList{"make-demo", "@no-layers", "--layers", "0"} << 2 << QStringList{"--layers", "at least 1"} << QStringList{};
        QTest::newRow("make-demo --hidden 0") << QStringList{"make-demo", "@no-width", "--hidden", "0"} << 2 << QStringList{"--hidden", "at least 1"} << QStringList{};

        QTest::newRow("move a name that is nothing") << QStringList{"edit", "@demo", "@map.json", "--move", "model.lay=0"} << 1 << QStringList{"\"model.lay\" is not a module"} << QStringList{"tensor"};
        QTest::newRow("move without =") << QStringList{"edit", "@demo", "@map.json", "--move", "model.layers.0"} << 2 << QStringList{"expected NAME=DEVICE"} << QStringList{"pin"};
    }

    void refusedCleanly()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QStringList, words);
        QFETCH(QStringList, absent);
        for (QString &a : args)
            if (a.startsWith('@'))
                a = at(a.mid(1));
        const test::CliRun r = test::runCli(args, 30000);
        QVERIFY2(r.exitCode != -1, "mizan-cli did not finish within 30 s");
        QVERIFY2(r.exitCode != -2, qPrintable("mizan-cli crashed: " + r.errText()));
        QVERIFY2(r.exitCode == exitCode, qPrintable(QStringLiteral("exit %1, expected %2: %3").arg(r.exitCode).arg(exitCode).arg(r.errText())));
        const QString err = r.errText();
        for (const QString &w : words)
            QVERIFY2(err.contains(w), qPrintable("\"" + w + "\" not in: " + err));
        const QString message = err.section('\n', 0, 0); // the usage text that follows may name anything
        for (const QString &w : absent)
            QVERIFY2(!message.contains(w), qPrintable("\"" + w + "\" in: " + message));
        QVERIFY2(err.size() < 4000, "the message repeats the input instead of naming it");
    }
};

QTEST_GUILESS_MAIN(TestHostile)
#include "tst_hostile.moc"
