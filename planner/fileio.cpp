#include "fileio.h"

#include "error.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mizan {

namespace {

PathType typeOfMode(mode_t mode)
{
    if (S_ISREG(mode))
        return PathType::File;
    if (S_ISDIR(mode))
        return PathType::Directory;
    if (S_ISFIFO(mode))
        return PathType::Fifo;
    if (S_ISCHR(mode))
        return PathType::CharDevice;
    if (S_ISBLK(mode))
        return PathType::BlockDevice;
    if (S_ISSOCK(mode))
        return PathType::Socket;
    return PathType::Other;
}

[[noreturn]] void notRegular(const std::string &path, PathType type)
{
    throw Error(ErrorKind::Io, path, std::string("is ") + describePathType(type) + ", not a regular file: refused");
}

} // namespace

PathType pathType(const std::string &path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        switch (errno) {
        case ELOOP: return PathType::SymlinkLoop;
        case EACCES: return PathType::NoAccess;
        default: return PathType::Missing;
        }
    }
    return typeOfMode(st.st_mode);
}

const char *describePathType(PathType type)
{
    switch (type) {
    case PathType::Missing: return "missing";
    case PathType::SymlinkLoop: return "a symbolic link loop (too many levels of symbolic links)";
    case PathType::NoAccess: return "not accessible (permission denied)";
    case PathType::File: return "a regular file";
    case PathType::Directory: return "a folder";
    case PathType::Fifo: return "a named pipe (FIFO)";
    case PathType::CharDevice: return "a character device";
    case PathType::BlockDevice: return "a block device";
    case PathType::Socket: return "a socket";
    case PathType::Other: break;
    }
    return "a special file";
}

bool regularFileExists(const std::string &path)
{
    const PathType type = pathType(path);
    if (type == PathType::Missing)
        return false;
    if (type == PathType::SymlinkLoop)
        throw Error(ErrorKind::Io, path, "cannot open for reading: it is a symbolic link loop (too many levels of symbolic links)");
    if (type != PathType::File && type != PathType::NoAccess)
        notRegular(path, type);
    return true;
}

FileDescriptor openReadOnlyIfExists(const std::string &path)
{
    if (!regularFileExists(path))
        return FileDescriptor();
    int fd;
    do {
        // O_NONBLOCK: should the path have been swapped for a FIFO since the stat, the open
        // returns at once and the fstat below refuses it.
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == ENOENT)
        return FileDescriptor();
    if (fd < 0)
        throw Error(ErrorKind::Io, path, "cannot open for reading: " + errnoText(errno));
    FileDescriptor out(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw Error(ErrorKind::Io, path, "cannot stat: " + errnoText(errno));
    if (!S_ISREG(st.st_mode))
        notRegular(path, typeOfMode(st.st_mode));
    return out;
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
    if (!S_ISREG(st.st_mode))
        notRegular(path, typeOfMode(st.st_mode));
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

namespace {

std::string readWhole(const std::string &path, std::int64_t maxBytes, const char *what)
{
    FileDescriptor fd = openReadOnly(path);
    const std::int64_t size = fileSize(fd.get(), path);
    if (size > maxBytes)
        throw Error(ErrorKind::HeaderTooLarge, path,
                    "file is " + std::to_string(size) + " bytes, more than the " + std::to_string(maxBytes)
                        + " bytes accepted for " + what);
    std::string text(static_cast<std::size_t>(size), '\0');
    readExact(fd.get(), path, 0, text.data(), text.size());
    return text;
}

} // namespace

std::string readSmallFile(const std::string &path, std::int64_t maxBytes)
{
    return readWhole(path, maxBytes, "this kind of file");
}

std::string readInputFile(const std::string &path, InputKind kind)
{
    const InputLimits limits = inputLimits(kind);
    return readWhole(path, limits.maxBytes, limits.what);
}

} // namespace mizan
