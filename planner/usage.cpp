#include "usage.h"

#include "usage_p.h"

#include <algorithm>

namespace mizan::planner {

namespace detail {

const ModuleTree &treeAsLoaded(const ModuleTree &tree, const PlanOptions &options, std::optional<ModuleTree> &storage)
{
    if (!options.dtype || options.dtypeRule != DtypeRule::Transformers)
        return tree;
    // Is any tensor's dtype changed by instantiating? (Read from the flat layout.)
    const auto flat = tree.flat();
    Tensor probe;
    for (std::size_t k = 0; k < flat->dtype.size(); ++k) {
        probe.dtype = flat->dtype[k];
        probe.fixedDtype = (flat->flags[k] & FlatTree::kFixedDtype) != 0;
        if (instantiatedDtype(probe, *options.dtype) != probe.dtype) {
            storage = instantiatedTree(tree, *options.dtype);
            return *storage;
        }
    }
    return tree;
}

// The instantiated tree (when one is made) has the same module ids and names as `tree`.
SizeTable::SizeTable(const ModuleTree &tree, const PlanOptions &options, Scope scope)
{
    const ModuleTree &loaded = treeAsLoaded(tree, options, instantiated);
    if (scope == Scope::KeysOnly && options.specialDtypes.empty() && loaded.namesArePaths()) {
        byIndex = accel::computeTreeBytes(loaded, options.dtype);
        return;
    }
    map = accel::computeModuleSizes(loaded, options.dtype, options.specialDtypes);
    module.resize(static_cast<std::size_t>(tree.size()));
    for (int id = 0; id < tree.size(); ++id)
        module[static_cast<std::size_t>(id)] = map.byModule() ? map.moduleBytes(id) : map[tree.module(id).name];
}

double SizeTable::ofKey(const std::string &key, const KeyTarget &target) const
{
    if (target.module < 0)
        return 0;
    if (byIndex.flat)
        return target.isTensor() ? byIndex.ofTensor(byIndex.flat->tensorAt(target.module, target.tensor)) : byIndex.ofModule(target.module);
    if (!target.isTensor())
        return module[static_cast<std::size_t>(target.module)];
    return map.ofKey(key, target);
}

std::vector<std::int64_t> layersOnDevices(const ModuleTree &tree, const MaxMemory &devices,
                                          const std::vector<std::optional<Device>> &deviceOfModule,
                                          const std::vector<std::string> &noSplitClasses)
{
    std::vector<std::int64_t> count(devices.size(), 0);
    const auto flat = tree.flat();
    const std::vector<char> noSplit = flat->classesIn(noSplitClasses);
    for (int id = 1; id < tree.size(); ++id) {
        if (!noSplit[static_cast<std::size_t>(flat->classId[static_cast<std::size_t>(id)])])
            continue;
        std::optional<Device> d = deviceOfModule[static_cast<std::size_t>(id)];
        if (!d) {
            // Split (by a policy, or an edit): the block runs, with its KV cache, on its first GPU.
            for (int part : tree.preorder(id)) {
                const auto &pd = deviceOfModule[static_cast<std::size_t>(part)];
                if (pd && (pd->isGpu() || pd->kind == DeviceKind::Mps)) {
                    d = pd;
                    break;
                }
            }
        }
        if (!d)
            continue;
        for (std::size_t i = 0; i < devices.size(); ++i)
            if (devices[i].first == *d)
                ++count[i];
    }
    return count;
}

std::int64_t evenLayers(const PlanOptions &options)
{
    int gpus = 0;
    for (const auto &[d, b] : options.maxMemory)
        if ((d.isGpu() || d.kind == DeviceKind::Mps) && b > 0)
            ++gpus;
    return gpus > 0 && options.headroom.numLayers > 0 ? (options.headroom.numLayers + gpus - 1) / gpus : 0;
}

std::vector<KeyTarget> resolveKeys(const ModuleTree &tree, const DeviceMap &map)
{
    // Only a key's own name resolves to its target: a key listed again is found by its target.
    std::vector<KeyTarget> targets(map.size());
    const TargetPositions positions(tree);
    std::vector<bool> seen(positions.size(), false);
    KeyResolver resolve(tree);
    for (std::size_t i = 0; i < map.size(); ++i)
        if (const auto target = resolve(map[i].first); target && !seen[positions.of(*target)]) {
            seen[positions.of(*target)] = true;
            targets[i] = *target;
        }
    return targets;
}

std::vector<DeviceUsage> usageOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options,
                                 const SizeTable &sizes, const std::vector<KeyTarget> &targets)
{
    std::vector<Device> devices;
    auto addDevice = [&](const Device &d) {
        if (std::find(devices.begin(), devices.end(), d) == devices.end())
            devices.push_back(d);
    };
    for (const auto &[d, b] : options.maxMemory)
        addDevice(d);
    for (const auto &[key, d] : map)
        addDevice(d);
    std::stable_sort(devices.begin(), devices.end());
    std::vector<DeviceUsage> out(devices.size());
    auto usageOn = [&](const Device &d) -> DeviceUsage & {
        return out[static_cast<std::size_t>(std::find(devices.begin(), devices.end(), d) - devices.begin())];
    };
    for (std::size_t i = 0; i < devices.size(); ++i) {
        out[i].device = devices[i];
        out[i].budgetBytes = budgetOf(options.maxMemory, devices[i]);
        out[i].effectiveBudgetBytes = out[i].budgetBytes;
    }
    for (std::size_t i = 0; i < map.size(); ++i) {
        if (targets[i].module < 0)
            continue;
        DeviceUsage &u = usageOn(map[i].second);
        u.plannedBytes += sizes.ofKey(map[i].first, targets[i]);
        ++u.moduleCount;
    }

    // Headroom as plan() reserves it: the KV cache of the decoder layers each GPU holds in this map
    // (without no-split classes: an even spread).
    if (options.headroom.enabled()) {
        const HeadroomEstimate estimate = estimateHeadroom(options.headroom);
        std::vector<std::int64_t> layers(options.maxMemory.size(), evenLayers(options));
        if (!options.noSplitClasses.empty()) {
            const auto n = static_cast<std::size_t>(tree.size());
            std::vector<int> moduleKey(n, -1);
            for (std::size_t i = 0; i < map.size(); ++i)
                if (targets[i].module >= 0 && !targets[i].isTensor())
                    moduleKey[static_cast<std::size_t>(targets[i].module)] = static_cast<int>(i);
            const std::vector<int> cover = coveringKeys(*tree.flat(), moduleKey);
            std::vector<std::optional<Device>> deviceOf(n);
            for (std::size_t m = 0; m < n; ++m)
                if (cover[m] >= 0)
                    deviceOf[m] = map[static_cast<std::size_t>(cover[m])].second;
            const auto held = layersOnDevices(tree, options.maxMemory, deviceOf, options.noSplitClasses);
            for (std::size_t i = 0; i < layers.size(); ++i)
                layers[i] = std::max(layers[i], held[i]);
        }
        for (auto &u : out) {
            const bool gpu = u.device.isGpu() || u.device.kind == DeviceKind::Mps;
            if (!gpu || u.budgetBytes <= 0)
                continue;
            for (std::size_t i = 0; i < options.maxMemory.size(); ++i)
                if (options.maxMemory[i].first == u.device) {
                    u.headroomBytes = std::min<std::int64_t>(u.budgetBytes, estimate.totalBytes(layers[i]));
                    break;
                }
        }
    }
    for (auto &u : out)
        u.freeBytes = u.budgetBytes < 0 ? 0 : static_cast<double>(u.budgetBytes) - u.plannedBytes - static_cast<double>(u.headroomBytes);
    return out;
}

} // namespace detail

