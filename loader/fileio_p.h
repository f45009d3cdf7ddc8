#pragma once

// Internal POSIX file helpers of the loader: bounded reads and atomic writes. Every failure is a
// mizan::Error naming the file.

#include <cstddef>
#include <cstdint>
#include <string>

namespace mizan::loader::detail {

// An owned file descriptor, closed on destruction.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : m_fd(fd) {}
    ~FileDescriptor();
    FileDescriptor(FileDescriptor &&other) noexcept : m_fd(other.release()) {}
    FileDescriptor &operator=(FileDescriptor &&other) noexcept;
    FileDescriptor(const FileDescriptor &) = delete;
    FileDescriptor &operator=(const FileDescriptor &) = delete;

    int get() const { return m_fd; }
    int release() { int fd = m_fd; m_fd = -1; return fd; }
    bool valid() const { return m_fd >= 0; }

private:
    int m_fd = -1;
};

// Opens `path` read-only; throws Error(Io) naming the file and errno's text.
FileDescriptor openReadOnly(const std::string &path);
// The same, but a missing file gives an invalid descriptor instead of an error.
FileDescriptor openReadOnlyIfExists(const std::string &path);

// Size of an open file (fstat); throws Error(Io). Refuses directories and special files.
std::int64_t fileSize(int fd, const std::string &path);

// Reads exactly `size` bytes at `offset` into `out` (pread loop). Throws Error(Truncated) when
// the file ends early and Error(Io) on read errors.
void readExact(int fd, const std::string &path, std::int64_t offset, void *out, std::size_t size);

// Reads a whole small file (config.json, an index) into a string, refusing files larger than
// `maxBytes` with Error(HeaderTooLarge) before allocating anything.
std::string readSmallFile(const std::string &path, std::int64_t maxBytes);

// Writes files atomically: the data goes to a temporary file next to `path`, which is renamed
// over `path` by commit(). If commit() is never reached the temporary file is removed.
class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;

    int fd() const { return m_fd.get(); }
    const std::string &path() const { return m_path; }

    void write(const void *data, std::size_t size);  // appends at the current position
    void truncate(std::int64_t size);                 // ftruncate: extends with a hole
    void commit();                                    // fsync, close, rename over path

private:
    std::string m_path;
    std::string m_tempPath;
    FileDescriptor m_fd;
    bool m_committed = false;
};

// Writes `text` to `path` atomically.
void writeFileAtomically(const std::string &path, const std::string &text);

std::string errnoText(int error);

} // namespace mizan::loader::detail
