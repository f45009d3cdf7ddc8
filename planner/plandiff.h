#pragma once

// Comparison of two device maps of one model (`mizan-cli diff`): the modules that moved from one
// device to another, the keys only one map names, and what every device holds before and after.
// Maps are compared tensor by tensor, so a map naming "model.layers" and one naming its 32
// children on the same device do not differ: only a tensor that changed device is a move.
// Pure C++ (std + nlohmann_json).

#include "plan.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mizan::planner {

// The device of every tensor of `tree` under `map`, by module id then slot (params first, then
// buffers: KeyTarget::tensor); nullopt where no key covers the tensor. A key for a module covers
// its whole subtree; where two keys cover one tensor (an invalid map) the first one wins.
using TensorDevices = std::vector<std::vector<std::optional<Device>>>;
TensorDevices tensorDevices(const ModuleTree &tree, const DeviceMap &map);

// The bytes each tensor counts for under `options` (its loaded dtype), by module id then slot; a
// tensor tied to one reached earlier in depth-first pre-order counts 0, as aggregateSizes() and
// Accelerate count a tied object once.
std::vector<std::vector<double>> tensorBytes(const ModuleTree &tree, const PlanOptions &options);

// A module (or a single tensor) whose every tensor was on `from` in A and is on `to` in B.
struct ModuleMove {
    std::string name;      // "" = the whole model
    bool tensor = false;   // `name` is a tensor (its module's other tensors did not all move with it)
    Device from;
    Device to;
    double bytes = 0;      // in A's load dtype
};

struct DeviceChange {
    Device device;
    double bytesBefore = 0; // what map A puts there (usageOf, A's options)
    double bytesAfter = 0;  // what map B puts there (usageOf, B's options)
    double change() const { return bytesAfter - bytesBefore; }
};

// What a cost model predicts for one plan. plandiff computes nothing of it: a caller that has a
// prediction fills PlanDiff::speedA / speedB and the text and JSON outputs show them.
struct PredictedSpeed {
    double prefillSeconds = -1;          // time to process the prompt; < 0: unknown
    double decodeSecondsPerToken = -1;   // time per generated token; < 0: unknown
};

struct PlanDiff {
    // The largest modules that moved as a whole (every tensor from one device to one device), in
    // tree order; a module whose tensors moved to several devices is broken down to its children
    // and own tensors.
    std::vector<ModuleMove> moves;
    double movedBytes = 0;
    int unchangedTensors = 0;
    std::vector<std::string> keysOnlyInA;   // map keys A names and B does not, in A's order
    std::vector<std::string> keysOnlyInB;
    std::vector<DeviceChange> devices;      // every device either map uses or budgets, in Accelerate's order
    std::vector<std::string> notes;         // differences that are not moves (load dtype)
    std::optional<PredictedSpeed> speedA;   // filled by the caller, see PredictedSpeed
    std::optional<PredictedSpeed> speedB;
    bool identical() const { return moves.empty(); }
};

// Compares map `a` (sized under `optionsA`) with map `b` (under `optionsB`) on `tree`. Tensors that
// a map does not cover are skipped (validate() the maps first to refuse them).
PlanDiff diffMaps(const ModuleTree &tree, const DeviceMap &a, const PlanOptions &optionsA, const DeviceMap &b,
                  const PlanOptions &optionsB);

// The moves as people read them: three or more numbered siblings that moved alike (from one device
// to one device, model.layers.20 .. model.layers.31) make one run; any other move is a run of one.
struct MoveRun {
    std::size_t first = 0;   // index into PlanDiff::moves
    std::size_t count = 1;
    double bytes = 0;        // of the whole run
    std::string label;       // "model.layers.20-31 (12)", or the move's name ("" = the whole model)
};
std::vector<MoveRun> moveRuns(const PlanDiff &diff);

// "3 modules moved (1.50 GiB): GPU 0 -1.50 GiB, CPU +1.50 GiB" / "no module moved".
std::string diffSummary(const PlanDiff &diff);

// {"identical", "moved_bytes", "unchanged_tensors", "moves": [{"name", "tensor", "from", "to", "bytes"}],
//  "keys_only_in_a", "keys_only_in_b", "devices": [{"device", "bytes_before", "bytes_after", "change"}],
//  "notes", "predicted": {"a": {...} | null, "b": ...}, "summary"}
nlohmann::ordered_json planDiffToJson(const PlanDiff &diff);

} // namespace mizan::planner
