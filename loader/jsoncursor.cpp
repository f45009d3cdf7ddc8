#include "jsoncursor_p.h"

#include <limits>
#include <vector>

namespace mizan::loader::detail {

namespace {

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

std::string describeChar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
        return std::string("'") + c + "'";
    static const char *hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void appendUtf8(std::string &out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 if invalid.
std::size_t utf8Length(std::string_view s, std::size_t i)
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
        if (i + k >= s.size())
            return false;
        const auto b = static_cast<unsigned char>(s[i + k]);
        return b >= lo && b <= hi;
    };
    if (b0 >= 0xc2 && b0 <= 0xdf)
        return cont(1) ? 2 : 0;
    if (b0 == 0xe0)
        return cont(1, 0xa0) && cont(2) ? 3 : 0;
    if ((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef)
        return cont(1) && cont(2) ? 3 : 0;
    if (b0 == 0xed) // no UTF-16 surrogates
        return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
    if (b0 == 0xf0)
        return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xf1 && b0 <= 0xf3)
        return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b0 == 0xf4)
        return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

// Scans the string starting at text[pos] == '"'. Appends the decoded text to `out` when given.
// Returns the position after the closing quote, or throws through `fail(message, at)`.
template <typename Fail>
std::size_t scanString(std::string_view text, std::size_t pos, std::string *out, Fail &&fail)
{
    std::size_t i = pos + 1;
    std::size_t runStart = i;
    auto flush = [&](std::size_t end) {
        if (out)
            out->append(text.substr(runStart, end - runStart));
    };
    while (true) {
        if (i >= text.size())
            fail("unterminated string", pos);
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (c == '"') {
            flush(i);
            return i + 1;
        }
        if (u < 0x20)
            fail("control character " + describeChar(c) + " inside a string", i);
        if (u >= 0x80) {
            const std::size_t n = utf8Length(text, i);
            if (n == 0)
                fail("invalid UTF-8 in a string", i);
            i += n;
            continue;
        }
        if (c != '\\') {
            ++i;
            continue;
        }
        flush(i);
        if (i + 1 >= text.size())
            fail("unterminated string", pos);
        const char e = text[i + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: fail("invalid escape \\" + std::string(1, e) + " in a string", i);
        }
        if (simple) {
            if (out)
                *out += simple;
            i += 2;
            runStart = i;
            continue;
        }
        auto readHex = [&](std::size_t at) {
            if (at + 4 > text.size())
                fail("truncated \\u escape", at);
            std::uint32_t v = 0;
            for (std::size_t k = 0; k < 4; ++k) {
                const int h = hexValue(text[at + k]);
                if (h < 0)
                    fail("invalid \\u escape", at);
                v = v * 16 + static_cast<std::uint32_t>(h);
            }
            return v;
        };
        std::uint32_t cp = readHex(i + 2);
        std::size_t next = i + 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            fail("lone low surrogate in a \\u escape", i);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (next + 1 >= text.size() || text[next] != '\\' || text[next + 1] != 'u')
                fail("high surrogate not followed by a low surrogate", i);
            const std::uint32_t low = readHex(next + 2);
            if (low < 0xdc00 || low > 0xdfff)
                fail("high surrogate not followed by a low surrogate", i);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            next += 6;
        }
        if (out)
            appendUtf8(*out, cp);
        i = next;
        runStart = i;
    }
}

} // namespace

JsonCursor::JsonCursor(std::string_view text, const std::string &path, std::int64_t fileOffset)
    : m_text(text)
    , m_path(path)
    , m_fileOffset(fileOffset)
{
}

void JsonCursor::syntaxError(const std::string &what, std::size_t at) const
{
    std::string message = "invalid JSON at byte " + std::to_string(m_fileOffset + static_cast<std::int64_t>(at)) + ": ";
    if (at >= m_text.size())
        message += "unexpected end of the text; " + what;
    else
        message += what + " (found " + describeChar(m_text[at]) + ")";
    throw Error(ErrorKind::InvalidJson, m_path, message);
}

char JsonCursor::peek()
{
    while (m_pos < m_text.size() && isSpace(m_text[m_pos]))
        ++m_pos;
    return m_pos < m_text.size() ? m_text[m_pos] : '\0';
}

void JsonCursor::expect(char c, const char *context)
{
    if (peek() != c || m_pos >= m_text.size())
        syntaxError(std::string("expected ") + context, m_pos);
    ++m_pos;
}

