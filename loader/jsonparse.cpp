#include "jsonparse_p.h"

namespace mizan::loader::detail {

namespace {

[[noreturn]] void syntaxError(const nlohmann::json::parse_error &e, const std::string &path,
                              std::int64_t fileOffset, ErrorKind kind)
{
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string what = e.what();
    if (const auto colon = what.find(": "); colon != std::string::npos)
        what = what.substr(colon + 2);
    const std::int64_t at = e.byte > 0 ? static_cast<std::int64_t>(e.byte) - 1 : 0;
    throw Error(kind, path, "invalid JSON at byte " + std::to_string(fileOffset + at) + ": " + what);
}

} // namespace

nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string &path, ErrorKind syntaxKind)
{
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error &e) {
        syntaxError(e, path, 0, syntaxKind);
    }
}

} // namespace mizan::loader::detail
