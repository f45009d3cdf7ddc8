#pragma once

// Options shared by `mizan-cli plan` and `mizan-cli validate` (defined in cmd_plan.cpp).
#include "args.h"

#include "models/describe.h"
#include "models/planoptions.h"
#include "planner/cost.h"
#include "planner/plan.h"
#include "planner/planfile.h"

#include <optional>
#include <string>
#include <vector>

namespace mizan::cli {

extern const std::vector<std::string> kPlanValueOptions; // --max-memory, --strategy, --pin, ...
extern const std::vector<std::string> kPlanFlags;        // --offload-buffers, --fallback, --no-clean

// What the planning arguments say, read once: the settings, and what a plan file records of the
// budgets' devices (a profile's labels and capacities, simulated GPUs; this machine's GPU names
// and sizes for --max-memory auto; nothing more for explicit budgets).
struct PlanArgs {
    models::PlanSettings settings;
    std::vector<planner::PlanDevice> devices; // one per settings.maxMemory entry, same order
    std::string hardware;                     // --hardware PROFILE, if given
    // --hardware names a cluster profile (several hosts): `settings.maxMemory` and `devices` stay
    // empty, each host's come from the profile (models::clusterFor).
    std::optional<models::HardwareProfile> cluster;
};

// The cost model's speeds for a plan made with these arguments: the profile's (--hardware), else
// this machine's calibration (`mizan-cli calibrate`), else assumed numbers; notes say which.
planner::SpeedModel speedsFor(const PlanArgs &plan);
// --prompt-tokens and --prefetch (for the prediction).
planner::Workload workloadFrom(const Args &args);

// Throws UsageError for bad devices, sizes, strategies, dtypes, pins and profiles: call it before
// the (slow) open to check the arguments. A cluster profile is refused unless `clusterAllowed`
// (only `plan` plans across hosts).
PlanArgs planArgsFrom(const Args &args, bool budgetsRequired, bool clusterAllowed = false);
// models::planOptionsFor(model, plan.settings): UsageError when the model cannot take the
// headroom asked for.
planner::PlanOptions planOptionsFor(const PlanArgs &plan, const models::ModelDescription &model);

// --max-memory's value: "0=22GiB,cpu=64GiB", or "auto" (this machine's devices as Accelerate's
// get_max_memory() sees them), optionally followed by overrides: "auto,cpu=32GiB". With
// `devices`: what is known of each budget's device (see PlanArgs). Throws
// mizan::Error(InvalidArgument). Defined in cmd_devices.cpp.
planner::MaxMemory maxMemoryFromArgument(const std::string &text, std::vector<planner::PlanDevice> *devices = nullptr);

} // namespace mizan::cli
