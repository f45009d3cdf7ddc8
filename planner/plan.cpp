#include "plan.h"

#include "accelerate.h"
#include "error.h"
#include "planerror.h"
#include "usage_p.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace mizan::planner {

namespace {

[[noreturn]] void invalid(const std::string &message)
{
    throw Error(ErrorKind::InvalidArgument, {}, message);
}

// A warning both as text and as structured messages.
void addWarning(Plan &plan, std::vector<Message> messages)
{
    plan.warnings.push_back(toEnglish(messages));
    plan.warningMessages.push_back(std::move(messages));
}

} // namespace

const char *toString(Strategy strategy)
{
    switch (strategy) {
    case Strategy::Auto: return "auto";
    case Strategy::Balanced: return "balanced";
    case Strategy::BalancedLow0: return "balanced_low_0";
    case Strategy::Sequential: return "sequential";
    }
    return "auto";
}

Strategy strategyFromString(std::string_view text)
{
    for (Strategy s : {Strategy::Auto, Strategy::Balanced, Strategy::BalancedLow0, Strategy::Sequential})
        if (text == toString(s))
            return s;
    invalid("unknown strategy \"" + std::string(text) + "\": use auto, balanced, balanced_low_0 or sequential");
}

const char *toString(PlacementKind kind)
{
    switch (kind) {
    case PlacementKind::Placed: return "placed";
    case PlacementKind::Moved: return "moved";
    case PlacementKind::Split: return "split";
    case PlacementKind::Merged: return "merged";
    case PlacementKind::Inside: return "inside";
    case PlacementKind::Pinned: return "pinned";
    case PlacementKind::Tied: return "tied";
    case PlacementKind::Fallback: return "fallback";
    case PlacementKind::Mixed: return "mixed";
    }
    return "placed";
}

Pin parsePin(std::string_view text)
{
    const std::string s(text);
    Pin pin;
    auto pos = s.find("!=");
    std::size_t valueAt = 0;
    if (pos != std::string::npos) {
        pin.forbid = true;
        valueAt = pos + 2;
    } else {
        pos = s.rfind('=');
        if (pos == std::string::npos)
            invalid("pin \"" + s + "\" is not MODULE=DEVICE or MODULE!=DEVICE (for example model.layers.0=1)");
        valueAt = pos + 1;
    }
    pin.module = s.substr(0, pos);
    pin.device = Device::fromString(s.substr(valueAt));
    return pin;
}

HeadroomEstimate estimateHeadroom(const Headroom &h)
{
    HeadroomEstimate e;
    if (!h.enabled())
        return e;
    const std::int64_t bytes = std::max<std::int64_t>(1, storageBytes(h.dtype, 8) / 8);
    const std::int64_t heads = h.numAttentionHeads > 0 ? h.numAttentionHeads : 1;
    const std::int64_t kvHeads = h.numKeyValueHeads > 0 ? h.numKeyValueHeads : heads;
    const std::int64_t headDim = h.headDim > 0 ? h.headDim : h.hiddenSize / heads;
    const std::int64_t inter = h.intermediateSize > 0 ? h.intermediateSize : 4 * h.hiddenSize;
    const std::int64_t batch = std::max<std::int64_t>(1, h.batchSize);
    // K and V for every token of every sequence, per layer.
    e.kvCachePerLayerBytes = 2 * batch * h.tokens * kvHeads * headDim * bytes;
    // One prefill step with fused attention: residual stream, normed input, attention output and
    // MLP output (4 x hidden) plus gate and up projections (2 x intermediate); float32 logits of
    // the last token.
    e.activationBytes = batch * h.tokens * (4 * h.hiddenSize + 2 * inter) * bytes + batch * h.vocabSize * 4;
    return e;
}

ModuleSizes aggregateSizes(const ModuleTree &tree, const PlanOptions &options)
{
    return aggregateSizes(tree, options.dtype, options.dtypeRule, options.specialDtypes);
}

DType loadedDtype(const ModuleTree &tree, int module, const Tensor &tensor, const PlanOptions &options)
{
    if (!options.specialDtypes.empty()) {
        const std::string name = tree.tensorName(module, tensor);
        for (const auto &[n, d] : options.specialDtypes)
            if (n == name)
                return d;
    }
    return loadedDtype(tensor, options.dtype, options.dtypeRule);
}

