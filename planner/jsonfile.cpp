#include "jsonfile.h"

#include "fileio.h"

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>


namespace mizan::planner {

namespace {

// Where `text` first nests deeper than kMaxJsonDepth, or npos. A linear scan that skips strings,
// run before the parser so that no deep value is ever built (converting, copying or destroying
// one recurses once per level).
std::size_t tooDeepAt(std::string_view text)
{
    int depth = 0;
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
            continue;
        }
        switch (c) {
        case '"': inString = true; break;
        case '[':
        case '{':
            if (++depth > kMaxJsonDepth)
                return i;
            break;
        case ']':
        case '}': --depth; break;
        default: break;
        }
    }
    return std::string_view::npos;
}

// Builds an ordered_json from SAX events in time linear in the text. nlohmann's own parser
// inserts each key of an ordered_json object with a scan of the keys before it (its ordered_map
// is a vector): quadratic, 20 s for a device map of 100,000 keys. Here each member is appended
// and its key counted in a NameTable, which enters the object's keys all at once when it closes
// (NameTable::enterPending: in the table's order, not one random slot per key), and a repeated
// key (which JSON allows) then replaces the earlier value in its place, as nlohmann does.
class OrderedBuilder {
public:
    using Json = nlohmann::ordered_json;

    explicit OrderedBuilder(Json &root) : m_root(root) {}

    bool null() { return add(Json(nullptr)); }
    bool boolean(bool value) { return add(Json(value)); }
    bool number_integer(Json::number_integer_t value) { return add(Json(value)); }
    bool number_unsigned(Json::number_unsigned_t value) { return add(Json(value)); }
    bool number_float(Json::number_float_t value, const Json::string_t &) { return add(Json(value)); }
    bool string(Json::string_t &value) { return add(Json(std::move(value))); }
    bool binary(Json::binary_t &value) { return add(Json::binary(std::move(value))); }
    bool start_object(std::size_t) { return open(Json::object()); }
    bool key(Json::string_t &value)
    {
        m_key = std::move(value);
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(Json::array()); }
    bool end_array() { return close(); }
    template<class Exception>
    bool parse_error(std::size_t, const std::string &, const Exception &ex)
    {
        throw ex;
    }

private:
    struct Open {
        Json *value;
        NameTable keys; // objects only: their keys, entered when the object closes
    };

    // Places `value` in the container being built (or as the root); returns where it went.
    Json *place(Json &&value)
    {
        if (m_stack.empty()) {
            m_root = std::move(value);
            return &m_root;
        }
        Open &top = m_stack.back();
        if (top.value->is_array()) {
            auto &array = top.value->get_ref<Json::array_t &>();
            array.push_back(std::move(value));
            return &array.back();
        }
        auto &object = top.value->get_ref<Json::object_t &>();
        top.keys.appendLater(std::hash<std::string_view>()(m_key));
        // Appended past ordered_map's own emplace, which would scan the keys before.
        object.Json::object_t::Container::emplace_back(std::move(m_key), std::move(value));
        return &object.back().second;
    }
    bool add(Json &&value)
    {
        place(std::move(value));
        return true;
    }
    bool open(Json &&container)
    {
        Json *placed = place(std::move(container));
        m_stack.push_back({placed, {}});
        return true;
    }
    bool close()
    {
        Open &top = m_stack.back();
        if (top.value->is_object() && top.keys.size() > 1)
            dropRepeatedKeys(top);
        m_stack.pop_back();
        return true;
    }
    // Enters the closing object's keys; a key seen before takes the later value in the earlier
    // place, the later member is removed.
    static void dropRepeatedKeys(Open &open)
    {
        auto &object = open.value->get_ref<Json::object_t &>();
        auto keyAt = [&](std::int64_t p) -> const std::string & { return (object.begin() + static_cast<std::ptrdiff_t>(p))->first; };
        std::vector<std::int64_t> repeats;
        open.keys.enterPending([&](std::int64_t a, std::int64_t b) { return keyAt(a) == keyAt(b); },
                               [&](std::int64_t p) { repeats.push_back(p); });
        if (repeats.empty())
            return;
        std::sort(repeats.begin(), repeats.end());
        for (const std::int64_t p : repeats) {
            const std::int64_t first = open.keys.find(keyAt(p), keyAt);
            (object.begin() + static_cast<std::ptrdiff_t>(first))->second = std::move((object.begin() + static_cast<std::ptrdiff_t>(p))->second);
        }
        // The members' keys are const: the others are moved into a new list (repeats are rare).
        Json::object_t::Container kept;
        kept.reserve(object.size() - repeats.size());
        std::size_t next = 0;
        for (std::size_t i = 0; i < object.size(); ++i) {
            if (next < repeats.size() && static_cast<std::size_t>(repeats[next]) == i) {
                ++next;
                continue;
            }
            auto &member = *(object.begin() + static_cast<std::ptrdiff_t>(i));
            kept.emplace_back(member.first, std::move(member.second));
        }
        static_cast<Json::object_t::Container &>(object) = std::move(kept);
    }

    Json &m_root;
    std::vector<Open> m_stack;
    std::string m_key;
};

