#pragma once

// Options shared by `mizan-cli plan` and `mizan-cli validate` (defined in cmd_plan.cpp).
#include "args.h"

#include "models/describe.h"
#include "planner/plan.h"

#include <string>
#include <vector>

namespace mizan::cli {

extern const std::vector<std::string> kPlanValueOptions; // --max-memory, --strategy, --pin, ...
extern const std::vector<std::string> kPlanFlags;        // --offload-buffers, --fallback, --no-clean

// Throws UsageError for bad devices, sizes, strategies, dtypes and pins. `checkOnly`: validate
// the arguments before the model is known (skips what needs the model's dimensions).
planner::PlanOptions planOptionsFromArgs(const Args &args, const models::ModelDescription &model, bool budgetsRequired,
                                         bool checkOnly = false);

} // namespace mizan::cli
