// Reads and validates safetensors headers: 8-byte little-endian length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then data.

#include "checkpoint.h"
#include "fileio_p.h"
#include "jsoncursor_p.h"
#include "safetensorsformat_p.h"
#include "safetensorsreader_p.h"

#include "planner/error.h"

#include <algorithm>
#include <numeric>
#include <unordered_set>

namespace mizan::loader {

namespace {

using detail::JsonCursor;

[[noreturn]] void fail(ErrorKind kind, const std::string &path, const std::string &message)
{
    throw Error(kind, path, message);
}

const char *jsonKindName(char first)
{
    switch (first) {
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
    }
}

// The text of one tensor's entry, split into the members we read.
struct RawEntry {
    std::string name;
    std::string_view value;
};

// A cursor over a piece of the header already known to be valid JSON.
JsonCursor subCursor(std::string_view whole, std::string_view piece, const std::string &path)
{
    return JsonCursor(piece, path, 8 + (piece.data() - whole.data()));
}

TensorEntry parseEntry(std::string_view text, const std::string &path, const RawEntry &raw,
                       std::int64_t &begin, std::int64_t &end)
{
    // Messages are built only on failure: this runs for every tensor of every shard.
    const auto who = [&] { return "tensor " + inQuotes(raw.name); };
    if (raw.value.front() != '{')
        fail(ErrorKind::InvalidHeader, path, who() + " is " + detail::shortText(raw.value)
                                                 + ", expected an object with dtype, shape and data_offsets");
    std::optional<std::string_view> dtypeText, shapeText, offsetsText;
    JsonCursor entry = subCursor(text, raw.value, path);
    entry.forEachMember([&](const std::string &key) {
        const std::string_view value = entry.skipValue();
        if (key == "dtype")
            dtypeText = value;
        else if (key == "shape")
            shapeText = value;
        else if (key == "data_offsets")
            offsetsText = value;
    });
    if (!dtypeText)
        fail(ErrorKind::InvalidHeader, path, who() + " has no \"dtype\"");
    if (!shapeText)
        fail(ErrorKind::InvalidHeader, path, who() + " has no \"shape\"");
    if (!offsetsText)
        fail(ErrorKind::InvalidHeader, path, who() + " has no \"data_offsets\"");

    TensorEntry t;
    t.name = raw.name;
    if (dtypeText->front() != '"')
        fail(ErrorKind::InvalidHeader, path, who() + ": dtype is " + detail::shortText(*dtypeText) + ", expected a string");
    const std::string dtypeName = subCursor(text, *dtypeText, path).readString();
    const auto d = detail::dtypeFromSafetensorsName(dtypeName);
    if (!d)
        fail(ErrorKind::UnknownDtype, path, "unknown dtype " + inQuotes(dtypeName) + " for " + who());
    t.dtype = *d;

    if (shapeText->front() != '[')
        fail(ErrorKind::InvalidHeader, path, who() + ": shape is " + detail::shortText(*shapeText) + ", expected an array");
    JsonCursor shape = subCursor(text, *shapeText, path);
    shape.forEachElement([&](std::size_t i) {
        const std::string_view element = shape.skipValue();
        const auto dim = detail::nonNegativeInteger(element);
        if (!dim)
            fail(ErrorKind::BadShape, path, who() + ": dimension " + std::to_string(i) + " is "
                                                + detail::shortText(element) + ", expected a non-negative integer");
        t.shape.push_back(*dim);
    });
    const auto shapeShown = [&] { return detail::shortText(*shapeText); };
    const auto numel = detail::checkedNumel(t.shape);
    if (!numel)
        fail(ErrorKind::BadShape, path, who() + ": the element count of shape " + shapeShown() + " overflows");
    const auto bytes = detail::checkedStorageBytes(t.dtype, *numel);
    if (!bytes)
        fail(ErrorKind::BadShape, path, who() + ": " + std::to_string(*numel) + " elements of " + dtypeName
                                            + " do not make a whole number of bytes (or overflow)");
    t.byteSize = *bytes;

    const auto offsetsShown = [&] { return detail::shortText(*offsetsText); };
    std::string_view offsets[2];
    std::size_t offsetCount = 0;
    if (offsetsText->front() == '[') {
        JsonCursor cursor = subCursor(text, *offsetsText, path);
        cursor.forEachElement([&](std::size_t i) {
            const std::string_view element = cursor.skipValue();
            if (i < 2)
                offsets[i] = element;
            offsetCount = i + 1;
        });
    }
    if (offsetCount != 2 || offsetsText->front() != '[')
        fail(ErrorKind::InvalidHeader, path, who() + ": data_offsets is " + offsetsShown() + ", expected [begin, end]");
    const auto b = detail::nonNegativeInteger(offsets[0]);
    const auto e = detail::nonNegativeInteger(offsets[1]);
    if (!b || !e)
        fail(ErrorKind::BadOffsets, path, who() + ": data_offsets " + offsetsShown() + " are not two non-negative integers");
    if (*b > *e)
        fail(ErrorKind::BadOffsets, path, who() + ": data_offsets begin " + std::to_string(*b) + " is after end "
                                              + std::to_string(*e));
    if (*e - *b != t.byteSize)
        fail(ErrorKind::BadShape, path, who() + ": shape " + shapeShown() + " of " + dtypeName + " needs "
                                            + std::to_string(t.byteSize) + " bytes but data_offsets " + offsetsShown()
                                            + " hold " + std::to_string(*e - *b));
    begin = *b;
    end = *e;
    return t;
}

} // namespace

SafetensorsHeader parseSafetensorsHeader(std::string_view text, std::int64_t fileSize, const std::string &path)
{
    const auto headerLength = static_cast<std::int64_t>(text.size());
    JsonCursor cursor(text, path, 8);
    const char first = cursor.peek();
    if (first != '{' || cursor.position() >= text.size()) {
        JsonCursor::validate(text, path, 8); // broken JSON is reported as such
        fail(ErrorKind::InvalidHeader, path, std::string("header is ") + jsonKindName(first)
                                                 + ", expected a JSON object of tensors");
    }
    // One pass over the text checks the syntax and splits it into members.
    std::vector<RawEntry> raws;
    std::vector<std::string_view> metadataTexts;
    cursor.forEachMember([&](const std::string &key) {
        const std::string_view value = cursor.skipValue();
        if (key == "__metadata__")
            metadataTexts.push_back(value);
        else
            raws.push_back(RawEntry{key, value});
    });
    cursor.expectEnd();
    {
        std::unordered_set<std::string_view> seen;
        seen.reserve(raws.size());
        for (const auto &raw : raws)
            if (!seen.insert(raw.name).second)
                fail(ErrorKind::InvalidHeader, path, "duplicate key " + inQuotes(raw.name));
        if (metadataTexts.size() > 1)
            fail(ErrorKind::InvalidHeader, path, "duplicate key \"__metadata__\"");
    }

    SafetensorsHeader out;
    out.info.path = path;
    out.info.fileSize = fileSize;
    out.info.headerBytes = 8 + headerLength;
    out.info.metadata = nlohmann::ordered_json::object();
    if (!metadataTexts.empty()) {
        const std::string_view meta = metadataTexts.front();
        if (meta.front() != '{')
            fail(ErrorKind::InvalidHeader, path, "__metadata__ is " + detail::shortText(meta)
                                                     + ", expected an object of strings");
        JsonCursor m = subCursor(text, meta, path);
        m.forEachMember([&](const std::string &key) {
            if (m.peek() != '"')
                fail(ErrorKind::InvalidHeader, path, "__metadata__ value of " + inQuotes(key) + " is "
                                                         + detail::shortText(m.skipValue()) + ", expected a string");
            out.info.metadata[key] = m.readString();
        });
    }

    std::vector<std::int64_t> begins, ends;
    out.tensors.reserve(raws.size());
    begins.reserve(raws.size());
    ends.reserve(raws.size());
    for (const auto &raw : raws) {
        std::int64_t b = 0, e = 0;
        out.tensors.push_back(parseEntry(text, path, raw, b, e));
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
                 "offsets overlap between " + inQuotes(out.tensors[last].name) + " [" + std::to_string(begins[last])
                     + ", " + std::to_string(ends[last]) + ") and " + inQuotes(out.tensors[i].name) + " ["
                     + std::to_string(begins[i]) + ", " + std::to_string(ends[i]) + ")");
        if (begins[i] > covered)
            fail(ErrorKind::BadOffsets, path,
                 "gap in the data: bytes [" + std::to_string(covered) + ", " + std::to_string(begins[i])
                     + ") belong to no tensor (before " + inQuotes(out.tensors[i].name)
                     + (haveLast ? ", after " + inQuotes(out.tensors[last].name) : std::string()) + ")");
        covered = ends[i];
        last = i;
        haveLast = true;
    }
    const std::int64_t dataStart = 8 + headerLength;
    const std::int64_t dataBytes = fileSize - dataStart;
    if (maxEnd > dataBytes)
        fail(ErrorKind::Truncated, path,
             "file is " + std::to_string(fileSize) + " bytes but tensor " + inQuotes(out.tensors[maxEndTensor].name)
                 + " ends at byte " + std::to_string(dataStart + maxEnd) + " (" + std::to_string(maxEnd - dataBytes)
                 + " bytes missing)");
    if (covered < dataBytes)
        fail(ErrorKind::BadOffsets, path,
             std::to_string(dataBytes - covered) + " bytes after the last tensor"
                 + (haveLast ? " " + inQuotes(out.tensors[last].name) : std::string())
                 + " belong to no tensor (data area is " + std::to_string(dataBytes) + " bytes)");

