#pragma once

// Internal to the planner: the byte counting plan(), validate() and usageOf() share.

#include "accelerate.h"
#include "plan.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mizan::planner::detail {

// The tree Accelerate's functions are run on. Under DtypeRule::Transformers with a load dtype: the
// model as transformers instantiates it (then sized with dtype = the load dtype, as transformers
// calls them); otherwise `tree` itself. `storage` holds the copy when one is needed.
const ModuleTree &treeAsLoaded(const ModuleTree &tree, const PlanOptions &options, std::optional<ModuleTree> &storage);

// Per-module byte sizes in Accelerate's counting (doubles), by module id; tensor sizes by name;
// under the options' load dtype (and its rule: treeAsLoaded) and special dtypes.
struct SizeTable {
    // What a caller asks of the table: the map too (Accelerate's functions take it), or only the
    // bytes of keys (ofKey(), `module`): then, where the names are paths and no special dtype is
    // given, the bytes are counted by index alone (accel::computeTreeBytes), and `map` is empty.
    enum class Scope { WithMap, KeysOnly };
    // The model as transformers instantiates it, where that differs from the tree (treeAsLoaded):
    // the map names its keys from it when asked (made before the map, destroyed after it).
    std::optional<ModuleTree> instantiated;
    accel::SizeMap map;
    std::vector<double> module; // by id (with the map)
    // Without the map: by module id and by tensor index in the layout (`byIndex.flat`).
    accel::TreeBytes byIndex;
    SizeTable(const ModuleTree &tree, const PlanOptions &options, Scope scope = Scope::WithMap);
    SizeTable(const SizeTable &) = delete; // the map refers to `instantiated`
    SizeTable &operator=(const SizeTable &) = delete;
    // Bytes of a map key resolved to `target` (0 when it names nothing).
    double ofKey(const std::string &key, const KeyTarget &target) const;
};

// The key covering every module, by id: its own (`ownKey[id]`, -1 when none), else the nearest
// above it; -1 where none is.
template <class Keys>
std::vector<int> coveringKeys(const FlatTree &f, const Keys &ownKey)
{
    std::vector<int> cover(static_cast<std::size_t>(f.size()), -1);
    for (const int id : f.order) {
        const auto i = static_cast<std::size_t>(id);
        const int parent = f.parent[i];
        cover[i] = ownKey[i] >= 0 ? ownKey[i] : parent >= 0 ? cover[static_cast<std::size_t>(parent)] : -1;
    }
    return cover;
}

// Decoder layers (modules of a no-split class) each device of `devices` holds.
std::vector<std::int64_t> layersOnDevices(const ModuleTree &tree, const MaxMemory &devices,
                                          const std::vector<std::optional<Device>> &deviceOfModule,
                                          const std::vector<std::string> &noSplitClasses);

// Decoder layers per GPU when spread evenly (the headroom's first guess), 0 without headroom.
std::int64_t evenLayers(const PlanOptions &options);

// usageOf() with the sizes and the key targets already known (`targets[i]` for `map[i]`,
// module -1 for a key that counts nowhere).
std::vector<DeviceUsage> usageOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options,
                                 const SizeTable &sizes, const std::vector<KeyTarget> &targets);

// The targets of a map's keys, the second and later copies of a key as unresolved.
std::vector<KeyTarget> resolveKeys(const ModuleTree &tree, const DeviceMap &map);

} // namespace mizan::planner::detail