const DeviceUsage *Plan::usageOf(const Device &device) const
{
    for (const auto &u : usage)
        if (u.device == device)
            return &u;
    return nullptr;
}

namespace {

// A map key's target; module -1 when the key names nothing of the tree.
KeyTarget resolve(const ModuleTree &tree, std::string_view key)
{
    return tree.resolveKey(key).value_or(KeyTarget{});
}

// Execution-order rank of modules and tensors: a module, its params, its children, its buffers.
struct Ranks {
    std::vector<int> module, paramBase, bufferBase;
    explicit Ranks(const ModuleTree &tree)
    {
        const auto n = static_cast<std::size_t>(tree.size());
        module.assign(n, 0);
        paramBase.assign(n, 0);
        bufferBase.assign(n, 0);
        int counter = 0;
        auto walk = [&](auto &&self, int id) -> void {
            const auto i = static_cast<std::size_t>(id);
            module[i] = counter++;
            paramBase[i] = counter;
            counter += static_cast<int>(tree.module(id).params.size());
            for (int c : tree.module(id).children)
                self(self, c);
            bufferBase[i] = counter;
            counter += static_cast<int>(tree.module(id).buffers.size());
        };
        walk(walk, ModuleTree::kRoot);
    }
    int of(const ModuleTree &tree, const KeyTarget &resolved) const
    {
        const auto [id, slot] = resolved;
        if (id < 0)
            return 1 << 30;
        const auto i = static_cast<std::size_t>(id);
        if (slot < 0)
            return module[i];
        const int params = static_cast<int>(tree.module(id).params.size());
        return slot < params ? paramBase[i] + slot : bufferBase[i] + (slot - params);
    }
};


} // namespace

namespace {

using detail::evenLayers;
using detail::layersOnDevices;
using detail::SizeTable;
using detail::treeAsLoaded;

Plan planOnce(const ModuleTree &tree, const PlanOptions &options, const std::vector<std::int64_t> &layersPerDevice);

} // namespace

// With runtime headroom, the KV cache a GPU needs depends on how many layers it ends up holding:
// start from an even spread and re-plan while some GPU holds more layers than reserved for.
Plan plan(const ModuleTree &input, const PlanOptions &options)
{
    std::optional<ModuleTree> instantiated;
    const ModuleTree &tree = treeAsLoaded(input, options, instantiated);
    std::vector<std::int64_t> layers(options.maxMemory.size(), options.headroom.enabled() ? evenLayers(options) : 0);
    Plan result = planOnce(tree, options, layers);
    if (!options.headroom.enabled() || options.noSplitClasses.empty() || result.headroom.kvCachePerLayerBytes == 0)
        return result;
    for (int round = 0; round < 8; ++round) {
        std::vector<std::optional<Device>> deviceOf(result.placements.size());
        for (std::size_t i = 0; i < result.placements.size(); ++i)
            deviceOf[i] = result.placements[i].device;
        const auto held = layersOnDevices(tree, options.maxMemory, deviceOf, options.noSplitClasses);
        bool grew = false;
        for (std::size_t i = 0; i < layers.size(); ++i)
            if (held[i] > layers[i] && (options.maxMemory[i].first.isGpu() || options.maxMemory[i].first.kind == DeviceKind::Mps)) {
                layers[i] = held[i];
                grew = true;
            }
        if (!grew)
            return result;
        result = planOnce(tree, options, layers);
    }
    addWarning(result, {{MessageId::HeadroomUnsettled, {std::int64_t{8}}}});
    return result;
}

