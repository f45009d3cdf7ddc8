// The user's pins (module -> device fixed, or forbidden there) as plan() applies them: checked
// against the tree and the budgets, extended over tied groups, subtracted from the budgets, and
// turned into the constraints infer_auto_device_map runs under.
#include "plan_p.h"

#include "planerror.h"
#include "policy.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

namespace mizan::planner::detail {

namespace {

bool placesOn(const Device &d)
{
    return d.isGpu() || d.kind == DeviceKind::Mps;
}

// The mixture-of-experts module (one named "experts" below `block`) that `key` lies within, or
// empty: "model.layers.3.mlp.experts" for "model.layers.3.mlp.experts.5.w1" in "model.layers.3".
std::string expertsModuleOf(std::string_view key, std::string_view block)
{
    for (std::size_t at = block.size(); at < key.size() && key[at] == '.';) {
        const std::size_t end = std::min(key.find('.', at + 1), key.size());
        if (key.substr(at + 1, end - at - 1) == "experts")
            return std::string(key.substr(0, end));
        at = end;
    }
    return {};
}

std::vector<Device> budgetDevices(const PlanOptions &options)
{
    std::vector<Device> listed;
    for (const auto &m : options.maxMemory)
        listed.push_back(m.first);
    return listed;
}

} // namespace

Pins resolvePins(const ModuleTree &tree, const PlanOptions &options, const std::unordered_set<std::string> &noSplit,
                 const std::vector<std::vector<std::string>> &tiedGroups, Plan &result)
{
    Pins out;
    auto &pins = out.list;
    auto outermostNoSplit = [&](int id) {
        int found = -1;
        for (int m = tree.module(id).parent; m > 0; m = tree.module(m).parent)
            if (noSplit.count(tree.module(m).className))
                found = m;
        return found;
    };
    std::vector<const Pin *> placingPins;
    for (const auto &p : options.pins) {
        const auto resolved = resolveOrNone(tree, p.module);
        if (resolved.module < 0)
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinUnknownModule, {p.module}}});
        if (placesOn(p.device) && budgetOf(options.maxMemory, p.device) < 0)
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinDeviceWithoutBudget, {p.module, p.device, budgetDevices(options)}}});
        if (!p.forbid) {
            const int inside = resolved.tensor < 0 ? outermostNoSplit(resolved.module)
                               : noSplit.count(tree.module(resolved.module).className) ? resolved.module
                                                                                        : outermostNoSplit(resolved.module);
            if (inside > 0)
                throw PlanError(ErrorKind::Impossible,
                                {{MessageId::PinInsideNoSplit, {p.module, tree.module(inside).name, tree.module(inside).className}}});
            for (const Pin *q : placingPins)
                if (nameWithin(p.module, q->module) || nameWithin(q->module, p.module))
                    throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinsOverlap, {q->module, p.module}}});
            placingPins.push_back(&p);
        }
    }
    // With the policies: the more specific rule wins (policy.h). Contradictions throw there.
    for (const auto &policy : options.policies)
        if (placesOn(policy.device) && budgetOf(options.maxMemory, policy.device) < 0)
            throw PlanError(ErrorKind::InvalidArgument,
                            {{MessageId::PolicyDeviceWithoutBudget, {toString(policy), policy.device, budgetDevices(options)}}});
    const ResolvedRules rules = resolveRules(tree, options);
    for (const auto &r : rules.rules)
        pins.push_back({r.name, r.device, r.forbid, false, {}, r.policy >= 0 ? toString(options.policies[static_cast<std::size_t>(r.policy)]) : std::string()});
    for (std::size_t i = 0; i < options.policies.size(); ++i) {
        PolicyEffect effect;
        effect.policy = toString(options.policies[i]);
        effect.names = rules.selected[i];
        effect.splitBlocks = rules.splitBlocks[i];
        for (const auto &block : effect.splitBlocks)
            out.splitBy.emplace(block, effect.policy);
        out.effects.push_back(std::move(effect));
    }
    // The modules between a split block and the parts its policy placed are split by it too.
    for (const auto &r : rules.rules) {
        if (r.policy < 0 || r.forbid)
            continue;
        const auto &blocks = rules.splitBlocks[static_cast<std::size_t>(r.policy)];
        std::vector<std::string> path;
        for (std::string name = r.name; !name.empty();) {
            const auto dot = name.rfind('.');
            name = dot == std::string::npos ? std::string() : name.substr(0, dot);
            if (std::find(blocks.begin(), blocks.end(), name) != blocks.end()) {
                for (const auto &m : path)
                    out.splitBy.emplace(m, out.effects[static_cast<std::size_t>(r.policy)].policy);
                break;
            }
            path.push_back(name);
        }
    }
    // Tied parameters follow a pinned module.
    for (const auto &group : tiedGroups) {
        const ActivePin *pinned = nullptr;
        for (const auto &member : group)
            for (const auto &p : pins)
                if (!p.forbid && nameWithin(member, p.module))
                    pinned = &p;
        if (!pinned)
            continue;
        const ActivePin anchor = *pinned;
        for (const auto &member : group) {
            bool covered = false;
            for (const auto &p : pins)
                if (!p.forbid && nameWithin(member, p.module)) {
                    covered = true;
                    if (p.device != anchor.device)
                        addWarning(result, {{MessageId::TiedPinsDiffer, {member, anchor.module, p.device, anchor.device}}});
                }
            if (covered)
                continue;
            int owner = resolveOrNone(tree, member).module;
            if (owner <= 0)
                continue;
            if (int ns = outermostNoSplit(owner); ns > 0)
                owner = ns;
            pins.push_back({tree.module(owner).name, anchor.device, false, true, anchor.module, {}});
        }
    }
    for (std::size_t i = 0; i < pins.size(); ++i)
        if (!pins[i].forbid)
            out.placing.emplace(pins[i].module, i);
    return out;
}

