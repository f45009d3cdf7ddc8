#include "output.h"

#include "format.h"

#include "planner/atomicfile.h"
#include "planner/error.h"

#include <cerrno>
#include <cstring>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>

namespace mizan::cli {

namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

TerminalOutput *g_out = nullptr;
TerminalOutput *g_err = nullptr;

} // namespace

TerminalOutput::TerminalOutput(int fd)
    : m_fd(fd)
    , m_buffer(kBufferBytes)
{
    setp(m_buffer.data(), m_buffer.data() + m_buffer.size());
}

void TerminalOutput::writeAll(const std::string &bytes)
{
    const char *p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0 && m_errno == 0) {
        const ssize_t n = ::write(m_fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            m_errno = errno;
        } else if (n == 0) {
            m_errno = EIO;
        } else {
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
}

bool TerminalOutput::drain(bool final)
{
    const std::string_view pending(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    const std::size_t keep = final ? 0 : incompleteUtf8Tail(pending);
    if (m_errno == 0 && pending.size() > keep)
        writeAll(printable(pending.substr(0, pending.size() - keep), true));
    // After a failure the rest is dropped: the stream reports the error, and main() says so.
    char tail[4];
    const std::size_t kept = m_errno == 0 ? keep : 0;
    std::memcpy(tail, pending.data() + pending.size() - kept, kept);
    setp(m_buffer.data(), m_buffer.data() + m_buffer.size());
    std::memcpy(pbase(), tail, kept);
    pbump(static_cast<int>(kept));
    return m_errno == 0;
}

TerminalOutput::int_type TerminalOutput::overflow(int_type c)
{
    if (!drain(false))
        return traits_type::eof();
    if (traits_type::eq_int_type(c, traits_type::eof()))
        return traits_type::not_eof(c);
    return sputc(traits_type::to_char_type(c));
}

int TerminalOutput::sync()
{
    return drain(false) ? 0 : -1;
}

bool TerminalOutput::finish()
{
    return drain(true);
}

void installTerminalOutput()
{
    // Never destroyed: the streams may still flush into them while the process exits.
    if (!g_out) {
        g_out = new TerminalOutput(STDOUT_FILENO);
        g_err = new TerminalOutput(STDERR_FILENO);
    }
    std::cout.rdbuf(g_out);
    std::cerr.rdbuf(g_err);
}

std::string finishTerminalOutput()
{
    if (!g_out)
        return {};
    std::cout.flush();
    const bool ok = g_out->finish() && std::cout.good();
    std::cerr.flush();
    g_err->finish();
    if (ok)
        return {};
    const int error = g_out->error();
    return std::string("cannot write to standard output: ") + (error ? std::strerror(error) : "the stream failed");
}

void checkOutputPaths(const std::vector<std::string> &paths)
{
    for (std::size_t i = 0; i < paths.size(); ++i) {
        mizan::checkOutputPath(paths[i]);
        struct stat a{};
        const bool exists = ::stat(paths[i].c_str(), &a) == 0;
        for (std::size_t k = 0; k < i; ++k) {
            struct stat b{};
            if (paths[k] == paths[i] || (exists && ::stat(paths[k].c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
                throw Error(ErrorKind::Io, paths[i], "is given as two outputs: each output needs a file of its own");
        }
    }
}

void OutputFiles::reportWritten() const
{
    for (const auto &path : m_written)
        std::cerr << "mizan-cli: note: " << printable(path) << " was written before the error below\n";
}

bool standardOutputFailed()
{
    return g_out && (g_out->failed() || !std::cout.good());
}

} // namespace mizan::cli
