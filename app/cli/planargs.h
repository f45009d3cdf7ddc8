#pragma once

// Options shared by `mizan-cli plan` and `mizan-cli validate` (defined in cmd_plan.cpp).
#include "args.h"

#include "models/describe.h"
#include "models/planoptions.h"
#include "planner/plan.h"

#include <string>
#include <vector>

namespace mizan::cli {

extern const std::vector<std::string> kPlanValueOptions; // --max-memory, --strategy, --pin, ...
extern const std::vector<std::string> kPlanFlags;        // --offload-buffers, --fallback, --no-clean

// The settings the arguments give. Throws UsageError for bad devices, sizes, strategies, dtypes,
// pins and profiles: callable before the (slow) open to check the arguments.
models::PlanSettings planSettingsFromArgs(const Args &args, bool budgetsRequired);
// models::planOptionsFor(model, planSettingsFromArgs(args)): UsageError as above, and when the
// model cannot take the headroom asked for.
planner::PlanOptions planOptionsFromArgs(const Args &args, const models::ModelDescription &model, bool budgetsRequired);

// --max-memory's value: "0=22GiB,cpu=64GiB", or "auto" (this machine's devices as Accelerate's
// get_max_memory() sees them), optionally followed by overrides: "auto,cpu=32GiB".
// Throws mizan::Error(InvalidArgument). Defined in cmd_devices.cpp.
planner::MaxMemory maxMemoryFromArgument(const std::string &text);

} // namespace mizan::cli