std::string JsonCursor::readString()
{
    if (peek() != '"' || m_pos >= m_text.size())
        syntaxError("expected a string", m_pos);
    std::string out;
    m_pos = scanString(m_text, m_pos, &out, [this](const std::string &what, std::size_t at) { syntaxError(what, at); });
    return out;
}

void JsonCursor::skipString()
{
    m_pos = scanString(m_text, m_pos, nullptr, [this](const std::string &what, std::size_t at) { syntaxError(what, at); });
}

void JsonCursor::skipNumber()
{
    const std::size_t start = m_pos;
    if (m_text[m_pos] == '-')
        ++m_pos;
    auto digits = [&] {
        const std::size_t from = m_pos;
        while (m_pos < m_text.size() && isDigit(m_text[m_pos]))
            ++m_pos;
        return m_pos - from;
    };
    if (m_pos < m_text.size() && m_text[m_pos] == '0') {
        ++m_pos;
    } else if (digits() == 0) {
        syntaxError("invalid number", start);
    }
    if (m_pos < m_text.size() && m_text[m_pos] == '.') {
        ++m_pos;
        if (digits() == 0)
            syntaxError("expected digits after '.' in a number", m_pos);
    }
    if (m_pos < m_text.size() && (m_text[m_pos] == 'e' || m_text[m_pos] == 'E')) {
        ++m_pos;
        if (m_pos < m_text.size() && (m_text[m_pos] == '+' || m_text[m_pos] == '-'))
            ++m_pos;
        if (digits() == 0)
            syntaxError("expected digits in a number's exponent", m_pos);
    }
}

void JsonCursor::skipLiteral(std::string_view word)
{
    if (m_text.substr(m_pos, word.size()) != word)
        syntaxError("invalid literal, expected a value", m_pos);
    m_pos += word.size();
}

std::string_view JsonCursor::skipValue()
{
    peek();
    const std::size_t start = m_pos;
    std::vector<char> stack; // open containers: '{' or '['
    bool needValue = true;
    while (true) {
        if (needValue) {
            const char c = peek();
            if (m_pos >= m_text.size())
                syntaxError("expected a value", m_pos);
            if (c == '{') {
                ++m_pos;
                if (peek() == '}') {
                    ++m_pos;
                } else {
                    stack.push_back('{');
                    if (peek() != '"')
                        syntaxError("expected a string key", m_pos);
                    skipString();
                    expect(':', "':' after an object key");
                    continue;
                }
            } else if (c == '[') {
                ++m_pos;
                if (peek() == ']')
                    ++m_pos;
                else {
                    stack.push_back('[');
                    continue;
                }
            } else if (c == '"') {
                skipString();
            } else if (c == '-' || isDigit(c)) {
                skipNumber();
            } else if (c == 't') {
                skipLiteral("true");
            } else if (c == 'f') {
                skipLiteral("false");
            } else if (c == 'n') {
                skipLiteral("null");
            } else {
                syntaxError("expected a value", m_pos);
            }
            needValue = false;
        }
        if (stack.empty())
            return m_text.substr(start, m_pos - start);
        const char c = peek();
        const char close = stack.back() == '{' ? '}' : ']';
        if (c == ',' && m_pos < m_text.size()) {
            ++m_pos;
            if (stack.back() == '{') {
                if (peek() != '"')
                    syntaxError("expected a string key", m_pos);
                skipString();
                expect(':', "':' after an object key");
            }
            needValue = true;
        } else if (c == close && m_pos < m_text.size()) {
            ++m_pos;
            stack.pop_back();
        } else {
            syntaxError(std::string("expected ',' or '") + close + "'", m_pos);
        }
    }
}

void JsonCursor::expectEnd()
{
    peek();
    if (m_pos != m_text.size())
        syntaxError("unexpected text after the JSON value", m_pos);
}

void JsonCursor::validate(std::string_view text, const std::string &path, std::int64_t fileOffset)
{
    JsonCursor cursor(text, path, fileOffset);
    cursor.skipValue();
    cursor.expectEnd();
}

std::optional<std::int64_t> nonNegativeInteger(std::string_view number)
{
    if (number.empty())
        return std::nullopt;
    std::int64_t value = 0;
    for (char c : number) {
        if (!isDigit(c))
            return std::nullopt;
        const int d = c - '0';
        if (value > (std::numeric_limits<std::int64_t>::max() - d) / 10)
            return std::nullopt;
        value = value * 10 + d;
    }
    return value;
}

std::string shortText(std::string_view raw)
{
    if (raw.size() > 40)
        return std::string(raw.substr(0, 37)) + "...";
    return std::string(raw);
}

} // namespace mizan::loader::detail
