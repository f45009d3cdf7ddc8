// loader::open(): sharded indexes and their inconsistencies, directory resolution, config.json,
// progress and cancellation, and a 405B-shaped sparse checkpoint.

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "planner/error.h"
#include "planner/jsonfile.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>
#include <thread>

using namespace mizan;
using mizan::test::errorOf;
using namespace mizan::loader;

Q_DECLARE_METATYPE(mizan::ErrorKind)

namespace {

WriteTensor tensor(std::string name, DType dtype, std::vector<std::int64_t> shape)
{
    WriteTensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.filler = [seed = t.name.size()](std::int64_t offset, std::span<std::byte> chunk) {
        for (std::size_t i = 0; i < chunk.size(); ++i)
            chunk[i] = static_cast<std::byte>((offset + static_cast<std::int64_t>(i) + seed) & 0xff);
    };
    return t;
}

// A small LLaMA-like tensor list in execution order (not alphabetical).
std::vector<WriteTensor> smallModel(int layers = 3)
{
    std::vector<WriteTensor> out;
    out.push_back(tensor("model.embed_tokens.weight", DType::F16, {64, 16}));
    for (int i = 0; i < layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        out.push_back(tensor(p + "self_attn.q_proj.weight", DType::F16, {16, 16}));
        out.push_back(tensor(p + "mlp.up_proj.weight", DType::F16, {32, 16}));
        out.push_back(tensor(p + "input_layernorm.weight", DType::F32, {16}));
    }
    out.push_back(tensor("model.norm.weight", DType::F32, {16}));
    out.push_back(tensor("lm_head.weight", DType::F16, {64, 16}));
    return out;
}

std::vector<std::string> names(const std::vector<WriteTensor> &tensors)
{
    std::vector<std::string> out;
    for (const auto &t : tensors)
        out.push_back(t.name);
    return out;
}

std::vector<std::string> names(const Catalog &catalog)
{
    std::vector<std::string> out;
    for (const auto &t : catalog.tensors)
        out.push_back(t.name);
    return out;
}

std::string path(const QTemporaryDir &dir, const QString &name)
{
    return dir.filePath(name).toStdString();
}

void writeText(const std::string &file, const std::string &text)
{
    QFile f(QString::fromStdString(file));
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", file.c_str());
    f.write(text.data(), static_cast<qint64>(text.size()));
}

const char *kConfig = R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","torch_dtype":"bfloat16",
"tie_word_embeddings":false,"hidden_size":16})";

// Writes smallModel() as 3 shards + index (+ config.json) into `dir`.
WrittenCheckpoint writeSharded(const QString &dir, bool withConfig = true)
{
    QDir().mkpath(dir);
    ShardOptions options;
    options.shardCount = 3;
    const auto written = writeShardedSafetensors(dir.toStdString(), smallModel(), options);
    if (withConfig)
        writeText((dir + "/config.json").toStdString(), kConfig);
    return written;
}

using Mutation = std::function<void(const QString &dir)>;

} // namespace

Q_DECLARE_METATYPE(Mutation)

