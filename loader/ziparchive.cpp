#include "ziparchive_p.h"

#include "fileio_p.h"

#include "planner/error.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace mizan::loader::detail {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEnd = 0x06054b50;
constexpr std::uint32_t kEnd64 = 0x06064b50;
constexpr std::uint32_t kEnd64Locator = 0x07064b50;
constexpr std::int64_t kEndSize = 22;
constexpr std::int64_t kMaxComment = 0xffff;
constexpr std::int64_t kMaxEntries = 10'000'000;

[[noreturn]] void bad(const std::string &path, const std::string &what, ErrorKind kind = ErrorKind::InvalidHeader)
{
    throw Error(kind, path, "zip archive: " + what);
}

std::uint16_t u16(const unsigned char *p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const unsigned char *p) { return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) | (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24); }
std::uint64_t u64(const unsigned char *p) { return static_cast<std::uint64_t>(u32(p)) | (static_cast<std::uint64_t>(u32(p + 4)) << 32); }

// A checked cursor over bytes already read.
class Reader {
public:
    Reader(const std::string &bytes, const std::string &path) : m_bytes(bytes), m_path(path) {}
    const unsigned char *take(std::size_t n, const char *what)
    {
        if (n > m_bytes.size() - m_pos)
            bad(m_path, std::string("central directory ends inside ") + what, ErrorKind::Truncated);
        const auto *p = reinterpret_cast<const unsigned char *>(m_bytes.data() + m_pos);
        m_pos += n;
        return p;
    }
    std::size_t position() const { return m_pos; }

private:
    const std::string &m_bytes;
    const std::string &m_path;
    std::size_t m_pos = 0;
};

struct Directory {
    std::int64_t offset = 0;
    std::int64_t size = 0;
    std::int64_t count = 0;
};

Directory findDirectory(int fd, const std::string &path, std::int64_t fileSize)
{
    if (fileSize < kEndSize)
        bad(path, "file of " + std::to_string(fileSize) + " bytes is too short for a zip archive", ErrorKind::Truncated);
    // The end record is in the last 22 + 65535 bytes (its comment is at most 65535 bytes).
    const std::int64_t tail = std::min(fileSize, kEndSize + kMaxComment);
    std::string buf(static_cast<std::size_t>(tail), '\0');
    readExact(fd, path, fileSize - tail, buf.data(), buf.size());
    const auto *b = reinterpret_cast<const unsigned char *>(buf.data());
    std::int64_t at = -1;
    for (std::int64_t i = tail - kEndSize; i >= 0; --i)
        if (u32(b + i) == kEnd && i + kEndSize + u16(b + i + 20) == tail) {
            at = i;
            break;
        }
    if (at < 0)
        bad(path, "no end of central directory record (the file is truncated or not a zip archive)", ErrorKind::Truncated);
    const unsigned char *e = b + at;
    if (u16(e + 4) != 0 || u16(e + 6) != 0)
        bad(path, "multi-part archives are not supported");
    Directory d;
    d.count = u16(e + 10);
    d.size = u32(e + 12);
    d.offset = u32(e + 16);
    const std::int64_t endAt = fileSize - tail + at;
    if (d.count == 0xffff || d.size == 0xffffffff || d.offset == 0xffffffff) {
        // zip64: a locator just before the end record points at the zip64 end record.
        if (endAt < 20)
            bad(path, "zip64 locator missing", ErrorKind::Truncated);
        unsigned char loc[20];
        readExact(fd, path, endAt - 20, loc, sizeof loc);
        if (u32(loc) != kEnd64Locator)
            bad(path, "zip64 locator missing before the end record");
        const std::uint64_t rec = u64(loc + 8);
        if (rec > static_cast<std::uint64_t>(endAt - 20) || static_cast<std::int64_t>(rec) + 56 > endAt - 20)
            bad(path, "zip64 end record at byte " + std::to_string(rec) + " lies outside the file", ErrorKind::BadOffsets);
        unsigned char r[56];
        readExact(fd, path, static_cast<std::int64_t>(rec), r, sizeof r);
        if (u32(r) != kEnd64)
            bad(path, "zip64 end record has a wrong signature");
        const std::uint64_t count = u64(r + 32), size = u64(r + 40), offset = u64(r + 48);
        if (count > static_cast<std::uint64_t>(kMaxEntries) || size > static_cast<std::uint64_t>(fileSize) || offset > static_cast<std::uint64_t>(fileSize))
            bad(path, "zip64 end record gives impossible sizes", ErrorKind::BadOffsets);
        d.count = static_cast<std::int64_t>(count);
        d.size = static_cast<std::int64_t>(size);
        d.offset = static_cast<std::int64_t>(offset);
    }
    if (d.offset + d.size > endAt)
        bad(path, "central directory (bytes " + std::to_string(d.offset) + ".." + std::to_string(d.offset + d.size)
                      + ") runs past its end record at byte " + std::to_string(endAt), ErrorKind::BadOffsets);
    if (d.count * 46 > d.size)
        bad(path, std::to_string(d.count) + " entries cannot fit in a central directory of " + std::to_string(d.size) + " bytes");
    return d;
}

} // namespace

