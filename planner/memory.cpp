#include "planner/memory.h"

#include <cstdlib> // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mizan {

bool keepFreedMemory()
{
#if defined(__GLIBC__)
    constexpr int kOneGiB = 1 << 30;
    // Setting the mmap threshold also stops glibc from adjusting it by itself.
    return mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1 && mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
#else
    return false;
#endif
}

} // namespace mizan
