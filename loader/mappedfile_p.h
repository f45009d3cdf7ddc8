#pragma once

// Internal: a read-only view of a whole file through mmap.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace mizan::loader {

class MappedFile {
public:
    // Maps `path`, which must still be `expectedSize` bytes long (throws Error(Io) otherwise).
    // The mapping is private copy-on-write: the file is never modified, and a caller that
    // writes into a view (an in-place torch op) changes only its own pages.
    MappedFile(const std::string &path, std::int64_t expectedSize);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    std::span<const std::byte> bytes() const { return {m_data, m_size}; }
    const std::string &path() const { return m_path; }

private:
    std::string m_path;
    std::byte *m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace mizan::loader
