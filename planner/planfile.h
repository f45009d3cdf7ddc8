#pragma once

// The file formats of plans and maps: device_map.json (what transformers and Accelerate take), the
// Python snippet that loads a model with a map, and the *.mizan.json plan file (design.md
// "Formats"). Every write is atomic (temp file + rename).

#include "atomicfile.h"
#include "plan.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::planner {

// {"model.embed_tokens": 0, "lm_head": "cpu"} in map order.
nlohmann::ordered_json deviceMapToJson(const DeviceMap &map);
// Accepts an object whose values are ints, "cpu", "disk", "mps", "cuda:1", "0"; or a list of
// [name, device] pairs. Throws Error(InvalidDeviceMap) naming the key and value. `file` is for
// messages.
DeviceMap deviceMapFromJson(const nlohmann::json &json, const std::string &file = {});
// The same keeping the object's key order.
DeviceMap deviceMapFromJson(const nlohmann::ordered_json &json, const std::string &file = {});
// Reads and parses a device_map JSON file (Error(Io) / Error(InvalidJson) / as above).
DeviceMap readDeviceMapFile(const std::string &path);
// Writes the plain map object (atomic write).
void writeDeviceMapFile(const std::string &path, const DeviceMap &map);

// Python code loading the model with these settings through transformers.
std::string pythonSnippet(const std::string &modelPath, const DeviceMap &map, const MaxMemory &maxMemory,
                          std::optional<DType> dtype, bool offloadBuffers);

// What a plan was made for; compared when a plan file is loaded.
struct CheckpointIdentity {
    std::string path;
    std::string fingerprint;   // treeFingerprint()
    std::int64_t totalBytes = 0;
    std::int64_t tensorCount = 0;
};
// Stable 64-bit FNV-1a over tensor names, dtypes and shapes (hex, 16 characters).
std::string treeFingerprint(const ModuleTree &tree);
CheckpointIdentity identityOf(const ModuleTree &tree, const std::string &path);

// What a plan file says about one device of its budget (version 2; a version-1 file says nothing).
struct PlanDevice {
    Device device;
    std::string label;                // for people: "NVIDIA GeForce RTX 4090", "system RAM"; may be empty
    std::int64_t capacityBytes = -1;  // the device's memory (the card, the RAM, the simulated arena); -1 unknown
    bool simulated = false;           // a simulated GPU (no such card where the plan was made)
    bool operator==(const PlanDevice &) const = default;
};

// The *.mizan.json plan file (design.md "Formats"). Version 2 added the devices' label, capacity
// and simulated flag; version-1 files are still read (`devices` empty).
struct PlanFile {
    static constexpr int kVersion = 2;
    CheckpointIdentity checkpoint;
    PlanOptions options;
    DeviceMap deviceMap;
    std::vector<DeviceUsage> usage;   // informative; recomputed on load by the caller if needed
    std::vector<PlanDevice> devices;  // per device of options.maxMemory that the writer knew about
    // The entry of `device`, or null (a version-1 file, or a writer that did not know it).
    const PlanDevice *deviceInfo(const Device &device) const;
};
nlohmann::ordered_json planFileToJson(const PlanFile &file);
// Throws Error(VersionMismatch) for another format / a newer version; Error(InvalidHeader) for
// a malformed file.
// With `expected`: as readPlanFile below.
PlanFile planFileFromJson(const nlohmann::json &json, const std::string &file = {}, const CheckpointIdentity *expected = nullptr);
PlanFile planFileFromJson(const nlohmann::ordered_json &json, const std::string &file = {},
                          const CheckpointIdentity *expected = nullptr);
// Throws Error(VersionMismatch) naming `file` when `plan` was made for another checkpoint than
// `expected` (another fingerprint), naming both; a plan without a fingerprint passes.
void checkPlanIdentity(const PlanFile &plan, const std::string &file, const CheckpointIdentity &expected);
void writePlanFile(const std::string &path, const PlanFile &file);   // atomic
// With `expected`: throws Error(VersionMismatch) when the plan was made for another checkpoint
// (different fingerprint), naming both.
PlanFile readPlanFile(const std::string &path, const CheckpointIdentity *expected = nullptr);

// Writes `text` to `path` through a temporary file in the same folder and a rename.
using mizan::writeFileAtomically;

} // namespace mizan::planner
