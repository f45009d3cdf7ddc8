#pragma once

// Predicted speed of a device map before anything runs: prefill time and time per generated token,
// with and without prefetch overlap, bytes moved per token and the share of time spent moving
// weights. The model follows what the runtime does (runtime/session.h): the model runs as a
// sequence of steps (embedding, each no-split block, final norm, head); a step computes on the
// first GPU holding its weights, else on the map's execution device (the first GPU of the map,
// else the CPU); weights whose home is not that device ("cpu", "disk", another GPU) are brought in
// for the step and released after; with prefetch K, the weights of the next K steps are brought in
// on a background thread while a step computes (across the token boundary too). The time line of
// those two threads is simulated step by step.
//
// Speeds come from a SpeedModel: per device, how fast it streams weights through a matrix-vector
// product (decode is bound by that), its matmul FLOP/s (prefill) and a fixed cost per module with
// weights (kernel launches, op dispatch); per link, host-to-device, memcpy, page-cache and cold
// disk read bandwidth. Hardware profiles and `mizan-cli calibrate` provide them.
// Pure C++ (std + nlohmann_json).

#include "device.h"
#include "dtype.h"
#include "moduletree.h"
#include "plan.h"
#include "speed.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::planner {

// Numbers for a device class when nothing better is known: a PCIe 4.0 GPU (about 1.5 TB/s of
// weights, 100 TFLOP/s, 20 GB/s host link), a desktop CPU, an NVMe disk. Sources say "assumed".
SpeedModel assumedSpeedModel();

// The JSON of a speed model (what `mizan-cli calibrate` saves): bandwidths in bytes/s, FLOP/s,
// seconds; missing fields keep `base`'s. Throws Error(InvalidHeader) naming the field and `file`.
nlohmann::ordered_json speedModelToJson(const SpeedModel &model);
SpeedModel speedModelFromJson(const nlohmann::json &json, SpeedModel base, const std::string &file = {});

// One step of one decode token.
struct StepCost {
    std::string module;                // the step's module ("model.layers.3")
    Device exec;                       // where it computes
    double computeSeconds = 0;         // decode, one token
    double prefillComputeSeconds = 0;  // the prompt's forward
    double transferSeconds = 0;        // bringing its offloaded weights in (0 when resident)
    // Of transferSeconds: the CPU copying the weights itself (memcpy, a page-cache read, a dtype
    // conversion) into a simulated GPU, which lives in host RAM. A prefetch's copy takes memory
    // bandwidth from the step computing meanwhile (both stream weights through the same RAM), so
    // that step is slowed by as long as they overlap. A real GPU's link copies by DMA: 0.
    double hostCopySeconds = 0;
    std::int64_t bytesMoved = 0;       // per token
    std::int64_t residentBytes = 0;    // weights already on `exec`
    std::int64_t offloadedBytes = 0;   // weights brought in (as stored at their home)
    bool fromDisk = false;             // some of them come from disk
    // Of computeSeconds / prefillComputeSeconds: the experts of a mixture-of-experts block mapped
    // to "cpu" while the rest of the step lives on the GPU it runs on, computed on the CPU where they live (as the runtime
    // does), with the hop of the hidden states there and back. Their weights are not moved.
    double cpuComputeSeconds = 0;
    double cpuPrefillComputeSeconds = 0;
    std::int64_t cpuComputedBytes = 0; // those experts' weights (as stored)
};

struct Prediction {
    double prefillSeconds = 0;             // the prompt's forward, weights brought in as planned
    double decodeSeconds = 0;              // per generated token, with Workload::prefetch
    double decodeSecondsNoPrefetch = 0;    // the same without prefetch
    double decodeSecondsResident = 0;      // every step's weights already on its device (nothing moved)
    double computeSecondsPerToken = 0;     // sum of the steps' compute
    double transferSecondsPerToken = 0;    // sum of the steps' transfers
    std::int64_t bytesMovedPerToken = 0;
    std::int64_t bytesFromDiskPerToken = 0; // read from disk each token (not from the page cache)
    double transferShare = 0;              // of decodeSeconds, the part the compute waits for weights
    int offloadedSteps = 0;                // steps with weights brought in
    int diskSteps = 0;                     // of which with weights from disk
    int cpuExpertSteps = 0;                // steps whose experts compute on the CPU (StepCost::cpuComputeSeconds)
    double cpuComputeSecondsPerToken = 0;  // their share of computeSecondsPerToken
    // Those experts' weights as the plan counts them (load dtype) and as the CPU holds them to
    // compute (SpeedModel::cpuComputeDtype: float16/bfloat16 experts take twice the RAM in float32).
    std::int64_t cpuExpertsPlannedBytes = 0, cpuExpertsHeldBytes = 0;
    std::vector<StepCost> steps;           // execution order
    std::vector<std::string> notes;        // assumptions ("GPU 1: no speed known, assumed ...")
    // decodeSeconds / decodeSecondsResident (1 when nothing moves).
    double slowdown() const { return decodeSecondsResident > 0 ? decodeSeconds / decodeSecondsResident : 1; }
    double tokensPerSecond() const { return decodeSeconds > 0 ? 1 / decodeSeconds : 0; }
};

// Predicts `map` (a plan's device map or any valid one over `tree`) with the weights counted as
// plan() counts them under `options` (dtype, dtype rule, no-split classes). Throws
// Error(InvalidDeviceMap) when a weight is not covered by the map.
Prediction predict(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options, const SpeedModel &speeds,
                   const Workload &workload = {});

// One line for people: "about 31.0 ms per token (32.3 tokens/s), prefill 0.42 s; 12 steps offloaded,
// 1.20 GiB moved per token: about 9.1x slower than with every weight resident".
std::string summarize(const Prediction &prediction);
nlohmann::ordered_json predictionToJson(const Prediction &prediction);

} // namespace mizan::planner
