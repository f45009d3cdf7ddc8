// PyTorch .bin checkpoints (torch.save's zip archive) read without running code: tensors in place,
// shared storages and views (transposed, strided slices, several views of one storage: gathered
// into contiguous copies, their size the view's), sharded .bin with an index, the same module tree
// and plan as the safetensors copy, and a model saved as views that runs to the same logits as its
// safetensors copy; malicious pickles (globals that run code, opcodes a state dict never uses),
// damaged archives, impossible views and 600 mutated files refused cleanly with an error naming
// the file.

#include "placements.h"
#include "testutil.h"
#include "tinydemo.h"
#include "torchsave.h"

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "planner/planfile.h"
#include "models/demo.h"
#include "models/describe.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "runtime/backend.h"
#include "runtime/session.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

using namespace mizan;
namespace ts = mizan::test::torchsave;
using mizan::test::errorOf;

namespace {

QByteArray floats(std::initializer_list<float> v)
{
    QByteArray out(int(v.size() * sizeof(float)), '\0');
    std::memcpy(out.data(), v.begin(), std::size_t(out.size()));
    return out;
}

QByteArray filled(int bytes, int seed)
{
    QByteArray out(bytes, '\0');
    for (int i = 0; i < bytes; ++i)
        out[i] = char((i * 31 + seed * 7) & 0xff);
    return out;
}

// The number a stored element is, for comparing with the values real torch.save was given.
double elementValue(DType dtype, const std::byte *p)
{
    const auto get = [p](auto v) { std::memcpy(&v, p, sizeof v); return v; };
    switch (dtype) {
    case DType::F32: return double(get(float{}));
    case DType::F64: return get(double{});
    case DType::BF16: {
        const std::uint32_t bits = std::uint32_t(get(std::uint16_t{})) << 16;
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return double(f);
    }
    case DType::F16: {
        const std::uint16_t h = get(std::uint16_t{});
        const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
        const double sign = (h & 0x8000) ? -1.0 : 1.0;
        if (exponent == 0)
            return sign * std::ldexp(double(mantissa), -24);
        if (exponent == 31)
            return mantissa ? std::nan("") : sign * INFINITY;
        return sign * std::ldexp(double(mantissa | 0x400), exponent - 25);
    }
    case DType::I64: return double(get(std::int64_t{}));
    case DType::I32: return double(get(std::int32_t{}));
    case DType::I16: return double(get(std::int16_t{}));
    case DType::I8: return double(get(std::int8_t{}));
    case DType::U8: return double(get(std::uint8_t{}));
    case DType::Bool: return double(get(std::uint8_t{}));
    default: return std::nan("");
    }
}

// expected.json's number: a JSON number, or "inf", "-inf", "nan" (what json cannot hold).
double expectedValue(const nlohmann::json &v)
{
    if (v.is_string())
        return std::strtod(v.get<std::string>().c_str(), nullptr);
    return v.get<double>();
}

// /usr/bin/python3 with Debian's python3-torch, when installed.
bool havePythonTorch()
{
    QProcess p;
    p.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import torch")});
    return p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

// Checks every file expected.json in `dir` describes: its tensors' names, dtypes, shapes and
// values, or the words its refusal must say. Empty when all match, else what did not.
QString checkTorchSaveFolder(const QString &dir)
{
    QFile f(dir + QStringLiteral("/expected.json"));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read ") + f.fileName();
    const nlohmann::json expected = nlohmann::json::parse(f.readAll().toStdString());
    QStringList problems;
    for (const auto &[file, want] : expected.items()) {
        const std::string path = (dir + QLatin1Char('/') + QString::fromStdString(file)).toStdString();
        const auto fail = [&](const std::string &what) { problems << QString::fromStdString(file + ": " + what); };
        if (want.contains("error")) {
            const auto e = errorOf([&] { loader::open(path); });
            if (!e)
                fail("accepted, expected a refusal");
            else if (e->message().find(want["error"].get<std::string>()) == std::string::npos || e->file() != path)
                fail("refusal without \"" + want["error"].get<std::string>() + "\": " + e->file() + ": " + e->message());
            continue;
        }
        try {
            const loader::Checkpoint cp = loader::open(path);
            const auto &tensors = want["tensors"];
            if (cp.catalog.tensors.size() != tensors.size())
                fail(std::to_string(cp.catalog.tensors.size()) + " tensors, expected " + std::to_string(tensors.size()));
            for (const auto &e : cp.catalog.tensors) {
                if (!tensors.contains(e.name)) {
                    fail("unexpected tensor " + e.name);
                    continue;
                }
                const auto &t = tensors[e.name];
                const char *dtype = safetensorsName(e.dtype);
                if (!dtype || t["dtype"].get<std::string>() != dtype)
                    fail(e.name + ": dtype " + (dtype ? dtype : "?") + ", expected " + t["dtype"].get<std::string>());
                if (e.shape != t["shape"].get<std::vector<std::int64_t>>())
                    fail(e.name + ": shape differs");
                const auto bytes = cp.tensorBytes(e);
                const auto &values = t["values"];
                const std::size_t element = std::size_t(dtypeInfo(e.dtype).storageBits / 8);
                if (bytes.size() != values.size() * element) {
                    fail(e.name + ": " + std::to_string(bytes.size()) + " bytes for " + std::to_string(values.size()) + " values");
                    continue;
                }
                for (std::size_t i = 0; i < values.size(); ++i) {
                    const double got = elementValue(e.dtype, bytes.data() + i * element), exp = expectedValue(values[i]);
                    if (!(got == exp || (std::isnan(got) && std::isnan(exp))) || std::signbit(got) != std::signbit(exp)) {
                        fail(e.name + "[" + std::to_string(i) + "] = " + std::to_string(got) + ", expected " + std::to_string(exp));
                        break;
                    }
                }
            }
        } catch (const Error &e) {
            fail("refused: " + e.file() + ": " + e.message());
        }
    }
    return problems.join(QLatin1Char('\n'));
}

// A tiny model: an embedding and a head tied to it (one storage), a norm in float16, a position
// table in int64 and a bool mask; `lm_head.weight` a view of the embedding's storage,
// `model.tail` a slice at an offset, `model.proj.weight` a transposed view (not contiguous).
struct Tiny {
    std::vector<ts::Tensor> tensors;
    std::vector<ts::Storage> storages;
};

Tiny tiny()
{
    Tiny t;
    t.storages = {{"0", DType::F32, filled(8 * 4 * 4, 1)},
                  {"1", DType::F16, filled(4 * 2, 2)},
                  {"2", DType::I64, filled(3 * 8, 3)},
                  {"3", DType::Bool, QByteArray("\1\0\1\1", 4)},
                  {"4", DType::F32, floats({1, 2, 3, 4, 5, 6})},
                  {"5", DType::F32, floats({10, 20, 30, 40, 50, 60})}};
    t.tensors = {{"model.embed_tokens.weight", DType::F32, {8, 4}, {}, 0, "0"},
                 {"model.norm.weight", DType::F16, {4}, {}, 0, "1"},
                 {"model.positions", DType::I64, {3}, {}, 0, "2"},
                 {"model.mask", DType::Bool, {2, 2}, {}, 0, "3"},
                 {"lm_head.weight", DType::F32, {8, 4}, {}, 0, "0"},
                 {"model.tail", DType::F32, {2, 2}, {}, 2, "4"},
                 {"model.proj.weight", DType::F32, {3, 2}, {1, 3}, 0, "5"}};
    return t;
}

const ts::Storage &storageOf(const std::vector<ts::Storage> &storages, const std::string &key)
{
    for (const auto &s : storages)
        if (s.key == key)
            return s;
    qFatal("no storage %s", key.c_str());
}

// The view's elements in row-major order, element by element from its offset and stride (the
// reference the loader's gather is checked against).
QByteArray viewBytes(const QByteArray &storage, const ts::Tensor &t)
{
    const int element = int(storageBytes(t.dtype, 1));
    const auto stride = t.stride.empty() ? ts::contiguousStride(t.shape) : t.stride;
    std::int64_t numel = 1;
    for (auto d : t.shape)
        numel *= d;
    QByteArray out;
    for (std::int64_t i = 0; i < numel; ++i) {
        std::int64_t rest = i, at = t.offset;
        for (std::size_t k = t.shape.size(); k-- > 0;) {
            at += (rest % t.shape[k]) * stride[k];
            rest /= t.shape[k];
        }
        out += storage.mid(int(at * element), element);
    }
    return out;
}

QByteArray bytesOf(std::span<const std::byte> b) { return QByteArray(reinterpret_cast<const char *>(b.data()), int(b.size())); }

// Views over three storages: a 3 x 4 float32 matrix (0..11), a 2 x 3 x 4 float16 block and six
// int64 values.
struct Views {
    std::vector<ts::Tensor> tensors;
    std::vector<ts::Storage> storages;
};

Views views()
{
    Views v;
    QByteArray matrix, block, longs;
    for (int i = 0; i < 12; ++i)
        matrix += floats({float(i)});
    for (int i = 0; i < 24; ++i)
        block += ts::le(std::uint64_t(0x3c00 + i), 2); // float16 1.0, then the next values up
    for (int i = 0; i < 6; ++i)
        longs += ts::le(std::uint64_t(100 + i), 8);
    v.storages = {{"m", DType::F32, matrix}, {"b", DType::F16, block}, {"l", DType::I64, longs}};
    v.tensors = {{"transposed", DType::F32, {4, 3}, {1, 4}, 0, "m"},
                 {"column slice", DType::F32, {3, 2}, {4, 1}, 1, "m"},
                 {"every other", DType::F32, {6}, {2}, 1, "m"},
                 {"row slice", DType::F32, {2, 4}, {4, 1}, 4, "m"},
                 {"scalar", DType::F32, {}, {}, 5, "m"},
                 {"single column", DType::F32, {3, 1}, {4, 7}, 2, "m"},
                 {"one row", DType::F32, {1, 4}, {99, 1}, 8, "m"},
                 {"empty", DType::F32, {0, 3}, {1, 100}, 12, "m"},
                 {"permuted", DType::F16, {4, 2, 3}, {1, 12, 4}, 0, "b"},
                 {"sliced block", DType::F16, {2, 2, 2}, {12, 4, 2}, 1, "b"},
                 {"int64 stride", DType::I64, {3}, {2}, 1, "l"}};
    return v;
}

// A model's tensors saved as views, as a conversion script might leave them: 2-D weights followed
// by one of the same shape as two views of one storage (both transposed), the others in turn as
// transposed views of their transpose and as slices of a padded storage at an offset; 1-D weights
// as every other element of a storage.
struct AsViews {
    std::vector<ts::Tensor> tensors;
    std::vector<ts::Storage> storages;
    int strided = 0;  // tensors that are not contiguous
    int shared = 0;   // tensors sharing their storage with another
};

AsViews saveAsViews(const loader::Checkpoint &cp)
{
    AsViews out;
    const auto &all = cp.catalog.tensors;
    auto values = [&](const loader::TensorEntry &e) { return bytesOf(cp.tensorBytes(e)); };
    int turn = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const loader::TensorEntry &e = all[i];
        const int element = int(storageBytes(e.dtype, 1));
        const std::string key = std::to_string(out.storages.size());
        const QByteArray v = values(e);
        auto transposedOf = [&](const QByteArray &x, std::int64_t rows, std::int64_t cols, std::int64_t ld, std::int64_t column, QByteArray &into) {
            // x (rows x cols) written transposed into `into`, a (cols x ld) matrix, from column `column`.
            for (std::int64_t c = 0; c < cols; ++c)
                for (std::int64_t r = 0; r < rows; ++r)
                    std::memcpy(into.data() + (c * ld + column + r) * element, x.constData() + (r * cols + c) * element, std::size_t(element));
        };
        if (e.shape.size() == 1) {
            // Every other element, from the second.
            QByteArray s(int(2 * e.shape[0] + 1) * element, '\x7f');
            for (std::int64_t k = 0; k < e.shape[0]; ++k)
                std::memcpy(s.data() + (2 * k + 1) * element, v.constData() + k * element, std::size_t(element));
            out.storages.push_back({key, e.dtype, s});
            out.tensors.push_back({e.name, e.dtype, e.shape, {2}, 1, key});
            ++out.strided;
        } else if (e.shape.size() == 2) {
            const std::int64_t rows = e.shape[0], cols = e.shape[1];
            if (i + 1 < all.size() && all[i + 1].shape == e.shape && all[i + 1].dtype == e.dtype) {
                // Two views of one (cols x 2 rows) storage: this tensor's transpose, then the next one's.
                QByteArray s(int(cols * 2 * rows) * element, '\0');
                transposedOf(v, rows, cols, 2 * rows, 0, s);
                transposedOf(values(all[i + 1]), rows, cols, 2 * rows, rows, s);
                out.storages.push_back({key, e.dtype, s});
                out.tensors.push_back({e.name, e.dtype, e.shape, {1, 2 * rows}, 0, key});
                out.tensors.push_back({all[i + 1].name, e.dtype, e.shape, {1, 2 * rows}, rows, key});
                out.strided += 2;
                out.shared += 2;
                ++i;
            } else if (turn++ % 2 == 0) {
                QByteArray s(int(cols * rows) * element, '\0');
                transposedOf(v, rows, cols, rows, 0, s);
                out.storages.push_back({key, e.dtype, s});
                out.tensors.push_back({e.name, e.dtype, e.shape, {1, rows}, 0, key});
                ++out.strided;
            } else {
                // Rows of cols + 3 elements, from element 5: a slice at an offset.
                QByteArray s(int(5 + rows * (cols + 3)) * element, '\x55');
                for (std::int64_t r = 0; r < rows; ++r)
                    std::memcpy(s.data() + (5 + r * (cols + 3)) * element, v.constData() + r * cols * element, std::size_t(cols * element));
                out.storages.push_back({key, e.dtype, s});
                out.tensors.push_back({e.name, e.dtype, e.shape, {cols + 3, 1}, 5, key});
                ++out.strided;
            }
        } else {
            out.storages.push_back({key, e.dtype, v});
            out.tensors.push_back({e.name, e.dtype, e.shape, {}, 0, key});
        }
    }
    return out;
}

double maxDiff(const std::vector<std::vector<float>> &a, const std::vector<std::vector<float>> &b)
{
    return test::maxLogitDiff(a, b);
}

bool write(const QString &path, const QByteArray &bytes) { return test::writeFile(path, bytes); }

} // namespace

