// Reads and validates safetensors headers: 8-byte little-endian length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then data.

#include "checkpoint.h"
#include "fileio_p.h"
#include "jsonparse_p.h"
#include "safetensorsformat_p.h"

#include "planner/error.h"

#include <algorithm>
#include <numeric>

namespace mizan::loader {

namespace {

using Json = nlohmann::json;

std::string quote(const std::string &s)
{
    return "\"" + s + "\"";
}

std::string describeValue(const Json &value)
{
    std::string text = value.dump();
    if (text.size() > 40)
        text = text.substr(0, 37) + "...";
    return text;
}

[[noreturn]] void fail(ErrorKind kind, const std::string &path, const std::string &message)
{
    throw Error(kind, path, message);
}

// A JSON integer in [0, int64 max], or nullopt.
std::optional<std::int64_t> nonNegativeInteger(const Json &v)
{
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return std::nullopt;
        return static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (i < 0)
            return std::nullopt;
        return i;
    }
    return std::nullopt;
}

TensorEntry parseEntry(const std::string &path, const std::string &name, const Json &entry,
                       std::int64_t &begin, std::int64_t &end)
{
    const std::string who = "tensor " + quote(name);
    if (!entry.is_object())
        fail(ErrorKind::InvalidHeader, path, who + " is " + describeValue(entry)
                                                 + ", expected an object with dtype, shape and data_offsets");
    for (const char *key : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(key))
            fail(ErrorKind::InvalidHeader, path, who + " has no \"" + key + "\"");

    TensorEntry t;
    t.name = name;
    const Json &dtype = entry["dtype"];
    if (!dtype.is_string())
        fail(ErrorKind::InvalidHeader, path, who + ": dtype is " + describeValue(dtype) + ", expected a string");
    const auto d = detail::dtypeFromSafetensorsName(dtype.get_ref<const std::string &>());
    if (!d)
        fail(ErrorKind::UnknownDtype, path, "unknown dtype " + quote(dtype.get<std::string>()) + " for " + who);
    t.dtype = *d;

    const Json &shape = entry["shape"];
    if (!shape.is_array())
        fail(ErrorKind::InvalidHeader, path, who + ": shape is " + describeValue(shape) + ", expected an array");
    t.shape.reserve(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const auto dim = nonNegativeInteger(shape[i]);
        if (!dim)
            fail(ErrorKind::BadShape, path, who + ": dimension " + std::to_string(i) + " is "
                                                + describeValue(shape[i]) + ", expected a non-negative integer");
        t.shape.push_back(*dim);
    }
    const auto numel = detail::checkedNumel(t.shape);
    if (!numel)
        fail(ErrorKind::BadShape, path, who + ": the element count of shape " + shape.dump() + " overflows");
    const auto bytes = detail::checkedStorageBytes(t.dtype, *numel);
    if (!bytes)
        fail(ErrorKind::BadShape, path, who + ": " + std::to_string(*numel) + " elements of "
                                            + dtype.get<std::string>() + " do not make a whole number of bytes"
                                              " (or overflow)");
    t.byteSize = *bytes;

    const Json &offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
        fail(ErrorKind::InvalidHeader, path, who + ": data_offsets is " + describeValue(offsets)
                                                 + ", expected [begin, end]");
    const auto b = nonNegativeInteger(offsets[0]);
    const auto e = nonNegativeInteger(offsets[1]);
    if (!b || !e)
        fail(ErrorKind::BadOffsets, path, who + ": data_offsets " + offsets.dump()
                                              + " are not two non-negative integers");
    if (*b > *e)
        fail(ErrorKind::BadOffsets, path, who + ": data_offsets begin " + std::to_string(*b)
                                              + " is after end " + std::to_string(*e));
    if (*e - *b != t.byteSize)
        fail(ErrorKind::BadShape, path, who + ": shape " + shape.dump() + " of " + dtype.get<std::string>()
                                            + " needs " + std::to_string(t.byteSize) + " bytes but data_offsets "
                                            + offsets.dump() + " hold " + std::to_string(*e - *b));
    begin = *b;
    end = *e;
    return t;
}

} // namespace

