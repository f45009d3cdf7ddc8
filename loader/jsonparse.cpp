#include "jsonparse_p.h"

#include <unordered_set>

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

nlohmann::json parseJsonWithKeys(std::string_view text, const std::string &path, int keyDepth,
                                 const std::string &parent, std::vector<std::string> &keys,
                                 std::int64_t fileOffset, ErrorKind syntaxKind, ErrorKind structureKind)
{
    std::unordered_set<std::string> seen;
    std::string topKey;
    bool inParent = keyDepth == 1;
    auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json &parsed) {
        if (event != nlohmann::json::parse_event_t::key)
            return true;
        if (depth == 1 && keyDepth == 2) {
            topKey = parsed.get<std::string>();
            inParent = topKey == parent;
            return true;
        }
        if (depth == keyDepth && inParent) {
            std::string key = parsed.get<std::string>();
            if (!seen.insert(key).second)
                throw Error(structureKind, path, "duplicate key \"" + key + "\""
                                                     + (keyDepth == 2 ? " in \"" + parent + "\"" : std::string()));
            keys.push_back(std::move(key));
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), callback);
    } catch (const nlohmann::json::parse_error &e) {
        syntaxError(e, path, fileOffset, syntaxKind);
    }
}

nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string &path, ErrorKind syntaxKind)
{
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error &e) {
        syntaxError(e, path, 0, syntaxKind);
    }
}

} // namespace mizan::loader::detail