namespace {

Plan planOnce(const ModuleTree &tree, const PlanOptions &options, const std::vector<std::int64_t> &layersPerDevice)
{
    if (options.maxMemory.empty())
        invalid("no device budget given: set a max memory for at least one device (for example 0=22GiB,cpu=64GiB)");
    for (const auto &[d, b] : options.maxMemory)
        if (b < 0)
            invalid("budget of " + d.label() + " is negative");

    Plan result;
    const SizeTable sizes(tree, options);
    result.totalBytes = sizes.module[0];
    std::unordered_set<std::string> noSplit(options.noSplitClasses.begin(), options.noSplitClasses.end());

    // Warn about no-split classes that do not occur.
    for (const auto &cls : options.noSplitClasses) {
        bool found = false;
        for (const auto &m : tree.modules())
            if (m.className == cls) {
                found = true;
                break;
            }
        if (!found)
            addWarning(result, {{MessageId::UnknownNoSplitClass, {cls}}});
    }

    // Runtime headroom on every GPU with a budget.
    result.headroom = estimateHeadroom(options.headroom);
    std::vector<std::int64_t> headroomOf(options.maxMemory.size(), 0);
    if (options.headroom.enabled()) {
        for (std::size_t i = 0; i < options.maxMemory.size(); ++i) {
            const auto &[d, b] = options.maxMemory[i];
            if ((d.isGpu() || d.kind == DeviceKind::Mps) && b > 0)
                headroomOf[i] = std::min<std::int64_t>(b, result.headroom.totalBytes(layersPerDevice[i]));
        }
    }
    auto headroomFor = [&](const Device &d) -> std::int64_t {
        for (std::size_t i = 0; i < options.maxMemory.size(); ++i)
            if (options.maxMemory[i].first == d)
                return headroomOf[i];
        return 0;
    };

    // ---- pins ----
    struct ActivePin {
        std::string module;
        Device device;
        bool forbid = false;
        bool automatic = false;   // added to keep a tied group together
        std::string tiedTo;       // for automatic pins
    };
    std::vector<ActivePin> pins;
    auto outermostNoSplit = [&](int id) {
        int found = -1;
        for (int m = tree.module(id).parent; m > 0; m = tree.module(m).parent)
            if (noSplit.count(tree.module(m).className))
                found = m;
        return found;
    };
    for (const auto &p : options.pins) {
        const auto resolved = resolve(tree, p.module);
        if (resolved.module < 0)
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinUnknownModule, {p.module}}});
        if ((p.device.isGpu() || p.device.kind == DeviceKind::Mps) && budgetOf(options.maxMemory, p.device) < 0) {
            std::vector<Device> listed;
            for (const auto &m : options.maxMemory)
                listed.push_back(m.first);
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinDeviceWithoutBudget, {p.module, p.device, listed}}});
        }
        if (!p.forbid) {
            const int inside = resolved.tensor < 0 ? outermostNoSplit(resolved.module) : (noSplit.count(tree.module(resolved.module).className) ? resolved.module : outermostNoSplit(resolved.module));
            if (inside > 0)
                throw PlanError(ErrorKind::Impossible,
                                {{MessageId::PinInsideNoSplit, {p.module, tree.module(inside).name, tree.module(inside).className}}});
            for (const auto &q : pins)
                if (!q.forbid && (nameWithin(p.module, q.module) || nameWithin(q.module, p.module)))
                    throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinsOverlap, {q.module, p.module}}});
        }
        pins.push_back({p.module, p.device, p.forbid, false, {}});
    }
    for (const auto &p : pins)
        for (const auto &q : pins)
            if (!p.forbid && q.forbid && p.device == q.device && (nameWithin(p.module, q.module) || nameWithin(q.module, p.module)))
                throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinsContradict, {p.module, p.device, q.module}}});
    // Tied parameters follow a pinned module.
    const auto tiedGroups = accel::findTiedParameters(tree);
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
            int owner = resolve(tree, member).module;
            if (owner <= 0)
                continue;
            if (int ns = outermostNoSplit(owner); ns > 0)
                owner = ns;
            pins.push_back({tree.module(owner).name, anchor.device, false, true, anchor.module});
        }
    }
    std::unordered_map<std::string, std::size_t> pinIndex;
    for (std::size_t i = 0; i < pins.size(); ++i)
        if (!pins[i].forbid)
            pinIndex.emplace(pins[i].module, i);

    // Budgets left for infer: user budget - headroom - pinned bytes.
    accel::Memory memory;
    for (std::size_t i = 0; i < options.maxMemory.size(); ++i) {
        const auto &[d, b] = options.maxMemory[i];
        double pinned = 0;
        std::vector<Message> pinList;
        for (const auto &p : pins)
            if (!p.forbid && p.device == d) {
                const double s = sizes.ofKey(p.module, resolve(tree, p.module));
                pinned += s;
                pinList.push_back({MessageId::PinnedBytes, {p.module, ByteCount{s}}});
            }
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

    // ---- strategy ----
    accel::Memory effective;
    if (options.strategy == Strategy::Sequential)
        effective = accel::getMaxMemory(memory);
    else
        effective = accel::getBalancedMemory(tree, memory, options.noSplitClasses, options.dtype, {},
                                             options.strategy == Strategy::BalancedLow0,
                                             options.specialDtypes.empty() ? &sizes.map : nullptr);
    result.effectiveMaxMemory = accel::toMaxMemory(effective);

    // ---- infer ----
    accel::InferOptions io;
    io.maxMemory = effective;
    io.noSplitClasses = options.noSplitClasses;
    io.dtype = options.dtype;
    io.specialDtypes = options.specialDtypes;
    io.offloadBuffers = options.offloadBuffers;
    io.fallbackAllocation = options.fallbackAllocation;
    io.cleanResult = false;
    io.sizes = &sizes.map;
    io.tiedGroups = &tiedGroups;

    accel::InferConstraints constraints;
    const bool constrained = !pins.empty();
    if (constrained) {
        constraints.skip = [&](const std::string &name) {
            if (pinIndex.count(name))
                return true;
            for (const auto &p : pins)
                if (!p.forbid && nameWithin(name, p.module))
                    return true;
            return false;
        };
        constraints.mustSplit = [&](const std::string &name) {
            for (const auto &p : pins)
                if (!p.forbid && p.module != name && nameWithin(p.module, name))
                    return true;
            return false;
        };
        constraints.verdict = [&](const std::string &name, const Device &device) {
            accel::PinVerdict verdict = accel::PinVerdict::Allowed;
            for (const auto &p : pins) {
                if (!p.forbid || p.device != device)
                    continue;
                if (nameWithin(name, p.module))
                    return accel::PinVerdict::Forbidden;
                if (nameWithin(p.module, name))
                    verdict = accel::PinVerdict::ForbiddenInside;
            }
            return verdict;
        };
    }

    struct Trace {
        std::vector<accel::InferEvent> rejections; // NextDevice / Split for this name
        std::optional<accel::InferEvent> placed;
        std::string tiedTo;
        bool fallback = false;
    };
    std::unordered_map<std::string, Trace> trace;
    std::vector<std::pair<Device, std::int64_t>> reserveAt; // last reserve seen per device
    auto observer = [&](const accel::InferEvent &ev) {
        switch (ev.kind) {
        case accel::InferEvent::Placed:
        case accel::InferEvent::Forbidden:
            trace[ev.name].placed = ev;
            for (const auto &t : ev.tiedModules)
                trace[t].tiedTo = ev.name;
            break;
        case accel::InferEvent::Split:
        case accel::InferEvent::NextDevice:
        case accel::InferEvent::TiedSplit:
            trace[ev.name].rejections.push_back(ev);
            break;
        case accel::InferEvent::Fallback:
            trace[ev.name].fallback = true;
            break;
        }
        if (ev.kind != accel::InferEvent::Forbidden && ev.device.kind != DeviceKind::Disk) {
            auto it = std::find_if(reserveAt.begin(), reserveAt.end(), [&](const auto &p) { return p.first == ev.device; });
            if (it == reserveAt.end())
                reserveAt.emplace_back(ev.device, static_cast<std::int64_t>(ev.reserved));
            else
                it->second = static_cast<std::int64_t>(ev.reserved);
        }
    };
    const auto inferred = accel::inferAutoDeviceMap(tree, io, observer, constrained ? &constraints : nullptr);
    result.bufferWarning = inferred.bufferWarning;
    if (inferred.bufferWarning)
        addWarning(result, inferred.bufferWarningMessages);
    result.insufficientMemory = inferred.insufficientMemory;
    if (!inferred.insufficientMemoryMessages.empty())
        addWarning(result, inferred.insufficientMemoryMessages);

    // ---- the map: infer's keys + pins, cleaned, in execution order ----
    std::vector<std::pair<std::string, Device>> map = inferred.deviceMap;
    for (const auto &p : pins)
        if (!p.forbid)
            map.emplace_back(p.module, p.device);
    std::vector<std::pair<std::string, Device>> raw = map; // before clean, for reasons
    if (options.cleanResult)
        map = accel::cleanDeviceMap(std::move(map));
    const Ranks ranks(tree);
    std::vector<std::pair<int, std::size_t>> order;
    std::vector<KeyTarget> resolvedKeys(map.size());
    for (std::size_t i = 0; i < map.size(); ++i) {
        resolvedKeys[i] = resolve(tree, map[i].first);
        order.emplace_back(ranks.of(tree, resolvedKeys[i]), i);
    }
    std::stable_sort(order.begin(), order.end());
    result.deviceMap.reserve(map.size());
    for (const auto &[rank, i] : order)
        result.deviceMap.push_back(map[i]);

    // ---- placements ----
    const auto n = static_cast<std::size_t>(tree.size());
    result.placements.resize(n);
    std::vector<int> keyOfModule(n, -1);        // index into result.deviceMap
    std::vector<std::vector<Device>> devicesBelow(n);
    auto addDevice = [](std::vector<Device> &list, const Device &d) {
        if (std::find(list.begin(), list.end(), d) == list.end())
            list.push_back(d);
    };
    std::unordered_map<std::string, Device> rawDevice;
    for (const auto &[k, d] : raw)
        rawDevice.emplace(k, d);
    for (std::size_t i = 0; i < result.deviceMap.size(); ++i) {
        const auto r = resolve(tree, result.deviceMap[i].first);
        if (r.module < 0)
            continue;
        if (r.tensor < 0)
            keyOfModule[static_cast<std::size_t>(r.module)] = static_cast<int>(i);
        else
            addDevice(devicesBelow[static_cast<std::size_t>(r.module)], result.deviceMap[i].second);
    }
    const auto pre = tree.preorder();
    for (auto it = pre.rbegin(); it != pre.rend(); ++it) {
        const auto i = static_cast<std::size_t>(*it);
        if (keyOfModule[i] >= 0) {
            devicesBelow[i] = {result.deviceMap[static_cast<std::size_t>(keyOfModule[i])].second};
        }
        const int parent = tree.module(*it).parent;
        if (parent >= 0)
            for (const auto &d : devicesBelow[i])
                addDevice(devicesBelow[static_cast<std::size_t>(parent)], d);
    }
    // "did not fit on GPU 0: ..." for every device that turned an entry away; with `part`, the
    // same about that part of a merged module.
    auto rejections = [&](const std::vector<accel::InferEvent> &events, const std::string *part = nullptr) {
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
    std::vector<int> keyAbove(n, -1); // the map key at or above each module
    for (int id : pre) {
        const auto i = static_cast<std::size_t>(id);
        const Module &m = tree.module(id);
        Placement &p = result.placements[i];
        p.name = m.name;
        p.bytes = sizes.module[i];
        const int parent = m.parent;
        keyAbove[i] = keyOfModule[i] >= 0 ? keyOfModule[i] : (parent >= 0 ? keyAbove[static_cast<std::size_t>(parent)] : -1);
        if (keyOfModule[i] >= 0) {
            const Device d = result.deviceMap[static_cast<std::size_t>(keyOfModule[i])].second;
            p.device = d;
            p.mapKey = true;
            if (auto pin = pinIndex.find(m.name); pin != pinIndex.end()) {
                const auto &ap = pins[pin->second];
                p.kind = ap.automatic ? PlacementKind::Tied : PlacementKind::Pinned;
                p.explanation = {ap.automatic ? Message{MessageId::TiedToPinned, {ap.tiedTo, d}} : Message{MessageId::PinnedByUser, {d}}};
                continue;
            }
            auto t = trace.find(m.name);
            if (t != trace.end() && !t->second.placed && !t->second.tiedTo.empty()) {
                p.kind = PlacementKind::Tied;
                p.explanation = {{MessageId::TiedTo, {t->second.tiedTo, d}}};
                continue;
            }
            if (t == trace.end() || !t->second.placed) {
                if (!rawDevice.count(m.name)) {
                    p.kind = PlacementKind::Merged;
                    p.explanation = {{MessageId::Merged, {d}}};
                    // Why they went there: the first part that was turned away by an earlier device.
                    for (const auto &[key, device] : raw) {
                        if (!nameWithin(key, m.name))
                            continue;
                        auto kt = trace.find(key);
                        if (kt == trace.end())
                            continue;
                        const auto why = rejections(kt->second.rejections, &key);
                        if (!why.empty()) {
                            p.explanation.insert(p.explanation.end(), why.begin(), why.end());
                            break;
                        }
                    }
                } else {
                    p.kind = PlacementKind::Placed;
                    p.explanation = {{MessageId::PlacedOn, {d}}};
                }
                continue;
            }
            const Trace &tr = t->second;
            const auto rejected = rejections(tr.rejections);
            if (tr.placed->kind == accel::InferEvent::Forbidden) {
                p.kind = PlacementKind::Moved;
                p.explanation = {{MessageId::ForbiddenEarlier, {}}, {MessageId::PlacedOn, {d}}};
            } else if (!tr.tiedTo.empty()) {
                p.kind = PlacementKind::Tied;
                p.explanation = {{MessageId::TiedTo, {tr.tiedTo, d}}};
            } else if (tr.fallback) {
                p.kind = PlacementKind::Fallback;
                p.explanation = {{MessageId::FallbackFill, {d}}};
            } else if (!rejected.empty()) {
                p.kind = PlacementKind::Moved;
                p.explanation = rejected;
                p.explanation.push_back({MessageId::PlacedOn, {d}});
            } else {
                p.kind = PlacementKind::Placed;
                const ByteCount needs{tr.placed->size}, reserved{tr.placed->reserved};
                const ByteCount free{std::max(0.0, tr.placed->limit - tr.placed->used)};
                const bool limited = tr.placed->limit >= 0, reserving = tr.placed->reserved > 0;
                p.explanation = {limited && reserving ? Message{MessageId::FitsOnFreeReserved, {d, needs, free, reserved}}
                                 : limited            ? Message{MessageId::FitsOnFree, {d, needs, free}}
                                 : reserving          ? Message{MessageId::FitsOnReserved, {d, needs, reserved}}
                                                      : Message{MessageId::FitsOn, {d, needs}}};
            }
            continue;
        }
        if (parent >= 0 && keyAbove[static_cast<std::size_t>(parent)] >= 0) {
            const auto &key = result.deviceMap[static_cast<std::size_t>(keyAbove[static_cast<std::size_t>(parent)])];
            p.device = key.second;
            p.kind = PlacementKind::Inside;
            p.explanation = {{MessageId::PartOf, {key.first, key.second}}};
            continue;
        }
        // Above the map keys.
        const auto &below = devicesBelow[i];
        if (below.size() == 1)
            p.device = below.front();
        p.kind = below.size() == 1 ? PlacementKind::Merged : PlacementKind::Mixed;
        auto t = trace.find(m.name);
        std::vector<Message> why;
        if (t != trace.end())
            for (const auto &ev : t->second.rejections)
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
    for (auto &p : result.placements)
        p.reason = toEnglish(p.explanation);

    // ---- usage ----
    std::vector<Device> usageDevices;
    for (const auto &[d, b] : effective)
        usageDevices.push_back(d);
    // Devices the map uses without a budget (disk; a pin to the CPU when only GPUs have budgets).
    for (const auto &[k, d] : result.deviceMap)
        if (std::find(usageDevices.begin(), usageDevices.end(), d) == usageDevices.end())
            usageDevices.push_back(d);
    std::stable_sort(usageDevices.begin(), usageDevices.end());
    for (const auto &d : usageDevices) {
        DeviceUsage u;
        u.device = d;
        u.budgetBytes = d.kind == DeviceKind::Disk ? budgetOf(options.maxMemory, d) : budgetOf(options.maxMemory, d);
        double eff = -1;
        for (const auto &[k, v] : effective)
            if (k == d)
                eff = v;
        u.effectiveBudgetBytes = eff < 0 ? -1 : static_cast<std::int64_t>(eff);
        u.headroomBytes = headroomFor(d);
        for (const auto &[k, v] : reserveAt)
            if (k == d)
                u.reservedLargestLayerBytes = v;
        for (std::size_t i = 0; i < result.deviceMap.size(); ++i) {
            if (result.deviceMap[i].second != d)
                continue;
            ++u.moduleCount;
            u.plannedBytes += sizes.ofKey(result.deviceMap[i].first, resolve(tree, result.deviceMap[i].first));
        }
        if (u.moduleCount == 0)
            u.reservedLargestLayerBytes = 0;
        u.freeBytes = u.budgetBytes < 0 ? 0 : static_cast<double>(u.budgetBytes) - u.plannedBytes -
                                                  static_cast<double>(u.reservedLargestLayerBytes + u.headroomBytes);
        result.usage.push_back(u);
    }
    return result;
}

} // namespace

// ---- validation ---------------------------------------------------------------------------------

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
    }
    return "unknown";
}

