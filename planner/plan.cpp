// plan(): budgets, headroom, pins, Accelerate's balancing and infer_auto_device_map, the map in
// execution order, the reasons (explain.cpp) and the usage per device.
#include "plan.h"

#include "error.h"
#include "cost.h"
#include "plan_p.h"
#include "planerror.h"

#include <algorithm>
#include <unordered_set>

namespace mizan::planner {

namespace {

[[noreturn]] void invalid(const std::string &message)
{
    throw Error(ErrorKind::InvalidArgument, {}, message);
}

} // namespace

void detail::addWarning(Plan &plan, std::vector<Message> messages)
{
    plan.warnings.push_back(toEnglish(messages));
    plan.warningMessages.push_back(std::move(messages));
}

const char *toString(Strategy strategy)
{
    switch (strategy) {
    case Strategy::Auto: return "auto";
    case Strategy::Balanced: return "balanced";
    case Strategy::BalancedLow0: return "balanced_low_0";
    case Strategy::Sequential: return "sequential";
    case Strategy::Optimal: return "optimal";
    }
    return "auto";
}

Strategy strategyFromString(std::string_view text)
{
    for (Strategy s : {Strategy::Auto, Strategy::Balanced, Strategy::BalancedLow0, Strategy::Sequential, Strategy::Optimal})
        if (text == toString(s))
            return s;
    invalid("unknown strategy \"" + std::string(text) + "\": use auto, balanced, balanced_low_0, sequential or optimal");
}

const std::vector<Message> &Explanation::none()
{
    static const std::vector<Message> empty;
    return empty;
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
    case PlacementKind::Policy: return "policy";
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

// Execution-order rank of modules and tensors: a module, its params, its children, its buffers.
struct Ranks {
    std::vector<int> module, paramBase, bufferBase;
    explicit Ranks(const ModuleTree &tree)
    {
        const auto n = static_cast<std::size_t>(tree.size());
        module.assign(n, 0);
        paramBase.assign(n, 0);
        bufferBase.assign(n, 0);
        const auto flat = tree.flat();
        const FlatTree &f = *flat;
        int counter = 0;
        auto walk = [&](auto &&self, int id) -> void {
            const auto i = static_cast<std::size_t>(id);
            module[i] = counter++;
            paramBase[i] = counter;
            counter += f.paramCount[i];
            const int *children = f.childrenOf(id);
            for (int k = 0; k < f.childCount(id); ++k)
                self(self, children[k]);
            bufferBase[i] = counter;
            counter += f.tensorsOf(id) - f.paramCount[i];
        };
        walk(walk, ModuleTree::kRoot);
        paramCount = std::shared_ptr<const std::vector<int>>(flat, &f.paramCount);
    }
    std::shared_ptr<const std::vector<int>> paramCount; // by module id
    int of(const KeyTarget &resolved) const
    {
        const auto [id, slot] = resolved;
        if (id < 0)
            return 1 << 30;
        const auto i = static_cast<std::size_t>(id);
        if (slot < 0)
            return module[i];
        const int params = (*paramCount)[i];
        return slot < params ? paramBase[i] + slot : bufferBase[i] + (slot - params);
    }
};


} // namespace

namespace {

using detail::addWarning;
using detail::evenLayers;
using detail::layersOnDevices;
using detail::SizeTable;
using detail::treeAsLoaded;

Plan planOnce(const ModuleTree &tree, const PlanOptions &options, const std::vector<std::int64_t> &layersPerDevice,
              const std::vector<std::int64_t> &partsReserve);

} // namespace

// With runtime headroom, the KV cache a GPU needs depends on how many layers it ends up holding:
// start from an even spread and re-plan while some GPU holds more layers than reserved for. With
// policies, a GPU that runs blocks whose parts a policy offloaded needs room to bring the largest
// of those parts in: re-planned the same way.
Plan planWithHeadroom(const ModuleTree &input, const PlanOptions &options);

// The optimal strategy's map, or auto's when that is predicted to be faster (never slower than greedy).
Plan plan(const ModuleTree &input, const PlanOptions &options)
{
    if (options.strategy != Strategy::Optimal)
        return planWithHeadroom(input, options);
    Plan optimal = planWithHeadroom(input, options);
    PlanOptions greedyOptions = options;
    greedyOptions.strategy = Strategy::Auto;
    Plan greedy = planWithHeadroom(input, greedyOptions);
    const SpeedModel speeds = options.speeds.value_or(assumedSpeedModel());
    Workload workload;
    workload.prefetch = options.prefetch;
    std::optional<ModuleTree> instantiated;
    const ModuleTree &tree = treeAsLoaded(input, options, instantiated);
    try {
        const double a = predict(tree, optimal.deviceMap, options, speeds, workload).decodeSeconds;
        const double b = predict(tree, greedy.deviceMap, options, speeds, workload).decodeSeconds;
        if (b < a * (1 - 1e-9))
            return greedy;
    } catch (const Error &) {
        // A map the cost model cannot follow (weights left uncovered) is not better.
        return greedy;
    }
    return optimal;
}

Plan planWithHeadroom(const ModuleTree &input, const PlanOptions &options)
{
    std::optional<ModuleTree> instantiated;
    const ModuleTree &tree = treeAsLoaded(input, options, instantiated);
    std::vector<std::int64_t> layers(options.maxMemory.size(), options.headroom.enabled() ? evenLayers(options) : 0);
    std::vector<std::int64_t> partsReserve(options.maxMemory.size(), 0);
    Plan result = planOnce(tree, options, layers, partsReserve);
    const bool headroomRounds = options.headroom.enabled() && !options.noSplitClasses.empty() && result.headroom.kvCachePerLayerBytes > 0;
    if (!headroomRounds && options.policies.empty())
        return result;
    for (int round = 0; round < 8; ++round) {
        bool grew = false;
        if (headroomRounds) {
            std::vector<std::optional<Device>> deviceOf(result.placements.size());
            for (std::size_t i = 0; i < result.placements.size(); ++i)
                deviceOf[i] = result.placements[i].device;
            const auto held = layersOnDevices(tree, options.maxMemory, deviceOf, options.noSplitClasses);
            for (std::size_t i = 0; i < layers.size(); ++i)
                if (held[i] > layers[i] && (options.maxMemory[i].first.isGpu() || options.maxMemory[i].first.kind == DeviceKind::Mps)) {
                    layers[i] = held[i];
                    grew = true;
                }
        }
        if (!options.policies.empty() && detail::growPartsReserve(tree, options, result, partsReserve))
            grew = true;
        if (!grew)
            return result;
        result = planOnce(tree, options, layers, partsReserve);
    }
    addWarning(result, {{MessageId::HeadroomUnsettled, {std::int64_t{8}}}});
    return result;
}

namespace {

Plan planOnce(const ModuleTree &tree, const PlanOptions &options, const std::vector<std::int64_t> &layersPerDevice,
              const std::vector<std::int64_t> &partsReserve)
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

