// Safetensors reader and writer: valid files, one corrupt file per validation rule, mutation
// fuzzing (truncations and bit flips), zero-copy mmap views, writer round trips and sparse files.

#include "loader/checkpoint.h"
#include "loader/jsoncursor_p.h"
#include "loader/safetensorswriter.h"
#include "planner/error.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include <sys/stat.h>

using namespace mizan;
using mizan::test::errorOf;
using namespace mizan::loader;

Q_DECLARE_METATYPE(mizan::ErrorKind)

namespace {

// A safetensors file from raw parts: the 8-byte length is the header's own length unless given.
QByteArray rawFile(const QByteArray &header, qsizetype dataBytes, std::optional<quint64> length = {})
{
    const quint64 n = length.value_or(static_cast<quint64>(header.size()));
    QByteArray out;
    for (int i = 0; i < 8; ++i)
        out.append(static_cast<char>((n >> (8 * i)) & 0xff));
    out.append(header);
    for (qsizetype i = 0; i < dataBytes; ++i)
        out.append(static_cast<char>(i * 7 + 1));
    return out;
}

std::string writeBytes(const QTemporaryDir &dir, const QString &name, const QByteArray &bytes)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        qFatal("cannot write test file %s", qPrintable(path));
    return path.toStdString();
}

QByteArray readAll(const std::string &path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", path.c_str());
    return f.readAll();
}

std::vector<std::string> names(const Catalog &catalog)
{
    std::vector<std::string> out;
    for (const auto &t : catalog.tensors)
        out.push_back(t.name);
    return out;
}

