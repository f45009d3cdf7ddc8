#include "format.h"

#include <algorithm>
#include <cstdio>

namespace mizan::cli {

namespace {

// The length of the UTF-8 character at the start of `t` (1-4), or 0 when it is not valid UTF-8
// (a stray continuation byte, an overlong form, a surrogate, above U+10FFFF, cut short). `cp`
// gets its code point.
std::size_t utf8Char(std::string_view t, char32_t &cp)
{
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(t[i]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF; // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0; // overlong
        if (c == 0xED)
            hi = 0x9F; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
        if (c == 0xF0)
            lo = 0x90; // overlong
        if (c == 0xF4)
            hi = 0x8F; // above U+10FFFF
    } else {
        return 0;
    }
    if (t.size() < n)
        return 0;
    for (std::size_t i = 1; i < n; ++i) {
        const unsigned char x = b(i);
        if (x < (i == 1 ? lo : 0x80) || x > (i == 1 ? hi : 0xBF))
            return 0;
        cp = (cp << 6) | (x & 0x3F);
    }
    return n;
}

// Characters that are printable but change how a terminal lays out the text around them.
bool reordersText(char32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E)
           || (cp >= 0x2066 && cp <= 0x2069);
}

} // namespace

std::string printable(std::string_view text, bool keepLines)
{
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        if (c < 0x80) {
            if (keepLines && (c == '\n' || c == '\t'))
                out += static_cast<char>(c);
            else if (c == '\n')
                out += "\\n";
            else if (c == '\t')
                out += "\\t";
            else if (c == '\r')
                out += "\\r";
            else {
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            }
            ++i;
            continue;
        }
        char32_t cp = 0;
        const std::size_t n = utf8Char(text.substr(i), cp);
        if (n == 0) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
            ++i;
        } else if (cp < 0xA0 || reordersText(cp)) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
            i += n;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::size_t incompleteUtf8Tail(std::string_view text)
{
    // The last lead byte among the last three bytes, followed only by continuation bytes, that
    // needs more bytes than there are: the start of a character still to come.
    for (std::size_t back = 1; back <= 3 && back <= text.size(); ++back) {
        const unsigned char c = static_cast<unsigned char>(text[text.size() - back]);
        if (c >= 0x80 && c <= 0xBF)
            continue; // a continuation byte: look further back
        const std::size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (need <= back)
            return 0;
        // The bytes present must be a valid beginning (utf8Char of the text completed with
        // continuation bytes would be valid).
        std::string probe(text.substr(text.size() - back));
        probe.append(need - back, '\x80');
        char32_t cp = 0;
        if (back == 1 || utf8Char(probe, cp) == need)
            return back;
        return 0;
    }
    return 0;
}

std::string humanBytes(double bytes)
{
    static const char *const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int unit = 0;
    double v = bytes;
    while (v >= 1024.0 && unit < 5) {
        v /= 1024.0;
        ++unit;
    }
    char buf[32];
    if (unit == 0)
        std::snprintf(buf, sizeof buf, "%.0f B", v);
    else
        std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[unit]);
    return buf;
}

std::string humanCount(std::int64_t count)
{
    char buf[32];
    if (count >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.2f B", count / 1e9);
    else if (count >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.2f M", count / 1e6);
    else if (count >= 10'000)
        std::snprintf(buf, sizeof buf, "%.1f K", count / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(count));
    return buf;
}

TextTable::TextTable(std::vector<std::string> headers, std::vector<bool> rightAligned)
    : m_headers(std::move(headers))
    , m_right(std::move(rightAligned))
{
    m_right.resize(m_headers.size(), false);
}

void TextTable::addRow(std::vector<std::string> cells)
{
    cells.resize(m_headers.size());
    for (auto &cell : cells)
        cell = printable(cell);
    m_rows.push_back(std::move(cells));
}

std::string TextTable::render() const
{
    std::vector<std::size_t> width(m_headers.size());
    for (std::size_t c = 0; c < m_headers.size(); ++c) {
        width[c] = m_headers[c].size();
        for (const auto &r : m_rows)
            width[c] = std::max(width[c], r[c].size());
    }
    std::string out;
    auto line = [&](const std::vector<std::string> &cells) {
        std::string l;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::string pad(width[c] - cells[c].size(), ' ');
            l += m_right[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : std::string());
            if (c + 1 < cells.size())
                l += "  ";
        }
        while (!l.empty() && l.back() == ' ')
            l.pop_back();
        out += l + "\n";
    };
    line(m_headers);
    std::vector<std::string> rule;
    for (auto w : width)
        rule.emplace_back(w, '-');
    line(rule);
    for (const auto &r : m_rows)
        line(r);
    return out;
}

} // namespace mizan::cli
