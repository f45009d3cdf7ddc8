// Accelerate offload folders (loader/offloadfolder.h): a checkpoint's tensors written into a folder
// and read back byte for byte (float32, float16, bfloat16, int64, bool, a 0-d tensor, an empty
// one), index.json merged with an existing one, and folders that are wrong in every way a file
// can be: each a clear error naming the file. Torch-free, so it runs in the sanitizer stage.

#include "loader/checkpoint.h"
#include "loader/offloadfolder.h"
#include "loader/safetensorswriter.h"
#include "planner/error.h"
#include "planner/jsonfile.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <functional>

using namespace mizan;
using namespace mizan::loader;
using mizan::test::errorOf;

namespace {

WriteTensor tensor(std::string name, DType dtype, std::vector<std::int64_t> shape)
{
    WriteTensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.filler = [seed = t.name.size() * 7](std::int64_t offset, std::span<std::byte> chunk) {
        for (std::size_t i = 0; i < chunk.size(); ++i)
            chunk[i] = static_cast<std::byte>((offset + static_cast<std::int64_t>(i) * 13 + static_cast<std::int64_t>(seed)) & 0xff);
    };
    if (dtype == DType::Bool) // a bool byte is 0 or 1
        t.filler = [](std::int64_t offset, std::span<std::byte> chunk) {
            for (std::size_t i = 0; i < chunk.size(); ++i)
                chunk[i] = static_cast<std::byte>((offset + static_cast<std::int64_t>(i)) % 3 == 0);
        };
    return t;
}

std::vector<WriteTensor> demoTensors()
{
    return {tensor("model.embed_tokens.weight", DType::F16, {32, 8}),
            tensor("model.layers.0.self_attn.q_proj.weight", DType::BF16, {8, 8}),
            tensor("model.layers.0.mlp.up_proj.weight", DType::F32, {16, 8}),
            tensor("model.layers.0.position_ids", DType::I64, {1, 12}),
            tensor("model.layers.0.mask", DType::Bool, {4, 4}),
            tensor("model.layers.0.scale", DType::F32, {}),
            tensor("model.layers.0.empty", DType::F16, {0, 8}),
            tensor("lm_head.weight", DType::F64, {32, 8})};
}

// A safetensors checkpoint of demoTensors() in `dir`, opened.
Checkpoint writeSource(const QString &dir)
{
    QDir().mkpath(dir);
    writeSafetensors((dir + "/model.safetensors").toStdString(), demoTensors());
    return open(dir.toStdString());
}

std::vector<std::string> namesOf(const Catalog &catalog)
{
    std::vector<std::string> out;
    for (const auto &t : catalog.tensors)
        out.push_back(t.name);
    return out;
}

void writeText(const QString &file, const std::string &text)
{
    QFile f(file);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(file));
    f.write(text.data(), static_cast<qint64>(text.size()));
}

// Compares the folder's tensors with the checkpoint's: names, dtypes, shapes and bytes.
QString sameTensors(const Checkpoint &folder, const Checkpoint &source, const std::vector<std::string> &names)
{
    for (const auto &name : names) {
        const int i = folder.catalog.find(name);
        const int j = source.catalog.find(name);
        if (i < 0 || j < 0)
            return QString::fromStdString("missing " + name);
        const TensorEntry &a = folder.catalog.tensors[static_cast<std::size_t>(i)];
        const TensorEntry &b = source.catalog.tensors[static_cast<std::size_t>(j)];
        if (a.dtype != b.dtype || a.shape != b.shape || a.byteSize != b.byteSize)
            return QString::fromStdString(name + ": dtype, shape or size differ");
        const auto x = folder.tensorBytes(a);
        const auto y = source.tensorBytes(b);
        if (x.size() != y.size() || (!x.empty() && std::memcmp(x.data(), y.data(), x.size()) != 0))
            return QString::fromStdString(name + ": bytes differ");
    }
    return {};
}

using Mutation = std::function<void(const QString &folder)>;

} // namespace

Q_DECLARE_METATYPE(Mutation)
Q_DECLARE_METATYPE(mizan::ErrorKind)

