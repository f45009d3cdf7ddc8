#include "error.h"

namespace mizan {

const char *toString(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::Io: return "io";
    case ErrorKind::Truncated: return "truncated";
    case ErrorKind::HeaderTooLarge: return "header-too-large";
    case ErrorKind::InvalidJson: return "invalid-json";
    case ErrorKind::InvalidHeader: return "invalid-header";
    case ErrorKind::UnknownDtype: return "unknown-dtype";
    case ErrorKind::BadShape: return "bad-shape";
    case ErrorKind::BadOffsets: return "bad-offsets";
    case ErrorKind::OverlappingOffsets: return "overlapping-offsets";
    case ErrorKind::MissingShard: return "missing-shard";
    case ErrorKind::IndexMismatch: return "index-mismatch";
    case ErrorKind::InvalidConfig: return "invalid-config";
    case ErrorKind::UnsupportedFormat: return "unsupported-format";
    case ErrorKind::InvalidArgument: return "invalid-argument";
    case ErrorKind::InvalidDeviceMap: return "invalid-device-map";
    case ErrorKind::Impossible: return "impossible";
    case ErrorKind::VersionMismatch: return "version-mismatch";
    case ErrorKind::NotFound: return "not-found";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::OutOfMemory: return "out-of-memory";
    }
    return "unknown";
}

static std::string composeWhat(const std::string &file, const std::string &message)
{
    return file.empty() ? message : file + ": " + message;
}

Error::Error(ErrorKind kind, std::string file, std::string message)
    : std::runtime_error(composeWhat(file, message))
    , m_kind(kind)
    , m_file(std::move(file))
    , m_message(std::move(message))
{
}

std::string inQuotes(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return out;
}

} // namespace mizan
