#pragma once

// Internal: JSON parsing with precise errors and the key order of one object level.

#include "planner/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mizan::loader::detail {

// Parses `text`. Keys of objects at `keyDepth` (1: the root object's keys; 2: the keys of the
// root member named `parent`) are appended to `keys` in file order; a repeated key there is
// Error(InvalidHeader, or `structureKind`). A syntax error throws Error(`syntaxKind`) naming the
// byte offset in the file (`fileOffset` is where `text` starts in it).
nlohmann::json parseJsonWithKeys(std::string_view text, const std::string &path, int keyDepth,
                                 const std::string &parent, std::vector<std::string> &keys,
                                 std::int64_t fileOffset, ErrorKind syntaxKind = ErrorKind::InvalidJson,
                                 ErrorKind structureKind = ErrorKind::InvalidHeader);

// Parses `text` into an ordered_json (config.json); syntax errors throw Error(`syntaxKind`).
nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string &path, ErrorKind syntaxKind);

} // namespace mizan::loader::detail
