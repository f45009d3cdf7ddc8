#include "format.h"

#include <algorithm>
#include <cstdio>

namespace mizan::cli {

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
