#include "nametable.h"

#include <algorithm>
#include <bit>

namespace mizan::planner {

void NameTable::reserve(std::size_t n)
{
    m_hashes.reserve(n);
    if (2 * n > m_slots.size())
        rehash(2 * n);
}

void NameTable::rehash(std::size_t slots)
{
    // Positions re-entered in order: of two equal names the earlier stays first on its probe path.
    m_slots.assign(std::bit_ceil(std::max<std::size_t>(16, slots)), Slot{});
    for (std::size_t position = 0; position < m_hashes.size(); ++position)
        enter(position);
}

void NameTable::enter(std::size_t position)
{
    const std::size_t mask = m_slots.size() - 1;
    const std::size_t hash = m_hashes[position];
    std::size_t slot = hash & mask;
    while (m_slots[slot].position >= 0)
        slot = (slot + 1) & mask;
    m_slots[slot] = Slot{static_cast<std::int32_t>(position), tagOf(hash)};
}

} // namespace mizan::planner
