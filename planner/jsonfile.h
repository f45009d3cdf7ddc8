#pragma once

// Reading JSON files (plans, device maps, config.json, presets, hardware profiles, indexes): one
// reader for every core library, with the limits of limits.h (regular files only, a size per kind,
// at most kMaxJsonDepth levels of nesting) and errors naming the file and the byte where the
// syntax breaks. Typed field access for the structures read from them names the field.

#include "error.h"
#include "limits.h"
#include "nametable.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mizan::planner {

// Parses `text`, read from `path`, keeping key order. A syntax error throws
// Error(syntaxKind, path, "invalid JSON at byte N: ...") with N counted from the start of the
// text; nesting deeper than kMaxJsonDepth throws before anything is built.
nlohmann::ordered_json parseJsonText(std::string_view text, const std::string &path, ErrorKind syntaxKind = ErrorKind::InvalidJson);

// Reads and parses a whole file of `kind`: Error(Io) when it cannot be read (a folder, a FIFO,
// a missing file), Error(HeaderTooLarge) above the kind's size, syntax errors as parseJsonText.
nlohmann::ordered_json readJsonFile(const std::string &path, InputKind kind, ErrorKind syntaxKind = ErrorKind::InvalidJson);
// The same, without keeping key order: objects of many keys (a tokenizer's vocabulary) parse in
// O(n log n) instead of ordered_json's O(n^2) insertion.
nlohmann::json readLargeJsonFile(const std::string &path, InputKind kind, ErrorKind syntaxKind = ErrorKind::InvalidJson);

// Sets members of an ordered_json object in time linear in their number. ordered_json's own
// operator[] scans every key before the new one (its ordered_map is a vector): writing a device
// map, an index or a safetensors header of a million names that way never finishes. Like
// operator[], a key already present keeps its place and gets the new value. `object` must be an
// object and outlive the index; its existing keys are indexed once.
class OrderedObjectIndex {
public:
    explicit OrderedObjectIndex(nlohmann::ordered_json &object);
    nlohmann::ordered_json &operator[](std::string key);

private:
    std::string_view keyAt(std::size_t position) const;
    nlohmann::ordered_json::object_t *m_object;
    NameTable m_index; // the object's keys -> their positions
};

// The name of a JSON value's type for messages: "a string", "an object", "a fractional number".
std::string jsonTypeName(const nlohmann::json &value);
std::string jsonTypeName(const nlohmann::ordered_json &value);

// `value` as an integer in [min, max]; otherwise nullopt and `why` says what it is instead
// ("a string", "a fractional number", "-1, below 0", "beyond 9223372036854775807").
template<typename Json>
std::optional<std::int64_t> jsonInteger(const Json &value, std::int64_t min, std::int64_t max, std::string *why);

} // namespace mizan::planner
