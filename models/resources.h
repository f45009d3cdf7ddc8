#pragma once

// The bundled resources: model presets (resources/models/*.json, transformers configs with a
// "_mizan" entry) and hardware profiles (resources/hardware/*.json), and where they are found.

#include "planner/cost.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mizan::models {

// Bundled model presets (resources/models/NAME.json).
struct PresetInfo {
    std::string name;          // file stem, e.g. "llama-3.1-405b"
    std::string displayName;   // "_mizan.display_name", e.g. "Llama 3.1 405B"
    std::string source;        // "_mizan.source": where the numbers come from
    std::string architecture;  // architectures[0]
    std::string path;          // the JSON file
    std::int64_t parameters = 0; // from the registry (config alone)
    std::string error;           // non-empty: the file is unusable (bad JSON, unknown architecture)
};
// Every resources/models/*.json, sorted by name; a broken file is listed with `error` set.
std::vector<PresetInfo> listPresets();
// The preset's config (the "_mizan" entry removed). Throws mizan::Error(NotFound).
nlohmann::json presetConfig(const std::string &name);

// Hardware profiles (resources/hardware/NAME.json).
struct HardwareDevice {
    std::string key;            // Accelerate key: "0", "1", ... for GPUs, "cpu", "disk", "mps"
    std::int64_t capacityBytes = 0;
    std::string label;          // "NVIDIA RTX 4090 24 GB"
    // Speeds for the cost model (planner/cost.h); 0 = not given.
    double weightBandwidth = 0; // "weight_bandwidth": bytes/s of weights streamed while decoding ("2700GB")
    double flops = 0;           // "tflops": dense matmul TFLOP/s (stored as FLOP/s)
    double hostLink = 0;        // "host_link": host-to-device bytes/s (GPUs, "24GB")
    double moduleOverhead = 0;  // "module_overhead_us": fixed cost per module with weights (stored in seconds)
};
// One host of a cluster profile ("hosts"): a machine profile by name, or its own devices.
struct HardwareHost {
    std::string name;           // "node0" (a host name: planner/cluster.h)
    std::string address;        // "10.0.0.1", informative; may be empty
    std::string profile;        // the machine profile it is, if it names one
    std::vector<HardwareDevice> devices;
    double diskReadBandwidth = 0;
    std::string speedSource;
};
struct HardwareProfile {
    std::string name;           // file stem, e.g. "rtx4090-64gb"
    std::string description;
    std::vector<HardwareDevice> devices; // GPUs in index order, then cpu (then disk if any)
    double diskReadBandwidth = 0; // "disk_read_bandwidth": bytes/s of the offload disk (0 = not given)
    std::string speedSource;      // "speed_source": where the speeds come from
    std::string path;
    std::string error;          // listHardware(): non-empty when the file is unusable (no devices then)
    // A cluster profile ("hosts" instead of "devices"): several machines joined by a network link.
    std::vector<HardwareHost> hosts;
    double linkBandwidth = 0;   // "link_bandwidth": bytes/s between consecutive hosts (0 = not given)
    double linkLatency = 0;     // "link_latency_us" (stored in seconds)
    bool isCluster() const { return !hosts.empty(); }
};
// Host `host` of a cluster profile as a machine profile of its own (named "CLUSTER/HOST").
HardwareProfile hostProfile(const HardwareProfile &cluster, std::size_t host);
// The cost model's speeds for the machine a profile describes: its numbers where given, assumed
// ones (planner::assumedSpeedModel) elsewhere, with notes saying which.
planner::SpeedModel speedModelFor(const HardwareProfile &profile);

// Every resources/hardware/*.json, sorted by name; a broken file is listed with `error` set.
std::vector<HardwareProfile> listHardware();
// Throws mizan::Error(NotFound) naming the known profiles.
HardwareProfile hardwareProfile(const std::string &name);

// The resources folder: env MIZAN_RESOURCES, else the compile-time MIZAN_RESOURCE_DIR (the
// repository's resources/), else ../share/mizan next to the executable.
std::string resourceDir();

} // namespace mizan::models
