#include "mapedit.h"

#include "error.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace mizan::planner {

namespace {

// The keys that replace `ancestor` (on `oldDevice`) so that `target`, below it, gets a key of its own.
void splitDown(const ModuleTree &tree, int ancestor, int target, const Device &oldDevice,
               const Device &newDevice, DeviceMap &out)
{
    if (ancestor == target) {
        out.emplace_back(tree.module(target).name, newDevice);
        return;
    }
    const Module &m = tree.module(ancestor);
    for (const auto *list : {&m.params, &m.buffers})
        for (const auto &t : *list)
            out.emplace_back(tree.tensorName(ancestor, t), oldDevice);
    for (int child : m.children) {
        if (tree.isWithin(target, child))
            splitDown(tree, child, target, oldDevice, newDevice, out);
        else
            out.emplace_back(tree.module(child).name, oldDevice);
    }
}

} // namespace

DeviceMap moveModule(const ModuleTree &tree, const DeviceMap &map, int moduleId,
                              const Device &device)
{
    const std::string &name = tree.module(moduleId).name;
    DeviceMap out;
    out.reserve(map.size() + 8);
    // A key equal to or above the module?
    for (std::size_t i = 0; i < map.size(); ++i) {
        const auto &[key, dev] = map[i];
        const int keyModule = tree.find(key);
        if (keyModule < 0 || !tree.isWithin(moduleId, keyModule))
            continue;
        out.assign(map.begin(), map.begin() + static_cast<std::ptrdiff_t>(i));
        splitDown(tree, keyModule, moduleId, dev, device, out);
        out.insert(out.end(), map.begin() + static_cast<std::ptrdiff_t>(i) + 1, map.end());
        return out;
    }
    // Keys below the module (or none): one key replaces them at the first one's position.
    bool inserted = false;
    for (const auto &entry : map) {
        if (nameWithin(entry.first, name)) {
            if (!inserted)
                out.emplace_back(name, device);
            inserted = true;
            continue;
        }
        out.push_back(entry);
    }
    if (!inserted)
        out.emplace_back(name, device);
    return out;
}

DeviceMap moveModule(const ModuleTree &tree, const DeviceMap &map, std::string_view module, const Device &device)
{
    const int id = tree.find(module);
    if (id < 0) {
        const auto target = tree.resolveKey(module);
        throw Error(ErrorKind::InvalidArgument, {},
                    "\"" + std::string(module) + "\" is not a module of this model"
                        + (target && target->isTensor() ? " (it is a tensor of \"" + tree.module(target->module).name + "\": move that module)" : std::string()));
    }
    return moveModule(tree, map, id, device);
}

ResolvedDevices resolveDevices(const ModuleTree &tree, const DeviceMap &map)
{
    const auto n = static_cast<std::size_t>(tree.size());
    ResolvedDevices r;
    r.device.assign(n, std::nullopt);
    r.spread.assign(n, {});
    r.isKey.assign(n, false);
    // Pre-order positions give every subtree as a contiguous range.
    const auto order = tree.preorder();
    std::vector<std::size_t> pos(n, 0), end(n, 0);
    for (std::size_t i = 0; i < order.size(); ++i)
        pos[static_cast<std::size_t>(order[i])] = i;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const auto id = static_cast<std::size_t>(*it);
        const auto &children = tree.module(*it).children;
        end[id] = children.empty() ? pos[id] + 1 : end[static_cast<std::size_t>(children.back())];
    }
    std::vector<bool> covered(n, false);
    auto addSpread = [&](std::size_t id, const Device &d) {
        auto &s = r.spread[id];
        if (std::find(s.begin(), s.end(), d) == s.end())
            s.push_back(d);
    };
    for (const auto &[key, dev] : map) {
        const auto target = tree.resolveKey(key);
        if (!target)
            continue;
        const int owner = target->module;
        const auto o = static_cast<std::size_t>(owner);
        if (!target->isTensor()) {
            r.isKey[o] = true;
            for (std::size_t i = pos[o]; i < end[o]; ++i) {
                const auto id = static_cast<std::size_t>(order[i]);
                r.device[id] = dev;
                covered[id] = true;
                addSpread(id, dev);
            }
        } else {
            addSpread(o, dev);
        }
        for (int p = tree.module(owner).parent; p >= 0; p = tree.module(p).parent)
            addSpread(static_cast<std::size_t>(p), dev);
    }
    for (std::size_t id = 0; id < n; ++id) {
        if (covered[id])
            continue;
        if (r.spread[id].size() == 1)
            r.device[id] = r.spread[id].front();
    }
    return r;
}

} // namespace mizan::planner
