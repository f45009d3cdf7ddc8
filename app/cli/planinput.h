#pragma once

// A plan file or device_map.json handed to `export` or `diff`, with the model it is for: a plan
// file names its checkpoint (or preset), a device map needs --model. Defined in planinput.cpp.

#include "args.h"

#include "models/source.h"
#include "planner/mapfile.h"
#include "planner/plan.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mizan::cli {

// --model PATH, --dtype DTYPE, --no-split CLASS,... (the values these commands take besides their own).
extern const std::vector<std::string> kPlanInputOptions;

struct PlanInput {
    std::string file;                        // as given
    planner::MapOrPlan content;              // a cluster plan (clusterAllowed): its stages' maps, the first stage's plan
    std::string modelPath;                   // what was opened: --model, else the plan file's checkpoint
    std::shared_ptr<const models::Source> source;
    planner::PlanOptions options;            // load dtype and no-split classes (no budgets for a device map)
    const planner::ModuleTree &tree() const { return source->model.tree; }
};

// Reads every file first (a bad file fails before any model is opened), then opens each model
// once (two plans for one checkpoint share it), checks a plan against its model's fingerprint and
// validates every map: Error naming the file when it is unreadable, made for another checkpoint,
// or invalid (the first error; `mizan-cli validate` lists them all). With --model, every file is
// taken for that model; without, a device map is taken for the model of the first plan file among
// `files` (UsageError when there is none).
// A cluster plan file is refused (what readMapOrPlanFile says) unless `clusterAllowed`.
std::vector<PlanInput> readPlanInputs(const Args &args, const std::vector<std::string> &files, bool clusterAllowed = false);

} // namespace mizan::cli