class TestCheckpoint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyNoteRendersInEnglish_data()
    {
        QTest::addColumn<int>("id");
        for (int i = 0; i < static_cast<int>(NoteId::Count); ++i)
            QTest::newRow(planner::messageName(static_cast<NoteId>(i))) << i;
    }
    void everyNoteRendersInEnglish()
    {
        QFETCH(int, id);
        const QString problem = test::englishProblems(static_cast<NoteId>(id));
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        const QStringList bad = test::badMessageNames<NoteId>();
        QVERIFY2(bad.isEmpty(), qPrintable(bad.join(", ")));
    }

    void opensShardedCheckpointInIndexOrder()
    {
        QTemporaryDir dir;
        const auto written = writeSharded(dir.path());
        QCOMPARE(written.shards.size(), std::size_t(3));
        for (const std::string &p : {dir.path().toStdString(), written.indexPath}) {
            const Checkpoint cp = open(p);
            QCOMPARE(cp.format, Format::ShardedSafetensors);
            QCOMPARE(names(cp.catalog), names(smallModel()));
            QCOMPARE(cp.catalog.shards.size(), std::size_t(3));
            QCOMPARE(cp.catalog.shards[0].fileName, std::string("model-00001-of-00003.safetensors"));
            QCOMPARE(cp.catalog.totalBytes(), written.totalBytes);
            QCOMPARE(cp.catalog.tensors.front().shard, 0);
            QCOMPARE(cp.catalog.tensors.back().shard, 2);
            QVERIFY(cp.configPath.has_value());
            QCOMPARE(cp.configInfo.modelType, std::string("llama"));
            QVERIFY(cp.warnings.empty());
            // Each entry points at the right bytes of its shard.
            const auto &t = cp.catalog.tensors[cp.catalog.find("model.layers.1.mlp.up_proj.weight")];
            const auto bytes = cp.tensorBytes(t);
            QCOMPARE(bytes.size(), std::size_t(32 * 16 * 2));
            const auto seed = t.name.size();
            for (std::size_t i = 0; i < bytes.size(); i += 97)
                QCOMPARE(bytes[i], static_cast<std::byte>((i + seed) & 0xff));
        }
    }

    void rejectsInconsistentIndexes_data()
    {
        QTest::addColumn<Mutation>("mutate");
        QTest::addColumn<mizan::ErrorKind>("kind");
        QTest::addColumn<QStringList>("needles");

        auto editIndex = [](std::function<void(nlohmann::ordered_json &)> edit) {
            return Mutation([edit](const QString &dir) {
                const std::string index = (dir + "/model.safetensors.index.json").toStdString();
                auto j = planner::readJsonFile(index, mizan::InputKind::SafetensorsIndex);
                edit(j);
                writeText(index, j.dump(2));
            });
        };
        QTest::newRow("missing shard")
            << Mutation([](const QString &dir) { QFile::remove(dir + "/model-00002-of-00003.safetensors"); })
            << ErrorKind::MissingShard
            << QStringList{"shard \"model-00002-of-00003.safetensors\" is missing", "model.layers."};
        QTest::newRow("tensor missing from its shard")
            << editIndex([](auto &j) { j["weight_map"]["model.ghost.weight"] = "model-00001-of-00003.safetensors"; })
            << ErrorKind::IndexMismatch
            << QStringList{"1 tensor(s) of the index missing", "model.ghost.weight (in model-00001-of-00003.safetensors)"};
        QTest::newRow("extra tensor in a shard")
            << editIndex([](auto &j) { j["weight_map"].erase("model.norm.weight"); })
            << ErrorKind::IndexMismatch << QStringList{"in a shard but not mapped", "model.norm.weight"};
        QTest::newRow("tensor mapped to the wrong shard")
            << editIndex([](auto &j) { j["weight_map"]["lm_head.weight"] = "model-00001-of-00003.safetensors"; })
            << ErrorKind::IndexMismatch
            << QStringList{"lm_head.weight (in model-00001-of-00003.safetensors)", "lm_head.weight (in model-00003-of-00003.safetensors)"};
        QTest::newRow("many missing names are capped")
            << editIndex([](auto &j) {
                   for (int i = 0; i < 20; ++i)
                       j["weight_map"]["ghost." + std::to_string(i)] = "model-00003-of-00003.safetensors";
               })
            << ErrorKind::IndexMismatch << QStringList{"20 tensor(s)", "and 12 more"};
        QTest::newRow("wrong total_size")
            << editIndex([](auto &j) { j["metadata"]["total_size"] = 12345; })
            << ErrorKind::IndexMismatch << QStringList{"total_size is 12345", "tensors hold"};
        QTest::newRow("negative total_size")
            << editIndex([](auto &j) { j["metadata"]["total_size"] = -1; })
            << ErrorKind::InvalidHeader << QStringList{"total_size is -1"};
        QTest::newRow("bad JSON")
            << Mutation([](const QString &dir) { writeText((dir + "/model.safetensors.index.json").toStdString(), "{\"weight_map\": {\"a\": }"); })
            << ErrorKind::InvalidJson << QStringList{"invalid JSON at byte 21"};
        QTest::newRow("weight_map not an object")
            << editIndex([](auto &j) { j["weight_map"] = nlohmann::ordered_json::array(); })
            << ErrorKind::InvalidHeader << QStringList{"no \"weight_map\" object"};
        QTest::newRow("empty weight_map")
            << editIndex([](auto &j) { j["weight_map"] = nlohmann::ordered_json::object(); })
            << ErrorKind::InvalidHeader << QStringList{"empty"};
        QTest::newRow("shard name not a string")
            << editIndex([](auto &j) { j["weight_map"]["lm_head.weight"] = 3; })
            << ErrorKind::InvalidHeader << QStringList{"\"lm_head.weight\" is 3"};
        QTest::newRow("shard outside the folder")
            << editIndex([](auto &j) { j["weight_map"]["lm_head.weight"] = "../model-00003-of-00003.safetensors"; })
            << ErrorKind::InvalidHeader << QStringList{"inside the checkpoint folder"};
        QTest::newRow("duplicate weight_map key")
            << Mutation([](const QString &dir) {
                   writeText((dir + "/model.safetensors.index.json").toStdString(),
                             R"({"weight_map":{"a":"model-00001-of-00003.safetensors","a":"model-00002-of-00003.safetensors"}})");
               })
            << ErrorKind::InvalidHeader << QStringList{"duplicate key \"a\" in \"weight_map\""};
        QTest::newRow("corrupt shard")
            << Mutation([](const QString &dir) {
                   QFile f(dir + "/model-00003-of-00003.safetensors");
                   QVERIFY(f.open(QIODevice::ReadWrite));
                   f.resize(f.size() - 1);
               })
            << ErrorKind::Truncated << QStringList{"model-00003-of-00003.safetensors", "1 bytes missing"};
    }
    void rejectsInconsistentIndexes()
    {
        QFETCH(Mutation, mutate);
        QFETCH(mizan::ErrorKind, kind);
        QFETCH(QStringList, needles);
        QTemporaryDir dir;
        writeSharded(dir.path());
        mutate(dir.path());
        const auto error = errorOf([&] { open(dir.path().toStdString()); });
        QVERIFY2(error.has_value(), "no error thrown");
        QVERIFY2(error->kind() == kind, qPrintable(QStringLiteral("kind %1, expected %2: %3")
                                                      .arg(toString(error->kind()), toString(kind), error->what())));
        for (const QString &needle : needles)
            QVERIFY2(QString::fromUtf8(error->what()).contains(needle), error->what());
        if (kind != ErrorKind::Truncated)
            QVERIFY(QString::fromStdString(error->file()).endsWith("model.safetensors.index.json"));
    }

    void totalSizeAcceptsTransformersBoolCounting()
    {
        // Older transformers counted bool tensors as 1/8 byte per element in total_size.
        QTemporaryDir dir;
        std::vector<WriteTensor> tensors{tensor("a", DType::F32, {4}), tensor("mask", DType::Bool, {16})};
        ShardOptions options;
        options.shardCount = 2;
        const auto written = writeShardedSafetensors(dir.path().toStdString(), tensors, options);
        auto j = planner::readJsonFile(written.indexPath, mizan::InputKind::SafetensorsIndex);
        j["metadata"]["total_size"] = 16 + 2;
        writeText(written.indexPath, j.dump());
        QCOMPARE(open(dir.path().toStdString()).catalog.totalBytes(), std::int64_t(32));
        j["metadata"]["total_size"] = 16 + 3;
        writeText(written.indexPath, j.dump());
        QCOMPARE(errorOf([&] { open(dir.path().toStdString()); })->kind(), ErrorKind::IndexMismatch);
    }

    void resolvesPaths_data()
    {
        QTest::addColumn<Mutation>("setup");  // builds files in the folder
        QTest::addColumn<QString>("target");  // relative path to open ("" = the folder)
        QTest::addColumn<int>("format");      // expected Format, or -1 for an error
        QTest::addColumn<mizan::ErrorKind>("kind");
        QTest::addColumn<int>("tensors");
        QTest::addColumn<bool>("config");

        const Mutation single = [](const QString &dir) {
            writeSafetensors((dir + "/model.safetensors").toStdString(), smallModel(1));
        };
        const Mutation singleOther = [](const QString &dir) {
            writeSafetensors((dir + "/weights.safetensors").toStdString(), smallModel(1));
        };
        const Mutation config = [](const QString &dir) { writeText((dir + "/config.json").toStdString(), kConfig); };
        const Mutation sharded = [](const QString &dir) { writeSharded(dir, false); };
        auto both = [](Mutation a, Mutation b) { return Mutation([a, b](const QString &d) { a(d); b(d); }); };
        const int modelTensors = int(smallModel().size());
        const int oneLayer = int(smallModel(1).size());
        const auto none = ErrorKind::Io;

        QTest::newRow("folder: model.safetensors + config") << both(single, config) << "" << int(Format::Safetensors)
                                                            << none << oneLayer << true;
        QTest::newRow("folder: index") << sharded << "" << int(Format::ShardedSafetensors) << none << modelTensors << false;
        QTest::newRow("folder: index + config") << both(sharded, config) << "" << int(Format::ShardedSafetensors)
                                                << none << modelTensors << true;
        QTest::newRow("folder: one other .safetensors") << singleOther << "" << int(Format::Safetensors) << none
                                                        << oneLayer << false;
        QTest::newRow("folder: model.safetensors wins over an index")
            << both(sharded, single) << "" << int(Format::Safetensors) << none << oneLayer << false;
        QTest::newRow("folder: config only") << config << "" << int(Format::ConfigOnly) << none << 0 << true;
        QTest::newRow("folder: empty") << Mutation([](const QString &) {}) << "" << -1 << ErrorKind::UnsupportedFormat
                                       << 0 << false;
        QTest::newRow("folder: several indexes")
            << Mutation([](const QString &dir) {
                   ShardOptions a;
                   a.shardCount = 1;
                   a.prefix = "first";
                   writeShardedSafetensors(dir.toStdString(), smallModel(1), a);
                   a.prefix = "second";
                   writeShardedSafetensors(dir.toStdString(), smallModel(1), a);
               })
            << "" << -1 << ErrorKind::UnsupportedFormat << 0 << false;
        QTest::newRow("folder: one index under another name")
            << Mutation([](const QString &dir) {
                   ShardOptions a;
                   a.shardCount = 2;
                   a.prefix = "consolidated";
                   writeShardedSafetensors(dir.toStdString(), smallModel(1), a);
               })
            << "" << int(Format::ShardedSafetensors) << none << oneLayer << false;
        QTest::newRow("folder: several files, no index")
            << both(singleOther, [](const QString &dir) {
                   writeSafetensors((dir + "/extra.safetensors").toStdString(), smallModel(1));
               })
            << "" << -1 << ErrorKind::UnsupportedFormat << 0 << false;
        QTest::newRow("folder: several .bin files, no index")
            << Mutation([](const QString &dir) {
                   writeText((dir + "/a.bin").toStdString(), "PK");
                   writeText((dir + "/b.bin").toStdString(), "PK");
               })
            << "" << -1 << ErrorKind::UnsupportedFormat << 0 << false;
        QTest::newRow("file: .safetensors + config beside") << both(singleOther, config) << "weights.safetensors"
                                                            << int(Format::Safetensors) << none << oneLayer << true;
        QTest::newRow("file: index") << sharded << "model.safetensors.index.json" << int(Format::ShardedSafetensors)
                                     << none << modelTensors << false;
        QTest::newRow("file: config.json") << both(single, config) << "config.json" << int(Format::ConfigOnly)
                                           << none << 0 << true;
        QTest::newRow("file: index under a plain .json name")
            << Mutation([](const QString &dir) {
                   writeSharded(dir, false);
                   QFile::rename(dir + "/model.safetensors.index.json", dir + "/weights.json");
               })
            << "weights.json" << int(Format::ShardedSafetensors) << none << modelTensors << false;
        QTest::newRow("missing path") << Mutation([](const QString &) {}) << "nothing.safetensors" << -1
                                      << ErrorKind::NotFound << 0 << false;
        QTest::newRow("file of another kind")
            << Mutation([](const QString &dir) { writeText((dir + "/notes.txt").toStdString(), "hi"); })
            << "notes.txt" << -1 << ErrorKind::UnsupportedFormat << 0 << false;
    }
    void resolvesPaths()
    {
        QFETCH(Mutation, setup);
        QFETCH(QString, target);
        QFETCH(int, format);
        QFETCH(mizan::ErrorKind, kind);
        QFETCH(int, tensors);
        QFETCH(bool, config);
        QTemporaryDir dir;
        setup(dir.path());
        const std::string p = target.isEmpty() ? dir.path().toStdString() : path(dir, target);
        if (format < 0) {
            const auto error = errorOf([&] { open(p); });
            QVERIFY2(error.has_value(), "no error thrown");
            QVERIFY2(error->kind() == kind, error->what());
            QCOMPARE(error->file(), p);
            qInfo("%s", error->what());
            return;
        }
        const Checkpoint cp = open(p);
        QCOMPARE(int(cp.format), format);
        QCOMPARE(int(cp.catalog.tensors.size()), tensors);
        QCOMPARE(cp.hasWeights(), format != int(Format::ConfigOnly));
        QCOMPARE(cp.configPath.has_value(), config);
        QCOMPARE(cp.config.is_object(), config);
        QCOMPARE(cp.path, p);
        QCOMPARE(cp.directory, dir.path().toStdString());
    }

    void readsConfigFields_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QStringList>("architectures");
        QTest::addColumn<QString>("modelType");
        QTest::addColumn<int>("dtype");     // -1: absent
        QTest::addColumn<int>("tie");       // -1: absent, 0/1
        QTest::newRow("llama") << QString(kConfig) << QStringList{"LlamaForCausalLM"} << "llama" << int(DType::BF16) << 0;
        QTest::newRow("v5 dtype key") << R"({"model_type":"qwen2","dtype":"float16","tie_word_embeddings":true})"
                                      << QStringList{} << "qwen2" << int(DType::F16) << 1;
        QTest::newRow("torch. prefix") << R"({"torch_dtype":"torch.float32"})" << QStringList{} << "" << int(DType::F32) << -1;
        QTest::newRow("nulls are absent") << R"({"architectures":null,"torch_dtype":null,"tie_word_embeddings":null})"
                                          << QStringList{} << "" << -1 << -1;
        QTest::newRow("empty") << "{}" << QStringList{} << "" << -1 << -1;
        QTest::newRow("two architectures") << R"({"architectures":["A","B"]})" << QStringList{"A", "B"} << "" << -1 << -1;
    }
    void readsConfigFields()
    {
        QFETCH(QString, json);
        QFETCH(QStringList, architectures);
        QFETCH(QString, modelType);
        QFETCH(int, dtype);
        QFETCH(int, tie);
        QTemporaryDir dir;
        writeText(path(dir, "config.json"), json.toStdString());
        const Checkpoint cp = open(path(dir, "config.json"));
        QCOMPARE(cp.format, Format::ConfigOnly);
        QStringList got;
        for (const auto &a : cp.configInfo.architectures)
            got << QString::fromStdString(a);
        QCOMPARE(got, architectures);
        QCOMPARE(QString::fromStdString(cp.configInfo.modelType), modelType);
        QCOMPARE(cp.configInfo.torchDtype ? int(*cp.configInfo.torchDtype) : -1, dtype);
        QCOMPARE(cp.configInfo.tieWordEmbeddings ? int(*cp.configInfo.tieWordEmbeddings) : -1, tie);
        // The raw object is kept in file order.
        QCOMPARE(cp.config.dump(), nlohmann::ordered_json::parse(json.toStdString()).dump());
    }

    void rejectsBadConfigs_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("needle");
        QTest::newRow("syntax") << "{\"model_type\": llama}" << "invalid JSON at byte 15";
        QTest::newRow("not an object") << "[1]" << "expected a JSON object";
        QTest::newRow("architectures not a list") << R"({"architectures":"Llama"})" << "expected a list";
        QTest::newRow("architecture not a name") << R"({"architectures":[1]})" << "expected names";
        QTest::newRow("model_type not a string") << R"({"model_type":3})" << "\"model_type\" is 3";
        QTest::newRow("unknown dtype") << R"({"torch_dtype":"float7"})" << "unknown torch_dtype \"float7\"";
        QTest::newRow("tie not a bool") << R"({"tie_word_embeddings":"yes"})" << "expected true or false";
    }
    void rejectsBadConfigs()
    {
        QFETCH(QString, json);
        QFETCH(QString, needle);
        QTemporaryDir dir;
        writeText(path(dir, "config.json"), json.toStdString());
        // Both as the file itself and found in a folder next to weights.
        for (const std::string &p : {path(dir, "config.json"), dir.path().toStdString()}) {
            const auto error = errorOf([&] { open(p); });
            QVERIFY(error.has_value());
            QCOMPARE(error->kind(), ErrorKind::InvalidConfig);
            QCOMPARE(error->file(), path(dir, "config.json"));
            QVERIFY2(QString::fromStdString(error->message()).contains(needle), error->what());
        }
    }

    void reportsProgressPerShardAndCancels()
    {
        QTemporaryDir dir;
        writeSharded(dir.path());
        std::vector<std::pair<int, int>> calls;
        OpenOptions options;
        options.progress = [&](int done, int total) {
            calls.emplace_back(done, total);
            return true;
        };
        open(dir.path().toStdString(), options);
        QCOMPARE(calls, (std::vector<std::pair<int, int>>{{1, 3}, {2, 3}, {3, 3}}));

        calls.clear();
        options.progress = [&](int done, int total) {
            calls.emplace_back(done, total);
            return done < 2;
        };
        const auto error = errorOf([&] { open(dir.path().toStdString(), options); });
        QVERIFY(error.has_value());
        QCOMPARE(error->kind(), ErrorKind::Cancelled);
        QCOMPARE(calls.size(), std::size_t(2));

        calls.clear();
        options.progress = [&](int done, int total) {
            calls.emplace_back(done, total);
            return true;
        };
        open(path(dir, "model-00001-of-00003.safetensors"), options);
        QCOMPARE(calls, (std::vector<std::pair<int, int>>{{1, 1}}));
    }

    void mapsShardsOnceAcrossThreads()
    {
        QTemporaryDir dir;
        writeSharded(dir.path());
        const Checkpoint cp = open(dir.path().toStdString());
        const std::size_t n = cp.catalog.tensors.size();
        std::vector<std::vector<const std::byte *>> seen(4, std::vector<const std::byte *>(n));
        std::vector<std::thread> threads;
        for (std::size_t k = 0; k < seen.size(); ++k)
            threads.emplace_back([&, k] {
                for (std::size_t i = 0; i < n; ++i) {
                    const std::size_t t = (i + k * 5) % n; // threads start on different shards
                    seen[k][t] = cp.tensorBytes(cp.catalog.tensors[t]).data();
                }
            });
        for (auto &t : threads)
            t.join();
        for (std::size_t k = 1; k < seen.size(); ++k)
            QCOMPARE(seen[k], seen[0]); // one mapping per shard, shared by every thread
    }

    void collectsMetadataWarningsOnce()
    {
        QTemporaryDir dir;
        ShardOptions options;
        options.shardCount = 3;
        options.write.metadata = {{"format", "mlx"}};
        writeShardedSafetensors(dir.path().toStdString(), smallModel(), options);
        const Checkpoint cp = open(dir.path().toStdString());
        QCOMPARE(cp.warnings.size(), std::size_t(1)); // one line naming the three shards
        const QString warning = QString::fromStdString(cp.warnings[0]);
        QVERIFY2(warning.contains("format is \"mlx\"") && warning.contains("in 3 shards")
                     && warning.contains("\"model-00002-of-00003.safetensors\""),
                 cp.warnings[0].c_str());
        QCOMPARE(cp.catalog.shards[1].metadata["format"].get<std::string>(), std::string("mlx"));
        // The same note structured: the format, how many shards, their names (the GUI translates it).
        const std::vector<std::string> shardNames = {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                                     "model-00003-of-00003.safetensors"};
        QCOMPARE(cp.notes.size(), std::size_t(1));
        QVERIFY(cp.notes[0] == (loader::Note{loader::NoteId::MetadataFormatNotPtInShards,
                                                 {std::string("mlx"), std::int64_t{3}, shardNames}}));
        QCOMPARE(cp.warnings[0], std::string("__metadata__ format is \"mlx\", not \"pt\"; the tensors may not be PyTorch layouts (in 3 shards: "
                                             "\"model-00001-of-00003.safetensors\", \"model-00002-of-00003.safetensors\", "
                                             "\"model-00003-of-00003.safetensors\")"));
        QCOMPARE(planner::toEnglish(cp.notes[0]), cp.warnings[0]);
    }

    void namesTheFirstShardsOfANote()
    {
        // One shard per tensor, none with a "format": the note names the first 8 and counts the rest.
        QTemporaryDir dir;
        ShardOptions options;
        options.maxShardBytes = 1;
        options.write.metadata = {{"source", "test"}};
        writeShardedSafetensors(dir.path().toStdString(), smallModel(), options);
        const Checkpoint cp = open(dir.path().toStdString());
        const auto shards = static_cast<std::int64_t>(cp.catalog.shards.size());
        QCOMPARE(shards, std::int64_t(smallModel().size()));
        std::vector<std::string> first;
        for (int s = 0; s < 8; ++s)
            first.push_back(cp.catalog.shards[s].fileName);
        QCOMPARE(cp.notes.size(), std::size_t(1));
        QVERIFY(cp.notes[0] == (loader::Note{loader::NoteId::MetadataNoFormatInShardsMore, {shards, first, shards - 8}}));
        QCOMPARE(cp.warnings, std::vector<std::string>{planner::toEnglish(cp.notes[0])});
        const std::string tail = "\"" + first.back() + "\" and " + std::to_string(shards - 8) + " more)";
        QVERIFY2(cp.warnings[0].starts_with("__metadata__ has no \"format\" (transformers expects \"pt\") (in "
                                            + std::to_string(shards) + " shards: \"" + first.front() + "\", ")
                     && cp.warnings[0].ends_with(tail),
                 cp.warnings[0].c_str());
    }

    void brokenBinBesideConfigNamesTheBin()
    {
        // config.json with a PyTorch .bin that is no archive: the weights are what the folder is
        // opened for, so the error names the .bin, not the config.
        QTemporaryDir dir;
        writeText((dir.path() + "/config.json").toStdString(), kConfig);
        writeText((dir.path() + "/pytorch_model.bin").toStdString(), "PK");
        const auto e = errorOf([&] { open(dir.path().toStdString()); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::UnsupportedFormat);
        QVERIFY(e->file().ends_with("/pytorch_model.bin"));
    }

    // Llama-3.1-405B's shapes in 191 sparse shards: opening reads headers only.
    void opensSparse405BShapedCheckpoint()
    {
        QTemporaryDir dir;
        const std::int64_t hidden = 16384, inter = 53248, vocab = 128256, kv = 1024;
        std::vector<WriteTensor> tensors;
        auto add = [&](std::string name, std::vector<std::int64_t> shape) {
            WriteTensor t;
            t.name = std::move(name);
            t.dtype = DType::BF16;
            t.shape = std::move(shape);
            tensors.push_back(std::move(t));
        };
        add("model.embed_tokens.weight", {vocab, hidden});
        for (int i = 0; i < 126; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            add(p + "input_layernorm.weight", {hidden});
            add(p + "self_attn.q_proj.weight", {hidden, hidden});
            add(p + "self_attn.k_proj.weight", {kv, hidden});
            add(p + "self_attn.v_proj.weight", {kv, hidden});
            add(p + "self_attn.o_proj.weight", {hidden, hidden});
            add(p + "post_attention_layernorm.weight", {hidden});
            add(p + "mlp.gate_proj.weight", {inter, hidden});
            add(p + "mlp.up_proj.weight", {inter, hidden});
            add(p + "mlp.down_proj.weight", {hidden, inter});
        }
        add("model.norm.weight", {hidden});
        add("lm_head.weight", {vocab, hidden});
        ShardOptions options;
        options.shardCount = 191;
        options.write.sparse = true;
        const auto written = writeShardedSafetensors(dir.path().toStdString(), tensors, options);
        QCOMPARE(written.shards.size(), std::size_t(191));
        QVERIFY(written.totalBytes > std::int64_t(800) * 1000 * 1000 * 1000);

        QElapsedTimer timer;
        timer.start();
        const Checkpoint cp = open(dir.path().toStdString());
        const qint64 elapsedMs = timer.elapsed();
        qInfo("opened %zu tensors in %zu shards (%lld bytes) in %lld ms", cp.catalog.tensors.size(),
              cp.catalog.shards.size(), static_cast<long long>(cp.catalog.totalBytes()), elapsedMs);
        QCOMPARE(cp.catalog.tensors.size(), tensors.size());
        QCOMPARE(cp.catalog.totalBytes(), written.totalBytes);
        QCOMPARE(names(cp.catalog), names(tensors));
        QCOMPARE(cp.catalog.shards.size(), std::size_t(191));
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
