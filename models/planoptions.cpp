#include "planoptions.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

namespace mizan::models {

std::optional<DType> storedDtype(const ModelDescription &model)
{
    const std::unordered_set<std::string> keep(model.keepFp32Tensors.begin(), model.keepFp32Tensors.end());
    std::vector<std::pair<DType, std::int64_t>> bytes;
    std::unordered_set<int> seenTies;
    const planner::ModuleTree &tree = model.tree;
    for (int id = 0; id < tree.size(); ++id)
        for (const auto &t : tree.module(id).params) {
            if (!isFloating(t.dtype) || (t.tie >= 0 && !seenTies.insert(t.tie).second))
                continue;
            if (!keep.empty() && keep.count(tree.tensorName(id, t)))
                continue;
            auto it = std::find_if(bytes.begin(), bytes.end(), [&](const auto &b) { return b.first == t.dtype; });
            if (it == bytes.end())
                bytes.emplace_back(t.dtype, storageBytes(t.dtype, t.numel()));
            else
                it->second += storageBytes(t.dtype, t.numel());
        }
    std::optional<DType> best;
    std::int64_t most = -1;
    for (const auto &[d, b] : bytes)
        if (b > most) {
            most = b;
            best = d;
        }
    return best;
}

planner::PlanOptions planOptionsFor(const ModelDescription &model, const PlanSettings &settings)
{
    planner::PlanOptions o;
    o.maxMemory = settings.maxMemory;
    o.noSplitClasses = settings.noSplitClasses ? *settings.noSplitClasses : model.noSplitClasses;
    o.dtype = settings.dtype;
    o.dtypeRule = planner::DtypeRule::Transformers;
    // transformers keeps _keep_in_fp32_modules in float32 when it loads in float16 (and bfloat16,
    // and for quantised loading); loaded as float32 they are float32 anyway; as float64 they are not kept.
    if (!settings.dtype || dtypeInfo(*settings.dtype).storageBits < 32)
        o.specialDtypes = keepFp32SpecialDtypes(model);
    o.strategy = settings.strategy;
    o.pins = settings.pins;
    o.policies = settings.policies;
    o.offloadBuffers = settings.offloadBuffers;
    o.fallbackAllocation = settings.fallbackAllocation;
    o.cleanResult = settings.cleanResult;
    if (settings.headroomTokens > 0) {
        // Activations and the KV cache are in the load dtype; with a quantised target (int8,
        // custom_fp8 ...) or as stored, in the dtype the model is stored in.
        const bool computes = settings.dtype && isFloating(*settings.dtype) && dtypeInfo(*settings.dtype).storageBits >= 16
            && *settings.dtype != DType::C64 && *settings.dtype != DType::C128;
        const DType dtype = computes ? *settings.dtype : storedDtype(model).value_or(DType::F16);
        o.headroom = headroomFor(model, settings.headroomTokens, settings.headroomBatch, dtype);
    }
    return o;
}

planner::MaxMemory ProfileBudgets::maxMemory() const
{
    planner::MaxMemory out;
    out.reserve(devices.size());
    for (const auto &d : devices)
        out.emplace_back(d.device, d.capacityBytes);
    return out;
}

ProfileBudgets budgetsFor(const HardwareProfile &profile)
{
    ProfileBudgets out;
    for (const auto &d : profile.devices) {
        const planner::Device device = planner::Device::fromString(d.key);
        if (device.kind == planner::DeviceKind::Disk) {
            out.diskCapacityBytes = d.capacityBytes;
            continue;
        }
        out.devices.push_back({device, d.label, d.capacityBytes, device.isGpu()});
    }
    return out;
}

} // namespace mizan::models
