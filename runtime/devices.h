#pragma once

// The devices of this machine, as Accelerate's get_max_memory() sees them: CUDA GPUs through
// libtorch (the backend module of backend.h, opened on first use, when its libtorch has CUDA), the
// CPU's RAM, and the free space of the folder that would take disk offload. No Qt, no libtorch
// here: only probeDevices() loads libtorch.

#include "planner/device.h"
#include "planner/planfile.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::runtime {

struct GpuInfo {
    int index = 0;                 // CUDA device index (after CUDA_VISIBLE_DEVICES)
    std::string name;              // "NVIDIA H100 80GB HBM3"
    std::int64_t totalBytes = 0;   // the card's memory
    std::int64_t freeBytes = 0;    // free now (what Accelerate budgets by default)
    int computeMajor = 0;
    int computeMinor = 0;
};

struct HostMemory {
    std::int64_t totalBytes = 0;      // physical RAM
    std::int64_t availableBytes = 0;  // what can be taken without swapping (MemAvailable)
};

struct DiskSpace {
    std::string folder;               // the folder asked about (may not exist yet)
    std::string measuredAt;           // the existing folder whose file system was measured
    std::int64_t capacityBytes = 0;
    std::int64_t freeBytes = 0;       // available to this user
};

struct DeviceReport {
    std::vector<GpuInfo> gpus;
    HostMemory host;
    std::optional<DiskSpace> disk;
    bool torchLinked = false;         // the libtorch backend module was loaded
    bool cudaBuild = false;           // its libtorch was built with CUDA
    std::string backend;              // "libtorch 1.13.1 (CPU only)", "libtorch 2.3.0 with CUDA", "none"
    std::string backendModule;        // the module file loaded (or that failed to load), if any
    std::vector<std::string> notes;   // GPUs that failed to initialise, unreadable /proc/meminfo, ...
};

// Probes the machine. Never throws: what cannot be read is left at zero with a note (a backend
// that cannot be loaded is a note and no GPU). Loads libtorch on the first call (loadBackend());
// initialising CUDA can take a second or more: call it off any UI thread. `offloadFolder` (optional) is where
// disk offload would go; its file system's free space is reported.
DeviceReport probeDevices(const std::string &offloadFolder = {});

// Accelerate's default budget (get_max_memory with max_memory=None): every GPU's free memory in
// index order, then "cpu" = available RAM. No "disk" key.
planner::MaxMemory defaultMaxMemory(const DeviceReport &report);

// What a plan file records of these devices: each GPU's name and memory, the CPU as "system RAM"
// with its size; none simulated.
std::vector<planner::PlanDevice> describeDevices(const DeviceReport &report);

// The RAM alone (reads /proc/meminfo: fast, safe on any thread). Notes go to `notes` if given.
HostMemory probeHostMemory(std::vector<std::string> *notes = nullptr);

// Reads a /proc/meminfo text: MemTotal and MemAvailable in bytes (zero where absent).
HostMemory parseMeminfo(const std::string &text);

} // namespace mizan::runtime
