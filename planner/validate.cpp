#include "validate.h"

#include "nametable.h"
#include "planerror.h"
#include "policy.h"
#include "usage_p.h"

#include <algorithm>
#include <iterator>
#include <unordered_map>
#include <string_view>
#include <unordered_set>

namespace mizan::planner {

using detail::SizeTable;

const char *toString(Severity severity)
{
    return severity == Severity::Error ? "error" : "warning";
}

const char *toString(IssueKind kind)
{
    switch (kind) {
    case IssueKind::NotCovered: return "not-covered";
    case IssueKind::CoveredTwice: return "covered-twice";
    case IssueKind::UnknownModule: return "unknown-module";
    case IssueKind::TiedSplit: return "tied-split";
    case IssueKind::UnknownDevice: return "unknown-device";
    case IssueKind::PinViolated: return "pin-violated";
    case IssueKind::OverBudget: return "over-budget";
    case IssueKind::DiskWhileCpuHasRoom: return "disk-while-cpu-has-room";
    case IssueKind::EmptyGpu: return "empty-gpu";
    case IssueKind::NoSplitBroken: return "no-split-broken";
    case IssueKind::PolicyInvalid: return "policy-invalid";
    case IssueKind::PolicyViolated: return "policy-violated";
    }
    return "unknown";
}

std::vector<Issue> validate(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options)
{
    std::vector<Issue> issues;
    auto add = [&](Severity s, IssueKind k, std::string module, Message what, Message fix) {
        issues.push_back({s, k, std::move(module), std::move(what), std::move(fix)});
    };
    const auto n = static_cast<std::size_t>(tree.size());

    // Resolve keys; duplicates and unknown names.
    // A key names one module or tensor, and only its own name resolves to it: a key listed twice
    // is found by its target, or among the unknown keys by name, without hashing every key.
    std::vector<KeyTarget> resolved(map.size());
    // The key naming each module and each tensor by itself (modules at their ids), -1 when none.
    // (Map indices fit an int: `cover` below holds them too, and no map file is that large.) The
    // tensors' part is made at the first key that names a tensor: most maps name modules alone.
    const TargetPositions positions(tree);
    struct KeyOf {
        std::vector<int> at;
        std::size_t positions;
        int operator[](std::size_t p) const { return p < at.size() ? at[p] : -1; }
        int &slot(std::size_t p)
        {
            if (p >= at.size())
                at.resize(positions, -1);
            return at[p];
        }
    } keyOf{std::vector<int>(n, -1), positions.size()};
    std::vector<std::int64_t> firstListing(map.size(), -1); // a key listed before: where first
    // The keys the tree lacks, in map order, and their names in a NameTable entered all at once
    // after the pass (NameTable::enterPending: region by region, where entering a million unknown
    // keys one by one costs a cache miss each); a repeat there is a key listed twice.
    std::vector<std::size_t> unknownAt; // map index of each unknown listing
    NameTable unknownNames;             // over positions in unknownAt
    auto unknownKey = [&](std::int64_t p) -> const std::string & { return map[unknownAt[static_cast<std::size_t>(p)]].first; };
    KeyResolver resolveKey(tree);
    for (std::size_t i = 0; i < map.size(); ++i) {
        const std::string &key = map[i].first;
        const KeyTarget target = resolveKey(key).value_or(KeyTarget{});
        if (target.module < 0) {
            unknownAt.push_back(i);
            unknownNames.appendLater(std::hash<std::string_view>()(key));
        } else if (int &k = keyOf.slot(positions.of(target)); k >= 0) {
            firstListing[i] = k;
        } else {
            k = static_cast<int>(i);
        }
        if (firstListing[i] < 0)
            resolved[i] = target;
    }
    std::vector<std::int64_t> repeats;
    unknownNames.enterPending([&](std::int64_t a, std::int64_t b) { return unknownKey(a) == unknownKey(b); },
                              [&](std::int64_t p) { repeats.push_back(p); });
    for (const std::int64_t p : repeats)
        firstListing[unknownAt[static_cast<std::size_t>(p)]] =
            static_cast<std::int64_t>(unknownAt[static_cast<std::size_t>(unknownNames.find(unknownKey(p), unknownKey))]);
    // A likely intended name for each unknown key: the first module whose name ends with "." +
    // key (every module name suffix after a dot is looked up among the unknown keys, once).
    std::vector<int> guessOf(unknownAt.size(), -1); // module id, by position in unknownAt
    if (!unknownAt.empty())
        for (int id = 1; id < tree.size(); ++id) {
            const std::string_view name = tree.module(id).name;
            for (auto dot = name.find('.', 1); dot != std::string_view::npos; dot = name.find('.', dot + 1))
                if (const std::int64_t p = unknownNames.find(name.substr(dot + 1), unknownKey); p >= 0 && guessOf[static_cast<std::size_t>(p)] < 0)
                    guessOf[static_cast<std::size_t>(p)] = id;
        }
    std::size_t nextUnknown = 0; // unknownAt is in map order
    for (std::size_t i = 0; i < map.size(); ++i) {
        const std::string &key = map[i].first;
        const std::size_t u = nextUnknown < unknownAt.size() && unknownAt[nextUnknown] == i ? nextUnknown++ : 0; // when unknown
        if (firstListing[i] >= 0) {
            add(Severity::Error, IssueKind::CoveredTwice, key,
                {MessageId::KeyTwice, {key, map[static_cast<std::size_t>(firstListing[i])].second, map[i].second}},
                {MessageId::FixKeepOneEntry, {key}});
            continue;
        }
        if (resolved[i].module >= 0)
            continue;
        // Else the key minus a leading component ("model.lm_head" -> "lm_head").
        std::string guess;
        if (const int id = guessOf[u]; id >= 0)
            guess = tree.module(id).name;
        if (guess.empty())
            if (const auto dot = key.find('.'); dot != std::string::npos && tree.resolveKey(std::string_view(key).substr(dot + 1)))
                guess = key.substr(dot + 1);
        add(Severity::Error, IssueKind::UnknownModule, key, {MessageId::UnknownKey, {key}},
            guess.empty() ? Message{MessageId::FixRemoveOrCorrect, {}} : Message{MessageId::FixDidYouMean, {guess}});
    }

    // Unknown devices.
    if (!options.maxMemory.empty()) {
        std::vector<Device> reported;
        for (std::size_t i = 0; i < map.size(); ++i) {
            const Device &d = map[i].second;
            if (d.isOffload() || budgetOf(options.maxMemory, d) >= 0)
                continue;
            add(Severity::Error, IssueKind::UnknownDevice, map[i].first, {MessageId::UnknownDevice, {map[i].first, d}},
                {MessageId::FixListedDevice, {d}});
        }
    }

    // Coverage: the nearest key at or above every module, and every module's tensors checked in
    // the same pass (their issues after the modules'). The keys whose subtrees hold the module
    // being visited are a stack of nested ranges of the pre-order: the pass reads each module's
    // own key alone.
    const auto flat = tree.flat();
    const FlatTree &f = *flat;
    std::size_t uncoveredCount = 0;
    std::vector<std::string> uncoveredSample;
    std::vector<Issue> tensorIssues;
    // A tensor needs a look at its own key only where some key names a tensor; a covered module's
    // tensors have nothing else to check.
    const bool tensorKeys = std::any_of(resolved.begin(), resolved.end(), [](const KeyTarget &t) { return t.isTensor(); });
    struct Open {
        int end; // place in the pre-order past the key's subtree
        int key;
    };
    std::vector<Open> open;
    auto checkTensors = [&](std::size_t i, int c) {
        const int id = static_cast<int>(i);
        for (int s = 0; s < f.tensorsOf(id); ++s) {
            const bool persistent = (f.flags[f.tensorAt(id, s)] & FlatTree::kPersistent) != 0;
            const bool buffer = s >= f.paramCount[i];
            const int k = keyOf[positions.of({id, s})];
            if (k >= 0 && c >= 0) {
                const auto &key = map[static_cast<std::size_t>(k)].first;
                const auto &outer = map[static_cast<std::size_t>(c)].first;
                tensorIssues.push_back({Severity::Error, IssueKind::CoveredTwice, key,
                                        outer.empty() ? Message{MessageId::KeyInsideWholeModel, {key}} : Message{MessageId::KeyInside, {key, outer}},
                                        {MessageId::FixRemoveOneOfTwo, {}}});
            }
            if (k < 0 && c < 0 && (!buffer || persistent)) {
                ++uncoveredCount;
                if (uncoveredSample.size() < 5)
                    uncoveredSample.push_back(tree.tensorName(id, tree.tensor({id, s})));
            }
        }
    };
    // Returns the key covering module i (at `place` in the pre-order).
    auto visit = [&](int place, std::size_t i) {
        while (!open.empty() && open.back().end <= place)
            open.pop_back();
        const int above = open.empty() ? -1 : open.back().key;
        const int own = keyOf[i]; // the module's own key (modules sit at their ids)
        if (own >= 0 && above >= 0) {
            const auto &inner = map[static_cast<std::size_t>(own)].first;
            const auto &outer = map[static_cast<std::size_t>(above)].first;
            add(Severity::Error, IssueKind::CoveredTwice, inner,
                outer.empty() ? Message{MessageId::KeyInsideWholeModel, {inner}} : Message{MessageId::KeyInside, {inner, outer}},
                {MessageId::FixRemoveOneOfTwo, {}});
        }
        if (own >= 0)
            open.push_back({f.end[i], own});
        const int c = own >= 0 ? own : above;
        if (c < 0 || tensorKeys)
            checkTensors(i, c);
        return c;
    };
    if (f.idsInPreorder) {
        // Where no key names a tensor, a covered module's subtree has nothing to check up to the
        // next key inside it: the pass skips to that key, or past the subtree.
        const std::vector<int> &moduleKeys = keyOf.at;
        for (std::size_t i = 0; i < n;) {
            if (visit(static_cast<int>(i), i) < 0 || tensorKeys) {
                ++i;
                continue;
            }
            const auto last = moduleKeys.begin() + open.back().end;
            i = static_cast<std::size_t>(std::find_if(moduleKeys.begin() + static_cast<std::ptrdiff_t>(i) + 1, last, [](int k) { return k >= 0; }) -
                                         moduleKeys.begin());
        }
    } else {
        for (std::size_t p = 0; p < n; ++p)
            visit(static_cast<int>(p), static_cast<std::size_t>(f.order[p]));
    }
    issues.insert(issues.end(), std::make_move_iterator(tensorIssues.begin()), std::make_move_iterator(tensorIssues.end()));
    // The key covering a module (its own, else the nearest above), for the checks below: from a
    // table made at the first ask (tied groups and rules are few, but a chain may be deep).
    std::vector<int> cover;
    auto coverOf = [&](int module) {
        if (cover.empty())
            cover = detail::coveringKeys(f, keyOf);
        return cover[static_cast<std::size_t>(module)];
    };
    auto deviceOfTensor = [&](int owner, int slot) -> std::optional<Device> {
        if (const int k = keyOf[positions.of({owner, slot})]; k >= 0)
            return map[static_cast<std::size_t>(k)].second;
        const int c = coverOf(owner);
        if (c >= 0)
            return map[static_cast<std::size_t>(c)].second;
        return std::nullopt;
    };
    if (uncoveredCount > 0) {
        const auto count = static_cast<std::int64_t>(uncoveredCount);
        add(Severity::Error, IssueKind::NotCovered, uncoveredSample.front(),
            uncoveredCount == 1 ? Message{MessageId::NotCoveredOne, {uncoveredSample.front()}}
            : uncoveredCount > uncoveredSample.size() ? Message{MessageId::NotCoveredMore, {count, uncoveredSample}}
                                                      : Message{MessageId::NotCoveredMany, {count, uncoveredSample}},
            {MessageId::FixGiveDevice, {}});
    }

    // Tied groups on one device.
    for (const auto &group : accel::findTiedParameters(tree)) {
        std::optional<Device> first;
        std::string firstName;
        for (const auto &member : group) {
            const auto r = tree.resolveKey(member).value_or(KeyTarget{});
            if (r.module < 0)
                continue;
            const auto d = deviceOfTensor(r.module, r.tensor);
            if (!d)
                continue;
            if (!first) {
                first = d;
                firstName = member;
            } else if (*d != *first) {
                add(Severity::Error, IssueKind::TiedSplit, member, {MessageId::TiedOnDifferentDevices, {member, firstName, *d, *first}},
                    {MessageId::FixSameDevice, {}});
            }
        }
    }

    // Pins, and the policies' rules (with policies, the user's pins as the more specific rules left them).
    struct Rule {
        std::string name;
        Device device;
        bool forbid = false;
        std::string policy; // empty: a user pin
    };
    std::vector<Rule> rules;
    if (options.policies.empty()) {
        for (const auto &pin : options.pins)
            rules.push_back({pin.module, pin.device, pin.forbid, {}});
    } else {
        try {
            for (const auto &r : resolveRules(tree, options).rules)
                rules.push_back({r.name, r.device, r.forbid,
                                 r.policy >= 0 ? toString(options.policies[static_cast<std::size_t>(r.policy)]) : std::string()});
        } catch (const PlanError &e) {
            const Message &what = e.messages().front();
            add(Severity::Error, IssueKind::PolicyInvalid, {}, what, {MessageId::FixCorrectPolicy, {}});
            for (const auto &pin : options.pins)
                rules.push_back({pin.module, pin.device, pin.forbid, {}});
        }
    }
    for (const auto &pin : rules) {
        const auto r = tree.resolveKey(pin.name).value_or(KeyTarget{});
        if (r.module < 0)
            continue;
        std::vector<Device> devices;
        if (r.tensor >= 0) {
            if (auto d = deviceOfTensor(r.module, r.tensor))
                devices.push_back(*d);
        } else if (const int c = coverOf(r.module); c >= 0) {
            devices.push_back(map[static_cast<std::size_t>(c)].second);
        } else {
            for (std::size_t i = 0; i < map.size(); ++i)
                if (resolved[i].module >= 0 && tree.isWithin(resolved[i].module, r.module) && std::find(devices.begin(), devices.end(), map[i].second) == devices.end())
                    devices.push_back(map[i].second);
        }
        for (const auto &d : devices) {
            if (pin.forbid ? d == pin.device : d != pin.device) {
                if (!pin.policy.empty())
                    add(Severity::Error, IssueKind::PolicyViolated, pin.name,
                        pin.forbid ? Message{MessageId::PolicyForbids, {pin.policy, pin.name, d}}
                                   : Message{MessageId::PolicyViolated, {pin.policy, pin.name, pin.device, d}},
                        pin.forbid ? Message{MessageId::FixAnotherDevice, {}} : Message{MessageId::FixMoveToPolicy, {pin.device}});
                else
                    add(Severity::Error, IssueKind::PinViolated, pin.name,
                        pin.forbid ? Message{MessageId::PinForbids, {pin.name, d}} : Message{MessageId::PinViolated, {pin.name, pin.device, d}},
                        pin.forbid ? Message{MessageId::FixAnotherDevice, {}} : Message{MessageId::FixMoveToPinned, {pin.device}});
                break;
            }
        }
    }

    // No-split modules kept whole.
    {
        // The parts a policy places elsewhere do not break a no-split module (the rest stays whole).
        std::unordered_set<std::string_view> policyPlaced;
        for (const auto &r : rules)
            if (!r.policy.empty() && !r.forbid)
                policyPlaced.insert(r.name);
        auto placedByPolicy = [&](std::string_view key) {
            while (true) {
                if (policyPlaced.count(key))
                    return true;
                const auto dot = key.rfind('.');
                if (dot == std::string_view::npos)
                    return policyPlaced.count(std::string_view()) != 0;
                key = key.substr(0, dot);
            }
        };
        std::unordered_map<int, std::vector<Device>> parts;
        const std::vector<char> noSplitClass = f.classesIn(options.noSplitClasses);
        for (std::size_t i = 0; i < map.size(); ++i) {
            if (resolved[i].module < 0 || (!policyPlaced.empty() && placedByPolicy(map[i].first)))
                continue;
            int outer = -1;
            int start = resolved[i].tensor < 0 ? f.parent[static_cast<std::size_t>(resolved[i].module)] : resolved[i].module;
            for (int m = start; m > 0; m = f.parent[static_cast<std::size_t>(m)])
                if (noSplitClass[static_cast<std::size_t>(f.classId[static_cast<std::size_t>(m)])])
                    outer = m;
            if (outer > 0) {
                auto &list = parts[outer];
                if (std::find(list.begin(), list.end(), map[i].second) == list.end())
                    list.push_back(map[i].second);
            }
        }
        std::vector<int> broken;
        for (const auto &[id, devices] : parts)
            if (devices.size() > 1)
                broken.push_back(id);
        std::sort(broken.begin(), broken.end());
        for (int id : broken) {
            const Module &m = tree.module(id);
            add(Severity::Warning, IssueKind::NoSplitBroken, m.name,
                {MessageId::NoSplitBroken, {m.name, m.className, static_cast<std::int64_t>(parts[id].size())}},
                {MessageId::FixMapAsOneEntry, {m.name}});
        }
    }

    // Budgets.
    if (!options.maxMemory.empty()) {
        const SizeTable sizes(tree, options, SizeTable::Scope::KeysOnly);
        const std::vector<DeviceUsage> usage = detail::usageOf(tree, map, options, sizes, resolved);
        double smallestDiskBytes = -1, largestDiskBytes = 0;
        std::string smallestDiskName;
        for (std::size_t i = 0; i < map.size(); ++i) {
            if (resolved[i].module < 0 || map[i].second.kind != DeviceKind::Disk)
                continue;
            const double bytes = sizes.ofKey(map[i].first, resolved[i]);
            if (smallestDiskBytes < 0 || bytes < smallestDiskBytes) {
                smallestDiskBytes = bytes;
                smallestDiskName = map[i].first;
            }
            largestDiskBytes = std::max(largestDiskBytes, bytes);
        }
        auto plannedOn = [&](const Device &d) {
            for (const auto &u : usage)
                if (u.device == d)
                    return u.plannedBytes;
            return 0.0;
        };
        for (const auto &u : usage) {
            if (u.device.kind == DeviceKind::Disk || u.budgetBytes < 0)
                continue;
            const Device &d = u.device;
            const double used = u.plannedBytes;
            const double limit = static_cast<double>(u.budgetBytes - u.headroomBytes);
            if (used > limit) {
                const auto over = static_cast<std::int64_t>(std::ceil(used - limit));
                add(Severity::Warning, IssueKind::OverBudget, std::string(),
                    u.headroomBytes ? Message{MessageId::OverBudgetHeadroom, {d, over, ByteCount{used}, ByteCount{limit}, ByteCount{static_cast<double>(u.headroomBytes)}}}
                                    : Message{MessageId::OverBudget, {d, over, ByteCount{used}, ByteCount{limit}}},
                    {MessageId::FixMoveFrom, {d}});
            }
        }
        const std::int64_t cpuBudget = budgetOf(options.maxMemory, Device::cpu());
        if (smallestDiskBytes >= 0 && cpuBudget >= 0) {
            // The CPU keeps room to load the largest disk entry back (Accelerate's reservation).
            const double cpuFree = static_cast<double>(cpuBudget) - plannedOn(Device::cpu()) - largestDiskBytes;
            if (smallestDiskBytes <= cpuFree)
                add(Severity::Warning, IssueKind::DiskWhileCpuHasRoom, smallestDiskName,
                    {MessageId::DiskWhileCpuHasRoom, {smallestDiskName, ByteCount{cpuFree}, ByteCount{smallestDiskBytes}}},
                    {MessageId::FixMoveToCpu, {}});
        }
        std::vector<int> gpuIds;
        for (const auto &u : usage)
            if (u.device.isGpu() && u.budgetBytes > 0)
                gpuIds.push_back(u.device.index);
        for (std::size_t a = 0; a < gpuIds.size(); ++a) {
            if (plannedOn(Device::gpu(gpuIds[a])) > 0 || std::any_of(map.begin(), map.end(), [&](const auto &p) { return p.second == Device::gpu(gpuIds[a]); }))
                continue;
            for (std::size_t b = a + 1; b < gpuIds.size(); ++b)
                if (std::any_of(map.begin(), map.end(), [&](const auto &p) { return p.second == Device::gpu(gpuIds[b]); })) {
                    add(Severity::Warning, IssueKind::EmptyGpu, std::string(), {MessageId::EmptyGpu, {Device::gpu(gpuIds[a]), Device::gpu(gpuIds[b])}},
                        {MessageId::FixMoveFirstModules, {Device::gpu(gpuIds[a])}});
                    break;
                }
        }
    }
    return issues;
}

} // namespace mizan::planner
