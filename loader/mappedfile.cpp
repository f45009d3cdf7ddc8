#include "mappedfile_p.h"

#include "fileio_p.h"

#include "planner/error.h"

#include <cerrno>

#include <sys/mman.h>

namespace mizan::loader {

MappedFile::MappedFile(const std::string &path, std::int64_t expectedSize)
    : m_path(path)
{
    detail::FileDescriptor fd = detail::openReadOnly(path);
    const std::int64_t size = detail::fileSize(fd.get(), path);
    if (size != expectedSize)
        throw Error(ErrorKind::Io, path, "file changed since it was opened: it is " + std::to_string(size)
                                             + " bytes, it was " + std::to_string(expectedSize));
    if (size == 0)
        return;
    void *p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_NORESERVE, fd.get(), 0);
    if (p == MAP_FAILED)
        throw Error(ErrorKind::Io, path, "cannot mmap " + std::to_string(size) + " bytes: " + detail::errnoText(errno));
    m_data = static_cast<std::byte *>(p);
    m_size = static_cast<std::size_t>(size);
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(m_data, m_size);
}

} // namespace mizan::loader
