#include "atomicfile.h"

#include "error.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mizan {

namespace {

// The temporary files that exist now, for the signal handler. A slot is free (0), being filled
// (1) or listed (2); the handler reads only listed ones. Lock-free atomics are async-signal-safe.
constexpr int kTempSlots = 64;
struct TempSlot {
    std::atomic<int> state{0};
    char path[PATH_MAX];
};
TempSlot g_temps[kTempSlots];
static_assert(std::atomic<int>::is_always_lock_free);

std::atomic<int> g_commitDelayMs{0};

int listTemp(const std::string &path)
{
    if (path.size() >= PATH_MAX)
        return -1;
    for (int i = 0; i < kTempSlots; ++i) {
        int expected = 0;
        if (g_temps[i].state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
            std::memcpy(g_temps[i].path, path.c_str(), path.size() + 1);
            g_temps[i].state.store(2, std::memory_order_release);
            return i;
        }
    }
    return -1;
}

void unlistTemp(int slot)
{
    if (slot >= 0)
        g_temps[slot].state.store(0, std::memory_order_release);
}

extern "C" void removeTempFilesAndDie(int signal)
{
    for (auto &slot : g_temps)
        if (slot.state.load(std::memory_order_acquire) == 2)
            ::unlink(slot.path);
    // The handler was installed with SA_RESETHAND: the default action ends the process once the
    // handler returns (the signal is blocked while it runs).
    ::raise(signal);
}

// Blocks the signals the handler catches while a temporary file is created and listed, so that
// none can end the process between the two.
class BlockCleanupSignals {
public:
    BlockCleanupSignals()
    {
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
            sigaddset(&set, s);
        m_ok = ::pthread_sigmask(SIG_BLOCK, &set, &m_previous) == 0;
    }
    ~BlockCleanupSignals()
    {
        if (m_ok)
            ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }

private:
    sigset_t m_previous;
    bool m_ok = false;
};

} // namespace

std::string errnoText(int error)
{
    return std::strerror(error);
}

FileDescriptor::~FileDescriptor()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

FileDescriptor &FileDescriptor::operator=(FileDescriptor &&other) noexcept
{
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = other.release();
    }
    return *this;
}

AtomicFile::AtomicFile(std::string path)
    : m_path(std::move(path))
{
    std::string pattern;
    const auto slash = m_path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? std::string() : m_path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? m_path : m_path.substr(slash + 1);
    pattern = dir + "." + base + ".tmp-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    {
        const BlockCleanupSignals blocked;
        const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
        if (fd < 0)
            throw Error(ErrorKind::Io, m_path, "cannot create a temporary file next to it: " + errnoText(errno));
        m_fd = FileDescriptor(fd);
        m_tempPath = buffer.data();
        m_slot = listTemp(m_tempPath);
    }
    const int fd = m_fd.get();
    // mkstemp creates 0600; a checkpoint or plan should get the usual permissions (umask applies).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0) {
        const int error = errno;
        m_fd = FileDescriptor();
        ::unlink(m_tempPath.c_str()); // no destructor runs after a throwing constructor
        unlistTemp(m_slot);
        throw Error(ErrorKind::Io, m_path, "cannot set the permissions of the temporary file: " + errnoText(error));
    }
}

AtomicFile::~AtomicFile()
{
    if (!m_committed && !m_tempPath.empty()) {
        m_fd = FileDescriptor();
        ::unlink(m_tempPath.c_str());
    }
    unlistTemp(m_slot);
}

void AtomicFile::write(const void *data, std::size_t size)
{
    const auto *src = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(m_fd.get(), src, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw Error(ErrorKind::Io, m_path, "write failed: " + errnoText(errno));
        }
        src += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFile::truncate(std::int64_t size)
{
    if (::ftruncate(m_fd.get(), static_cast<off_t>(size)) != 0)
        throw Error(ErrorKind::Io, m_path, "cannot extend to " + std::to_string(size)
                                               + " bytes: " + errnoText(errno));
}

void AtomicFile::commit()
{
    if (const int delay = g_commitDelayMs.load(); delay > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (::fdatasync(m_fd.get()) != 0)
        throw Error(ErrorKind::Io, m_path, "fdatasync failed: " + errnoText(errno));
    const int fd = m_fd.release();
    if (::close(fd) != 0)
        throw Error(ErrorKind::Io, m_path, "close failed: " + errnoText(errno));
    if (::rename(m_tempPath.c_str(), m_path.c_str()) != 0)
        throw Error(ErrorKind::Io, m_path, "cannot rename the temporary file into place: " + errnoText(errno));
    m_committed = true;
    unlistTemp(m_slot); // after the rename: a signal before it still removes the temporary file
    m_slot = -1;
}

void writeFileAtomically(const std::string &path, const std::string &text)
{
    AtomicFile file(path);
    file.write(text.data(), text.size());
    file.commit();
}

void checkOutputPath(const std::string &path)
{
    if (path.empty())
        throw Error(ErrorKind::Io, path, "an output file needs a name");
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode))
            throw Error(ErrorKind::Io, path, "is a folder, not a file to write");
        if (!S_ISREG(st.st_mode))
            throw Error(ErrorKind::Io, path, "is not a regular file (a device, FIFO or socket): it would be replaced, not written");
    } else if (errno != ENOENT && errno != ENOTDIR) { // ENOTDIR: said below, of the folder
        throw Error(ErrorKind::Io, path, "cannot write it: " + errnoText(errno));
    }
    const auto slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : path.substr(0, slash);
    if (::stat(folder.c_str(), &st) != 0)
        throw Error(ErrorKind::Io, path, "cannot write it: its folder " + folder + (errno == ENOENT ? " does not exist" : ": " + errnoText(errno)));
    if (!S_ISDIR(st.st_mode))
        throw Error(ErrorKind::Io, path, "cannot write it: " + folder + " is not a folder");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        throw Error(ErrorKind::Io, path, "cannot write in its folder " + folder + ": " + errnoText(errno));
}

void removeTempFilesOnSignals()
{
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
        struct sigaction current = {};
        if (::sigaction(s, nullptr, &current) != 0 || current.sa_handler == SIG_IGN)
            continue; // ignored (nohup, a background job): keep it so
        struct sigaction action = {};
        action.sa_handler = removeTempFilesAndDie;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND;
        ::sigaction(s, &action, nullptr);
    }
}

void setCommitDelayForTesting(int milliseconds)
{
    g_commitDelayMs.store(milliseconds);
}

} // namespace mizan