std::vector<DeviceUsage> usageOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options,
                                 std::vector<double> *keyBytes)
{
    const detail::SizeTable sizes(tree, options, detail::SizeTable::Scope::KeysOnly);
    if (keyBytes) {
        keyBytes->clear();
        keyBytes->reserve(map.size());
        for (const auto &[key, device] : map)
            keyBytes->push_back(sizes.ofKey(key, tree.resolveKey(key).value_or(KeyTarget{})));
    }
    return detail::usageOf(tree, map, options, sizes, detail::resolveKeys(tree, map));
}

nlohmann::ordered_json usageToJson(const DeviceUsage &u)
{
    return {{"device", nlohmann::ordered_json(u.device.toJson())}, {"budget_bytes", u.budgetBytes}, {"effective_budget_bytes", u.effectiveBudgetBytes},
            {"planned_bytes", u.plannedBytes}, {"reserved_largest_layer_bytes", u.reservedLargestLayerBytes},
            {"headroom_bytes", u.headroomBytes}, {"free_bytes", u.freeBytes}, {"module_count", u.moduleCount}};
}

nlohmann::ordered_json usageToJson(const std::vector<DeviceUsage> &usage)
{
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto &u : usage)
        list.push_back(usageToJson(u));
    return list;
}

} // namespace mizan::planner
