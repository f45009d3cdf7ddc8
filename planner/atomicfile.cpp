#include "atomicfile.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mizan {

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
    const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
    if (fd < 0)
        throw Error(ErrorKind::Io, m_path, "cannot create a temporary file next to it: " + errnoText(errno));
    m_fd = FileDescriptor(fd);
    m_tempPath = buffer.data();
    // mkstemp creates 0600; a checkpoint or plan should get the usual permissions (umask applies).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
}

AtomicFile::~AtomicFile()
{
    if (!m_committed && !m_tempPath.empty()) {
        m_fd = FileDescriptor();
        ::unlink(m_tempPath.c_str());
    }
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
    if (::fdatasync(m_fd.get()) != 0)
        throw Error(ErrorKind::Io, m_path, "fdatasync failed: " + errnoText(errno));
    const int fd = m_fd.release();
    if (::close(fd) != 0)
        throw Error(ErrorKind::Io, m_path, "close failed: " + errnoText(errno));
    if (::rename(m_tempPath.c_str(), m_path.c_str()) != 0)
        throw Error(ErrorKind::Io, m_path, "cannot rename the temporary file into place: " + errnoText(errno));
    m_committed = true;
}

void writeFileAtomically(const std::string &path, const std::string &text)
{
    AtomicFile file(path);
    file.write(text.data(), text.size());
    file.commit();
}

} // namespace mizan