template<typename Json>
Json parseDocument(std::string_view text)
{
    if constexpr (std::is_same_v<Json, nlohmann::ordered_json>) {
        Json root;
        OrderedBuilder builder(root);
        Json::sax_parse(text.begin(), text.end(), &builder);
        return root;
    } else {
        return Json::parse(text.begin(), text.end());
    }
}

template<typename Json>
std::string typeName(const Json &v)
{
    if (v.is_number_float())
        return "a decimal number (" + v.dump() + ")";
    if (v.is_boolean())
        return std::string(v.template get<bool>() ? "true" : "false");
    if (v.is_null())
        return "null";
    if (v.is_string())
        return "a string";
    if (v.is_array())
        return "an array";
    if (v.is_object())
        return "an object";
    return v.type_name();
}

} // namespace

namespace {

template<typename Json>
Json parseAs(std::string_view text, const std::string &path, ErrorKind syntaxKind)
{
    if (const std::size_t at = tooDeepAt(text); at != std::string_view::npos)
        throw Error(syntaxKind, path, "invalid JSON at byte " + std::to_string(at) + ": nested more than "
                                          + std::to_string(kMaxJsonDepth) + " levels deep");
    try {
        return parseDocument<Json>(text);
    } catch (const nlohmann::json::parse_error &e) {
        // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
        std::string what = e.what();
        if (const auto colon = what.find(": "); colon != std::string::npos)
            what = what.substr(colon + 2);
        const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
        throw Error(syntaxKind, path, "invalid JSON at byte " + std::to_string(at) + ": " + what);
    } catch (const nlohmann::json::exception &e) {
        // A number beyond a double ("1e400") is valid JSON syntax that the parser refuses.
        std::string what = e.what();
        if (const auto bracket = what.find("] "); bracket != std::string::npos)
            what = what.substr(bracket + 2);
        throw Error(syntaxKind, path, "invalid JSON: " + what);
    }
}

} // namespace

nlohmann::ordered_json parseJsonText(std::string_view text, const std::string &path, ErrorKind syntaxKind)
{
    return parseAs<nlohmann::ordered_json>(text, path, syntaxKind);
}

nlohmann::ordered_json readJsonFile(const std::string &path, InputKind kind, ErrorKind syntaxKind)
{
    return parseJsonText(readInputFile(path, kind), path, syntaxKind);
}

nlohmann::json readLargeJsonFile(const std::string &path, InputKind kind, ErrorKind syntaxKind)
{
    return parseAs<nlohmann::json>(readInputFile(path, kind), path, syntaxKind);
}

std::string jsonTypeName(const nlohmann::json &value) { return typeName(value); }
std::string jsonTypeName(const nlohmann::ordered_json &value) { return typeName(value); }

template<typename Json>
std::optional<std::int64_t> jsonInteger(const Json &value, std::int64_t min, std::int64_t max, std::string *why)
{
    std::string reason;
    std::optional<std::int64_t> out;
    if (value.is_number_unsigned()) {
        const auto u = value.template get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(max))
            reason = value.dump() + ", above " + std::to_string(max);
        else if (min > 0 && u < static_cast<std::uint64_t>(min))
            reason = value.dump() + ", below " + std::to_string(min);
        else
            out = static_cast<std::int64_t>(u);
    } else if (value.is_number_integer()) {
        const auto v = value.template get<std::int64_t>();
        if (v < min)
            reason = value.dump() + ", below " + std::to_string(min);
        else if (v > max)
            reason = value.dump() + ", above " + std::to_string(max);
        else
            out = v;
    } else {
        reason = typeName(value);
    }
    if (!out && why)
        *why = reason;
    return out;
}

template std::optional<std::int64_t> jsonInteger(const nlohmann::json &, std::int64_t, std::int64_t, std::string *);
template std::optional<std::int64_t> jsonInteger(const nlohmann::ordered_json &, std::int64_t, std::int64_t, std::string *);

OrderedObjectIndex::OrderedObjectIndex(nlohmann::ordered_json &object)
    : m_object(&object.get_ref<nlohmann::ordered_json::object_t &>())
{
    m_index.reserve(m_object->size());
    for (std::size_t i = 0; i < m_object->size(); ++i)
        m_index.append(keyAt(i), [this](std::int64_t p) { return keyAt(static_cast<std::size_t>(p)); });
}

std::string_view OrderedObjectIndex::keyAt(std::size_t position) const
{
    return (m_object->begin() + static_cast<std::ptrdiff_t>(position))->first;
}

nlohmann::ordered_json &OrderedObjectIndex::operator[](std::string key)
{
    const std::size_t hash = std::hash<std::string_view>()(key);
    const auto same = [&](std::int64_t p) { return keyAt(static_cast<std::size_t>(p)) == key; };
    if (const std::int64_t p = m_index.findOrAppend(hash, same); p >= 0)
        return (m_object->begin() + static_cast<std::ptrdiff_t>(p))->second;
    // Appended past ordered_map's own emplace, which would scan the keys again.
    m_object->nlohmann::ordered_json::object_t::Container::emplace_back(std::move(key), nlohmann::ordered_json());
    return m_object->back().second;
}

} // namespace mizan::planner
