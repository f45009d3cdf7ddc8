#pragma once

// What a device map (planned, edited or imported) puts on each device, counted as validate()
// counts it for its budget checks: the load dtype, the special dtypes (keep-in-float32 modules),
// and the runtime headroom for the decoder layers each GPU holds. The CLI's `edit`/`validate`
// and the GUI's device chart show these numbers.

#include "plan.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace mizan::planner {

// One entry per device: those of options.maxMemory, then those the map uses without a budget
// (disk, an unknown GPU), in Accelerate's device order. Keys that name nothing of the tree and
// repeated keys (after the first) count nowhere, as in validate().
// effectiveBudgetBytes = budgetBytes (an edited map is not balanced); reservedLargestLayerBytes = 0
// (only plan() reserves); freeBytes = budget - planned - headroom (0 without a budget).
// With `keyBytes`: also the bytes of every key of `map`, in map order, counted the same way (0 for a
// key naming nothing; a repeated key has its size too).
std::vector<DeviceUsage> usageOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options,
                                 std::vector<double> *keyBytes = nullptr);

// {"device", "budget_bytes", "effective_budget_bytes", "planned_bytes",
//  "reserved_largest_layer_bytes", "headroom_bytes", "free_bytes", "module_count"}
nlohmann::ordered_json usageToJson(const DeviceUsage &usage);
nlohmann::ordered_json usageToJson(const std::vector<DeviceUsage> &usage);

} // namespace mizan::planner
