#pragma once

#include <nlohmann/json_fwd.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::planner {

// Where a module lives. The enumerator order is Accelerate's normalised max_memory order:
// GPUs by index, then "mps", "cpu", "disk".
enum class DeviceKind { Gpu, Mps, Cpu, Disk };

const char *toString(DeviceKind kind);

struct Device {
    DeviceKind kind = DeviceKind::Cpu;
    int index = 0; // GPU index; 0 for the others

    static Device gpu(int index) { return {DeviceKind::Gpu, index}; }
    static Device cpu() { return {DeviceKind::Cpu, 0}; }
    static Device disk() { return {DeviceKind::Disk, 0}; }
    static Device mps() { return {DeviceKind::Mps, 0}; }

    bool isGpu() const { return kind == DeviceKind::Gpu; }
    // "cpu" or "disk": Accelerate's offload targets, the weights a GPU step brings in (or computes
    // where they live, for a mixture-of-experts block's experts).
    bool isOffload() const { return kind == DeviceKind::Cpu || kind == DeviceKind::Disk; }
    // Accelerate's key spelling: "0", "1", "cpu", "disk", "mps".
    std::string toString() const;
    // For people: "GPU 0", "CPU", "disk", "MPS".
    std::string label() const;
    // Accepts "0", "cuda:1", "gpu:2", "cpu", "disk", "mps" (case-insensitive for the words).
    // Throws mizan::Error(InvalidArgument) naming the accepted spellings.
    static Device fromString(std::string_view text);
    // JSON as Accelerate writes it: integer for GPUs, string for the others.
    nlohmann::json toJson() const;
    // Integers, and every spelling fromString accepts.
    static Device fromJson(const nlohmann::json &json);

    auto operator<=>(const Device &) const = default;
};

// Accelerate's convert_file_size_to_int: "10GiB" (2^30), "10GB" (10^9), "10gb" (bits: /8),
// plain integers are bytes only as numbers. Throws mizan::Error(InvalidArgument) with
// Accelerate's message: "`size` X is not in a valid format. Use an integer for bytes, or a string
// with an unit (like '5.0GB')."
std::int64_t parseSize(std::string_view text);
std::int64_t parseSize(std::int64_t bytes); // negative -> the same error
// Human text: "512 B", "1.50 KiB", "22.00 GiB" (powers of 1024, two decimals).
std::string formatBytes(double bytes);

// An ordered budget per device (the order given; Accelerate normalises it, see accelerate.h).
using MaxMemory = std::vector<std::pair<Device, std::int64_t>>;

// "0=22GiB,1=22GiB,cpu=64GiB" (also "cuda:0=...", and integer byte counts after '=').
// Throws mizan::Error(InvalidArgument) for a bad device, size, or duplicate device.
MaxMemory parseMaxMemory(std::string_view text);
// The JSON object Accelerate takes: {"0": bytes, "cpu": bytes} with GPU keys as integers where
// JSON allows (object keys are strings; the Python snippet writes them as ints).
nlohmann::ordered_json maxMemoryToJson(const MaxMemory &memory);
// Accepts an object {"0": "22GiB", "cpu": 1000} or a list of [key, value] pairs.
MaxMemory maxMemoryFromJson(const nlohmann::json &json);
// Budget of a device, or -1 when absent.
std::int64_t budgetOf(const MaxMemory &memory, const Device &device);

} // namespace mizan::planner
