#pragma once

// Reading JSON files (plans, device maps, config.json, presets, hardware profiles): one reader
// for every core library, with errors naming the file and the byte where the syntax breaks.

#include "error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mizan::planner {

// The largest JSON file read whole (a sharded index of about a million tensors).
inline constexpr std::int64_t kMaxJsonFileBytes = std::int64_t(512) << 20;

// Parses `text`, read from `path`, keeping key order. A syntax error throws
// Error(syntaxKind, path, "invalid JSON at byte N: ...") with N counted from the start of the text.
nlohmann::ordered_json parseJsonText(std::string_view text, const std::string &path, ErrorKind syntaxKind = ErrorKind::InvalidJson);

// Reads and parses a whole file: Error(Io) when it cannot be read (a folder, a missing file),
// Error(HeaderTooLarge) above `maxBytes`, syntax errors as parseJsonText.
nlohmann::ordered_json readJsonFile(const std::string &path, ErrorKind syntaxKind = ErrorKind::InvalidJson,
                                    std::int64_t maxBytes = kMaxJsonFileBytes);

} // namespace mizan::planner