class TestTorchBin : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString at(const QString &name) const { return m_dir.filePath(name); }

    // The error opening `bytes` as a .bin gives, checked to name the file.
    std::optional<Error> refusal(const QByteArray &bytes, const QString &name = "model.bin")
    {
        const QString path = at(name);
        if (!write(path, bytes))
            return Error(ErrorKind::Io, path.toStdString(), "cannot write the fixture");
        auto e = errorOf([&] { loader::open(path.toStdString()); });
        if (e && e->file() != path.toStdString())
            qWarning("error names %s, not %s", e->file().c_str(), qPrintable(path));
        return e;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void readsTensorsInPlace()
    {
        const Tiny t = tiny();
        QVERIFY(write(at("tiny.bin"), ts::archive(t.tensors, t.storages, "tiny")));
        const loader::Checkpoint cp = loader::open(at("tiny.bin").toStdString());
        QCOMPARE(cp.format, loader::Format::PyTorchBin);
        QCOMPARE(cp.catalog.tensors.size(), t.tensors.size());
        for (std::size_t i = 0; i < t.tensors.size(); ++i) {
            const auto &e = cp.catalog.tensors[i];
            const auto &want = t.tensors[i];
            QCOMPARE(e.name, want.name);
            QCOMPARE(e.dtype, want.dtype);
            QCOMPARE(e.shape, want.shape);
            // The bytes are the view's elements of its storage.
            const ts::Storage &storage = storageOf(t.storages, want.storage);
            const auto bytes = cp.tensorBytes(e);
            const auto element = storageBytes(want.dtype, 1);
            QCOMPARE(std::int64_t(bytes.size()), e.numel() * element);
            QCOMPARE(e.byteSize, e.numel() * element);
            QCOMPARE(bytesOf(bytes), viewBytes(storage.bytes, want));
            // torch.save aligns storages to 64 bytes: views at offset 0 can be used without a copy.
            if (want.offset == 0)
                QCOMPARE(e.offset % 64, std::int64_t(0));
        }
        // Tied weights share one storage: the same bytes in the file.
        QCOMPARE(cp.catalog.tensors[0].offset, cp.catalog.tensors[4].offset);
    }

    void sameTreeAndPlanAsSafetensors()
    {
        // The same tensors as .bin and as safetensors: one module tree, one plan, the same bytes.
        const Tiny t = tiny();
        QDir().mkpath(at("as-bin"));
        QDir().mkpath(at("as-safetensors"));
        QVERIFY(write(at("as-bin/pytorch_model.bin"), ts::archive(t.tensors, t.storages)));
        std::vector<loader::WriteTensor> copies;
        for (const auto &x : t.tensors) {
            loader::WriteTensor w;
            w.name = x.name;
            w.dtype = x.dtype;
            w.shape = x.shape;
            const QByteArray bytes = viewBytes(storageOf(t.storages, x.storage).bytes, x);
            w.data.resize(std::size_t(bytes.size()));
            std::memcpy(w.data.data(), bytes.data(), w.data.size());
            copies.push_back(std::move(w));
        }
        loader::writeSafetensors(at("as-safetensors/model.safetensors").toStdString(), copies);
        const loader::Checkpoint bin = loader::open(at("as-bin").toStdString());
        const loader::Checkpoint st = loader::open(at("as-safetensors").toStdString());
        QCOMPARE(bin.format, loader::Format::PyTorchBin);
        // Sizes are the tensors', not their storages' (the tied head and the transposed view count
        // their own elements).
        QCOMPARE(bin.catalog.totalBytes(), st.catalog.totalBytes());
        for (std::size_t i = 0; i < copies.size(); ++i) {
            const auto a = bin.tensorBytes(bin.catalog.tensors[i]);
            const auto b = st.tensorBytes(st.catalog.tensors[i]);
            QVERIFY(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0);
        }
        const models::ModelDescription fromBin = models::describe(bin);
        const models::ModelDescription fromSt = models::describe(st);
        QCOMPARE(planner::identityOf(fromBin.tree, "").fingerprint, planner::identityOf(fromSt.tree, "").fingerprint);
        planner::PlanOptions options;
        options.maxMemory = {{planner::Device::gpu(0), 200}, {planner::Device::cpu(), 1 << 20}};
        const planner::Plan a = planner::plan(fromBin.tree, options);
        const planner::Plan b = planner::plan(fromSt.tree, options);
        QVERIFY(a.deviceMap.size() > 1);
        QVERIFY(a.deviceMap == b.deviceMap);
    }

    void shardedWithIndex()
    {
        const Tiny t = tiny();
        QDir().mkpath(at("sharded"));
        const std::vector<ts::Tensor> first(t.tensors.begin(), t.tensors.begin() + 3);
        const std::vector<ts::Tensor> second(t.tensors.begin() + 3, t.tensors.end());
        QVERIFY(write(at("sharded/pytorch_model-00001-of-00002.bin"), ts::archive(first, {t.storages[0], t.storages[1], t.storages[2]})));
        QVERIFY(write(at("sharded/pytorch_model-00002-of-00002.bin"), ts::archive(second, {t.storages[0], t.storages[3], t.storages[4], t.storages[5]})));
        nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
        for (const auto &x : first)
            index["weight_map"][x.name] = "pytorch_model-00001-of-00002.bin";
        for (const auto &x : second)
            index["weight_map"][x.name] = "pytorch_model-00002-of-00002.bin";
        QVERIFY(write(at("sharded/pytorch_model.bin.index.json"), QByteArray::fromStdString(index.dump())));
        const loader::Checkpoint cp = loader::open(at("sharded").toStdString());
        QCOMPARE(cp.format, loader::Format::ShardedPyTorchBin);
        QCOMPARE(cp.catalog.shards.size(), std::size_t(2));
        QCOMPARE(cp.catalog.tensors.size(), t.tensors.size());
        // A shard missing is named.
        QVERIFY(QFile::remove(at("sharded/pytorch_model-00002-of-00002.bin")));
        const auto e = errorOf([&] { loader::open(at("sharded").toStdString()); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::MissingShard);
        QVERIFY(e->message().find("pytorch_model-00002-of-00002.bin") != std::string::npos);
    }

    void stridedViewsHaveTheirValues_data()
    {
        QTest::addColumn<int>("index");
        QTest::addColumn<bool>("contiguous");
        const Views v = views();
        for (std::size_t i = 0; i < v.tensors.size(); ++i) {
            const std::string &name = v.tensors[i].name;
            // Dimensions of size 1 may have any stride, and an empty view reads nothing.
            const bool contiguous = name == "row slice" || name == "scalar" || name == "one row" || name == "empty";
            QTest::newRow(name.c_str()) << int(i) << contiguous;
        }
    }
    void stridedViewsHaveTheirValues()
    {
        // Each view reads as its elements in row-major order, sized as the view (not its storage);
        // contiguous ones stay in place in the mapping, the others are gathered into a copy.
        QFETCH(int, index);
        QFETCH(bool, contiguous);
        const Views v = views();
        const QString file = at("views.bin");
        QVERIFY(write(file, ts::archive(v.tensors, v.storages)));
        const loader::Checkpoint cp = loader::open(file.toStdString());
        const ts::Tensor &want = v.tensors[std::size_t(index)];
        const loader::TensorEntry &e = cp.catalog.tensors[std::size_t(index)];
        QCOMPARE(e.name, want.name);
        QCOMPARE(e.shape, want.shape);
        QCOMPARE(e.byteSize, e.numel() * storageBytes(want.dtype, 1));
        QCOMPARE(e.stride.empty(), contiguous);
        const auto bytes = cp.tensorBytes(e);
        QCOMPARE(bytesOf(bytes), viewBytes(storageOf(v.storages, want.storage).bytes, want));
        const std::byte *file0 = cp.tensorBytes(cp.catalog.tensors[0]).data() - cp.catalog.tensors[0].offset; // tensor 0 is a copy
        const auto mapped = cp.tensorBytes(cp.catalog.tensors[3]); // "row slice": in place
        const std::byte *base = mapped.data() - cp.catalog.tensors[3].offset;
        QVERIFY(file0 != base);
        if (contiguous && !bytes.empty())
            QCOMPARE(static_cast<const void *>(bytes.data()), static_cast<const void *>(base + e.offset));
        else if (!bytes.empty())
            QVERIFY(bytes.data() < base || bytes.data() >= base + cp.catalog.shards[0].fileSize);
        // Handed out twice, the same bytes.
        QCOMPARE(static_cast<const void *>(cp.tensorBytes(e).data()), static_cast<const void *>(bytes.data()));
    }

    void viewCopiesAreSharedAndOutliveTheCheckpoint()
    {
        const Views v = views();
        const QString file = at("views.bin");
        QVERIFY(write(file, ts::archive(v.tensors, v.storages)));
        loader::Checkpoint::SharedBytes kept;
        {
            const loader::Checkpoint cp = loader::open(file.toStdString());
            const loader::TensorEntry &transposed = cp.catalog.tensors[0];
            QVERIFY(!transposed.stride.empty());
            kept = cp.tensorBytesShared(transposed);
            // While one owner holds the copy, the view is handed out from it.
            const auto again = cp.tensorBytesShared(transposed);
            QCOMPARE(static_cast<const void *>(again.bytes.data()), static_cast<const void *>(kept.bytes.data()));
            // Two views of one storage are two copies.
            const auto other = cp.tensorBytesShared(cp.catalog.tensors[1]);
            QVERIFY(other.bytes.data() != kept.bytes.data());
        }
        QCOMPARE(bytesOf(kept.bytes), viewBytes(v.storages[0].bytes, v.tensors[0]));
        // The floats of the 3 x 4 matrix, transposed.
        std::vector<float> values(12);
        std::memcpy(values.data(), kept.bytes.data(), kept.bytes.size());
        QCOMPARE(values, (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
    }

    void modelSavedAsViewsRunsLikeSafetensors()
    {
        // A LLaMA demo saved as torch.save would save views of other storages: the same catalog
        // sizes, module tree, plan and bytes as its safetensors copy, and (with the libtorch
        // backend) the same tokens and logits, all on the CPU and dispatched over a simulated GPU,
        // the CPU and the disk.
        const models::DemoOptions options = test::tinyDemoOptions("llama-3.1-8b", 3, 200, 3);
        const QString st = at("views-st"), bin = at("views-bin");
        models::writeDemo(st.toStdString(), options);
        const loader::Checkpoint reference = loader::open(st.toStdString());
        const AsViews saved = saveAsViews(reference);
        QVERIFY2(saved.strided > 10 && saved.shared >= 4, qPrintable(QString("%1 strided, %2 shared").arg(saved.strided).arg(saved.shared)));
        QVERIFY(QDir().mkpath(bin));
        QVERIFY(QFile::copy(st + "/config.json", bin + "/config.json"));
        QVERIFY(write(bin + "/pytorch_model.bin", ts::archive(saved.tensors, saved.storages, "pytorch_model")));
        const loader::Checkpoint cp = loader::open(bin.toStdString());
        QCOMPARE(cp.format, loader::Format::PyTorchBin);
        QCOMPARE(cp.catalog.tensors.size(), reference.catalog.tensors.size());
        QCOMPARE(cp.catalog.totalBytes(), reference.catalog.totalBytes());
        int strided = 0;
        for (const auto &e : cp.catalog.tensors) {
            const int i = reference.catalog.find(e.name);
            QVERIFY(i >= 0);
            const auto &r = reference.catalog.tensors[std::size_t(i)];
            QCOMPARE(e.byteSize, r.byteSize);
            QVERIFY2(bytesOf(cp.tensorBytes(e)) == bytesOf(reference.tensorBytes(r)), e.name.c_str());
            strided += !e.stride.empty();
        }
        QCOMPARE(strided, saved.strided);
        const models::ModelDescription fromBin = models::describe(cp);
        const models::ModelDescription fromSt = models::describe(reference);
        QCOMPARE(planner::identityOf(fromBin.tree, "").fingerprint, planner::identityOf(fromSt.tree, "").fingerprint);
        planner::PlanOptions planOptions;
        planOptions.maxMemory = {{planner::Device::gpu(0), reference.catalog.totalBytes() / 3}, {planner::Device::cpu(), reference.catalog.totalBytes() / 3}};
        const planner::Plan planBin = planner::plan(fromBin.tree, planOptions);
        const planner::Plan planSt = planner::plan(fromSt.tree, planOptions);
        QVERIFY(planBin.deviceMap == planSt.deviceMap);
        QSet<QString> used;
        for (const auto &[key, device] : planSt.deviceMap)
            used.insert(QString::fromStdString(device.toString()));
        QVERIFY2(used.contains("0") && used.contains("cpu") && used.contains("disk"), qPrintable(QStringList(used.values()).join(",")));

        const auto &load = runtime::loadBackend();
        if (!load.backend)
            QSKIP(qPrintable("no libtorch backend in this build (" + QString::fromStdString(load.error) + "): the bytes and plans were compared"));
        for (const planner::DeviceMap &map : {planner::DeviceMap{{"", planner::Device::cpu()}}, planSt.deviceMap}) {
            std::vector<std::vector<float>> logits[2];
            std::vector<std::int64_t> tokens[2];
            for (int k = 0; k < 2; ++k) {
                runtime::RunRequest r;
                r.checkpointPath = (k == 0 ? st : bin).toStdString();
                r.map = map;
                r.devices = {{planner::Device::gpu(0), true, -1, {}}};
                r.promptIds = {5, 17, 99, 3};
                r.maxNewTokens = 5;
                r.keepLogits = true;
                auto session = load.backend->createSession(r);
                const runtime::RunResult result = session->run([](const std::vector<runtime::RunEvent> &) {});
                QVERIFY2(!result.error, result.error ? result.error->message.c_str() : "");
                logits[k] = result.logits;
                tokens[k] = result.generatedIds;
            }
            QCOMPARE(tokens[1], tokens[0]);
            QCOMPARE(tokens[0].size(), std::size_t(5));
            const double diff = maxDiff(logits[1], logits[0]);
            QVERIFY2(diff <= 1e-6, qPrintable(QString("max logit difference %1").arg(diff)));
        }
    }

    void filesRealTorchSaveWrote()
    {
        // tests/data/torchsave/: files PyTorch 1.13's torch.save wrote (scripts/torchsave-fixtures.py):
        // a module's state dict with a tied head and a buffer, every dtype, views of one storage,
        // parameters, a sharded checkpoint with its index, and files to refuse (legacy format,
        // entries that are not tensors, a global that is code, an expanded tensor).
        const QString problems = checkTorchSaveFolder(QString::fromStdString(testdata::path("torchsave")));
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
    }

    void filesThisMachinesTorchSaveWrites()
    {
        // The same files written now by this machine's torch.save, when Debian's python3-torch is
        // installed: a newer PyTorch changing its layout is caught here.
        if (!havePythonTorch())
            QSKIP("python3-torch is not installed: only the committed torch.save files were checked");
        const QString dir = at("fresh");
        QProcess p;
        p.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral(MIZAN_SOURCE_DIR "/scripts/torchsave-fixtures.py"), dir});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
        const QString problems = checkTorchSaveFolder(dir);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
    }

    void refusesCode_data()
    {
        QTest::addColumn<QByteArray>("pickle");
        QTest::addColumn<QString>("words");
        const QByteArray start = "\x80\x02";
        QTest::newRow("GLOBAL os.system") << start + ts::global("os", "system") + ts::str("echo pwned") + "\x85R." << "checkpoint calls os.system: refused";
        QTest::newRow("GLOBAL builtins.eval") << start + ts::global("builtins", "eval") + ts::str("1+1") + "\x85R." << "builtins.eval";
        QTest::newRow("STACK_GLOBAL builtins.exec") << start + ts::str("builtins") + ts::str("exec") + "\x93" + ts::str("x=1") + "\x85R." << "builtins.exec";
        QTest::newRow("GLOBAL posix.system") << start + ts::global("posix", "system") + "." << "posix.system";
        QTest::newRow("GLOBAL subprocess.Popen") << start + ts::global("subprocess", "Popen") + "." << "subprocess.Popen";
        QTest::newRow("GLOBAL torch.load") << start + ts::global("torch", "load") + "." << "torch.load";
        QTest::newRow("INST") << start + "(" + "ios\nsystem\n" + "." << "INST";
        QTest::newRow("OBJ") << start + "(" + "o." << "OBJ";
        QTest::newRow("NEWOBJ") << start + "}" + ")" + "\x81." << "NEWOBJ";
        QTest::newRow("REDUCE on a string") << start + ts::str("os.system") + ")R." << "REDUCE calls a str";
        QTest::newRow("BUILD on a tensor storage type") << start + ts::global("torch", "FloatStorage") + "}b." << "BUILD on a storage type";
        QTest::newRow("EXT1") << start + "\x82\x01." << "EXT1";
        QTest::newRow("PERSID text") << start + "Pfoo\n." << "PERSID";
        QTest::newRow("OrderedDict with arguments") << start + ts::global("collections", "OrderedDict") + ts::str("x") + "\x85R." << "OrderedDict built with arguments";
        QTest::newRow("not a dict") << start + ts::integer(5) + "." << "not a state dict";
        QTest::newRow("a string value") << start + "}" + ts::str("a") + ts::str("b") + "s." << "is not a tensor";
        QTest::newRow("no STOP") << start + "}" << "without a STOP";
        QTest::newRow("stack underflow") << start + "s." << "stack underflow";
        QTest::newRow("memo never stored") << start + "h\x07." << "never stored";
        QTest::newRow("storage key with ..") << start + "}" + ts::str("w") + ts::global("torch._utils", "_rebuild_tensor_v2") + "((" + ts::str("storage")
                                                 + ts::global("torch", "FloatStorage") + ts::str(std::string("..") + "/secret") + ts::str("cpu") + ts::integer(1) + "tQ"
                                                 + ts::integer(0) + ts::tupleOf({1}) + ts::tupleOf({1}) + "tRs." << "storage key";
    }
    void refusesCode()
    {
        QFETCH(QByteArray, pickle);
        QFETCH(QString, words);
        const Tiny t = tiny();
        const auto e = refusal(ts::archive(t.tensors, t.storages, "archive", pickle), "evil.bin");
        QVERIFY(e);
        QCOMPARE(e->file(), at("evil.bin").toStdString());
        QVERIFY2(QString::fromStdString(e->message()).contains(words), e->message().c_str());
    }

    void refusesDamage_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("words");
        const Tiny t = tiny();
        const QByteArray good = ts::archive(t.tensors, t.storages);
        auto lying = t.storages;
        lying[0].numel = 1000;
        auto outside = t.tensors;
        outside[5].offset = 5;
        auto beyond = t.tensors;
        beyond[0].stride = {1, 9}; // reaches element 7 + 3 x 9 = 34 of 32
        auto overflowing = t.tensors;
        overflowing[0].stride = {std::int64_t(1) << 62, 1};
        auto repeating = t.tensors;
        repeating[5].shape = {4, 4};
        repeating[5].stride = {0, 1};
        repeating[5].offset = 0;
        auto offsetBeyond = t.tensors;
        offsetBeyond[6].offset = 7;
        offsetBeyond[6].shape = {0};
        offsetBeyond[6].stride = {1};
        auto missing = t.tensors;
        missing[1].storage = std::string(1, '9');
        QTest::newRow("legacy format") << QByteArray("\x80\x02\x8a\x0a") + QByteArray(64, 'x') << int(ErrorKind::UnsupportedFormat) << "legacy torch.save format";
        QTest::newRow("not an archive") << QByteArray("hello world") << int(ErrorKind::UnsupportedFormat) << "not a PyTorch checkpoint";
        QTest::newRow("empty file") << QByteArray() << int(ErrorKind::UnsupportedFormat) << "not a PyTorch checkpoint";
        QTest::newRow("cut in half") << good.left(good.size() / 2) << int(ErrorKind::Truncated) << "end of central directory";
        QTest::newRow("storage size lies") << ts::archive(t.tensors, lying) << int(ErrorKind::BadShape) << "should hold 1000";
        QTest::newRow("view outside its storage") << ts::archive(outside, t.storages) << int(ErrorKind::BadOffsets) << "outside its storage";
        QTest::newRow("strided view beyond its storage") << ts::archive(beyond, t.storages) << int(ErrorKind::BadOffsets) << "reaches element 34, outside its storage of 32";
        QTest::newRow("stride overflows") << ts::archive(overflowing, t.storages) << int(ErrorKind::BadShape) << "overflow";
        QTest::newRow("view repeats elements") << ts::archive(repeating, t.storages) << int(ErrorKind::UnsupportedFormat) << "repeats elements";
        QTest::newRow("empty view past its storage") << ts::archive(offsetBeyond, t.storages) << int(ErrorKind::BadOffsets) << "offset 7 lies outside";
        QTest::newRow("storage entry missing") << ts::archive(missing, t.storages) << int(ErrorKind::IndexMismatch) << "archive/data/9";
        QTest::newRow("no data.pkl") << ts::zipStored({{"archive/data/0", "abcd"}}) << int(ErrorKind::UnsupportedFormat) << "without <name>/data.pkl";
        QTest::newRow("big-endian") << ts::zipStored({{"a/data.pkl", ts::statePickle({}, {})}, {"a/byteorder", "big"}}) << int(ErrorKind::UnsupportedFormat) << "byte order";
    }
    void refusesDamage()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(int, kind);
        QFETCH(QString, words);
        const auto e = refusal(bytes, "damaged.bin");
        QVERIFY(e);
        QVERIFY2(QString::fromStdString(e->message()).contains(words), e->message().c_str());
        QCOMPARE(int(e->kind()), kind);
        QCOMPARE(e->file(), at("damaged.bin").toStdString());
    }

    void everyTruncationIsRefused()
    {
        const Tiny t = tiny();
        const QByteArray good = ts::archive(t.tensors, t.storages);
        for (int n = 0; n < good.size(); n += 7) {
            const auto e = refusal(good.left(n), "cut.bin");
            QVERIFY2(e, qPrintable(QStringLiteral("%1 of %2 bytes accepted").arg(n).arg(good.size())));
            QCOMPARE(e->file(), at("cut.bin").toStdString());
        }
    }

    void mutatedFilesAreRefusedCleanly()
    {
        // 600 files: bytes flipped in the pickle, in the zip records and anywhere; none may crash
        // (the sanitizer stage runs this), every refusal names the file.
        const Tiny t = tiny();
        const QByteArray good = ts::archive(t.tensors, t.storages);
        const int pickleAt = good.indexOf("\x80\x02");
        const int pickleEnd = pickleAt + ts::statePickle(t.tensors, t.storages).size();
        const int centralAt = good.lastIndexOf(QByteArray::fromStdString(std::string("PK\x01\x02", 4)));
        QVERIFY(pickleAt > 0 && centralAt > pickleEnd);
        std::mt19937 rng(12);
        int refused = 0, accepted = 0;
        for (int i = 0; i < 600; ++i) {
            QByteArray bytes = good;
            const int region = i % 3;
            const int from = region == 0 ? pickleAt : region == 1 ? centralAt : 0;
            const int to = region == 0 ? pickleEnd : bytes.size();
            for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k)
                bytes[from + int(rng() % std::uint32_t(to - from))] = char(rng() & 0xff);
            const QString path = at("mutated.bin");
            QVERIFY(write(path, bytes));
            try {
                const loader::Checkpoint cp = loader::open(path.toStdString());
                for (const auto &e : cp.catalog.tensors)
                    (void)cp.tensorBytes(e); // every accepted tensor is readable in place
                ++accepted;
            } catch (const Error &e) {
                ++refused;
                QVERIFY2(e.file() == path.toStdString(), e.file().c_str());
                QVERIFY(!e.message().empty());
            }
        }
        qInfo("%d accepted, %d refused", accepted, refused);
        QVERIFY(refused > 200);
    }
};

QTEST_GUILESS_MAIN(TestTorchBin)
#include "tst_torchbin.moc"
