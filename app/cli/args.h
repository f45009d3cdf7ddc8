#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mizan::cli {

// Wrong arguments: printed with the command's usage, exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Minimal argument parser: positionals, `--name value`, `--name=value`, repeated options, flags.
// Each command declares which options take a value and which are flags; anything else is an error.
class Args {
public:
    Args(std::vector<std::string> argv, std::vector<std::string> valueOptions, std::vector<std::string> flags);

    const std::vector<std::string> &positionals() const { return m_positionals; }
    std::string positional(std::size_t i, const char *what) const; // throws UsageError if absent
    bool flag(const std::string &name) const;
    std::optional<std::string> value(const std::string &name) const; // last occurrence
    std::vector<std::string> values(const std::string &name) const;  // every occurrence
    int intValue(const std::string &name, int fallback) const;
    void expectPositionals(std::size_t min, std::size_t max) const;

private:
    std::vector<std::string> m_positionals;
    std::multimap<std::string, std::string> m_values;
    std::vector<std::string> m_flags;
    std::vector<std::string> m_order; // option names in the order given
};

// Splits "a,b,c" (empty items dropped).
std::vector<std::string> splitList(const std::string &text, char sep = ',');

// The integer value of option `name` (>= 0), `fallback` when absent. Throws UsageError otherwise.
std::int64_t nonNegativeInt(const Args &args, const std::string &name, std::int64_t fallback);
// --split A,B,...: decoder blocks per stage (plan --hardware CLUSTER, run with pipeline stages);
// empty when not given. Throws UsageError for anything but positive integers.
std::vector<int> blockCounts(const Args &args);

} // namespace mizan::cli
