// The loader's libtorch bridge: zero-copy tensors over the mmapped shards, values, lifetime,
// copy-on-write, unaligned data and dtypes libtorch 1.13 lacks.

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "loader/torch/torchtensor.h"
#include "planner/error.h"

#include <torch/torch.h>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>

using namespace mizan;
using namespace mizan::loader;

namespace {

template <typename T>
WriteTensor typed(std::string name, DType dtype, std::vector<std::int64_t> shape, const std::vector<T> &values)
{
    WriteTensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.data.resize(values.size() * sizeof(T));
    std::memcpy(t.data.data(), values.data(), t.data.size());
    return t;
}

QByteArray readAll(const std::string &path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", path.c_str());
    return f.readAll();
}

} // namespace

class TestTorchBridge : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::string m_path;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath("bridge.safetensors").toStdString();
        const auto f16 = torch::tensor({1.5f, -2.0f, 0.25f, 65504.0f}).to(torch::kFloat16);
        const auto bf16 = torch::tensor({3.0f, -0.5f}).to(torch::kBFloat16);
        std::vector<std::uint16_t> f16bits(4), bf16bits(2);
        std::memcpy(f16bits.data(), f16.data_ptr(), 8);
        std::memcpy(bf16bits.data(), bf16.data_ptr(), 4);
        std::vector<WriteTensor> tensors{
            typed<float>("f32", DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}),
            typed<std::uint16_t>("f16", DType::F16, {4}, f16bits),
            typed<std::uint16_t>("bf16", DType::BF16, {2}, bf16bits),
            typed<std::int64_t>("i64", DType::I64, {3}, {-1, 0, 1ll << 40}),
            typed<std::uint8_t>("mask", DType::Bool, {3}, {1, 0, 1}),
            typed<float>("c64", DType::C64, {2}, {1, 2, 3, 4}),
            typed<std::uint16_t>("u16", DType::U16, {2}, {1, 2}),
            typed<std::uint8_t>("fp8", DType::F8_E4M3, {2}, {0x38, 0x40}),
            typed<double>("f64", DType::F64, {}, {2.5}),
        };
        writeSafetensors(m_path, tensors);
    }

    void valuesMatch()
    {
        const Checkpoint cp = open(m_path);
        auto get = [&](const char *name) { return toTorch(cp, cp.catalog.tensors[cp.catalog.find(name)]); };
        QVERIFY(torch::equal(get("f32"), torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({2, 3})));
        QVERIFY(torch::equal(get("f16").to(torch::kFloat32), torch::tensor({1.5f, -2.0f, 0.25f, 65504.0f})));
        QVERIFY(torch::equal(get("bf16").to(torch::kFloat32), torch::tensor({3.0f, -0.5f})));
        QVERIFY(torch::equal(get("i64"), torch::tensor({std::int64_t(-1), std::int64_t(0), std::int64_t(1) << 40})));
        QVERIFY(torch::equal(get("mask"), torch::tensor({true, false, true})));
        const auto c = get("c64");
        QCOMPARE(c.scalar_type(), torch::kComplexFloat);
        QVERIFY(torch::equal(torch::view_as_real(c), torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2})));
        const auto scalar = get("f64");
        QCOMPARE(scalar.dim(), std::int64_t(0));
        QCOMPARE(scalar.item<double>(), 2.5);
    }

    void isZeroCopyAndOutlivesCheckpoint()
    {
        torch::Tensor t;
        const std::byte *bytes = nullptr;
        {
            const Checkpoint cp = open(m_path);
            const auto &entry = cp.catalog.tensors[cp.catalog.find("f32")];
            t = toTorch(cp, entry);
            bytes = cp.tensorBytes(entry).data();
            QCOMPARE(static_cast<const void *>(t.data_ptr()), static_cast<const void *>(bytes));
        }
        // The checkpoint is gone; the tensor still reads the mapping.
        QCOMPARE(t.sum().item<float>(), 21.f);
    }

    void writesNeverReachTheFile()
    {
        const QByteArray before = readAll(m_path);
        {
            const Checkpoint cp = open(m_path);
            auto t = toTorch(cp, cp.catalog.tensors[cp.catalog.find("f32")]);
            t.mul_(10);
            QCOMPARE(t.sum().item<float>(), 210.f);
        }
        QCOMPARE(readAll(m_path), before);
        const Checkpoint again = open(m_path);
        QCOMPARE(toTorch(again, again.catalog.tensors[again.catalog.find("f32")]).sum().item<float>(), 21.f);
    }

    void unsupportedDtypesAreClearErrors_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("uint16") << "u16";
        QTest::newRow("float8") << "fp8";
    }
    void unsupportedDtypesAreClearErrors()
    {
        QFETCH(QString, name);
        const Checkpoint cp = open(m_path);
        try {
            toTorch(cp, cp.catalog.tensors[cp.catalog.find(name.toStdString())]);
            QFAIL("no error");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::UnsupportedFormat);
            QVERIFY2(QString::fromStdString(e.message()).contains("\"" + name + "\""), e.what());
            QCOMPARE(e.file(), m_path);
        }
    }

    void unalignedDataIsCopied()
    {
        // A hand-made file whose data starts at an odd address: header of 13 bytes.
        const QByteArray header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
        QByteArray file;
        const quint64 n = header.size();
        for (int i = 0; i < 8; ++i)
            file.append(static_cast<char>((n >> (8 * i)) & 0xff));
        file.append(header);
        const float values[2] = {7.f, -1.f};
        file.append(reinterpret_cast<const char *>(values), 8);
        QVERIFY((8 + header.size()) % 4 != 0);
        const std::string path = m_dir.filePath("unaligned.safetensors").toStdString();
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(file);
        f.close();
        const Checkpoint cp = open(path);
        const auto t = toTorch(cp, cp.catalog.tensors[0]);
        QVERIFY(torch::equal(t, torch::tensor({7.f, -1.f})));
        QVERIFY(t.data_ptr() != static_cast<const void *>(cp.tensorBytes(cp.catalog.tensors[0]).data()));
    }
};

QTEST_GUILESS_MAIN(TestTorchBridge)
#include "tst_torchbridge.moc"
