#pragma once

// A small writer of torch.save's archive layout for the tests, without Python: a zip of stored
// entries (data aligned to 64 bytes, as torch writes them) holding <stem>/data.pkl (a protocol-2
// pickle of an OrderedDict of tensors rebuilt by torch._utils._rebuild_tensor_v2 from persistent
// storage ids), <stem>/data/<key> (the storages), <stem>/version and <stem>/byteorder. Pickle
// fragments are exposed so that tests can build malicious or damaged pickles.

#include "planner/dtype.h"

#include <QByteArray>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mizan::test::torchsave {

// One state dict entry: a view of a storage.
struct Tensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> stride;   // empty: contiguous
    std::int64_t offset = 0;            // elements into the storage
    std::string storage;                // storage key; tensors naming the same key share it
};

struct Storage {
    std::string key;
    DType dtype = DType::F32;
    QByteArray bytes;
    std::int64_t numel = -1;            // -1: bytes / element size (set otherwise to lie)
};

// ---- pickle opcodes ----
inline QByteArray le(std::uint64_t v, int n)
{
    QByteArray out;
    for (int i = 0; i < n; ++i)
        out += char((v >> (8 * i)) & 0xff);
    return out;
}
inline QByteArray str(const std::string &s) { return "X" + le(s.size(), 4) + QByteArray::fromStdString(s); }
inline QByteArray integer(std::int64_t v) { return v >= 0 && v < (1ll << 31) ? "J" + le(std::uint64_t(v), 4) : "\x8a\x08" + le(std::uint64_t(v), 8); }
inline QByteArray global(const std::string &module, const std::string &name)
{
    return "c" + QByteArray::fromStdString(module) + "\n" + QByteArray::fromStdString(name) + "\n";
}
inline QByteArray tupleOf(const std::vector<std::int64_t> &v)
{
    QByteArray out = "(";
    for (auto x : v)
        out += integer(x);
    return out + "t";
}

inline const char *storageType(DType d)
{
    switch (d) {
    case DType::F16: return "HalfStorage";
    case DType::BF16: return "BFloat16Storage";
    case DType::F64: return "DoubleStorage";
    case DType::I64: return "LongStorage";
    case DType::I32: return "IntStorage";
    case DType::I16: return "ShortStorage";
    case DType::I8: return "CharStorage";
    case DType::U8: return "ByteStorage";
    case DType::Bool: return "BoolStorage";
    default: return "FloatStorage";
    }
}

inline std::vector<std::int64_t> contiguousStride(const std::vector<std::int64_t> &shape)
{
    std::vector<std::int64_t> s(shape.size());
    std::int64_t e = 1;
    for (std::size_t k = shape.size(); k-- > 0;) {
        s[k] = e;
        e *= shape[k];
    }
    return s;
}

// The pickle of `tensors` as torch.save(state_dict) writes it (protocol 2, an OrderedDict).
inline QByteArray statePickle(const std::vector<Tensor> &tensors, const std::vector<Storage> &storages)
{
    auto numelOf = [&](const std::string &key) -> std::int64_t {
        for (const auto &s : storages)
            if (s.key == key)
                return s.numel >= 0 ? s.numel : s.bytes.size() / storageBytes(s.dtype, 1);
        return 0;
    };
    QByteArray p = "\x80\x02";
    p += global("collections", "OrderedDict") + QByteArray("q\x00", 2) + ")R" + "q\x01" + "(";
    for (const auto &t : tensors) {
        p += str(t.name);
        p += global("torch._utils", "_rebuild_tensor_v2") + "(";
        p += "(" + str("storage") + global("torch", storageType(t.dtype)) + str(t.storage) + str("cpu") + integer(numelOf(t.storage)) + "t";
        p += "Q";
        p += integer(t.offset) + tupleOf(t.shape) + tupleOf(t.stride.empty() ? contiguousStride(t.shape) : t.stride);
        p += "\x89" + global("collections", "OrderedDict") + ")R";
        p += "tR";
    }
    p += "u.";
    return p;
}

inline std::uint32_t crc32(const QByteArray &data)
{
    std::uint32_t c = 0xffffffffu;
    for (unsigned char b : data) {
        c ^= b;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// A zip archive of stored entries, each entry's data aligned to 64 bytes by a padding extra field.
inline QByteArray zipStored(const std::vector<std::pair<std::string, QByteArray>> &entries)
{
    QByteArray out, central;
    for (const auto &[name, data] : entries) {
        const std::uint64_t local = out.size();
        const int fixed = 30 + int(name.size());
        const int pad = int((64 - (local + std::uint64_t(fixed) + 4) % 64) % 64);
        const QByteArray extra = le(0x4246, 2) + le(std::uint64_t(pad), 2) + QByteArray(pad, 'Z');
        const std::uint32_t crc = crc32(data);
        QByteArray h = le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.size(), 4) + le(data.size(), 4)
                       + le(name.size(), 2) + le(extra.size(), 2);
        out += h + QByteArray::fromStdString(name) + extra + data;
        central += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.size(), 4)
                   + le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(local, 4)
                   + QByteArray::fromStdString(name);
    }
    const std::uint64_t cdOffset = out.size();
    out += central;
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(entries.size(), 2) + le(entries.size(), 2) + le(central.size(), 4)
           + le(cdOffset, 4) + le(0, 2);
    return out;
}

// A whole torch.save archive: `pickle` (statePickle by default) and the storages under `stem`.
inline QByteArray archive(const std::vector<Tensor> &tensors, const std::vector<Storage> &storages, const std::string &stem = "archive",
                          const QByteArray &pickle = {})
{
    std::vector<std::pair<std::string, QByteArray>> entries;
    entries.emplace_back(stem + "/data.pkl", pickle.isEmpty() ? statePickle(tensors, storages) : pickle);
    entries.emplace_back(stem + "/byteorder", "little");
    for (const auto &s : storages)
        entries.emplace_back(stem + "/data/" + s.key, s.bytes);
    entries.emplace_back(stem + "/version", "3\n");
    entries.emplace_back(stem + "/.data/serialization_id", "1234567890");
    return zipStored(entries);
}

} // namespace mizan::test::torchsave
