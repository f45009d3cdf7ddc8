#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mizan::cli {

// `text` made safe to show on a terminal, for names, paths and messages that come from files or
// the command line: control characters (C0, DEL, C1), characters that reorder or break lines
// (U+2028, U+2029, bidirectional overrides and isolates) and bytes that are not UTF-8 are written
// as escapes (\n, \t, \r, \x1b, \u202e); valid UTF-8 text is kept. With `keepLines`, \n and
// \t stay (the filter on standard output and error, which sees whole lines; see output.h).
std::string printable(std::string_view text, bool keepLines = false);

// JSON output, indented; text that is not UTF-8 (a path argument) becomes U+FFFD instead of
// failing the whole document.
template<typename Json>
std::string jsonText(const Json &json)
{
    return json.dump(2, ' ', false, nlohmann::detail::error_handler_t::replace);
}
// How many bytes at the end of `text` begin a UTF-8 character that is still incomplete (0-3):
// a stream filter keeps them back until the rest arrives.
std::size_t incompleteUtf8Tail(std::string_view text);

// Human units: "1.50 GiB", "512 B".
std::string humanBytes(double bytes);
// "6.74 B", "124.4 M", "9,216".
std::string humanCount(std::int64_t count);

// A plain text table: columns left- or right-aligned, widths from the content. Cells pass through
// printable().
class TextTable {
public:
    explicit TextTable(std::vector<std::string> headers, std::vector<bool> rightAligned);
    void addRow(std::vector<std::string> cells);
    std::string render() const;

private:
    std::vector<std::string> m_headers;
    std::vector<bool> m_right;
    std::vector<std::vector<std::string>> m_rows;
};

} // namespace mizan::cli
