#include "runtime/devices.h"

#include "runtime/backend.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <unistd.h>

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
    const BackendLoad &load = loadBackend();
    report.backendModule = load.path;
    if (load.backend) {
        report.torchLinked = true;
        report.cudaBuild = load.backend->cudaBuild();
        report.backend = load.backend->description();
        try {
            report.gpus = load.backend->probeGpus(report.notes);
        } catch (const std::exception &e) { // the backend promises not to throw; stay safe anyway
            report.notes.push_back(std::string("GPU probe failed: ") + e.what());
        } catch (...) {
            report.notes.push_back("GPU probe failed");
        }
    } else {
        report.backend = "none";
        report.notes.push_back(load.error + " (no GPU can be listed without it)");
    }
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

std::vector<planner::PlanDevice> describeDevices(const DeviceReport &report)
{
    std::vector<planner::PlanDevice> out;
    for (const auto &g : report.gpus)
        out.push_back({planner::Device::gpu(g.index), g.name, g.totalBytes, false});
    out.push_back({planner::Device::cpu(), "system RAM", report.host.totalBytes, false});
    return out;
}

} // namespace mizan::runtime
