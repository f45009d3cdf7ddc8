#include "jsonfile.h"

#include "fileio.h"

namespace mizan::planner {

nlohmann::ordered_json parseJsonText(std::string_view text, const std::string &path, ErrorKind syntaxKind)
{
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error &e) {
        // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
        std::string what = e.what();
        if (const auto colon = what.find(": "); colon != std::string::npos)
            what = what.substr(colon + 2);
        const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
        throw Error(syntaxKind, path, "invalid JSON at byte " + std::to_string(at) + ": " + what);
    }
}

nlohmann::ordered_json readJsonFile(const std::string &path, ErrorKind syntaxKind, std::int64_t maxBytes)
{
    return parseJsonText(readSmallFile(path, maxBytes), path, syntaxKind);
}

} // namespace mizan::planner