SafetensorsHeader parseSafetensorsHeader(std::string_view text, std::int64_t fileSize, const std::string &path)
{
    const auto headerLength = static_cast<std::int64_t>(text.size());
    std::vector<std::string> keys;
    Json root = detail::parseJsonWithKeys(text, path, /*keyDepth=*/1, {}, keys, /*fileOffset=*/8);
    if (!root.is_object())
        fail(ErrorKind::InvalidHeader, path, "header is " + std::string(root.type_name())
                                                 + ", expected a JSON object of tensors");

    SafetensorsHeader out;
    out.info.path = path;
    out.info.fileSize = fileSize;
    out.info.headerBytes = 8 + headerLength;
    out.info.metadata = nlohmann::ordered_json::object();

    std::vector<std::int64_t> begins, ends;
    out.tensors.reserve(keys.size());
    begins.reserve(keys.size());
    ends.reserve(keys.size());
    for (const std::string &key : keys) {
        const Json &value = root[key];
        if (key == "__metadata__") {
            if (!value.is_object())
                fail(ErrorKind::InvalidHeader, path, "__metadata__ is " + describeValue(value)
                                                         + ", expected an object of strings");
            for (const auto &[k, v] : value.items()) {
                if (!v.is_string())
                    fail(ErrorKind::InvalidHeader, path, "__metadata__ value of " + quote(k) + " is "
                                                             + describeValue(v) + ", expected a string");
                out.info.metadata[k] = v.get<std::string>();
            }
            continue;
        }
        std::int64_t b = 0, e = 0;
        out.tensors.push_back(parseEntry(path, key, value, b, e));
        begins.push_back(b);
        ends.push_back(e);
    }

    // Byte ranges, sorted: they must tile [0, data size) exactly, as the reference reader wants.
    std::vector<std::size_t> order(out.tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return begins[a] != begins[b] ? begins[a] < begins[b] : ends[a] < ends[b];
    });
    std::int64_t covered = 0;
    std::size_t last = 0;
    bool haveLast = false;
    std::int64_t maxEnd = 0;
    std::size_t maxEndTensor = 0;
    for (std::size_t i : order) {
        if (ends[i] > maxEnd) {
            maxEnd = ends[i];
            maxEndTensor = i;
        }
        if (begins[i] == ends[i])
            continue; // an empty tensor shares no bytes
        if (begins[i] < covered)
            fail(ErrorKind::OverlappingOffsets, path,
                 "offsets overlap between " + quote(out.tensors[last].name) + " [" + std::to_string(begins[last])
                     + ", " + std::to_string(ends[last]) + ") and " + quote(out.tensors[i].name) + " ["
                     + std::to_string(begins[i]) + ", " + std::to_string(ends[i]) + ")");
        if (begins[i] > covered)
            fail(ErrorKind::BadOffsets, path,
                 "gap in the data: bytes [" + std::to_string(covered) + ", " + std::to_string(begins[i])
                     + ") belong to no tensor (before " + quote(out.tensors[i].name)
                     + (haveLast ? ", after " + quote(out.tensors[last].name) : std::string()) + ")");
        covered = ends[i];
        last = i;
        haveLast = true;
    }
    const std::int64_t dataStart = 8 + headerLength;
    const std::int64_t dataBytes = fileSize - dataStart;
    if (maxEnd > dataBytes)
        fail(ErrorKind::Truncated, path,
             "file is " + std::to_string(fileSize) + " bytes but tensor " + quote(out.tensors[maxEndTensor].name)
                 + " ends at byte " + std::to_string(dataStart + maxEnd) + " (" + std::to_string(maxEnd - dataBytes)
                 + " bytes missing)");
    if (covered < dataBytes)
        fail(ErrorKind::BadOffsets, path,
             std::to_string(dataBytes - covered) + " bytes after the last tensor"
                 + (haveLast ? " " + quote(out.tensors[last].name) : std::string())
                 + " belong to no tensor (data area is " + std::to_string(dataBytes) + " bytes)");

    for (std::size_t i = 0; i < out.tensors.size(); ++i)
        out.tensors[i].offset = dataStart + begins[i];

    const auto &meta = out.info.metadata;
    if (!meta.empty()) {
        const auto format = meta.find("format");
        if (format == meta.end())
            out.warnings.push_back("__metadata__ has no \"format\" (transformers expects \"pt\")");
        else if (format->get<std::string>() != "pt")
            out.warnings.push_back("__metadata__ format is " + quote(format->get<std::string>())
                                   + ", not \"pt\"; the tensors may not be PyTorch layouts");
    }
    return out;
}

SafetensorsHeader readSafetensorsHeader(const std::string &path)
{
    detail::FileDescriptor fd = detail::openReadOnly(path);
    const std::int64_t fileSize = detail::fileSize(fd.get(), path);
    if (fileSize < 8)
        fail(ErrorKind::Truncated, path, "file is " + std::to_string(fileSize)
                                             + " bytes; a safetensors file starts with an 8-byte header length");
    unsigned char lengthBytes[8];
    detail::readExact(fd.get(), path, 0, lengthBytes, 8);
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i)
        length = (length << 8) | lengthBytes[i];
    if (length > static_cast<std::uint64_t>(detail::kMaxHeaderBytes))
        fail(ErrorKind::HeaderTooLarge, path, "header length " + std::to_string(length) + " is larger than the "
                                                  + std::to_string(detail::kMaxHeaderBytes) + "-byte limit");
    if (static_cast<std::int64_t>(length) > fileSize - 8)
        fail(ErrorKind::HeaderTooLarge, path, "header length " + std::to_string(length) + " is larger than the "
                                                  + std::to_string(fileSize - 8) + " bytes after the length field");
    if (length == 0)
        fail(ErrorKind::InvalidHeader, path, "header length is 0, expected a JSON object");
    std::string text(static_cast<std::size_t>(length), '\0');
    detail::readExact(fd.get(), path, 8, text.data(), text.size());
    return parseSafetensorsHeader(text, fileSize, path);
}

} // namespace mizan::loader
