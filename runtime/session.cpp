#include "session.h"

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
