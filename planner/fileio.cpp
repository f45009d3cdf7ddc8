#include "fileio.h"

#include "error.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mizan {

FileDescriptor openReadOnlyIfExists(const std::string &path)
{
    int fd;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno != ENOENT)
        throw Error(ErrorKind::Io, path, "cannot open for reading: " + errnoText(errno));
    return FileDescriptor(fd);
}

FileDescriptor openReadOnly(const std::string &path)
{
    FileDescriptor fd = openReadOnlyIfExists(path);
    if (!fd.valid())
        throw Error(ErrorKind::Io, path, "cannot open for reading: " + errnoText(ENOENT));
    return fd;
}

std::int64_t fileSize(int fd, const std::string &path)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw Error(ErrorKind::Io, path, "cannot stat: " + errnoText(errno));
    if (S_ISDIR(st.st_mode))
        throw Error(ErrorKind::Io, path, "is a directory, expected a file");
    if (!S_ISREG(st.st_mode))
        throw Error(ErrorKind::Io, path, "is not a regular file");
    return static_cast<std::int64_t>(st.st_size);
}

void readExact(int fd, const std::string &path, std::int64_t offset, void *out, std::size_t size)
{
    auto *dst = static_cast<char *>(out);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, dst + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw Error(ErrorKind::Io, path, "read error at byte " + std::to_string(offset + done)
                                                 + ": " + errnoText(errno));
        }
        if (n == 0)
            throw Error(ErrorKind::Truncated, path,
                        "file ends at byte " + std::to_string(offset + done) + ", expected "
                            + std::to_string(size) + " bytes from byte " + std::to_string(offset));
        done += static_cast<std::size_t>(n);
    }
}

std::string readSmallFile(const std::string &path, std::int64_t maxBytes)
{
    FileDescriptor fd = openReadOnly(path);
    const std::int64_t size = fileSize(fd.get(), path);
    if (size > maxBytes)
        throw Error(ErrorKind::HeaderTooLarge, path,
                    "file is " + std::to_string(size) + " bytes, more than the "
                        + std::to_string(maxBytes) + " bytes accepted for this kind of file");
    std::string text(static_cast<std::size_t>(size), '\0');
    readExact(fd.get(), path, 0, text.data(), text.size());
    return text;
}

} // namespace mizan
