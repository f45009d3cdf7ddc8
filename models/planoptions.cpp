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

planner::Cluster clusterFor(const HardwareProfile &profile, const ModelDescription &model, const PlanSettings &settings,
                            std::vector<std::vector<planner::PlanDevice>> *devices)
{
    planner::Cluster cluster;
    cluster.linkBandwidth = profile.linkBandwidth;
    cluster.linkLatency = profile.linkLatency;
    for (std::size_t i = 0; i < profile.hosts.size(); ++i) {
        const HardwareProfile machine = hostProfile(profile, i);
        const ProfileBudgets budgets = budgetsFor(machine);
        PlanSettings hostSettings = settings;
        hostSettings.maxMemory = budgets.maxMemory();
        planner::ClusterHost host;
        host.name = profile.hosts[i].name;
        host.address = profile.hosts[i].address;
        host.options = planOptionsFor(model, hostSettings);
        host.speeds = speedModelFor(machine);
        cluster.hosts.push_back(std::move(host));
        if (devices) {
            std::vector<planner::PlanDevice> known = budgets.devices;
            for (auto &d : known)
                d.simulated = false;
            devices->push_back(std::move(known));
        }
    }
    return cluster;
}

std::int64_t hiddenBytesPerToken(const ModelDescription &model)
{
    return model.dims.hiddenSize > 0 ? model.dims.hiddenSize * 4 : 0;
}

} // namespace mizan::models
