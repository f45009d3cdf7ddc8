#include "session.h"

#include <algorithm>
#include <cmath>

namespace mizan::runtime {

const char *toString(RunEventKind kind)
{
    switch (kind) {
    case RunEventKind::WeightMoved: return "weight-moved";
    case RunEventKind::WeightReleased: return "weight-released";
    case RunEventKind::ModuleRan: return "module-ran";
    case RunEventKind::Token: return "token";
    case RunEventKind::Memory: return "memory";
    case RunEventKind::Progress: return "progress";
    case RunEventKind::Finished: return "finished";
    case RunEventKind::Cancelled: return "cancelled";
    case RunEventKind::Failed: return "failed";
    }
    return "unknown";
}

std::vector<RunDevice> runDevicesFor(const planner::DeviceMap &map, const std::vector<GpuInfo> &machine,
                                     const std::vector<planner::PlanDevice> &known, const planner::MaxMemory &budgets)
{
    std::vector<planner::Device> gpus;
    for (const auto &[key, d] : map)
        if (d.isGpu() && std::find(gpus.begin(), gpus.end(), d) == gpus.end())
            gpus.push_back(d);
    std::sort(gpus.begin(), gpus.end());
    std::vector<RunDevice> out;
    for (const planner::Device &g : gpus) {
        RunDevice rd;
        rd.device = g;
        const auto real = std::find_if(machine.begin(), machine.end(), [&](const GpuInfo &i) { return i.index == g.index; });
        const auto info = std::find_if(known.begin(), known.end(), [&](const planner::PlanDevice &p) { return p.device == g; });
        if (real != machine.end()) {
            rd.label = real->name;
        } else {
            rd.simulated = true;
            if (info != known.end()) {
                rd.label = info->label;
                rd.capacityBytes = info->capacityBytes;
            }
            if (rd.capacityBytes < 0)
                rd.capacityBytes = planner::budgetOf(budgets, g);
        }
        out.push_back(rd);
    }
    return out;
}

void setPlan(RunRequest &request, const planner::DeviceMap &map, const std::vector<planner::DeviceUsage> &usage,
             std::optional<DType> loadDtype)
{
    request.map = map;
    request.plannedBytes.clear();
    for (const auto &u : usage)
        request.plannedBytes.emplace_back(u.device, static_cast<std::int64_t>(std::llround(u.plannedBytes)));
    request.gpuDtype.clear();
    if (loadDtype && (*loadDtype == DType::F16 || *loadDtype == DType::BF16 || *loadDtype == DType::F32))
        request.gpuDtype = torchName(*loadDtype);
}

const char *toString(RunPhase phase)
{
    switch (phase) {
    case RunPhase::OpeningCheckpoint: return "opening the checkpoint";
    case RunPhase::WritingOffloadFolder: return "writing the offload folder";
    case RunPhase::LoadingWeights: return "loading weights";
    case RunPhase::Prefill: return "prefill";
    case RunPhase::Decoding: return "decoding";
    }
    return "running";
}

RunError runErrorOf(const Error &error)
{
    return RunError{error.kind(), error.file(), error.message()};
}

std::string deviceName(const planner::Device &device, bool simulated)
{
    if (device.isGpu())
        return "GPU " + std::to_string(device.index) + (simulated ? " (simulated)" : "");
    if (device.kind == planner::DeviceKind::Cpu)
        return "CPU";
    if (device.kind == planner::DeviceKind::Disk)
        return "disk";
    return device.label();
}

} // namespace mizan::runtime
