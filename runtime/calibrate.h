#pragma once

// `mizan-cli calibrate`: a short measurement of this machine for the cost model (planner/cost.h):
// memcpy, page-cache and cold disk read bandwidth, float16 -> float32 conversion, and what the CPU
// (and each real GPU) does with a decoder: the fixed cost per module and the weight bandwidth of
// decoding, the FLOP/s of a prompt's forward. The compute numbers come from running two demo
// models (a tiny and a larger LLaMA, written into the measured folder) through the runtime itself,
// so they include what the runtime really costs. Saved as JSON and reused.

#include "planner/cost.h"
#include "planner/device.h"
#include "planner/plan.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mizan::runtime {

struct CalibrateOptions {
    // Where the test files go: the disk that would hold "disk" offload (created when missing;
    // the files are removed after). Empty: the system's temporary folder.
    std::string folder;
    bool gpus = true;                  // also measure this machine's CUDA GPUs (when there are)
    std::function<void(const std::string &)> progress; // "measuring memcpy", ... (may be empty)
};

struct Calibration {
    planner::SpeedModel speeds;
    std::string folder;                // where disk reads were measured
    std::string date;                  // ISO 8601, UTC
    std::string backend;               // libtorch description
    std::vector<std::string> notes;    // "the folder is on tmpfs: cold reads not measured"
};

// Measures (a few seconds; writes about 300 MB into the folder, removed after). Throws
// mizan::Error naming the folder or the step that failed.
Calibration calibrate(const CalibrateOptions &options = {});

// $MIZAN_CALIBRATION, else $XDG_CONFIG_HOME/mizan/calibration.json, else
// ~/.config/mizan/calibration.json.
std::string calibrationPath();
// The saved calibration, or nullopt when there is none. A file that cannot be read is an Error
// naming it (the caller decides whether that is fatal).
std::optional<Calibration> loadCalibration(const std::string &path = calibrationPath());
void saveCalibration(const Calibration &calibration, const std::string &path = calibrationPath()); // atomic

nlohmann::ordered_json calibrationToJson(const Calibration &calibration);

// The speed model for predicting a run on THIS machine: the calibration's numbers (else assumed
// ones) for the CPU, links and real GPUs; `simulatedGpus` (GPU indices simulated in host RAM)
// compute as the CPU, their link at `simulatedBandwidth` (0: memcpy) with overlapping transfers
// as the runtime's simulated link does.
planner::SpeedModel speedModelForThisMachine(const std::optional<Calibration> &calibration, const std::vector<int> &simulatedGpus,
                                             double simulatedBandwidth);

} // namespace mizan::runtime
