#include "nametable.h"

#include <algorithm>
#include <bit>

namespace mizan::planner {

std::size_t NameTable::slotsFor(std::size_t names)
{
    return std::bit_ceil(std::max<std::size_t>(16, 2 * names));
}

void NameTable::reserve(std::size_t n)
{
    m_hashes.reserve(n);
    if (2 * n > m_slots.size() && !hasPending())
        rehash(2 * n);
}

void NameTable::rehash(std::size_t slots)
{
    reenter(std::bit_ceil(std::max<std::size_t>(16, slots)), m_hashes.size());
    m_entered = m_hashes.size();
}

void NameTable::reenter(std::size_t slots, std::size_t last)
{
    // Positions re-entered in order: of two equal names the earlier stays first on its probe path.
    m_slots.assign(slots, Slot{});
    enterInOrder(0, last, [this](std::size_t position, std::size_t hash) { enter(position, hash); });
}

NameTable::Regions NameTable::regionsFor(std::size_t positions) const
{
    // Regions of 8,192 slots (64 KiB, well inside a core's L2), at most 256 of them (as many
    // streams as the sort can write to without running out of TLB entries), for a batch that
    // fills a good part of the table: a few names are entered where they fall.
    constexpr std::size_t kRegionSlots = 8192, kMaxRegions = 256;
    const std::size_t count = std::min(kMaxRegions, m_slots.size() / kRegionSlots);
    if (count < 2 || positions < m_slots.size() / 16)
        return {};
    return {count, std::countr_zero(m_slots.size()) - std::countr_zero(count)};
}

std::vector<std::pair<std::size_t, std::uint32_t>> NameTable::sortedByRegion(std::size_t first, std::size_t last, Regions regions) const
{
    const std::size_t mask = m_slots.size() - 1;
    std::vector<std::size_t> start(regions.count + 1, 0);
    for (std::size_t position = first; position < last; ++position)
        ++start[((m_hashes[position] & mask) >> regions.shift) + 1];
    for (std::size_t r = 0; r < regions.count; ++r)
        start[r + 1] += start[r];
    std::vector<std::pair<std::size_t, std::uint32_t>> out(last - first);
    for (std::size_t position = first; position < last; ++position) {
        const std::size_t hash = m_hashes[position];
        out[start[(hash & mask) >> regions.shift]++] = {hash, static_cast<std::uint32_t>(position)};
    }
    return out;
}

} // namespace mizan::planner
