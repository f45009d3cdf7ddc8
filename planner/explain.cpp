// Why every module is where the plan put it: one structured reason per module ("fits on GPU 0:
// needs 1.2 GiB, 3.4 GiB free", "did not fit on GPU 0 ...; placed on cpu", "part of model.layers.3
// on disk", "pinned by you", "tied to lm_head"), from the map and what infer_auto_device_map did.
#include "plan_p.h"

#include <algorithm>
#include <span>
#include <string_view>
#include <utility>

namespace mizan::planner::detail {

namespace {

// A one-message explanation built in place: `{{id, {args}}}` would copy the message and every
// argument out of their initializer lists, and a plan has one explanation per module.
template<typename... Args>
std::vector<Message> only(MessageId id, Args &&...args)
{
    std::vector<Message> out(1);
    out[0].id = id;
    out[0].args.reserve(sizeof...(args));
    (out[0].args.emplace_back(std::forward<Args>(args)), ...);
    return out;
}

} // namespace

InferTrace::InferTrace(const ModuleTree &tree) : m_tree(tree), m_keys(tree)
{
}

InferTrace::Entry &InferTrace::at(const KeyTarget &target, std::string_view name)
{
    const auto [i, fresh] = m_keys.enter(target, name, static_cast<std::int64_t>(m_entries.size()));
    if (fresh)
        m_entries.emplace_back();
    return m_entries[static_cast<std::size_t>(i)];
}

const InferTrace::Entry *InferTrace::find(const KeyTarget &target, std::string_view name) const
{
    const std::int64_t i = m_keys.find(target, name);
    return i < 0 ? nullptr : &m_entries[static_cast<std::size_t>(i)];
}

void InferTrace::record(const accel::InferEvent &ev)
{
    switch (ev.kind) {
    case accel::InferEvent::Placed:
    case accel::InferEvent::Forbidden:
        at(ev.target, ev.name).placed.emplace(ev);
        for (const auto &t : ev.tiedModules)
            at(m_tree.resolveKey(t).value_or(KeyTarget{}), t).tiedTo = ev.name;
        break;
    case accel::InferEvent::Split:
    case accel::InferEvent::NextDevice:
    case accel::InferEvent::TiedSplit:
        at(ev.target, ev.name).rejections.emplace_back(ev);
        break;
    case accel::InferEvent::Fallback:
        at(ev.target, ev.name).fallback = true;
        break;
    case accel::InferEvent::Rest:
        at(ev.target, ev.name).rest = true;
        break;
    }
    if (ev.kind != accel::InferEvent::Forbidden && ev.kind != accel::InferEvent::Rest && ev.device.kind != DeviceKind::Disk) {
        auto it = std::find_if(reserveAt.begin(), reserveAt.end(), [&](const auto &p) { return p.first == ev.device; });
        if (it == reserveAt.end())
            reserveAt.emplace_back(ev.device, static_cast<std::int64_t>(ev.reserved));
        else
            it->second = static_cast<std::int64_t>(ev.reserved);
    }
}

void explainPlacements(Plan &result, const std::vector<KeyTarget> &targets, const ModuleTree &tree, const SizeTable &sizes,
                       const Pins &pins, const InferTrace &trace, const DeviceMap &raw)
{
    const auto n = static_cast<std::size_t>(tree.size());
    result.placements.resize(n);
    std::vector<int> keyOfModule(n, -1);        // index into result.deviceMap
    // The devices of the map keys at or below each module: a list only for the modules with a key
    // at or below them (a few per map key), found through `belowAt` (-1: none).
    std::vector<int> belowAt(n, -1);
    std::vector<std::vector<Device>> belowLists;
    auto devicesBelow = [&](std::size_t module) -> std::vector<Device> & {
        if (belowAt[module] < 0) {
            belowAt[module] = static_cast<int>(belowLists.size());
            belowLists.emplace_back();
        }
        return belowLists[static_cast<std::size_t>(belowAt[module])];
    };
    static const std::vector<Device> noDevices;
    auto addDevice = [](std::vector<Device> &list, const Device &d) {
        if (std::find(list.begin(), list.end(), d) == list.end())
            list.push_back(d);
    };
    // What the map before cleaning names, and the modules it names by their own key.
    std::vector<KeyTarget> rawTargets(raw.size());
    std::vector<bool> rawModuleKey(n, false);
    {
        KeyResolver resolve(tree);
        for (std::size_t r = 0; r < raw.size(); ++r)
            if (const auto target = resolve(raw[r].first)) {
                rawTargets[r] = *target;
                if (!target->isTensor())
                    rawModuleKey[static_cast<std::size_t>(target->module)] = true;
            }
    }
    for (std::size_t i = 0; i < result.deviceMap.size(); ++i) {
        const KeyTarget &r = targets[i];
        if (r.module < 0)
            continue;
        if (r.tensor < 0)
            keyOfModule[static_cast<std::size_t>(r.module)] = static_cast<int>(i);
        else
            addDevice(devicesBelow(static_cast<std::size_t>(r.module)), result.deviceMap[i].second);
    }
    const auto flat = tree.flat();
    const std::span<const int> pre = flat->order;
    for (auto it = pre.rbegin(); it != pre.rend(); ++it) {
        const auto i = static_cast<std::size_t>(*it);
        if (keyOfModule[i] >= 0) {
            devicesBelow(i) = {result.deviceMap[static_cast<std::size_t>(keyOfModule[i])].second};
        }
        const int parent = flat->parent[i];
        if (parent >= 0 && belowAt[i] >= 0)
            for (std::size_t k = 0; k < belowLists[static_cast<std::size_t>(belowAt[i])].size(); ++k) {
                const Device d = belowLists[static_cast<std::size_t>(belowAt[i])][k]; // the parent's list may move it
                addDevice(devicesBelow(static_cast<std::size_t>(parent)), d);
            }
    }
    // "did not fit on GPU 0: ..." for every device that turned an entry away; with `part`, the
    // same about that part of a merged module.
    auto rejections = [&](const std::vector<InferTrace::Step> &events, const std::string *part = nullptr) {
        std::vector<Message> out;
        for (const auto &ev : events) {
            if (ev.kind != accel::InferEvent::NextDevice)
                continue;
            const ByteCount free{std::max(0.0, ev.limit - ev.used)}, reserved{ev.reserved}, needs{ev.size};
            if (part)
                out.push_back(ev.reserved > 0 ? Message{MessageId::PartDidNotFitOnReserved, {*part, ev.device, free, reserved, needs}}
                                              : Message{MessageId::PartDidNotFitOn, {*part, ev.device, free, needs}});
            else
                out.push_back(ev.reserved > 0 ? Message{MessageId::DidNotFitOnReserved, {ev.device, free, reserved, needs}}
                                              : Message{MessageId::DidNotFitOn, {ev.device, free, needs}});
        }
        return out;
    };
    // Indices of the raw keys at or below each module that is a map key, in raw order (made for
    // the first merged key).
    std::vector<std::vector<std::size_t>> rawBelow;
    auto rawKeysBelow = [&](std::size_t module) -> const std::vector<std::size_t> & {
        if (rawBelow.empty()) {
            rawBelow.resize(n);
            for (std::size_t r = 0; r < raw.size(); ++r)
                for (int m = rawTargets[r].module; m >= 0; m = tree.module(m).parent)
                    if (keyOfModule[static_cast<std::size_t>(m)] >= 0)
                        rawBelow[static_cast<std::size_t>(m)].push_back(r);
        }
        return rawBelow[module];
    };
    std::vector<int> keyAbove(n, -1); // the map key at or above each module
    // "part of KEY on DEVICE", made once per map key for the modules inside it.
    std::vector<Explanation> insideOf(result.deviceMap.size());
    // Why the map key naming module `id` is on `d` (and its kind).
    auto mapKeyReason = [&](int id, const Device &d, PlacementKind &kind) -> std::vector<Message> {
        const auto i = static_cast<std::size_t>(id);
        const Module &m = tree.module(id);
        std::vector<Message> why;
        if (auto pin = pins.placing.find(m.name); pin != pins.placing.end()) {
            const auto &ap = pins.list[pin->second];
            kind = ap.automatic ? PlacementKind::Tied : !ap.policy.empty() ? PlacementKind::Policy : PlacementKind::Pinned;
            why.push_back(ap.automatic          ? Message{MessageId::TiedToPinned, {ap.tiedTo, d}}
                          : !ap.policy.empty() ? Message{MessageId::PlacedByPolicy, {ap.policy, d}}
                                               : Message{MessageId::PinnedByUser, {d}});
            return why;
        }
        const InferTrace::Entry *t = trace.find({id, -1}, m.name);
        if ((!t || !t->placed) && rawModuleKey[i]) {
            // A part of the rest of a no-split module split by a policy: that module's reason.
            int block = m.parent;
            while (block > 0 && !trace.find({block, -1}, tree.module(block).name))
                block = tree.module(block).parent;
            const InferTrace::Entry *bt = block > 0 ? trace.find({block, -1}, tree.module(block).name) : nullptr;
            if (bt && bt->rest && bt->placed) {
                t = bt;
                why = only(MessageId::RestOf, tree.module(block).name, d);
            }
        }
        if (t && !t->placed && !t->tiedTo.empty()) {
            kind = PlacementKind::Tied;
            return only(MessageId::TiedTo, t->tiedTo, d);
        }
        if (!t || !t->placed) {
            if (rawModuleKey[i]) {
                kind = PlacementKind::Placed;
                return only(MessageId::PlacedOn, d);
            }
            kind = PlacementKind::Merged;
            why = only(MessageId::Merged, d);
            // Why they went there: the first part that was turned away by an earlier device.
            for (std::size_t r : rawKeysBelow(i)) {
                const std::string &key = raw[r].first;
                const InferTrace::Entry *kt = trace.find(rawTargets[r], key);
                if (!kt)
                    continue;
                const auto turnedAway = rejections(kt->rejections, &key);
                if (!turnedAway.empty()) {
                    why.insert(why.end(), turnedAway.begin(), turnedAway.end());
                    break;
                }
            }
            return why;
        }
        // `why` holds "rest of BLOCK" when this key is a part of a split block's rest.
        const InferTrace::Entry &tr = *t;
        const auto rejected = rejections(tr.rejections);
        if (tr.placed->kind == accel::InferEvent::Forbidden) {
            kind = PlacementKind::Moved;
            why.push_back({MessageId::ForbiddenEarlier, {}});
            why.push_back({MessageId::PlacedOn, {d}});
        } else if (!tr.tiedTo.empty()) {
            kind = PlacementKind::Tied;
            why.push_back({MessageId::TiedTo, {tr.tiedTo, d}});
        } else if (tr.fallback) {
            kind = PlacementKind::Fallback;
            why.push_back({MessageId::FallbackFill, {d}});
        } else if (!rejected.empty()) {
            kind = PlacementKind::Moved;
            why.insert(why.end(), rejected.begin(), rejected.end());
            why.push_back({MessageId::PlacedOn, {d}});
        } else {
            kind = PlacementKind::Placed;
            const ByteCount needs{tr.placed->size}, reserved{tr.placed->reserved};
            const ByteCount free{std::max(0.0, tr.placed->limit - tr.placed->used)};
            const bool limited = tr.placed->limit >= 0, reserving = tr.placed->reserved > 0;
            const auto fits = limited && reserving ? only(MessageId::FitsOnFreeReserved, d, needs, free, reserved)
                              : limited            ? only(MessageId::FitsOnFree, d, needs, free)
                              : reserving          ? only(MessageId::FitsOnReserved, d, needs, reserved)
                                                   : only(MessageId::FitsOn, d, needs);
            if (why.empty())
                return fits;
            why.insert(why.end(), fits.begin(), fits.end());
        }
        return why;
    };
    for (int id : pre) {
        const auto i = static_cast<std::size_t>(id);
        const Module &m = tree.module(id);
        Placement &p = result.placements[i];
        p.bytes = sizes.module[i];
        const int parent = flat->parent[i];
        keyAbove[i] = keyOfModule[i] >= 0 ? keyOfModule[i] : (parent >= 0 ? keyAbove[static_cast<std::size_t>(parent)] : -1);
        if (keyOfModule[i] >= 0) {
            const Device d = result.deviceMap[static_cast<std::size_t>(keyOfModule[i])].second;
            p.device = d;
            p.mapKey = true;
            p.explanation = mapKeyReason(id, d, p.kind);
            continue;
        }
        if (parent >= 0 && keyAbove[static_cast<std::size_t>(parent)] >= 0) {
            const auto &key = result.deviceMap[static_cast<std::size_t>(keyAbove[static_cast<std::size_t>(parent)])];
            p.device = key.second;
            p.kind = PlacementKind::Inside;
            Explanation &shared = insideOf[static_cast<std::size_t>(keyAbove[static_cast<std::size_t>(parent)])];
            if (shared.empty())
                shared = key.first.empty() ? only(MessageId::PartOfWholeModel, key.second) : only(MessageId::PartOf, key.first, key.second);
            p.explanation = shared;
            continue;
        }
        // Above the map keys.
        const auto &below = belowAt[i] >= 0 ? belowLists[static_cast<std::size_t>(belowAt[i])] : noDevices;
        if (below.size() == 1)
            p.device = below.front();
        p.kind = below.size() == 1 ? PlacementKind::Merged : PlacementKind::Mixed;
        const InferTrace::Entry *t = trace.find({id, -1}, m.name);
        std::vector<Message> why;
        if (auto split = pins.splitBy.find(m.name); split != pins.splitBy.end()) {
            why = {{MessageId::SplitByPolicy, {split->second}}};
            if (t && t->rest && t->placed)
                why.push_back({MessageId::RestKeptOn, {t->placed->device}});
        } else if (t)
            for (const auto &ev : t->rejections)
                if (ev.kind == accel::InferEvent::Split) {
                    if (ev.limit >= 0 && ev.used + ev.size >= ev.limit)
                        why = {{MessageId::DidNotFitOn, {ev.device, ByteCount{std::max(0.0, ev.limit - ev.used)}, ByteCount{ev.size}}},
                               {MessageId::SplitIntoChildren, {}}};
                    else
                        why = {{MessageId::SplitForPin, {ev.device}}};
                    break;
                }
        if (why.empty() && m.name.empty() && below.size() > 1)
            why = {{MessageId::SpreadOverDevices, {}}};
        if (why.empty())
            why = {{MessageId::SplitIntoChildren, {}}};
        std::vector<Device> sorted = below;
        std::sort(sorted.begin(), sorted.end());
        if (!sorted.empty())
            why.push_back({MessageId::PartsOn, {sorted}});
        p.explanation = std::move(why);
    }
    // What each policy did.
    // Bytes: what a placing policy placed once the more specific rules took their parts; what a
    // forbidding one matched.
    result.policies = pins.effects;
    for (auto &effect : result.policies) {
        bool placing = false;
        for (const auto &p : pins.list)
            if (!p.forbid && p.policy == effect.policy) {
                placing = true;
                effect.bytes += sizes.ofKey(p.module, resolveOrNone(tree, p.module));
            }
        if (!placing)
            for (const auto &name : effect.names)
                effect.bytes += sizes.ofKey(name, resolveOrNone(tree, name));
    }
}

} // namespace mizan::planner::detail
