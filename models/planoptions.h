#pragma once

// One definition, for every front end (CLI, GUI, runtime), of the planning options built from a
// model and the user's settings, and of the budgets a hardware profile gives. Pure C++ (no Qt).

#include "describe.h"
#include "resources.h"
#include "source.h"

#include "planner/cluster.h"
#include "planner/device.h"
#include "planner/dtype.h"
#include "planner/plan.h"
#include "planner/planfile.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::models {

// What the user chooses; the rest comes from the model.
struct PlanSettings {
    planner::MaxMemory maxMemory;                           // budgets (a profile's: budgetsFor)
    std::optional<std::vector<std::string>> noSplitClasses; // none: the model's defaults
    std::optional<DType> dtype;                             // load dtype (transformers' torch_dtype); none: as stored
    planner::Strategy strategy = planner::Strategy::Auto;
    std::vector<planner::Pin> pins;
    std::vector<planner::Policy> policies;                  // placement policies (README "Policies")
    bool offloadBuffers = false;
    bool fallbackAllocation = false;
    bool cleanResult = true;
    std::int64_t headroomTokens = 0;                        // runtime headroom for this many tokens; 0: none
    std::int64_t headroomBatch = 1;                         // ... of this many sequences
};

// The options plan() and validate() take for `model` under `settings`:
//  - the load dtype with DtypeRule::Transformers: what from_pretrained(torch_dtype=dtype,
//    device_map=...) plans (the model instantiated in it, so float16 weights loaded as float32
//    take 4 bytes; integer, bool and fixed-dtype tensors keep theirs);
//  - no-split classes: the settings', else the model's defaults;
//  - special dtypes: the model's keep-in-float32 tensors (T5's "wo") stay float32 when the load
//    dtype is as stored or narrower than 32 bits (float16, bfloat16, int8 ...), as transformers keeps them;
//  - runtime headroom in the load dtype (as stored: storedDtype(), else float16).
// Throws Error(InvalidArgument) when headroom is asked for a model whose config gives no hidden size.
planner::PlanOptions planOptionsFor(const ModelDescription &model, const PlanSettings &settings);

// The floating dtype holding most of the model's parameter bytes, keep-in-float32 tensors aside
// (none when the model has no floating parameters): the model's dtype "as stored".
std::optional<DType> storedDtype(const ModelDescription &model);

// ---- hardware profile -> budgets -----------------------------------------------------------------

struct ProfileBudgets {
    // GPUs, mps and cpu, in the profile's order: the profile's label and capacity (used as the
    // device's budget); a profile's GPU is not this machine's, so it is simulated when run here.
    std::vector<planner::PlanDevice> devices;
    std::optional<std::int64_t> diskCapacityBytes; // the profile's disk entry (offload folder size)
    planner::MaxMemory maxMemory() const;          // `devices` as max_memory
};

// The budgets of a hardware profile. One rule for disk: a profile's disk entry is the size of the
// offload folder, not a budget. Accelerate puts whatever does not fit elsewhere on disk without
// limit (get_max_memory() has no disk key, and infer_auto_device_map ignores one), so disk stays
// out of max_memory and its capacity is reported apart. (Duplicate devices are refused when the
// profile is read: models::hardwareProfile.)
ProfileBudgets budgetsFor(const HardwareProfile &profile);

// ---- cluster profile -> cluster ------------------------------------------------------------------

// The cluster a cluster profile describes, for `model` under `settings`: each host with its
// devices' budgets (budgetsFor(hostProfile(...)), replacing settings.maxMemory), the settings'
// other options, and its speeds (speedModelFor). `devices`, when given, receives per host what
// the plan file records of its devices (real there: not simulated).
planner::Cluster clusterFor(const HardwareProfile &profile, const ModelDescription &model, const PlanSettings &settings,
                            std::vector<std::vector<planner::PlanDevice>> *devices = nullptr);
// What one token's hidden state weighs as it crosses a link between hosts: the hidden size in
// float32, as the runtime sends it (runtime/torch/stagelink.h); 0 when the config gives no hidden size.
std::int64_t hiddenBytesPerToken(const ModelDescription &model);

} // namespace mizan::models