std::vector<std::byte> pattern(std::int64_t n, int seed)
{
    std::vector<std::byte> out(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<std::byte>((i * 31 + seed * 17 + 3) & 0xff);
    return out;
}

WriteTensor tensor(std::string name, DType dtype, std::vector<std::int64_t> shape, int seed)
{
    WriteTensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.data = pattern(t.byteSize(), seed);
    return t;
}

// The mapping of /proc/self/maps that contains `p`: its path, or "" when none.
std::string mappingPathOf(const void *p)
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    while (std::getline(maps, line)) {
        std::istringstream in(line);
        std::string range, perms, offset, dev, inode, path;
        in >> range >> perms >> offset >> dev >> inode;
        std::getline(in >> std::ws, path);
        const auto dash = range.find('-');
        const auto lo = std::stoull(range.substr(0, dash), nullptr, 16);
        const auto hi = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (addr >= lo && addr < hi)
            return path;
    }
    return {};
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
    }

    void readsValidFiles_data()
    {
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QStringList>("expectedNames");
        QTest::addColumn<QList<qint64>>("expectedSizes");

        QTest::newRow("one f32") << QByteArray(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})")
                                 << 24 << QStringList{"w"} << QList<qint64>{24};
        QTest::newRow("header order kept, not offset order")
            << QByteArray(R"({"b":{"dtype":"F16","shape":[4],"data_offsets":[8,16]},"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})")
            << 16 << QStringList{"b", "a"} << QList<qint64>{8, 8};
        QTest::newRow("metadata first, padded with spaces")
            << QByteArray(R"({"__metadata__":{"format":"pt","note":"x"},"x":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}    )")
            << 6 << QStringList{"x"} << QList<qint64>{6};
        QTest::newRow("scalar and empty tensors")
            << QByteArray(R"({"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[8,8]}})")
            << 8 << QStringList{"s", "e"} << QList<qint64>{8, 0};
        QTest::newRow("no tensors") << QByteArray(R"({"__metadata__":{"format":"pt"}})") << 0 << QStringList{}
                                    << QList<qint64>{};
        // Every dtype the format defines, with its element size.
        QByteArray all = "{";
        QStringList allNames;
        QList<qint64> allSizes;
        struct D { const char *name; int bits; };
        const D dtypes[] = {{"BOOL", 8}, {"U8", 8}, {"I8", 8}, {"U16", 16}, {"I16", 16}, {"U32", 32}, {"I32", 32},
                            {"U64", 64}, {"I64", 64}, {"F16", 16}, {"BF16", 16}, {"F32", 32}, {"F64", 64},
                            {"C64", 64}, {"F8_E4M3", 8}, {"F8_E5M2", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
                            {"F8_E5M2FNUZ", 8}, {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"F4", 4}};
        qint64 offset = 0;
        for (const auto &d : dtypes) {
            const qint64 bytes = 8 * d.bits / 8; // 8 elements
            all += QByteArray(offset ? "," : "") + "\"t_" + d.name + "\":{\"dtype\":\"" + d.name
                   + "\",\"shape\":[2,4],\"data_offsets\":[" + QByteArray::number(offset) + ","
                   + QByteArray::number(offset + bytes) + "]}";
            allNames << QStringLiteral("t_%1").arg(d.name);
            allSizes << bytes;
            offset += bytes;
        }
        all += "}";
        QTest::newRow("every dtype") << all << int(offset) << allNames << allSizes;
    }
    void readsValidFiles()
    {
        QFETCH(QByteArray, header);
        QFETCH(int, dataBytes);
        QFETCH(QStringList, expectedNames);
        QFETCH(QList<qint64>, expectedSizes);
        const std::string path = writeBytes(m_dir, "valid.safetensors", rawFile(header, dataBytes));
        const Checkpoint cp = open(path);
        QCOMPARE(cp.format, Format::Safetensors);
        QCOMPARE(cp.catalog.shards.size(), std::size_t(1));
        QCOMPARE(cp.catalog.shards[0].headerBytes, 8 + header.size());
        QCOMPARE(cp.catalog.shards[0].fileSize, 8 + header.size() + dataBytes);
        QStringList got;
        QList<qint64> sizes;
        for (const auto &t : cp.catalog.tensors) {
            got << QString::fromStdString(t.name);
            sizes << t.byteSize;
            QVERIFY(t.offset >= 8 + header.size());
            QCOMPARE(cp.catalog.find(t.name), int(&t - cp.catalog.tensors.data()));
        }
        QCOMPARE(got, expectedNames);
        QCOMPARE(sizes, expectedSizes);
        QCOMPARE(cp.catalog.find("no such tensor"), -1);
    }

    void rejectsCorruptFiles_data()
    {
        QTest::addColumn<QByteArray>("file");
        QTest::addColumn<mizan::ErrorKind>("kind");
        QTest::addColumn<QString>("needle");

        const QByteArray ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[4],"data_offsets":[8,16]}})";
        auto entry = [](const QByteArray &body) { return "{\"t\":" + body + "}"; };

        QTest::newRow("shorter than the length field") << QByteArray("\x10\x00\x00", 3) << ErrorKind::Truncated << "8-byte";
        QTest::newRow("length over the 100 MB cap")
            << rawFile(ok, 16, 100'000'001) << ErrorKind::HeaderTooLarge << "100000000";
        QTest::newRow("length beyond the file") << rawFile(ok, 16, ok.size() + 17) << ErrorKind::HeaderTooLarge
                                                << "larger than the";
        QTest::newRow("length 2^64-1") << rawFile(ok, 16, ~0ull) << ErrorKind::HeaderTooLarge << "header length";
        QTest::newRow("length zero") << rawFile("", 0, 0) << ErrorKind::InvalidHeader << "length is 0";
        QTest::newRow("invalid JSON with offset")
            << rawFile(R"({"a":{"dtype":"F32",,"shape":[2]}})", 0) << ErrorKind::InvalidJson << "invalid JSON at byte 28";
        QTest::newRow("invalid UTF-8") << rawFile("{\"\xff\xfe\":{}}", 0) << ErrorKind::InvalidJson << "invalid JSON";
        QTest::newRow("root is an array") << rawFile("[1,2]", 0) << ErrorKind::InvalidHeader << "expected a JSON object";
        QTest::newRow("entry not an object") << rawFile(entry("3"), 0) << ErrorKind::InvalidHeader << "tensor \"t\" is 3";
        QTest::newRow("no dtype") << rawFile(entry(R"({"shape":[1],"data_offsets":[0,4]})"), 4)
                                  << ErrorKind::InvalidHeader << "has no \"dtype\"";
        QTest::newRow("no shape") << rawFile(entry(R"({"dtype":"F32","data_offsets":[0,4]})"), 4)
                                  << ErrorKind::InvalidHeader << "has no \"shape\"";
        QTest::newRow("no data_offsets") << rawFile(entry(R"({"dtype":"F32","shape":[1]})"), 4)
                                         << ErrorKind::InvalidHeader << "has no \"data_offsets\"";
        QTest::newRow("dtype not a string") << rawFile(entry(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})"), 4)
                                            << ErrorKind::InvalidHeader << "dtype is 4";
        QTest::newRow("unknown dtype") << rawFile(entry(R"({"dtype":"F7","shape":[1],"data_offsets":[0,4]})"), 4)
                                       << ErrorKind::UnknownDtype << "unknown dtype \"F7\" for tensor \"t\"";
        QTest::newRow("lower-case dtype") << rawFile(entry(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), 4)
                                          << ErrorKind::UnknownDtype << "\"f32\"";
        QTest::newRow("shape not an array") << rawFile(entry(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})"), 16)
                                            << ErrorKind::InvalidHeader << "shape is 4";
        QTest::newRow("negative dimension") << rawFile(entry(R"({"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]})"), 8)
                                            << ErrorKind::BadShape << "dimension 1 is -1";
        QTest::newRow("fractional dimension") << rawFile(entry(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), 8)
                                              << ErrorKind::BadShape << "dimension 0 is 2.0";
        QTest::newRow("numel overflow")
            << rawFile(entry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"), 8)
            << ErrorKind::BadShape << "overflows";
        QTest::newRow("bytes overflow")
            << rawFile(entry(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})"), 8)
            << ErrorKind::BadShape << "overflow";
        QTest::newRow("size differs from offsets")
            << rawFile(entry(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), 8) << ErrorKind::BadShape
            << "needs 12 bytes but data_offsets [0,8] hold 8";
        QTest::newRow("F4 with an odd element count")
            << rawFile(entry(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})"), 2) << ErrorKind::BadShape
            << "whole number of bytes";
        QTest::newRow("offsets not a pair") << rawFile(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})"), 1)
                                            << ErrorKind::InvalidHeader << "expected [begin, end]";
        QTest::newRow("negative offset") << rawFile(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})"), 1)
                                         << ErrorKind::BadOffsets << "non-negative";
        QTest::newRow("begin after end") << rawFile(entry(R"({"dtype":"U8","shape":[0],"data_offsets":[4,2]})"), 4)
                                         << ErrorKind::BadOffsets << "begin 4 is after end 2";
        QTest::newRow("overlap names both")
            << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)
            << ErrorKind::OverlappingOffsets << "overlap between \"a\" [0, 8) and \"b\" [4, 12)";
        QTest::newRow("same range twice")
            << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8)
            << ErrorKind::OverlappingOffsets << "\"b\"";
        QTest::newRow("gap between tensors")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)
            << ErrorKind::BadOffsets << "bytes [4, 8) belong to no tensor";
        QTest::newRow("data does not start at 0")
            << rawFile(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), 8) << ErrorKind::BadOffsets
            << "bytes [0, 4)";
        QTest::newRow("bytes after the last tensor") << rawFile(ok, 20) << ErrorKind::BadOffsets
                                                     << "4 bytes after the last tensor \"b\"";
        QTest::newRow("data truncated") << rawFile(ok, 10) << ErrorKind::Truncated
                                        << "tensor \"b\" ends at byte";
        QTest::newRow("offset far beyond the file")
            << rawFile(entry(R"({"dtype":"U8","shape":[8],"data_offsets":[1000000000000,1000000000008]})"), 8)
            << ErrorKind::BadOffsets << "belong to no tensor";
        QTest::newRow("metadata not an object") << rawFile(R"({"__metadata__":["pt"]})", 0) << ErrorKind::InvalidHeader
                                                << "__metadata__ is [\"pt\"]";
        QTest::newRow("metadata value not a string") << rawFile(R"({"__metadata__":{"format":1}})", 0)
                                                     << ErrorKind::InvalidHeader << "value of \"format\" is 1";
        QTest::newRow("duplicate tensor name")
            << rawFile(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2)
            << ErrorKind::InvalidHeader << "duplicate key \"a\"";
    }
    void rejectsCorruptFiles()
    {
        QFETCH(QByteArray, file);
        QFETCH(mizan::ErrorKind, kind);
        QFETCH(QString, needle);
        const std::string path = writeBytes(m_dir, "corrupt.safetensors", file);
        const auto error = errorOf([&] { open(path); });
        QVERIFY2(error.has_value(), "no error thrown");
        QVERIFY2(error->kind() == kind, qPrintable(QStringLiteral("kind %1, expected %2: %3")
                                                      .arg(toString(error->kind()), toString(kind), error->what())));
        QCOMPARE(error->file(), path);
        QVERIFY2(QString::fromStdString(error->message()).contains(needle), error->what());
        QVERIFY(QString::fromUtf8(error->what()).contains("corrupt.safetensors"));
    }

    void warnsAboutMetadataFormat_data()
    {
        QTest::addColumn<QByteArray>("metadata");
        QTest::addColumn<QString>("warning");
        QTest::newRow("pt") << QByteArray(R"({"format":"pt"})") << QString();
        QTest::newRow("none") << QByteArray() << QString();
        QTest::newRow("np") << QByteArray(R"({"format":"np"})") << QStringLiteral("format is \"np\"");
        QTest::newRow("no format key") << QByteArray(R"({"k":"v"})") << QStringLiteral("no \"format\"");
    }
    void warnsAboutMetadataFormat()
    {
        QFETCH(QByteArray, metadata);
        QFETCH(QString, warning);
        QByteArray header = "{";
        if (!metadata.isEmpty())
            header += "\"__metadata__\":" + metadata + ",";
        header += R"("w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
        const Checkpoint cp = open(writeBytes(m_dir, "meta.safetensors", rawFile(header, 2)));
        if (warning.isEmpty()) {
            QVERIFY(cp.warnings.empty());
        } else {
            QCOMPARE(cp.warnings.size(), std::size_t(1));
            QVERIFY2(QString::fromStdString(cp.warnings[0]).contains(warning), cp.warnings[0].c_str());
            QVERIFY(QString::fromStdString(cp.warnings[0]).startsWith(m_dir.filePath("meta.safetensors") + ": "));
            // The same note structured: the file, then the format when there is one.
            const std::string file = m_dir.filePath("meta.safetensors").toStdString();
            const bool hasFormat = metadata.contains("format");
            QCOMPARE(cp.notes.size(), std::size_t(1));
            QVERIFY(cp.notes[0] == (hasFormat ? loader::Note{loader::NoteId::MetadataFormatNotPtInFile, {file, std::string("np")}}
                                              : loader::Note{loader::NoteId::MetadataNoFormatInFile, {file}}));
            QCOMPARE(planner::toEnglish(cp.notes[0]), cp.warnings[0]);
        }
        QCOMPARE(cp.notes.size(), cp.warnings.size());
        // The header alone carries the note without a file name.
        const SafetensorsHeader read = readSafetensorsHeader(m_dir.filePath("meta.safetensors").toStdString());
        QCOMPARE(read.notes.size(), read.warnings.size());
        QCOMPARE(read.notes.size(), cp.notes.size());
        for (std::size_t i = 0; i < read.notes.size(); ++i) {
            QVERIFY(read.notes[i].id == loader::NoteId::MetadataNoFormat || read.notes[i].id == loader::NoteId::MetadataFormatNotPt);
            QCOMPARE(planner::toEnglish(read.notes[i]), read.warnings[i]);
        }
    }

    // Random truncations and bit flips of a valid file: each must give a mizan::Error or a
    // catalog that is consistent with the file, never a crash (run under ASan in CI).
    void survivesMutations()
    {
        std::vector<WriteTensor> tensors{
            tensor("model.embed.weight", DType::F16, {16, 8}, 1),
            tensor("model.layers.0.attn.q.weight", DType::BF16, {8, 8}, 2),
            tensor("model.layers.0.norm.weight", DType::F32, {8}, 3),
            tensor("model.layers.0.mask", DType::Bool, {3}, 4),
            tensor("model.layers.0.count", DType::I64, {}, 5),
            tensor("lm_head.weight", DType::F8_E4M3, {16, 8}, 6),
        };
        const std::string base = m_dir.filePath("fuzz-base.safetensors").toStdString();
        const WrittenFile written = writeSafetensors(base, tensors);
        const QByteArray original = readAll(base);
        QCOMPARE(original.size(), written.fileSize);

        std::mt19937_64 rng(20261125);
        std::map<ErrorKind, int> kinds;
        int valid = 0;
        const int truncations = 200, flips = 400;
        for (int i = 0; i < truncations + flips; ++i) {
            QByteArray mutated = original;
            if (i < truncations) {
                mutated.truncate(static_cast<qsizetype>(rng() % static_cast<std::uint64_t>(original.size())));
            } else {
                const int count = 1 + static_cast<int>(rng() % 3);
                for (int k = 0; k < count; ++k) {
                    const auto at = static_cast<qsizetype>(rng() % static_cast<std::uint64_t>(written.headerBytes));
                    mutated[at] = static_cast<char>(mutated[at] ^ (1 << (rng() % 8)));
                }
            }
            const std::string path = writeBytes(m_dir, QStringLiteral("fuzz-%1.safetensors").arg(i), mutated);
            try {
                const Checkpoint cp = open(path);
                ++valid;
                for (const auto &t : cp.catalog.tensors) {
                    QVERIFY(t.offset >= cp.catalog.shards[0].headerBytes);
                    QVERIFY(t.offset + t.byteSize <= mutated.size());
                    QCOMPARE(cp.tensorBytes(t).size(), std::size_t(t.byteSize));
                }
            } catch (const Error &e) {
                ++kinds[e.kind()];
                QCOMPARE(e.file(), path);
                QVERIFY(!e.message().empty());
            }
            QFile::remove(QString::fromStdString(path));
        }
        QString summary;
        for (const auto &[kind, count] : kinds)
            summary += QStringLiteral("%1=%2 ").arg(toString(kind)).arg(count);
        qInfo("%d mutated files: %d still valid, errors: %s", truncations + flips, valid, qPrintable(summary));
        // Every truncation is an error, and the bit flips reach several validation rules.
        QVERIFY(kinds[ErrorKind::Truncated] + kinds[ErrorKind::HeaderTooLarge] + kinds[ErrorKind::InvalidJson] >= truncations);
        QVERIFY(kinds.size() >= 5);
        QVERIFY(valid < flips);
    }

    // The loader's own JSON reader accepts exactly the texts nlohmann_json accepts, on 20,000
    // mutations of JSON documents (escapes, surrogates, UTF-8, numbers, nesting, truncation).
    void jsonSyntaxAgreesWithNlohmann()
    {
        const std::vector<std::string> seeds{
            R"({"__metadata__":{"format":"pt"},"a.b":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
            R"({"w":{"dtype":"F16","shape":[4],"x":[1,{"y":null,"z":true}]},"s\u00e9\ud83d\ude00\n":{}})",
            "[1.5e10, -0, 0.25E-3, \"x\\\\\\\"y\", {\"a\":[[],{}]}, false]",
            R"({"metadata":{"total_size":32},"weight_map":{"a":"m-1.safetensors","b":"m-2.safetensors"}})",
        };
        const char *tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "d83d", "null", "tru", "1e",
                                "-", "0", "\xc3", "\xa9", "\xff", " ", "\x01"};
        const std::regex hugeExponent("[eE][+-]?[0-9]{3,}"); // nlohmann refuses numbers that overflow a double
        std::mt19937_64 rng(7);
        int accepted = 0;
        for (int i = 0; i < 20000; ++i) {
            std::string text = seeds[rng() % seeds.size()];
            const int mutations = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < mutations && !text.empty(); ++k) {
                const std::size_t at = rng() % text.size();
                switch (rng() % 4) {
                case 0: text[at] = static_cast<char>(text[at] ^ (1 << (rng() % 8))); break;
                case 1: text.erase(at, 1 + rng() % 3); break;
                case 2: text.insert(at, tokens[rng() % std::size(tokens)]); break;
                default: text.resize(at); break;
                }
            }
            bool ours = true;
            try {
                detail::JsonCursor::validate(text, "mutated.json", 0);
            } catch (const Error &e) {
                ours = false;
                QCOMPARE(e.kind(), ErrorKind::InvalidJson);
                QVERIFY(QString::fromStdString(e.message()).startsWith("invalid JSON at byte "));
            }
            const bool theirs = nlohmann::json::accept(text);
            if (ours != theirs && !(ours && std::regex_search(text, hugeExponent)))
                QFAIL(qPrintable(QStringLiteral("ours %1, nlohmann %2: %3").arg(ours).arg(theirs).arg(QString::fromStdString(text))));
            accepted += ours;
        }
        QVERIFY(accepted > 1000); // both branches are exercised
    }

    void tensorBytesAreZeroCopyViews()
    {
        std::vector<WriteTensor> tensors{tensor("a", DType::F32, {5, 3}, 1), tensor("b", DType::U8, {7}, 2),
                                         tensor("c", DType::I64, {2, 2}, 3), tensor("d", DType::F16, {0}, 4)};
        const std::string path = m_dir.filePath("zerocopy.safetensors").toStdString();
        writeSafetensors(path, tensors);
        const Checkpoint cp = open(path);
        const std::string canonical = QFileInfo(QString::fromStdString(path)).canonicalFilePath().toStdString();
        const std::byte *first = nullptr;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const TensorEntry &entry = cp.catalog.tensors[i];
            const auto bytes = cp.tensorBytes(entry);
            QCOMPARE(bytes.size(), tensors[i].data.size());
            QVERIFY(std::equal(bytes.begin(), bytes.end(), tensors[i].data.begin()));
            if (bytes.empty())
                continue;
            // The view lies in a mapping of the file itself, at the tensor's file offset.
            QCOMPARE(mappingPathOf(bytes.data()), canonical);
            if (!first)
                first = bytes.data() - entry.offset;
            QCOMPARE(static_cast<const void *>(bytes.data()), static_cast<const void *>(first + entry.offset));
            QCOMPARE(static_cast<const void *>(cp.tensorBytes(entry).data()), static_cast<const void *>(bytes.data()));
        }
        // A shared view keeps the mapping alive after the checkpoint is gone.
        Checkpoint::SharedBytes shared;
        {
            Checkpoint other = open(path);
            shared = other.tensorBytesShared(other.catalog.tensors[1]);
        }
        QVERIFY(std::equal(shared.bytes.begin(), shared.bytes.end(), tensors[1].data.begin()));
        QCOMPARE(mappingPathOf(shared.bytes.data()), canonical);
    }

    void tensorBytesRejectsForeignEntries()
    {
        const std::string path = m_dir.filePath("foreign.safetensors").toStdString();
        writeSafetensors(path, {tensor("a", DType::F32, {2}, 1)});
        const Checkpoint cp = open(path);
        TensorEntry bogus = cp.catalog.tensors[0];
        bogus.shard = 3;
        QCOMPARE(errorOf([&] { cp.tensorBytes(bogus); })->kind(), ErrorKind::InvalidArgument);
        bogus.shard = 0;
        bogus.offset = 1 << 20;
        QCOMPARE(errorOf([&] { cp.tensorBytes(bogus); })->kind(), ErrorKind::InvalidArgument);
    }

    void writerRoundTripsInCallerOrder()
    {
        std::vector<WriteTensor> tensors{tensor("z.last.but.first", DType::F16, {3}, 1),
                                         tensor("a.second", DType::F32, {2, 2}, 2)};
        WriteTensor filled;
        filled.name = "m.filled";
        filled.dtype = DType::I32;
        filled.shape = {3, 1000, 100}; // 1.2 MB: more than one filler chunk
        filled.filler = [](std::int64_t offset, std::span<std::byte> chunk) {
            for (std::size_t i = 0; i < chunk.size(); ++i)
                chunk[i] = static_cast<std::byte>((offset + static_cast<std::int64_t>(i)) % 251);
        };
        tensors.push_back(filled);
        WriteTensor zeros;
        zeros.name = "zeros";
        zeros.dtype = DType::BF16;
        zeros.shape = {5};
        tensors.push_back(zeros);
        WriteOptions options;
        options.metadata = {{"format", "pt"}, {"origin", "test"}};
        const std::string path = m_dir.filePath("roundtrip.safetensors").toStdString();
        const WrittenFile written = writeSafetensors(path, tensors, options);
        QCOMPARE(written.headerBytes % 8, 0);

        const QByteArray raw = readAll(path);
        const QByteArray json = raw.mid(8, written.headerBytes - 8);
        QVERIFY(json.startsWith(R"({"__metadata__":{"format":"pt","origin":"test"},"z.last.but.first":{"dtype":"F16","shape":[3],"data_offsets":[0,6]})"));
        QVERIFY(json.endsWith('}') || json.endsWith(' '));

        const Checkpoint cp = open(path);
        QCOMPARE(names(cp.catalog), (std::vector<std::string>{"z.last.but.first", "a.second", "m.filled", "zeros"}));
        QCOMPARE(cp.catalog.shards[0].metadata.dump(), std::string(R"({"format":"pt","origin":"test"})"));
        QCOMPARE(cp.catalog.tensors[2].shape, (std::vector<std::int64_t>{3, 1000, 100}));
        for (int i = 0; i < 2; ++i) {
            const auto bytes = cp.tensorBytes(cp.catalog.tensors[i]);
            QVERIFY(std::equal(bytes.begin(), bytes.end(), tensors[i].data.begin(), tensors[i].data.end()));
        }
        const auto big = cp.tensorBytes(cp.catalog.tensors[2]);
        QCOMPARE(big.size(), std::size_t(1'200'000));
        for (std::size_t i = 0; i < big.size(); i += 4999)
            QCOMPARE(big[i], static_cast<std::byte>(i % 251));
        for (std::byte b : cp.tensorBytes(cp.catalog.tensors[3]))
            QCOMPARE(b, std::byte{0});
    }

    void writerRejectsBadInput_data()
    {
        QTest::addColumn<int>("mistake");
        QTest::newRow("duplicate name") << 0;
        QTest::newRow("data of the wrong size") << 1;
        QTest::newRow("dtype safetensors lacks") << 2;
        QTest::newRow("metadata value not a string") << 3;
        QTest::newRow("tensor named __metadata__") << 4;
        QTest::newRow("negative dimension") << 5;
    }
    void writerRejectsBadInput()
    {
        QFETCH(int, mistake);
        std::vector<WriteTensor> tensors{tensor("a", DType::F32, {2}, 1), tensor("b", DType::U8, {3}, 2)};
        WriteOptions options;
        switch (mistake) {
        case 0: tensors[1].name = "a"; break;
        case 1: tensors[0].data.pop_back(); break;
        case 2: tensors[1].dtype = DType::CustomInt4; tensors[1].data.clear(); tensors[1].shape = {4}; break;
        case 3: options.metadata = {{"format", 1}}; break;
        case 4: tensors[1].name = "__metadata__"; break;
        case 5: tensors[1].data.clear(); tensors[1].shape = {-3}; break;
        }
        const std::string path = m_dir.filePath("rejected.safetensors").toStdString();
        const auto error = errorOf([&] { writeSafetensors(path, tensors, options); });
        QVERIFY(error.has_value());
        QCOMPARE(error->kind(), ErrorKind::InvalidArgument);
        QVERIFY(!QFile::exists(QString::fromStdString(path)));
        // No temporary file is left behind.
        QCOMPARE(QDir(m_dir.path()).entryList({".rejected*"}, QDir::Hidden | QDir::Files).size(), 0);
    }

    void sparseFilesHaveValidHeadersAndNoData()
    {
        // 256 MiB of weights described, no data written.
        std::vector<WriteTensor> tensors;
        for (int i = 0; i < 4; ++i) {
            WriteTensor t;
            t.name = "layers." + std::to_string(i) + ".weight";
            t.dtype = DType::BF16;
            t.shape = {8192, 4096};
            tensors.push_back(t);
        }
        WriteOptions options;
        options.sparse = true;
        const std::string path = m_dir.filePath("sparse.safetensors").toStdString();
        const WrittenFile written = writeSafetensors(path, tensors, options);
        QCOMPARE(written.fileSize, written.headerBytes + 4 * 8192 * 4096 * 2);
        struct stat st {};
        QCOMPARE(::stat(path.c_str(), &st), 0);
        QCOMPARE(static_cast<std::int64_t>(st.st_size), written.fileSize);
        QVERIFY2(static_cast<std::int64_t>(st.st_blocks) * 512 < (1 << 20),
                 qPrintable(QStringLiteral("sparse file uses %1 bytes of disk").arg(st.st_blocks * 512)));
        const Checkpoint cp = open(path);
        QCOMPARE(cp.catalog.totalBytes(), std::int64_t(4) * 8192 * 4096 * 2);
        const auto bytes = cp.tensorBytes(cp.catalog.tensors[3]);
        QCOMPARE(bytes.back(), std::byte{0});
    }

    void planShardsSplitsInOrder_data()
    {
        QTest::addColumn<int>("shardCount");
        QTest::addColumn<qint64>("maxBytes");
        QTest::addColumn<QList<int>>("expected");
        // Tensor bytes: 100, 100, 400, 100, 100, 200 (total 1000).
        QTest::newRow("2 shards") << 2 << qint64(0) << QList<int>{0, 0, 0, 1, 1, 1};
        QTest::newRow("3 shards") << 3 << qint64(0) << QList<int>{0, 0, 1, 1, 2, 2};
        QTest::newRow("6 shards, one tensor each") << 6 << qint64(0) << QList<int>{0, 1, 2, 3, 4, 5};
        QTest::newRow("max 300 bytes") << 0 << qint64(300) << QList<int>{0, 0, 1, 2, 2, 3};
        QTest::newRow("max larger than all") << 0 << qint64(5000) << QList<int>{0, 0, 0, 0, 0, 0};
    }
    void planShardsSplitsInOrder()
    {
        QFETCH(int, shardCount);
        QFETCH(qint64, maxBytes);
        QFETCH(QList<int>, expected);
        std::vector<WriteTensor> tensors;
        for (std::int64_t n : {100, 100, 400, 100, 100, 200}) {
            WriteTensor t;
            t.name = "t" + std::to_string(tensors.size());
            t.dtype = DType::U8;
            t.shape = {n};
            tensors.push_back(t);
        }
        ShardOptions options;
        options.shardCount = shardCount;
        options.maxShardBytes = maxBytes;
        const auto plan = planShards(tensors, options);
        QCOMPARE(QList<int>(plan.begin(), plan.end()), expected);
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
