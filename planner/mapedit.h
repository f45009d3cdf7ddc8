#pragma once

// Edits of a device map (the GUI's and `mizan-cli edit`'s): move one module to a device,
// splitting a covering key or absorbing the keys below as needed, and resolve which device every
// module of the tree ends up on.

#include "plan.h"

#include <optional>
#include <string_view>
#include <vector>

namespace mizan::planner {

// The map with `moduleId` on `device`:
// - a key for the module itself changes device;
// - a key above it is split along the path (own tensors and siblings keep the old device);
// - keys below it are replaced by one key for the module, at the first of their positions.
DeviceMap moveModule(const ModuleTree &tree, const DeviceMap &map, int moduleId, const Device &device);
// The same by name ("" = the whole model). Throws Error(InvalidArgument) when no module has
// that name (a tensor name is refused too: move its module).
DeviceMap moveModule(const ModuleTree &tree, const DeviceMap &map, std::string_view module, const Device &device);

// Per module id: the one device its weights are on, or none when they are on several (or none).
struct ResolvedDevices {
    std::vector<std::optional<Device>> device;
    std::vector<std::vector<Device>> spread; // devices under modules on several devices
    std::vector<bool> isKey;                 // the module is a map key
};
ResolvedDevices resolveDevices(const ModuleTree &tree, const DeviceMap &map);

} // namespace mizan::planner
