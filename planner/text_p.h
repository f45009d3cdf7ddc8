#pragma once

// Internal to the planner: numbers in the English text of predictions (cost.cpp, cluster.cpp).

#include <string>

namespace mizan::planner::detail {

// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals);
// "2.40 s", "31 ms", "4.2 ms", "850 us".
std::string duration(double seconds);

} // namespace mizan::planner::detail
