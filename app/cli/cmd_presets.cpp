// mizan-cli presets: the bundled model presets and hardware profiles.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"

#include "planner/device.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <cstdio>
#include <iostream>

namespace mizan::cli {


const char *const kPresetsUsage =
    "usage: mizan-cli presets [--json]\n"
    "\n"
    "Lists the bundled model presets (usable wherever a checkpoint PATH is accepted) and the\n"
    "hardware profiles (usable as --hardware NAME).\n"
    "\n"
    "  --json  print {\"format\": \"mizan-presets\", \"version\": 1, \"models\": [...], \"hardware\": [...]}\n";

int runPresets(const std::vector<std::string> &argv)
{
    Args args(argv, {}, {"--json"});
    args.expectPositionals(0, 0);
    const auto presets = models::listPresets();
    const auto hardware = models::listHardware();
    if (args.flag("--json")) {
        nlohmann::ordered_json out;
        out["format"] = "mizan-presets";
        out["version"] = 1;
        out["models"] = nlohmann::ordered_json::array();
        for (const auto &p : presets)
            out["models"].push_back({{"name", p.name},
                                     {"display_name", p.displayName},
                                     {"architecture", p.architecture},
                                     {"parameters", p.parameters},
                                     {"source", p.source}});
        for (std::size_t i = 0; i < presets.size(); ++i)
            if (!presets[i].error.empty())
                out["models"][i]["error"] = presets[i].error;
        out["hardware"] = nlohmann::ordered_json::array();
        for (const auto &h : hardware) {
            nlohmann::ordered_json devices = nlohmann::ordered_json::array();
            for (const auto &d : h.devices)
                devices.push_back({{"device", d.key}, {"capacity_bytes", d.capacityBytes}, {"label", d.label}});
            out["hardware"].push_back({{"name", h.name}, {"description", h.description}, {"devices", devices}});
            if (h.isCluster()) {
                nlohmann::ordered_json hosts = nlohmann::ordered_json::array();
                for (const auto &host : h.hosts) {
                    nlohmann::ordered_json hostDevices = nlohmann::ordered_json::array();
                    for (const auto &d : host.devices)
                        hostDevices.push_back({{"device", d.key}, {"capacity_bytes", d.capacityBytes}, {"label", d.label}});
                    hosts.push_back({{"name", host.name}, {"address", host.address}, {"profile", host.profile}, {"devices", hostDevices}});
                }
                out["hardware"].back()["hosts"] = hosts;
                out["hardware"].back()["link_bandwidth"] = h.linkBandwidth;
                out["hardware"].back()["link_latency_s"] = h.linkLatency;
            }
            if (!h.error.empty())
                out["hardware"].back()["error"] = h.error;
        }
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    std::cout << "model presets:\n";
    for (const auto &p : presets) {
        if (!p.error.empty()) {
            std::cout << "  " << std::left << std::setw(16) << printable(p.name) << "unusable: " << printable(p.error) << "\n";
            continue;
        }
        std::cout << "  " << std::left << std::setw(16) << printable(p.name) << std::setw(20) << printable(p.displayName)
                  << std::setw(28) << printable(p.architecture) << std::right << std::setw(10) << humanCount(p.parameters)
                  << " parameters\n";
    }
    std::cout << "\nhardware profiles:\n";
    for (const auto &h : hardware) {
        if (!h.error.empty()) {
            std::cout << "  " << std::left << std::setw(16) << printable(h.name) << "unusable: " << printable(h.error) << "\n";
            continue;
        }
        auto devicesText = [](const std::vector<models::HardwareDevice> &list) {
            std::string devices;
            for (const auto &d : list)
                devices += (devices.empty() ? "" : ", ") + d.key + "=" + planner::formatBytes(static_cast<double>(d.capacityBytes));
            return devices;
        };
        std::cout << "  " << std::left << std::setw(16) << printable(h.name) << printable(h.description) << "\n";
        if (!h.isCluster())
            std::cout << std::string(18, ' ') << printable(devicesText(h.devices)) << "\n";
        for (const auto &host : h.hosts)
            std::cout << std::string(18, ' ') << printable(host.name) << ": " << printable(devicesText(host.devices)) << "\n";
        if (h.isCluster())
            std::cout << std::string(18, ' ') << "link " << planner::formatBytes(h.linkBandwidth) << "/s, "
                      << h.linkLatency * 1e6 << " us\n";
    }
    return 0;
}

} // namespace mizan::cli
