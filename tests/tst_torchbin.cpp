// PyTorch .bin checkpoints (torch.save's zip archive) read without running code: tensors in place,
// shared storages and views, sharded .bin with an index, the same module tree and plan as the
// safetensors copy; malicious pickles (globals that run code, opcodes a state dict never uses),
// damaged archives and 600 mutated files refused cleanly with an error naming the file.

#include "testutil.h"
#include "torchsave.h"

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "planner/planfile.h"
#include "models/describe.h"
#include "planner/error.h"
#include "planner/plan.h"

#include <QTemporaryDir>
#include <QtTest>

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

// A tiny model: an embedding and a head tied to it (one storage), a norm in float16, a position
// table in int64 and a bool mask; `lm_head.weight` a view of the embedding's storage.
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
                  {"4", DType::F32, floats({1, 2, 3, 4, 5, 6})}};
    t.tensors = {{"model.embed_tokens.weight", DType::F32, {8, 4}, {}, 0, "0"},
                 {"model.norm.weight", DType::F16, {4}, {}, 0, "1"},
                 {"model.positions", DType::I64, {3}, {}, 0, "2"},
                 {"model.mask", DType::Bool, {2, 2}, {}, 0, "3"},
                 {"lm_head.weight", DType::F32, {8, 4}, {}, 0, "0"},
                 {"model.tail", DType::F32, {2, 2}, {}, 2, "4"}};
    return t;
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
            // The bytes are the storage's, from the view's offset on.
            const ts::Storage *storage = nullptr;
            for (const auto &s : t.storages)
                if (s.key == want.storage)
                    storage = &s;
            QVERIFY(storage);
            const auto bytes = cp.tensorBytes(e);
            const auto element = storageBytes(want.dtype, 1);
            QCOMPARE(std::int64_t(bytes.size()), e.numel() * element);
            QCOMPARE(QByteArray(reinterpret_cast<const char *>(bytes.data()), int(bytes.size())),
                     storage->bytes.mid(int(want.offset * element), int(bytes.size())));
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
            for (const auto &st : t.storages)
                if (st.key == x.storage) {
                    const auto element = storageBytes(x.dtype, 1);
                    const QByteArray bytes = st.bytes.mid(int(x.offset * element), int(w.byteSize()));
                    w.data.resize(std::size_t(bytes.size()));
                    std::memcpy(w.data.data(), bytes.data(), w.data.size());
                }
            copies.push_back(std::move(w));
        }
        loader::writeSafetensors(at("as-safetensors/model.safetensors").toStdString(), copies);
        const loader::Checkpoint bin = loader::open(at("as-bin").toStdString());
        const loader::Checkpoint st = loader::open(at("as-safetensors").toStdString());
        QCOMPARE(bin.format, loader::Format::PyTorchBin);
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
        QVERIFY(write(at("sharded/pytorch_model-00002-of-00002.bin"), ts::archive(second, {t.storages[0], t.storages[3], t.storages[4]})));
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
        auto strided = t.tensors;
        strided[0].stride = {1, 8};
        auto missing = t.tensors;
        missing[1].storage = std::string(1, '9');
        QTest::newRow("legacy format") << QByteArray("\x80\x02\x8a\x0a") + QByteArray(64, 'x') << int(ErrorKind::UnsupportedFormat) << "legacy torch.save format";
        QTest::newRow("not an archive") << QByteArray("hello world") << int(ErrorKind::UnsupportedFormat) << "not a PyTorch checkpoint";
        QTest::newRow("empty file") << QByteArray() << int(ErrorKind::UnsupportedFormat) << "not a PyTorch checkpoint";
        QTest::newRow("cut in half") << good.left(good.size() / 2) << int(ErrorKind::Truncated) << "end of central directory";
        QTest::newRow("storage size lies") << ts::archive(t.tensors, lying) << int(ErrorKind::BadShape) << "should hold 1000";
        QTest::newRow("view outside its storage") << ts::archive(outside, t.storages) << int(ErrorKind::BadOffsets) << "outside its storage";
        QTest::newRow("non-contiguous view") << ts::archive(strided, t.storages) << int(ErrorKind::UnsupportedFormat) << "non-contiguous";
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
