#pragma once

// Internals of the demo writer, exposed for tests.

#include <cstdint>

namespace mizan::models::detail {

// IEEE 754 binary32 -> binary16, round to nearest even (subnormals, overflow to inf, NaN kept).
std::uint16_t toHalf(float value);
// binary32 -> bfloat16, round to nearest even (NaN kept quiet).
std::uint16_t toBfloat16(float value);

} // namespace mizan::models::detail
