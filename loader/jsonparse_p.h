#pragma once

// Internal: nlohmann_json parsing with precise errors (config.json and other small files).

#include "planner/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mizan::loader::detail {

// Parses `text` into an ordered_json (config.json); syntax errors throw Error(`syntaxKind`).
nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string &path, ErrorKind syntaxKind);

} // namespace mizan::loader::detail
