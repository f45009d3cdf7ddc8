#pragma once

// Flat tables keyed by names, for the planner's passes over every module, tensor and map key
// (issue 12): a std::unordered_map allocates a node per name and reaches it through a bucket, two
// cache misses and a malloc per name that a million-key plan pays several times over. Here the
// entries sit in one array in insertion order, found through a NameTable.

#include "nametable.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::planner {

// Name -> value, in insertion order. Key is std::string (the map owns its names) or
// std::string_view (names kept elsewhere that outlive the map). Pointers to values stay valid
// until the next insertion.
template<typename Key, typename T>
class NameMap {
public:
    void reserve(std::size_t n)
    {
        m_entries.reserve(n);
        m_table.reserve(n);
    }
    std::size_t size() const { return m_entries.size(); }
    bool empty() const { return m_entries.empty(); }

    T *find(std::string_view name)
    {
        const std::int64_t p = position(name);
        return p < 0 ? nullptr : &m_entries[static_cast<std::size_t>(p)].second;
    }
    const T *find(std::string_view name) const
    {
        const std::int64_t p = position(name);
        return p < 0 ? nullptr : &m_entries[static_cast<std::size_t>(p)].second;
    }
    bool contains(std::string_view name) const { return position(name) >= 0; }

    // The value of `name`, inserted as `value` when absent; second: whether it was inserted.
    std::pair<T *, bool> emplace(std::string_view name, T value = T())
    {
        const std::size_t hash = std::hash<std::string_view>()(name);
        const auto same = [&](std::int64_t p) { return std::string_view(m_entries[static_cast<std::size_t>(p)].first) == name; };
        if (const std::int64_t p = m_table.findOrAppend(hash, same); p >= 0)
            return {&m_entries[static_cast<std::size_t>(p)].second, false};
        m_entries.emplace_back(Key(name), std::move(value));
        return {&m_entries.back().second, true};
    }
    T &operator[](std::string_view name) { return *emplace(name).first; }

    const std::vector<std::pair<Key, T>> &entries() const { return m_entries; }

private:
    std::int64_t position(std::string_view name) const
    {
        return m_table.find(name, [this](std::int64_t p) { return std::string_view(m_entries[static_cast<std::size_t>(p)].first); });
    }

    std::vector<std::pair<Key, T>> m_entries;
    NameTable m_table;
};

} // namespace mizan::planner
