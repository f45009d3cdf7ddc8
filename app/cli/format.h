#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mizan::cli {

// Human units: "1.50 GiB", "512 B".
std::string humanBytes(double bytes);
// "6.74 B", "124.4 M", "9,216".
std::string humanCount(std::int64_t count);

// A plain text table: columns left- or right-aligned, widths from the content.
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