accel::Memory budgetsAfterPins(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes,
                               const Pins &pins, const std::vector<std::int64_t> &headroomOf)
{
    accel::Memory memory;
    for (std::size_t i = 0; i < options.maxMemory.size(); ++i) {
        const auto &[d, b] = options.maxMemory[i];
        double pinned = 0;
        std::vector<Message> pinList;
        std::vector<std::pair<std::string, std::pair<std::int64_t, double>>> byPolicy; // policy -> (entries, bytes)
        for (const auto &p : pins.list)
            if (!p.forbid && p.device == d) {
                const double s = sizes.ofKey(p.module, resolveOrNone(tree, p.module));
                pinned += s;
                if (p.policy.empty()) {
                    pinList.push_back({MessageId::PinnedBytes, {p.module, ByteCount{s}}});
                    continue;
                }
                auto it = std::find_if(byPolicy.begin(), byPolicy.end(), [&](const auto &e) { return e.first == p.policy; });
                if (it == byPolicy.end())
                    it = byPolicy.insert(byPolicy.end(), {p.policy, {0, 0.0}});
                ++it->second.first;
                it->second.second += s;
            }
        for (const auto &[policy, counted] : byPolicy)
            pinList.push_back({MessageId::PolicyPinnedBytes, {policy, counted.first, ByteCount{counted.second}}});
        const double available = static_cast<double>(b - headroomOf[i]);
        if (pinned > available) {
            const auto over = static_cast<std::int64_t>(std::ceil(pinned - available));
            std::vector<Message> why = {headroomOf[i]
                ? Message{MessageId::PinsOverBudgetHeadroom, {ByteCount{pinned}, d, ByteCount{static_cast<double>(b)}, ByteCount{available}, over}}
                : Message{MessageId::PinsOverBudget, {ByteCount{pinned}, d, ByteCount{static_cast<double>(b)}, over}}};
            why.insert(why.end(), pinList.begin(), pinList.end());
            throw PlanError(ErrorKind::Impossible, std::move(why));
        }
        memory.emplace_back(d, available - pinned);
    }
    return memory;
}

accel::InferConstraints Pins::constraints() const
{
    accel::InferConstraints c;
    c.skip = [this](const std::string &name) {
        if (placing.count(name))
            return true;
        for (const auto &p : list)
            if (!p.forbid && nameWithin(name, p.module))
                return true;
        return false;
    };
    c.mustSplit = [this](const std::string &name) {
        for (const auto &p : list)
            if (!p.forbid && p.module != name && nameWithin(p.module, name))
                return true;
        return false;
    };
    c.verdict = [this](const std::string &name, const Device &device) {
        accel::PinVerdict verdict = accel::PinVerdict::Allowed;
        for (const auto &p : list) {
            if (!p.forbid || p.device != device)
                continue;
            if (nameWithin(name, p.module))
                return accel::PinVerdict::Forbidden;
            if (nameWithin(p.module, name))
                verdict = accel::PinVerdict::ForbiddenInside;
        }
        return verdict;
    };
    return c;
}

bool growPartsReserve(const ModuleTree &tree, const PlanOptions &options, const Plan &result, std::vector<std::int64_t> &reserve)
{
    std::vector<std::string> blocks;
    for (const auto &effect : result.policies)
        blocks.insert(blocks.end(), effect.splitBlocks.begin(), effect.splitBlocks.end());
    if (blocks.empty())
        return false;
    const SizeTable sizes(tree, options);
    std::vector<double> need(options.maxMemory.size(), 0.0);
    for (const auto &block : blocks) {
        std::optional<Device> runsOn;
        std::vector<const std::pair<std::string, Device> *> inBlock;
        for (const auto &entry : result.deviceMap)
            if (nameWithin(entry.first, block)) {
                inBlock.push_back(&entry);
                if (!runsOn && placesOn(entry.second))
                    runsOn = entry.second;
            }
        if (!runsOn)
            continue;
        double offloaded = 0;
        for (const auto *entry : inBlock) {
            const auto &[key, d] = *entry;
            if (!d.isOffload())
                continue;
            // Experts whose keys all say "cpu" or "disk" while the rest of the block runs on a GPU
            // compute on the CPU where they live (the runtime's WeightSource::runPart, cost.cpp):
            // nothing of them is brought in. With a part on a GPU, they are brought in.
            const std::string experts = expertsModuleOf(key, block);
            if (runsOn->isGpu() && !experts.empty() &&
                std::all_of(inBlock.begin(), inBlock.end(), [&](const auto *other) {
                    return !nameWithin(other->first, experts) || other->second.isOffload();
                }))
                continue;
            offloaded += sizes.ofKey(key, resolveOrNone(tree, key));
        }
        for (std::size_t i = 0; i < options.maxMemory.size(); ++i)
            if (options.maxMemory[i].first == *runsOn)
                need[i] = std::max(need[i], offloaded);
    }
    bool grew = false;
    for (std::size_t i = 0; i < need.size(); ++i) {
        const auto bytes = static_cast<std::int64_t>(std::ceil(need[i]));
        if (bytes > reserve[i]) {
            reserve[i] = bytes;
            grew = true;
        }
    }
    return grew;
}

} // namespace mizan::planner::detail