    // Pins, and the budgets left around them.
    const auto tiedGroups = accel::findTiedParameters(tree);
    const detail::Pins pins = detail::resolvePins(tree, options, noSplit, tiedGroups, result);
    const accel::Memory memory = detail::budgetsAfterPins(tree, options, sizes, pins, headroomOf);

    // ---- strategy ----
    accel::Memory effective;
    if (options.strategy == Strategy::Sequential || options.strategy == Strategy::Optimal)
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
    for (std::size_t i = 0; i < partsReserve.size(); ++i)
        if (partsReserve[i] > 0)
            io.minimumReserve.emplace_back(options.maxMemory[i].first, static_cast<double>(partsReserve[i]));

    const auto constraints = pins.constraints();
    detail::InferTrace trace(tree);
    std::vector<std::pair<std::string, Device>> map;
    if (options.strategy == Strategy::Optimal) {
        // Policies: room on each GPU for the parts it brings in (growPartsReserve).
        accel::Memory room = effective;
        std::vector<std::pair<Device, std::int64_t>> kept; // kept free: the parts, then the staging
        for (auto &[d, bytes] : room)
            for (std::size_t i = 0; i < partsReserve.size(); ++i)
                if (options.maxMemory[i].first == d && partsReserve[i] > 0) {
                    bytes = std::max(0.0, bytes - static_cast<double>(partsReserve[i]));
                    kept.emplace_back(d, partsReserve[i]);
                }
        std::vector<std::pair<Device, std::int64_t>> staging;
        map = detail::optimalAssignment(tree, options, sizes, room, pins, tiedGroups, staging);
        for (const auto &[d, bytes] : staging) {
            auto it = std::find_if(kept.begin(), kept.end(), [&](const auto &k) { return k.first == d; });
            if (it == kept.end())
                kept.emplace_back(d, bytes);
            else
                it->second += bytes;
        }
        trace.reserveAt.insert(trace.reserveAt.end(), kept.begin(), kept.end());
    } else {
        auto observer = [&trace](const accel::InferEvent &event) { trace.record(event); };
        const auto inferred = accel::inferAutoDeviceMap(tree, io, observer, pins.empty() ? nullptr : &constraints);
        result.bufferWarning = inferred.bufferWarning;
        if (inferred.bufferWarning)
            addWarning(result, inferred.bufferWarningMessages);
        result.insufficientMemory = inferred.insufficientMemory;
        if (!inferred.insufficientMemoryMessages.empty())
            addWarning(result, inferred.insufficientMemoryMessages);
        map = inferred.deviceMap;
    }

    // ---- the map: infer's keys + pins, cleaned, in execution order ----
    for (const auto &p : pins.list)
        if (!p.forbid)
            map.emplace_back(p.module, p.device);
    const DeviceMap raw = map; // before clean, for the reasons
    if (options.cleanResult)
        map = accel::cleanDeviceMap(std::move(map));
    const Ranks ranks(tree);
    std::vector<std::pair<int, std::size_t>> order;
    std::vector<KeyTarget> targets(map.size());
    KeyResolver resolve(tree);
    for (std::size_t i = 0; i < map.size(); ++i) {
        targets[i] = resolve(map[i].first).value_or(KeyTarget{});
        order.emplace_back(ranks.of(targets[i]), i);
    }
    std::stable_sort(order.begin(), order.end());
    result.deviceMap.reserve(map.size());
    std::vector<KeyTarget> keyTargets; // of result.deviceMap's keys
    keyTargets.reserve(map.size());
    for (const auto &[rank, i] : order) {
        result.deviceMap.push_back(map[i]);
        keyTargets.push_back(targets[i]);
    }

    detail::explainPlacements(result, keyTargets, tree, sizes, pins, trace, raw);

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
        u.budgetBytes = budgetOf(options.maxMemory, d);
        double eff = -1;
        for (const auto &[k, v] : effective)
            if (k == d)
                eff = v;
        u.effectiveBudgetBytes = eff < 0 ? -1 : static_cast<std::int64_t>(eff);
        u.headroomBytes = headroomFor(d);
        for (const auto &[k, v] : trace.reserveAt)
            if (k == d)
                u.reservedLargestLayerBytes = v;
        for (std::size_t i = 0; i < result.deviceMap.size(); ++i) {
            if (result.deviceMap[i].second != d)
                continue;
            ++u.moduleCount;
            u.plannedBytes += sizes.ofKey(result.deviceMap[i].first, keyTargets[i]);
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

} // namespace mizan::planner
