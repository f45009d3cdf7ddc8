// mizan-cli devices: the GPUs, RAM and offload disk of this machine, and the default budget
// Accelerate would use on it.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "planargs.h"

#include "planner/device.h"
#include "planner/error.h"
#include "runtime/calibrate.h"
#include "runtime/devices.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace mizan::cli {

const char *const kDevicesUsage =
    "usage: mizan-cli devices [--offload-folder DIR] [--json]\n"
    "\n"
    "Lists the CUDA GPUs libtorch sees (name, total and free memory), the RAM (total and available)\n"
    "and, with --offload-folder, the free space where disk offload would go. Prints the budget\n"
    "Accelerate uses by default on this machine (free GPU memory, available RAM), which\n"
    "`mizan-cli plan --max-memory auto` takes.\n"
    "\n"
    "GPUs are queried through the libtorch backend, libmizan_torch_backend.so, loaded only by this\n"
    "command and --max-memory auto: $MIZAN_TORCH_BACKEND (a path), else next to mizan-cli or in\n"
    "../lib/mizan/, else the build tree's. Without it the report lists no GPU and says why (exit 0).\n"
    "\n"
    "  --offload-folder DIR  report the free space of DIR's file system (DIR may not exist yet)\n"
    "  --json                print {\"format\": \"mizan-devices\", \"version\": 1, ...}\n";

namespace {

const runtime::DeviceReport &machine()
{
    static const runtime::DeviceReport report = runtime::probeDevices();
    return report;
}

} // namespace

planner::MaxMemory maxMemoryFromArgument(const std::string &text, std::vector<planner::PlanDevice> *devices)
{
    const std::string_view auto_ = "auto";
    if (text.compare(0, auto_.size(), auto_) != 0 || (text.size() > auto_.size() && text[auto_.size()] != ',')) {
        planner::MaxMemory memory = planner::parseMaxMemory(text);
        if (devices)
            for (const auto &entry : memory)
                devices->push_back({entry.first, {}, -1, false});
        return memory;
    }
    planner::MaxMemory memory = runtime::defaultMaxMemory(machine());
    if (text.size() > auto_.size() + 1) {
        for (const auto &[device, bytes] : planner::parseMaxMemory(text.substr(auto_.size() + 1))) {
            bool replaced = false;
            for (auto &entry : memory)
                if (entry.first == device) {
                    entry.second = bytes;
                    replaced = true;
                }
            if (!replaced)
                memory.emplace_back(device, bytes);
        }
    }
    if (devices) {
        const auto known = runtime::describeDevices(machine());
        for (const auto &entry : memory) {
            planner::PlanDevice d{entry.first, {}, -1, false};
            for (const auto &k : known)
                if (k.device == entry.first)
                    d = k;
            devices->push_back(std::move(d));
        }
    }
    return memory;
}

int runDevices(const std::vector<std::string> &argv)
{
    Args args(argv, {"--offload-folder"}, {"--json"});
    args.expectPositionals(0, 0);
    const auto folder = args.value("--offload-folder");
    const runtime::DeviceReport report = folder ? runtime::probeDevices(*folder) : machine();
    const planner::MaxMemory defaults = runtime::defaultMaxMemory(report);
    std::optional<runtime::Calibration> calibration;
    std::string calibrationProblem;
    try {
        calibration = runtime::loadCalibration();
    } catch (const Error &e) {
        calibrationProblem = e.what();
    }

    if (args.flag("--json")) {
        nlohmann::ordered_json out;
        out["format"] = "mizan-devices";
        out["version"] = 1;
        out["backend"] = report.backend;
        out["backend_module"] = report.backendModule.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(report.backendModule);
        out["cuda_build"] = report.cudaBuild;
        out["gpus"] = nlohmann::ordered_json::array();
        for (const auto &g : report.gpus)
            out["gpus"].push_back({{"index", g.index},
                                   {"name", g.name},
                                   {"total_bytes", g.totalBytes},
                                   {"free_bytes", g.freeBytes},
                                   {"compute_capability", std::to_string(g.computeMajor) + "." + std::to_string(g.computeMinor)}});
        out["cpu"] = {{"total_bytes", report.host.totalBytes}, {"available_bytes", report.host.availableBytes}};
        if (report.disk)
            out["disk"] = {{"folder", report.disk->folder},
                           {"measured_at", report.disk->measuredAt},
                           {"capacity_bytes", report.disk->capacityBytes},
                           {"free_bytes", report.disk->freeBytes}};
        out["max_memory"] = planner::maxMemoryToJson(defaults);
        out["notes"] = report.notes;
        out["calibration"] = calibration ? runtime::calibrationToJson(*calibration) : nlohmann::ordered_json();
        if (!calibrationProblem.empty())
            out["calibration_problem"] = calibrationProblem;
        std::cout << jsonText(out) << "\n";
        return 0;
    }

    std::cout << "backend: " << report.backend;
    if (report.torchLinked)
        std::cout << " (" << printable(report.backendModule) << ")";
    std::cout << "\n\n";
    TextTable table({"device", "name", "total", "free"}, {false, false, true, true});
    for (const auto &g : report.gpus)
        table.addRow({"GPU " + std::to_string(g.index), g.name, humanBytes(static_cast<double>(g.totalBytes)),
                      humanBytes(static_cast<double>(g.freeBytes))});
    table.addRow({"CPU", "RAM", humanBytes(static_cast<double>(report.host.totalBytes)),
                  humanBytes(static_cast<double>(report.host.availableBytes))});
    if (report.disk)
        table.addRow({"disk", report.disk->folder, humanBytes(static_cast<double>(report.disk->capacityBytes)),
                      humanBytes(static_cast<double>(report.disk->freeBytes))});
    std::cout << table.render();
    if (report.gpus.empty())
        std::cout << "\nNo CUDA GPU found"
                  << (report.cudaBuild     ? ""
                      : report.torchLinked ? " (this build's libtorch has no CUDA)"
                                           : " (the libtorch backend is not loaded, see the note below)")
                  << ": plan for GPUs with --max-memory 0=24GiB,... or --hardware PROFILE.\n";
    std::string list;
    for (const auto &[device, bytes] : defaults)
        list += (list.empty() ? "" : ",") + device.toString() + "=" + std::to_string(bytes);
    std::cout << "\nAccelerate's default max_memory here (--max-memory auto): " << list << "\n";
    for (const auto &n : report.notes)
        std::cout << "note: " << printable(n) << "\n";
    std::cout << "\n";
    if (calibration) {
        std::cout << "Speeds (mizan-cli calibrate, " << calibration->date << ", " << printable(runtime::calibrationPath()) << "):\n";
        printSpeeds(calibration->speeds, std::cout);
    } else if (!calibrationProblem.empty()) {
        std::cout << "Speeds: the saved calibration cannot be used: " << printable(calibrationProblem) << "\n";
    } else {
        std::cout << "Speeds: not calibrated; predictions use assumed numbers until `mizan-cli calibrate` runs.\n";
    }
    return 0;
}

} // namespace mizan::cli
