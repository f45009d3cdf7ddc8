#pragma once

// NameTable: name -> position for names kept elsewhere, the planner's flat hash index (module and
// tensor names, size-map keys, map keys, JSON object members).

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::planner {

// Name -> position for names kept elsewhere (module names, size-map keys), in the order they were
// entered: open addressing over positions keyed by each name's hash, so that no name is copied and
// none is hashed twice. nameAt(position) gives the name entered at a position. Each slot holds the
// position and the hash's upper half: a probe compares names only when those match, so a lookup
// among a million names costs one cache miss for the slot and one for the name it finds.
class NameTable {
public:
    // Position of `name`, or -1.
    template<typename NameAt>
    std::int64_t find(std::string_view name, const NameAt &nameAt) const
    {
        return findHashed(std::hash<std::string_view>()(name), [&](std::int64_t position) { return nameAt(position) == name; });
    }
    // Enters the next position (size()) under `name`; when `name` is there already, find() keeps
    // answering the earlier position (the new one still counts in size()) and false is returned.
    template<typename NameAt>
    bool append(std::string_view name, const NameAt &nameAt)
    {
        return appendHashed(std::hash<std::string_view>()(name), [&](std::int64_t position) { return nameAt(position) == name; });
    }
    // The same for keys that are not one string: the caller hashes the key, and `matches(position)`
    // says whether the key entered at `position` is the one sought.
    template<typename Matches>
    std::int64_t findHashed(std::size_t hash, const Matches &matches) const
    {
        if (m_slots.empty())
            return -1;
        const std::size_t mask = m_slots.size() - 1;
        const std::uint32_t tag = tagOf(hash);
        for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
            const Slot &s = m_slots[slot];
            if (s.position < 0)
                return -1;
            if (s.tag == tag && matches(s.position))
                return s.position;
        }
    }
    template<typename Matches>
    bool appendHashed(std::size_t hash, const Matches &matches)
    {
        if (findOrAppend(hash, matches) < 0)
            return true;
        m_hashes.push_back(hash); // counted, not entered: find() keeps the earlier position
        m_entered = m_hashes.size();
        return false;
    }
    // The position `matches` recognizes; else enters the next position (size()) under `hash` and
    // returns -1: the caller appends its entry there. One probe for a look-up that may insert.
    template<typename Matches>
    std::int64_t findOrAppend(std::size_t hash, const Matches &matches)
    {
        if (const std::int64_t position = findHashed(hash, matches); position >= 0)
            return position;
        m_hashes.push_back(hash);
        if (2 * m_hashes.size() > m_slots.size())
            rehash(4 * m_hashes.size()); // enters this one too
        else
            enter(m_hashes.size() - 1);
        m_entered = m_hashes.size();
        return -1;
    }
    std::size_t size() const { return m_hashes.size(); }
    void reserve(std::size_t n);

    // Later entry, for a builder that adds many names before it looks any up: appendLater()
    // counts the next position under `hash` without entering it; enterPending() enters every
    // position counted since, all at once and in the table's own order, so that the slots are
    // written one region after another instead of one random slot per name (entered one by one,
    // a million names cost a cache miss each and take twice as long). `same(a, b)` says whether
    // positions a < b hold one name; a position whose name an earlier one holds is not entered
    // (find() answers the earlier) and is passed to `repeated(position)`. find() must not be
    // called while positions are pending.
    void appendLater(std::size_t hash) { m_hashes.push_back(hash); }
    bool hasPending() const { return m_entered < m_hashes.size(); }
    template<typename Same, typename Repeated>
    void enterPending(const Same &same, const Repeated &repeated)
    {
        if (!hasPending())
            return;
        if (2 * m_hashes.size() > m_slots.size())
            reenter(slotsFor(m_hashes.size()), m_entered);
        const std::size_t mask = m_slots.size() - 1;
        enterInOrder(m_entered, m_hashes.size(), [&](std::size_t position, std::size_t hash) {
            const std::uint32_t tag = tagOf(hash);
            std::size_t slot = hash & mask;
            for (; m_slots[slot].position >= 0; slot = (slot + 1) & mask)
                if (m_slots[slot].tag == tag && same(static_cast<std::int64_t>(m_slots[slot].position), static_cast<std::int64_t>(position))) {
                    repeated(static_cast<std::int64_t>(position));
                    return;
                }
            m_slots[slot] = Slot{static_cast<std::int32_t>(position), tag};
        });
        m_entered = m_hashes.size();
    }

private:
    struct Slot {
        std::int32_t position = -1; // -1: empty
        std::uint32_t tag = 0;      // upper half of the hash
    };
    static std::uint32_t tagOf(std::size_t hash) { return static_cast<std::uint32_t>(static_cast<std::uint64_t>(hash) >> 32); }
    static std::size_t slotsFor(std::size_t names);
    void rehash(std::size_t slots);
    // A table of `slots` slots (a power of two) holding the positions before `last`.
    void reenter(std::size_t slots, std::size_t last);
    void enter(std::size_t position) { enter(position, m_hashes[position]); }
    void enter(std::size_t position, std::size_t hash)
    {
        const std::size_t mask = m_slots.size() - 1;
        std::size_t slot = hash & mask;
        while (m_slots[slot].position >= 0)
            slot = (slot + 1) & mask;
        m_slots[slot] = Slot{static_cast<std::int32_t>(position), tagOf(hash)};
    }
    // Calls enter(position, hash) for the positions [first, last): in position order when they
    // are few beside the table, else grouped by the region of the table their slot is in (a
    // stable counting sort on the slot's upper bits, each hash carried along), so that each
    // region's slots are written while they are in cache. Equal hashes keep their order.
    template<typename Enter>
    void enterInOrder(std::size_t first, std::size_t last, const Enter &enter)
    {
        const Regions regions = regionsFor(last - first);
        if (regions.count < 2) {
            for (std::size_t position = first; position < last; ++position)
                enter(position, m_hashes[position]);
            return;
        }
        for (const auto &[hash, position] : sortedByRegion(first, last, regions))
            enter(position, hash);
    }
    struct Regions {
        std::size_t count = 0;
        int shift = 0;
    };
    Regions regionsFor(std::size_t positions) const;
    std::vector<std::pair<std::size_t, std::uint32_t>> sortedByRegion(std::size_t first, std::size_t last, Regions regions) const;

    std::vector<Slot> m_slots;          // power-of-two many, at most half used
    std::vector<std::size_t> m_hashes;  // by position (for rehashing)
    std::size_t m_entered = 0;          // positions before this one are entered (or repeats)
};

} // namespace mizan::planner
