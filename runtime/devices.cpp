#include "devices.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <unistd.h>

#if MIZAN_HAS_TORCH
#include <torch/cuda.h>
#include <torch/version.h>
#endif
#if MIZAN_TORCH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace mizan::runtime {

namespace {

HostMemory probeHost(std::vector<std::string> &notes)
{
    HostMemory host;
    std::ifstream in("/proc/meminfo");
    if (in) {
        std::stringstream text;
        text << in.rdbuf();
        host = parseMeminfo(text.str());
    }
    if (host.totalBytes <= 0) {
        const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
        if (pages > 0 && pageSize > 0)
            host.totalBytes = static_cast<std::int64_t>(pages) * pageSize;
    }
    if (host.availableBytes <= 0) {
        const long pages = sysconf(_SC_AVPHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
        if (pages > 0 && pageSize > 0)
            host.availableBytes = static_cast<std::int64_t>(pages) * pageSize;
        notes.push_back("/proc/meminfo has no MemAvailable: available RAM is the free RAM");
    }
    if (host.totalBytes <= 0)
        notes.push_back("could not read the size of the RAM");
    return host;
}

std::optional<DiskSpace> probeDisk(const std::string &folder, std::vector<std::string> &notes)
{
    if (folder.empty())
        return std::nullopt;
    namespace fs = std::filesystem;
    std::error_code ec;
    // The offload folder is often created later: measure the nearest folder that exists.
    fs::path at = fs::absolute(fs::path(folder), ec);
    if (ec)
        at = fs::path(folder);
    while (!at.empty() && !fs::exists(at, ec) && at.has_parent_path() && at.parent_path() != at)
        at = at.parent_path();
    const fs::space_info space = fs::space(at, ec);
    if (ec) {
        notes.push_back("could not measure the free space of \"" + folder + "\": " + ec.message());
        return std::nullopt;
    }
    DiskSpace disk;
    disk.folder = folder;
    disk.measuredAt = at.string();
    disk.capacityBytes = static_cast<std::int64_t>(space.capacity);
    disk.freeBytes = static_cast<std::int64_t>(space.available);
    return disk;
}

#if MIZAN_TORCH_CUDA
// The CUDA runtime directly (libtorch links it): properties and free memory per device, as
// torch.cuda.mem_get_info() reports them. The calling thread's current device is restored.
std::vector<GpuInfo> probeCuda(std::vector<std::string> &notes)
{
    std::vector<GpuInfo> gpus;
    const int count = static_cast<int>(torch::cuda::device_count());
    int previous = -1;
    const bool restore = cudaGetDevice(&previous) == cudaSuccess;
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp props{};
        cudaError_t status = cudaGetDeviceProperties(&props, i);
        std::size_t freeBytes = 0, totalBytes = 0;
        if (status == cudaSuccess)
            status = cudaSetDevice(i);
        if (status == cudaSuccess)
            status = cudaMemGetInfo(&freeBytes, &totalBytes);
        if (status != cudaSuccess) {
            // Accelerate skips an index that fails to initialise, with a log line.
            notes.push_back("GPU " + std::to_string(i) + " skipped: " + cudaGetErrorString(status));
            cudaGetLastError(); // clear the sticky error for the next device
            continue;
        }
        GpuInfo g;
        g.index = i;
        g.name = props.name;
        g.totalBytes = static_cast<std::int64_t>(totalBytes);
        g.freeBytes = static_cast<std::int64_t>(freeBytes);
        g.computeMajor = props.major;
        g.computeMinor = props.minor;
        gpus.push_back(std::move(g));
    }
    if (restore && previous >= 0)
        cudaSetDevice(previous);
    return gpus;
}
#endif

} // namespace

HostMemory probeHostMemory(std::vector<std::string> *notes)
{
    std::vector<std::string> ignored;
    return probeHost(notes ? *notes : ignored);
}

HostMemory parseMeminfo(const std::string &text)
{
    HostMemory host;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto field = [&](const char *key, std::int64_t &out) {
            const std::string k(key);
            if (line.compare(0, k.size(), k) != 0)
                return;
            std::istringstream value(line.substr(k.size()));
            std::int64_t amount = 0;
            std::string unit;
            if (!(value >> amount) || amount < 0)
                return;
            value >> unit;
            out = unit == "kB" ? amount * 1024 : amount;
        };
        field("MemTotal:", host.totalBytes);
        field("MemAvailable:", host.availableBytes);
    }
    return host;
}

DeviceReport probeDevices(const std::string &offloadFolder)
{
    DeviceReport report;
#if MIZAN_HAS_TORCH
    report.torchLinked = true;
    const std::string version = TORCH_VERSION;
#if MIZAN_TORCH_CUDA
    report.cudaBuild = true;
    report.backend = "libtorch " + version + " with CUDA";
    try {
        report.gpus = probeCuda(report.notes);
    } catch (const std::exception &e) {
        report.notes.push_back(std::string("CUDA did not initialise: ") + e.what());
    }
    if (report.gpus.empty())
        report.notes.push_back("this libtorch has CUDA but no GPU is visible (driver, CUDA_VISIBLE_DEVICES?)");
#else
    report.backend = "libtorch " + version + " (CPU only)";
    // A CPU-only libtorch answers 0 here; asking keeps the answer honest if that ever changes.
    if (torch::cuda::is_available())
        report.notes.push_back("CUDA reports devices but this build cannot query them (built without CUDA headers)");
#endif
#else
    report.backend = "built without libtorch";
#endif
    report.host = probeHost(report.notes);
    report.disk = probeDisk(offloadFolder, report.notes);
    return report;
}

planner::MaxMemory defaultMaxMemory(const DeviceReport &report)
{
    planner::MaxMemory memory;
    for (const auto &g : report.gpus)
        memory.emplace_back(planner::Device::gpu(g.index), g.freeBytes);
    memory.emplace_back(planner::Device::cpu(), report.host.availableBytes);
    return memory;
}

} // namespace mizan::runtime
