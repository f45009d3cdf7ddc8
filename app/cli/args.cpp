#include "args.h"

#include <algorithm>
#include <charconv>

namespace mizan::cli {

Args::Args(std::vector<std::string> argv, std::vector<std::string> valueOptions, std::vector<std::string> flags)
{
    auto known = [](const std::vector<std::string> &list, const std::string &n) {
        return std::find(list.begin(), list.end(), n) != list.end();
    };
    bool onlyPositionals = false;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if (onlyPositionals || a.size() < 2 || a[0] != '-' || (a[1] != '-' && a.size() > 2 && std::isdigit(static_cast<unsigned char>(a[1])))) {
            m_positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            onlyPositionals = true;
            continue;
        }
        std::string name = a, value;
        bool hasValue = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
            hasValue = true;
        }
        if (known(flags, name)) {
            if (hasValue)
                throw UsageError("option " + name + " takes no value");
            m_flags.push_back(name);
        } else if (known(valueOptions, name)) {
            if (!hasValue) {
                if (i + 1 >= argv.size())
                    throw UsageError("option " + name + " needs a value");
                value = argv[++i];
            }
            m_values.emplace(name, value);
        } else {
            throw UsageError("unknown option " + name);
        }
    }
}

std::string Args::positional(std::size_t i, const char *what) const
{
    if (i >= m_positionals.size())
        throw UsageError(std::string("missing ") + what);
    return m_positionals[i];
}

bool Args::flag(const std::string &name) const
{
    return std::find(m_flags.begin(), m_flags.end(), name) != m_flags.end();
}

std::optional<std::string> Args::value(const std::string &name) const
{
    auto [b, e] = m_values.equal_range(name);
    if (b == e)
        return std::nullopt;
    return std::prev(e)->second;
}

std::vector<std::string> Args::values(const std::string &name) const
{
    std::vector<std::string> out;
    auto [b, e] = m_values.equal_range(name);
    for (auto it = b; it != e; ++it)
        out.push_back(it->second);
    return out;
}

int Args::intValue(const std::string &name, int fallback) const
{
    auto v = value(name);
    if (!v)
        return fallback;
    int out = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || ptr != v->data() + v->size())
        throw UsageError("option " + name + " needs an integer, got \"" + *v + "\"");
    return out;
}

void Args::expectPositionals(std::size_t min, std::size_t max) const
{
    if (m_positionals.size() < min)
        throw UsageError("too few arguments");
    if (m_positionals.size() > max)
        throw UsageError("unexpected argument \"" + m_positionals[max] + "\"");
}

std::vector<std::string> splitList(const std::string &text, char sep)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(sep, start);
        if (end == std::string::npos)
            end = text.size();
        if (end > start)
            out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::int64_t nonNegativeInt(const Args &args, const std::string &name, std::int64_t fallback)
{
    const auto v = args.value(name);
    if (!v)
        return fallback;
    std::int64_t out = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || ptr != v->data() + v->size() || out < 0)
        throw UsageError("option " + name + " needs a non-negative integer, got \"" + *v + "\"");
    return out;
}

std::vector<int> blockCounts(const Args &args)
{
    std::vector<int> out;
    const auto text = args.value("--split");
    if (!text)
        return out;
    for (const auto &item : splitList(*text)) {
        int n = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (ec != std::errc() || ptr != item.data() + item.size() || n <= 0)
            throw UsageError("--split needs decoder blocks per stage, e.g. 4,4,8, got \"" + *text + "\"");
        out.push_back(n);
    }
    return out;
}

} // namespace mizan::cli