    for (std::size_t i = 0; i < out.tensors.size(); ++i)
        out.tensors[i].offset = dataStart + begins[i];

    const auto &meta = out.info.metadata;
    if (!meta.empty()) {
        const auto format = meta.find("format");
        if (format == meta.end())
            out.notes.push_back({NoteId::MetadataNoFormat, {}});
        else if (format->get<std::string>() != "pt")
            out.notes.push_back({NoteId::MetadataFormatNotPt, {format->get<std::string>()}});
        for (const auto &note : out.notes)
            out.warnings.push_back(planner::toEnglish(note));
    }
    return out;
}

SafetensorsHeader readSafetensorsHeader(const std::string &path)
{
    detail::FileDescriptor fd = detail::openReadOnly(path);
    return detail::readSafetensorsHeader(fd.get(), path);
}

SafetensorsHeader detail::readSafetensorsHeader(int fd, const std::string &path)
{
    const std::int64_t fileSize = detail::fileSize(fd, path);
    if (fileSize < 8)
        fail(ErrorKind::Truncated, path, "file is " + std::to_string(fileSize)
                                             + " bytes; a safetensors file starts with an 8-byte header length");
    // One read usually brings the length and the whole header (shards have ~1 KB headers).
    constexpr std::int64_t kFirstRead = 4096;
    std::string text(static_cast<std::size_t>(std::min(fileSize, kFirstRead)), '\0');
    detail::readExact(fd, path, 0, text.data(), text.size());
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i)
        length = (length << 8) | static_cast<unsigned char>(text[static_cast<std::size_t>(i)]);
    if (length > static_cast<std::uint64_t>(detail::kMaxHeaderBytes))
        fail(ErrorKind::HeaderTooLarge, path, "header length " + std::to_string(length) + " is larger than the "
                                                  + std::to_string(detail::kMaxHeaderBytes) + "-byte limit");
    if (static_cast<std::int64_t>(length) > fileSize - 8)
        fail(ErrorKind::HeaderTooLarge, path, "header length " + std::to_string(length) + " is larger than the "
                                                  + std::to_string(fileSize - 8) + " bytes after the length field");
    if (length == 0)
        fail(ErrorKind::InvalidHeader, path, "header length is 0, expected a JSON object");
    const auto have = text.size() - 8;
    text.resize(static_cast<std::size_t>(8 + length));
    if (length > have)
        detail::readExact(fd, path, static_cast<std::int64_t>(8 + have), text.data() + 8 + have, length - have);
    return parseSafetensorsHeader(std::string_view(text).substr(8), fileSize, path);
}

} // namespace mizan::loader