std::vector<Issue> validate(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options)
{
    std::vector<Issue> issues;
    auto add = [&](Severity s, IssueKind k, std::string module, Message what, Message fix) {
        issues.push_back({s, k, std::move(module), toEnglish(what), toEnglish(fix), std::move(what), std::move(fix)});
    };
    const auto n = static_cast<std::size_t>(tree.size());
    std::unordered_set<std::string> noSplit(options.noSplitClasses.begin(), options.noSplitClasses.end());

    // Resolve keys; duplicates and unknown names.
    std::vector<KeyTarget> resolved(map.size());
    std::vector<int> moduleKey(n, -1);
    std::unordered_map<std::string, std::size_t> seen;
    std::unordered_map<std::int64_t, std::size_t> tensorKey; // owner * 2^20 + slot -> key index
    for (std::size_t i = 0; i < map.size(); ++i) {
        const std::string &key = map[i].first;
        if (auto [it, inserted] = seen.emplace(key, i); !inserted) {
            add(Severity::Error, IssueKind::CoveredTwice, key, {MessageId::KeyTwice, {key, map[it->second].second, map[i].second}},
                {MessageId::FixKeepOneEntry, {key}});
            resolved[i] = KeyTarget{};
            continue;
        }
        resolved[i] = resolve(tree, key);
        if (resolved[i].module < 0) {
            // A likely intended name: a module that ends with the key, or the key minus a
            // leading component ("model.lm_head" -> "lm_head").
            std::string guess;
            const std::string suffix = "." + key;
            for (const auto &m : tree.modules())
                if (m.name.size() > suffix.size() && m.name.compare(m.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                    guess = m.name;
                    break;
                }
            if (guess.empty())
                if (const auto dot = key.find('.'); dot != std::string::npos && tree.resolveKey(std::string_view(key).substr(dot + 1)))
                    guess = key.substr(dot + 1);
            add(Severity::Error, IssueKind::UnknownModule, key, {MessageId::UnknownKey, {key}},
                guess.empty() ? Message{MessageId::FixRemoveOrCorrect, {}} : Message{MessageId::FixDidYouMean, {guess}});
            continue;
        }
        if (resolved[i].tensor < 0)
            moduleKey[static_cast<std::size_t>(resolved[i].module)] = static_cast<int>(i);
        else
            tensorKey[static_cast<std::int64_t>(resolved[i].module) * (1 << 20) + resolved[i].tensor] = i;
    }

    // Unknown devices.
    if (!options.maxMemory.empty()) {
        std::vector<Device> reported;
        for (std::size_t i = 0; i < map.size(); ++i) {
            const Device &d = map[i].second;
            if (d.kind == DeviceKind::Disk || d.kind == DeviceKind::Cpu || budgetOf(options.maxMemory, d) >= 0)
                continue;
            add(Severity::Error, IssueKind::UnknownDevice, map[i].first, {MessageId::UnknownDevice, {map[i].first, d}},
                {MessageId::FixListedDevice, {d}});
        }
    }

    // Coverage: the nearest key at or above every module.
    std::vector<int> cover(n, -1);
    for (int id : tree.preorder()) {
        const auto i = static_cast<std::size_t>(id);
        const int parent = tree.module(id).parent;
        const int above = parent >= 0 ? cover[static_cast<std::size_t>(parent)] : -1;
        if (moduleKey[i] >= 0 && above >= 0) {
            const auto &inner = map[static_cast<std::size_t>(moduleKey[i])].first;
            const auto &outer = map[static_cast<std::size_t>(above)].first;
            add(Severity::Error, IssueKind::CoveredTwice, inner,
                outer.empty() ? Message{MessageId::KeyInsideWholeModel, {inner}} : Message{MessageId::KeyInside, {inner, outer}},
                {MessageId::FixRemoveOneOfTwo, {}});
        }
        cover[i] = moduleKey[i] >= 0 ? moduleKey[i] : above;
    }
    std::size_t uncoveredCount = 0;
    std::vector<std::string> uncoveredSample;
    auto deviceOfTensor = [&](int owner, int slot) -> std::optional<Device> {
        auto it = tensorKey.find(static_cast<std::int64_t>(owner) * (1 << 20) + slot);
        if (it != tensorKey.end())
            return map[it->second].second;
        const int c = cover[static_cast<std::size_t>(owner)];
        if (c >= 0)
            return map[static_cast<std::size_t>(c)].second;
        return std::nullopt;
    };
    for (int id : tree.preorder()) {
        const Module &m = tree.module(id);
        const int c = cover[static_cast<std::size_t>(id)];
        for (std::size_t s = 0; s < m.params.size() + m.buffers.size(); ++s) {
            const bool buffer = s >= m.params.size();
            const Tensor &t = buffer ? m.buffers[s - m.params.size()] : m.params[s];
            const auto it = tensorKey.find(static_cast<std::int64_t>(id) * (1 << 20) + static_cast<int>(s));
            if (it != tensorKey.end() && c >= 0) {
                const auto &key = map[it->second].first;
                const auto &outer = map[static_cast<std::size_t>(c)].first;
                add(Severity::Error, IssueKind::CoveredTwice, key,
                    outer.empty() ? Message{MessageId::KeyInsideWholeModel, {key}} : Message{MessageId::KeyInside, {key, outer}},
                    {MessageId::FixRemoveOneOfTwo, {}});
            }
            if (it == tensorKey.end() && c < 0 && (!buffer || t.persistent)) {
                ++uncoveredCount;
                if (uncoveredSample.size() < 5)
                    uncoveredSample.push_back(tree.tensorName(id, t));
            }
        }
    }
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
            const auto r = resolve(tree, member);
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

    // Pins.
    for (const auto &pin : options.pins) {
        const auto r = resolve(tree, pin.module);
        if (r.module < 0)
            continue;
        std::vector<Device> devices;
        if (r.tensor >= 0) {
            if (auto d = deviceOfTensor(r.module, r.tensor))
                devices.push_back(*d);
        } else if (cover[static_cast<std::size_t>(r.module)] >= 0) {
            devices.push_back(map[static_cast<std::size_t>(cover[static_cast<std::size_t>(r.module)])].second);
        } else {
            for (std::size_t i = 0; i < map.size(); ++i)
                if (resolved[i].module >= 0 && tree.isWithin(resolved[i].module, r.module) && std::find(devices.begin(), devices.end(), map[i].second) == devices.end())
                    devices.push_back(map[i].second);
        }
        for (const auto &d : devices) {
            if (pin.forbid ? d == pin.device : d != pin.device) {
                add(Severity::Error, IssueKind::PinViolated, pin.module,
                    pin.forbid ? Message{MessageId::PinForbids, {pin.module, d}} : Message{MessageId::PinViolated, {pin.module, pin.device, d}},
                    pin.forbid ? Message{MessageId::FixAnotherDevice, {}} : Message{MessageId::FixMoveToPinned, {pin.device}});
                break;
            }
        }
    }

    // No-split modules kept whole.
    {
        std::unordered_map<int, std::vector<Device>> parts;
        for (std::size_t i = 0; i < map.size(); ++i) {
            if (resolved[i].module < 0)
                continue;
            int outer = -1;
            int start = resolved[i].tensor < 0 ? tree.module(resolved[i].module).parent : resolved[i].module;
            for (int m = start; m > 0; m = tree.module(m).parent)
                if (noSplit.count(tree.module(m).className))
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
        const SizeTable sizes(tree, options);
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