bool looksLikeZip(const char *firstBytes, std::size_t n)
{
    return n >= 4 && u32(reinterpret_cast<const unsigned char *>(firstBytes)) == kLocalHeader;
}

std::vector<ZipEntry> readZipDirectory(int fd, const std::string &path, std::int64_t fileSize)
{
    const Directory dir = findDirectory(fd, path, fileSize);
    std::string bytes(static_cast<std::size_t>(dir.size), '\0');
    readExact(fd, path, dir.offset, bytes.data(), bytes.size());
    Reader r(bytes, path);
    std::vector<ZipEntry> out;
    out.reserve(static_cast<std::size_t>(dir.count));
    std::unordered_set<std::string> names;
    for (std::int64_t i = 0; i < dir.count; ++i) {
        const unsigned char *h = r.take(46, "an entry header");
        if (u32(h) != kCentralHeader)
            bad(path, "entry " + std::to_string(i) + " of the central directory has a wrong signature");
        const std::uint16_t flags = u16(h + 8);
        ZipEntry e;
        e.method = u16(h + 10);
        std::uint64_t csize = u32(h + 20), usize = u32(h + 24), local = u32(h + 42);
        const std::uint16_t nameLen = u16(h + 28), extraLen = u16(h + 30), commentLen = u16(h + 32);
        e.name.assign(reinterpret_cast<const char *>(r.take(nameLen, "an entry name")), nameLen);
        const unsigned char *extra = r.take(extraLen, "an extra field");
        r.take(commentLen, "an entry comment");
        // zip64 extra field (id 1): the 64-bit values of the fields saturated above, in order.
        for (std::size_t k = 0; k + 4 <= extraLen;) {
            const std::uint16_t id = u16(extra + k), len = u16(extra + k + 2);
            if (k + 4 + len > extraLen)
                bad(path, "entry " + inQuotes(e.name) + ": extra field runs past its end");
            if (id == 1) {
                std::size_t p = k + 4;
                auto next = [&](std::uint64_t &field) {
                    if (field != 0xffffffff)
                        return;
                    if (p + 8 > k + 4 + len)
                        bad(path, "entry " + inQuotes(e.name) + ": zip64 field too short");
                    field = u64(extra + p);
                    p += 8;
                };
                next(usize);
                next(csize);
                next(local);
            }
            k += 4 + len;
        }
        if (flags & 1)
            bad(path, "entry " + inQuotes(e.name) + " is encrypted", ErrorKind::UnsupportedFormat);
        if (!names.insert(e.name).second)
            bad(path, "entry " + inQuotes(e.name) + " appears twice");
        if (local > static_cast<std::uint64_t>(fileSize) || csize > static_cast<std::uint64_t>(fileSize) || usize > static_cast<std::uint64_t>(fileSize))
            bad(path, "entry " + inQuotes(e.name) + " lies outside the file", ErrorKind::BadOffsets);
        unsigned char lh[30];
        if (static_cast<std::int64_t>(local) + 30 > fileSize)
            bad(path, "entry " + inQuotes(e.name) + ": local header outside the file", ErrorKind::BadOffsets);
        readExact(fd, path, static_cast<std::int64_t>(local), lh, sizeof lh);
        if (u32(lh) != kLocalHeader)
            bad(path, "entry " + inQuotes(e.name) + ": local header has a wrong signature");
        e.dataOffset = static_cast<std::int64_t>(local) + 30 + u16(lh + 26) + u16(lh + 28);
        e.size = static_cast<std::int64_t>(e.method == 0 ? usize : csize);
        if (e.method == 0 && csize != usize)
            bad(path, "stored entry " + inQuotes(e.name) + " has different compressed and uncompressed sizes");
        if (e.dataOffset + e.size > dir.offset)
            bad(path, "entry " + inQuotes(e.name) + " (bytes " + std::to_string(e.dataOffset) + ".." + std::to_string(e.dataOffset + e.size)
                          + ") runs into the central directory", ErrorKind::Truncated);
        out.push_back(std::move(e));
    }
    // Stored data may not overlap: one entry's bytes are never another's.
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    ranges.reserve(out.size());
    for (const auto &e : out)
        ranges.emplace_back(e.dataOffset, e.dataOffset + e.size);
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            bad(path, "two entries share bytes " + std::to_string(ranges[i].first) + ".." + std::to_string(ranges[i - 1].second),
                ErrorKind::OverlappingOffsets);
    return out;
}

} // namespace mizan::loader::detail
