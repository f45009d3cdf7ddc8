#pragma once

// Edits of a device map as the GUI offers them (no Qt): move one module to a device, splitting
// a covering key or absorbing the keys below as needed, and resolve which device every module
// of the tree ends up on for display.

#include "planner/plan.h"

#include <vector>

namespace mizan::gui {

// The map with `moduleId` on `device`:
// - a key for the module itself changes device;
// - a key above it is split along the path (own tensors and siblings keep the old device);
// - keys below it are replaced by one key for the module, at the first of their positions.
planner::DeviceMap moveModule(const planner::ModuleTree &tree, const planner::DeviceMap &map, int moduleId,
                              const planner::Device &device);

// Per module id: the one device its weights are on, or none when they are on several (or none).
struct ResolvedDevices {
    std::vector<std::optional<planner::Device>> device;
    std::vector<std::vector<planner::Device>> spread; // devices under modules on several devices
    std::vector<bool> isKey;                          // the module is a map key
};
ResolvedDevices resolveDevices(const planner::ModuleTree &tree, const planner::DeviceMap &map);

} // namespace mizan::gui