class TestOffload : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip()
    {
        QTemporaryDir tmp;
        const Checkpoint source = writeSource(tmp.filePath("ckpt"));
        const QString folder = tmp.filePath("offload");
        const auto names = namesOf(source.catalog);
        QVERIFY(offloadIndexPath(folder.toStdString()).empty());
        const OffloadWritten written = writeOffloadFolder(folder.toStdString(), source, names);
        QCOMPARE(written.tensors, std::int64_t(names.size()));
        QCOMPARE(written.bytes, source.catalog.totalBytes());
        QCOMPARE(offloadIndexPath(folder.toStdString()), written.indexPath);

        const Checkpoint back = openOffloadFolder(folder.toStdString());
        QCOMPARE(back.format, Format::OffloadFolder);
        QCOMPARE(namesOf(back.catalog), names); // the index keeps the order they were written in
        const QString diff = sameTensors(back, source, names);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // Accelerate's spelling: numpy dtype names, bfloat16 by name, shape [] for a 0-d tensor that
        // is one element on disk; raw files with no header.
        const auto index = planner::readJsonFile(written.indexPath, mizan::InputKind::OffloadIndex);
        QCOMPARE(index["model.layers.0.self_attn.q_proj.weight"]["dtype"].get<std::string>(), std::string("bfloat16"));
        QCOMPARE(index["model.embed_tokens.weight"]["dtype"].get<std::string>(), std::string("float16"));
        QCOMPARE(index["model.layers.0.position_ids"]["dtype"].get<std::string>(), std::string("int64"));
        QCOMPARE(index["model.layers.0.mask"]["dtype"].get<std::string>(), std::string("bool"));
        QVERIFY(index["model.layers.0.scale"]["shape"].is_array() && index["model.layers.0.scale"]["shape"].empty());
        QCOMPARE(QFileInfo(folder + "/model.layers.0.scale.dat").size(), qint64(4));
        QCOMPARE(QFileInfo(folder + "/model.layers.0.empty.dat").size(), qint64(0));
        QCOMPARE(QFileInfo(folder + "/model.layers.0.position_ids.dat").size(), qint64(12 * 8));
        // Nothing left over from the atomic writes.
        const QStringList files = QDir(folder).entryList(QDir::Files | QDir::Hidden);
        QCOMPARE(files.size(), int(names.size()) + 1);
        for (const QString &f : files)
            QVERIFY2(f == "index.json" || f.endsWith(".dat"), qPrintable(f));
    }

    // A second write adds to the index (as Accelerate merges with an existing index.json) and
    // replaces the entries of the tensors written again.
    void indexIsMerged()
    {
        QTemporaryDir tmp;
        const Checkpoint source = writeSource(tmp.filePath("ckpt"));
        const std::string folder = tmp.filePath("offload").toStdString();
        const auto names = namesOf(source.catalog);
        const std::vector<std::string> first(names.begin(), names.begin() + 3);
        const std::vector<std::string> second(names.begin() + 2, names.end());
        writeOffloadFolder(folder, source, first);
        QCOMPARE(namesOf(openOffloadFolder(folder).catalog), first);
        writeOffloadFolder(folder, source, second);
        const Checkpoint back = openOffloadFolder(folder);
        QCOMPARE(namesOf(back.catalog), names);
        const QString diff = sameTensors(back, source, names);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void writeRefusesWhatItCannotWrite()
    {
        QTemporaryDir tmp;
        const Checkpoint source = writeSource(tmp.filePath("ckpt"));
        const std::string folder = tmp.filePath("offload").toStdString();
        const auto unknown = errorOf([&] { writeOffloadFolder(folder, source, {"model.nope.weight"}); });
        QVERIFY(unknown);
        QCOMPARE(unknown->kind(), ErrorKind::NotFound);
        QVERIFY(std::string(unknown->what()).find("model.nope.weight") != std::string::npos);
        QVERIFY(!QFileInfo::exists(QString::fromStdString(folder))); // checked before anything is written

        // An existing index that is not an offload index is never overwritten.
        QDir().mkpath(QString::fromStdString(folder));
        writeText(QString::fromStdString(folder) + "/index.json", "[1, 2]");
        // A file where the folder should be.
        const auto file = errorOf([&] { writeOffloadFolder(folder + "/index.json", source, {"lm_head.weight"}); });
        QVERIFY(file);
        QCOMPARE(file->kind(), ErrorKind::UnsupportedFormat);
        QVERIFY(file->file().ends_with("index.json"));
        const auto notObject = errorOf([&] { writeOffloadFolder(folder, source, {"lm_head.weight"}); });
        QVERIFY(notObject);
        QCOMPARE(notObject->kind(), ErrorKind::InvalidHeader);
        QVERIFY(notObject->file().ends_with("index.json"));
    }

    void corruptFoldersAreClearErrors_data()
    {
        QTest::addColumn<Mutation>("mutate");
        QTest::addColumn<ErrorKind>("kind");
        QTest::addColumn<QString>("file");     // the error's file ends with this
        QTest::addColumn<QString>("mentions"); // and its message says this
        const auto editIndex = [](std::function<void(nlohmann::ordered_json &)> edit) {
            return Mutation([edit](const QString &folder) {
                auto index = planner::readJsonFile((folder + "/index.json").toStdString(), mizan::InputKind::OffloadIndex);
                edit(index);
                writeText(folder + "/index.json", index.dump(2));
            });
        };
        QTest::newRow("bad JSON") << Mutation([](const QString &f) { writeText(f + "/index.json", "{\"lm_head.weight\": {\"dtype\": "); })
                                  << ErrorKind::InvalidJson << "index.json" << "invalid JSON";
        QTest::newRow("index not an object") << Mutation([](const QString &f) { writeText(f + "/index.json", "[]"); })
                                             << ErrorKind::InvalidHeader << "index.json" << "expected an object";
        QTest::newRow("no index") << Mutation([](const QString &f) { QFile::remove(f + "/index.json"); }) << ErrorKind::NotFound
                                  << "index.json" << "no index.json";
        QTest::newRow("unknown dtype") << editIndex([](auto &i) { i["lm_head.weight"]["dtype"] = "float8_e4m3fn"; })
                                       << ErrorKind::UnknownDtype << "index.json" << "lm_head.weight";
        QTest::newRow("dtype not a string") << editIndex([](auto &i) { i["lm_head.weight"]["dtype"] = 4; })
                                            << ErrorKind::InvalidHeader << "index.json" << "lm_head.weight";
        QTest::newRow("negative dimension") << editIndex([](auto &i) { i["lm_head.weight"]["shape"] = {32, -8}; })
                                            << ErrorKind::BadShape << "index.json" << "lm_head.weight";
        QTest::newRow("no shape") << editIndex([](auto &i) { i["lm_head.weight"].erase("shape"); }) << ErrorKind::InvalidHeader
                                  << "index.json" << "shape";
        QTest::newRow("name leaves the folder")
            << editIndex([](auto &i) { i["../lm_head.weight"] = i["lm_head.weight"]; }) << ErrorKind::InvalidHeader << "index.json"
            << "../lm_head.weight";
        QTest::newRow("missing .dat") << Mutation([](const QString &f) { QFile::remove(f + "/model.layers.0.mask.dat"); })
                                      << ErrorKind::MissingShard << "model.layers.0.mask.dat" << "missing";
        QTest::newRow("short .dat") << Mutation([](const QString &f) { QFile::resize(f + "/lm_head.weight.dat", 32 * 8 * 8 - 1); })
                                    << ErrorKind::Truncated << "lm_head.weight.dat" << "2047 bytes";
        QTest::newRow("long .dat") << Mutation([](const QString &f) { QFile::resize(f + "/model.layers.0.scale.dat", 8); })
                                   << ErrorKind::BadShape << "model.layers.0.scale.dat" << "4 bytes";
        QTest::newRow("shape larger than the .dat") << editIndex([](auto &i) { i["model.layers.0.scale"]["shape"] = {2}; })
                                                    << ErrorKind::Truncated << "model.layers.0.scale.dat" << "float32";
        QTest::newRow("a .dat is a folder") << Mutation([](const QString &f) {
            QFile::remove(f + "/model.layers.0.mask.dat");
            QDir().mkpath(f + "/model.layers.0.mask.dat");
        }) << ErrorKind::Io << "model.layers.0.mask.dat" << "";
    }

    void corruptFoldersAreClearErrors()
    {
        QFETCH(Mutation, mutate);
        QFETCH(ErrorKind, kind);
        QFETCH(QString, file);
        QFETCH(QString, mentions);
        QTemporaryDir tmp;
        const Checkpoint source = writeSource(tmp.filePath("ckpt"));
        const QString folder = tmp.filePath("offload");
        writeOffloadFolder(folder.toStdString(), source, namesOf(source.catalog));
        mutate(folder);
        const auto error = errorOf([&] { openOffloadFolder(folder.toStdString()); });
        QVERIFY2(error, "no error");
        const std::string text = std::string(toString(error->kind())) + ": " + error->file() + ": " + error->message();
        QVERIFY2(error->kind() == kind, text.c_str());
        QVERIFY2(QString::fromStdString(error->file()).endsWith(file), text.c_str());
        QVERIFY2(error->message().find(mentions.toStdString()) != std::string::npos, text.c_str());
    }
};

QTEST_GUILESS_MAIN(TestOffload)
#include "tst_offload.moc"
