#pragma once

// Files the user keeps (plans, device maps, checkpoints, indexes) are written atomically: the
// data goes to a temporary file next to the target, is flushed to disk and renamed over it, so a
// failed or interrupted save never destroys the previous file. POSIX; every failure is a
// mizan::Error naming the file. Shared by every core library (the planner is the bottom one).

#include <cstddef>
#include <cstdint>
#include <string>

namespace mizan {

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

// Writes files atomically: the data goes to a temporary file next to `path`, which is renamed
// over `path` by commit(). If commit() is never reached the temporary file is removed; while it
// exists it is listed where removeTempFilesOnSignals()'s handler finds it.
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
    int m_slot = -1; // in the registry of temporary files (-1: not listed)
    bool m_committed = false;
};

// Writes `text` to `path` atomically.
void writeFileAtomically(const std::string &path, const std::string &text);

// Throws Error(Io) naming `path` unless a file can be written there: its folder exists, is a
// folder and is writable, and `path` is not itself a folder or another non-regular file (a
// device, FIFO or socket). A command calls it for every output before writing any, so a failing
// command writes nothing.
void checkOutputPath(const std::string &path);

// Installs handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT (those not ignored) that remove the
// temporary files of every AtomicFile not yet committed, then end the process as the signal's
// default action would (async-signal-safe: a fixed table of paths, unlink, raise). An
// application calls it once at start; signals handled later by the application itself (a
// run's Ctrl-C cancel) take over while installed. At most 64 temporary files at a time are
// listed (more are still removed by their AtomicFile, not by the handler).
void removeTempFilesOnSignals();

// Tests only: commit() waits this long before it syncs, so that a test can signal a process
// whose temporary file exists (mizan-cli sets it from MIZAN_TEST_COMMIT_DELAY_MS).
void setCommitDelayForTesting(int milliseconds);

// strerror() text of an errno value.
std::string errnoText(int error);

} // namespace mizan
