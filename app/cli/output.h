#pragma once

// Standard output and error of mizan-cli. Everything the commands print goes through one
// TerminalOutput per stream: bytes are written with write(2) and every failure is kept (a full
// disk, a file-size limit, a closed pipe's EPIPE), and text is passed through printable() with
// line breaks kept, so no control character or invalid UTF-8 from a name reaches the terminal.
// JSON output stays valid and exact: nlohmann's dump escapes C0 controls itself, and the \u0085 or
// \u202e the filter writes for a raw C1 or bidirectional character is that character in JSON.
// main() installs both and checks the final flush: a command whose output could not be written
// exits 1 with a message on standard error, whatever it returned.

#include <iostream>
#include <streambuf>
#include <string>
#include <vector>

namespace mizan::cli {

class TerminalOutput : public std::streambuf {
public:
    explicit TerminalOutput(int fd);
    TerminalOutput(const TerminalOutput &) = delete;
    TerminalOutput &operator=(const TerminalOutput &) = delete;

    // Writes what is buffered, an unfinished UTF-8 character too (escaped). False when any write
    // of this stream failed.
    bool finish();
    bool failed() const { return m_errno != 0; }
    int error() const { return m_errno; } // errno of the first failed write, 0 if none

protected:
    int_type overflow(int_type c) override;
    int sync() override;

private:
    bool drain(bool final);
    void writeAll(const std::string &bytes);

    int m_fd;
    std::vector<char> m_buffer;
    int m_errno = 0;
};

// Installs TerminalOutput on std::cout (fd 1) and std::cerr (fd 2) for the rest of the process.
void installTerminalOutput();
// Flushes std::cout and std::cerr; when standard output could not be written, the message to print
// ("cannot write to standard output: No space left on device"), else empty.
std::string finishTerminalOutput();
// True once a write to standard output failed (a command streaming output stops early).
bool standardOutputFailed();

// Checks the files a command is about to write before it writes any: each with
// mizan::checkOutputPath (the folder exists and is writable, the path is no folder), and no two
// the same. Throws mizan::Error(Io) naming the path.
void checkOutputPaths(const std::vector<std::string> &paths);

// Writes a command's output files one after the other. When one fails, the ones already written
// are named on standard error before the error goes on (nothing is written silently).
class OutputFiles {
public:
    template<typename Write>
    void write(const std::string &path, Write &&writeIt)
    {
        try {
            writeIt();
        } catch (...) {
            reportWritten();
            throw;
        }
        m_written.push_back(path);
    }

private:
    void reportWritten() const;
    std::vector<std::string> m_written;
};

} // namespace mizan::cli
