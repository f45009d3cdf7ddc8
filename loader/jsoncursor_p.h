#pragma once

// Internal: a strict, allocation-light JSON reader for the two hot formats of the loader
// (safetensors headers and sharded indexes). It walks the text once, decoding only what the
// schema needs and skipping the rest; syntax errors name the byte offset in the file.
// RFC 8259 grammar, UTF-8 validated, no nesting limit (skipping is iterative).

#include "planner/error.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mizan::loader::detail {

class JsonCursor {
public:
    // `fileOffset`: where `text` starts in the file (for error messages).
    JsonCursor(std::string_view text, const std::string &path, std::int64_t fileOffset);

    // The next non-whitespace character, or '\0' at the end (the cursor moves past whitespace).
    char peek();
    std::size_t position() const { return m_pos; }

    // Consumes `c` (after whitespace) or throws a syntax error naming `context`.
    void expect(char c, const char *context);
    // Reads a JSON string (the cursor must be at '"', after whitespace) and decodes it.
    std::string readString();
    // Skips one JSON value of any kind and returns its text as written.
    std::string_view skipValue();
    // Throws unless only whitespace remains.
    void expectEnd();

    // Iterates the members of the object at the cursor: for each, calls onMember(key), which
    // must consume the value (readString/skipValue/...). The cursor must be at '{'.
    template <typename F>
    void forEachMember(F &&onMember)
    {
        expect('{', "an object");
        if (peek() == '}') {
            ++m_pos;
            return;
        }
        while (true) {
            if (peek() != '"')
                syntaxError("expected a string key", m_pos);
            const std::string key = readString();
            expect(':', "':' after an object key");
            onMember(key);
            const char c = peek();
            ++m_pos;
            if (c == '}')
                return;
            if (c != ',')
                syntaxError("expected ',' or '}' after an object member", m_pos - 1);
        }
    }

    // Iterates the elements of the array at the cursor, calling onElement(index).
    template <typename F>
    void forEachElement(F &&onElement)
    {
        expect('[', "an array");
        if (peek() == ']') {
            ++m_pos;
            return;
        }
        for (std::size_t i = 0;; ++i) {
            onElement(i);
            const char c = peek();
            ++m_pos;
            if (c == ']')
                return;
            if (c != ',')
                syntaxError("expected ',' or ']' after an array element", m_pos - 1);
        }
    }

    [[noreturn]] void syntaxError(const std::string &what, std::size_t at) const;

    // Checks the whole text for syntax errors (throws the first); used before reporting a
    // structure error so that broken JSON is always reported as such.
    static void validate(std::string_view text, const std::string &path, std::int64_t fileOffset);

private:
    void skipString();
    void skipNumber();
    void skipLiteral(std::string_view word);
    void validateUtf8(std::size_t begin, std::size_t end) const;

    std::string_view m_text;
    const std::string &m_path;
    std::int64_t m_fileOffset;
    std::size_t m_pos = 0;
};

// A JSON number text that is a non-negative integer fitting int64 ("12"), or nullopt
// ("-1", "2.0", "1e3", "99999999999999999999").
std::optional<std::int64_t> nonNegativeInteger(std::string_view number);

// `raw` shortened for a message.
std::string shortText(std::string_view raw);

} // namespace mizan::loader::detail
