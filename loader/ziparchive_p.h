#pragma once

// Internal: the central directory of a zip archive as torch.save writes it (entries stored, not
// compressed, their data aligned for mmap), read without trusting any field: every offset and
// size is checked against the file, zip64 records are followed, and compressed, encrypted or
// overlapping entries are refused. Nothing is decompressed; callers use the data in place.

#include <cstdint>
#include <string>
#include <vector>

namespace mizan::loader::detail {

struct ZipEntry {
    std::string name;
    std::int64_t dataOffset = 0; // absolute offset of the stored bytes in the file
    std::int64_t size = 0;       // stored (= uncompressed) size
    std::uint16_t method = 0;    // 0: stored
};

// Whether the first bytes of a file are a zip local header ("PK\3\4").
bool looksLikeZip(const char *firstBytes, std::size_t n);

// Reads the directory of the open zip file `fd` of `fileSize` bytes (named `path` in errors).
// Throws Error(InvalidHeader / Truncated / BadOffsets / UnsupportedFormat) naming the file.
std::vector<ZipEntry> readZipDirectory(int fd, const std::string &path, std::int64_t fileSize);

} // namespace mizan::loader::detail
