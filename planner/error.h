#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace mizan {

// Every failure a core library reports. The kind is stable (tests and the GUI switch on it);
// the message is for people and names what was expected and where.
enum class ErrorKind {
    Io,                 // cannot open / read / write / mmap a file
    Truncated,          // file shorter than its own header says
    HeaderTooLarge,     // header length field larger than the file or the sane bound
    InvalidJson,        // JSON syntax error (message carries the byte offset)
    InvalidHeader,      // JSON is valid but not the expected structure
    UnknownDtype,       // dtype string not known
    BadShape,           // negative dims, numel overflow, numel*size != byte range
    BadOffsets,         // offsets outside the data area, begin > end, gaps/unsorted
    OverlappingOffsets, // two tensors share bytes
    MissingShard,       // index names a shard file that does not exist
    IndexMismatch,      // index and shards disagree (missing/extra tensors, total_size)
    InvalidConfig,      // config.json malformed
    UnsupportedFormat,  // a path that is none of the formats we read
    InvalidArgument,    // bad user input (size string, device name, option)
    InvalidDeviceMap,   // device map does not cover the model / names unknown modules
    Impossible,         // constraints cannot be satisfied (pins over budget, ...)
    VersionMismatch,    // plan file from a newer version / another checkpoint
    NotFound,           // a named thing (tensor, module, preset) does not exist
    Cancelled,          // the caller asked to stop (a progress callback returned false)
    OutOfMemory,        // a device (real or simulated GPU) cannot hold what the run needs
};

const char *toString(ErrorKind kind);

// `text` in double quotes, as messages name things: "model.layers.0".
std::string inQuotes(std::string_view text);

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string file, std::string message);

    ErrorKind kind() const noexcept { return m_kind; }
    const std::string &file() const noexcept { return m_file; }
    const std::string &message() const noexcept { return m_message; }

private:
    ErrorKind m_kind;
    std::string m_file;
    std::string m_message;
};

} // namespace mizan
