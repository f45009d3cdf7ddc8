#pragma once

// Planning: options (strategy, pins, headroom, dtype rule), plan() and the plan it returns, with
// per-device usage and per-module reasons. Validation of edited maps is in validate.h, the file
// formats (device_map.json, Python snippet, *.mizan.json) in planfile.h. Pure C++ (std +
// nlohmann_json); thread-safe (no shared state).

#include "device.h"
#include "dtype.h"
#include "message.h"
#include "moduletree.h"
#include "speed.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::planner {

// Ordered device map: module (or tensor) name -> device. "" is the whole model.
using DeviceMap = std::vector<std::pair<std::string, Device>>;

// device_map="auto" | "balanced" | "balanced_low_0" | "sequential" as transformers takes it, and
// Mizan's own "optimal": the map with the least predicted time per token (cost.h) under the same
// budgets, pins, no-split classes, tied groups and headroom, never slower than "auto".
enum class Strategy { Auto, Balanced, BalancedLow0, Sequential, Optimal };
const char *toString(Strategy strategy);               // "auto", "balanced", "balanced_low_0", "sequential", "optimal"
Strategy strategyFromString(std::string_view text);   // throws Error(InvalidArgument)

// A user constraint: `module` must be on `device` (forbid = false), or must not be on it
// (forbid = true). `module` is a module or tensor name ("" = the whole model).
struct Pin {
    std::string module;
    Device device;
    bool forbid = false;
    bool operator==(const Pin &) const = default;
};
// "model.layers.0=1", "lm_head=cpu", "model.norm!=0" (forbid). Throws Error(InvalidArgument).
Pin parsePin(std::string_view text);

// A placement rule over many modules (README "Policies"): a selector and a target, expanded to
// pins over the tree before planning (policy.h). Text form (parsePolicy / toString):
//   class:GLOB=DEVICE     modules whose class matches ("class:MixtralBlockSparseTop2MLP=cpu")
//   name:GLOB=DEVICE      modules or tensors whose dotted name matches ("name:model.layers.*.mlp.experts=cpu");
//                         * = any characters but '.', ** = any characters, ? = one character but
//                         '.', {A..B} = a number from A to B, {x,y} = one of the words
//   first:N=DEVICE        the first N decoder blocks (modules of a no-split class)
//   experts=DEVICE        the experts of every mixture-of-experts block (modules named "experts")
//   experts:N=DEVICE      the experts of the first N such blocks (llama.cpp's --n-cpu-moe N)
//   embeddings=DEVICE     the input embeddings (classes ending in "Embedding" holding a weight)
//   SELECTOR!=DEVICE      forbids the device instead
//   experts-on-cpu, embeddings-on-cpu: the built-in names of experts=cpu and embeddings=cpu
struct Policy {
    enum class Selector { Class, Name, First, Experts, Embeddings };
    Selector selector = Selector::Name;
    std::string pattern;      // Class, Name: the glob
    std::int64_t count = 0;   // First: N >= 1; Experts: N >= 1, or 0 for all
    Device device;
    bool forbid = false;
    bool operator==(const Policy &) const = default;
};
// Throws PlanError(InvalidArgument) (planerror.h): messages PolicySyntax, PolicyBadDevice.
Policy parsePolicy(std::string_view text);
// The canonical text: parsePolicy(toString(p)) == p; experts=cpu and embeddings=cpu are written
// by their built-in names.
std::string toString(const Policy &policy);
// The built-in named policies, for front ends offering them: {"experts-on-cpu", "embeddings-on-cpu"}.
std::vector<std::string> builtInPolicies();

// Reservation per GPU for generation (activations + KV cache). All zero = no headroom.
struct Headroom {
    std::int64_t batchSize = 1;
    std::int64_t tokens = 0;            // prompt + generated tokens (sequence length); 0 = off
    std::int64_t hiddenSize = 0;
    std::int64_t numLayers = 0;
    std::int64_t numAttentionHeads = 0;
    std::int64_t numKeyValueHeads = 0;  // 0 = same as attention heads
    std::int64_t headDim = 0;           // 0 = hiddenSize / numAttentionHeads
    std::int64_t intermediateSize = 0;  // 0 = 4 * hiddenSize
    std::int64_t vocabSize = 0;         // logits of the last token
    DType dtype = DType::F16;           // activations / cache dtype
    bool enabled() const { return tokens > 0 && hiddenSize > 0; }
    bool operator==(const Headroom &) const = default;
};

// What headroom reserves on one GPU holding `layersOnGpu` decoder layers.
struct HeadroomEstimate {
    std::int64_t activationBytes = 0;   // working set of one forward step
    std::int64_t kvCachePerLayerBytes = 0;
    std::int64_t totalBytes(std::int64_t layersOnGpu) const { return activationBytes + kvCachePerLayerBytes * layersOnGpu; }
};
HeadroomEstimate estimateHeadroom(const Headroom &headroom);

struct PlanOptions {
    MaxMemory maxMemory;                         // required: at least one device
    std::vector<std::string> noSplitClasses;
    // Load dtype (none: as stored), meant as `dtypeRule` says. The default is what
    // from_pretrained(torch_dtype=dtype, device_map=...) does: the model is instantiated in it, so
    // its floating weights take that size up or down (float16 weights loaded as float32: 4 bytes);
    // integer, bool and fixed-dtype tensors keep theirs (see DtypeRule in moduletree.h).
    // DtypeRule::AccelerateNeverGrow is Accelerate's `dtype` argument on a tree already in its
    // loaded dtypes (floating tensors shrink, never grow): for parity with its functions.
    std::optional<DType> dtype;
    DtypeRule dtypeRule = DtypeRule::Transformers;
    std::vector<std::pair<std::string, DType>> specialDtypes; // full tensor name -> dtype (wins over dtype)
    Strategy strategy = Strategy::Auto;
    bool offloadBuffers = false;
    bool fallbackAllocation = false;
    bool cleanResult = true;                     // merge children sharing a device into the parent
    std::vector<Pin> pins;
    std::vector<Policy> policies;                // expanded to pins; the more specific rule wins (policy.h)
    Headroom headroom;
    // Strategy::Optimal: the speeds it minimises the time per token with (none: assumed numbers,
    // assumedSpeedModel() in cost.h) and the prefetch depth the runtime will use.
    std::optional<SpeedModel> speeds;
    int prefetch = 1;
    bool operator==(const PlanOptions &) const = default;
};

// Per device of the effective budget (plus disk).
struct DeviceUsage {
    Device device;
    std::int64_t budgetBytes = -1;           // the user's max_memory (-1: unlimited, disk)
    std::int64_t effectiveBudgetBytes = -1;  // after the strategy's balancing (what infer used)
    double plannedBytes = 0;                 // weights of the modules mapped here
    std::int64_t reservedLargestLayerBytes = 0; // kept free for the largest layer (main devices); with
                                                // policies, at least the largest part a policy offloaded
                                                // from a block the GPU runs
    std::int64_t headroomBytes = 0;          // runtime headroom (activations + KV cache)
    double freeBytes = 0;                    // budget - planned - reserved - headroom (may be < 0)
    int moduleCount = 0;                     // device map keys on this device
};

// Why a module is where it is.
enum class PlacementKind {
    Placed,        // a map key: fitted on its device
    Moved,         // a map key that did not fit on earlier devices
    Split,         // did not fit, split into its children (no device of its own)
    Merged,        // every child on the same device: one key for all
    Inside,        // below a map key: follows it
    Pinned,        // fixed by a pin
    Policy,        // fixed by a policy (PlanOptions::policies)
    Tied,          // pulled next to a tied parameter
    Fallback,      // picked by fallback_allocation to fill a device
    Mixed,         // above map keys on several devices
};
const char *toString(PlacementKind kind);

// Why a module is where it is, as structured messages (the GUI translates them), read like a
// const std::vector<Message>. Held once for the placements that share it: every module inside a
// map key has the same "part of KEY on DEVICE", and a plan has one placement per module (812,000
// for a 405B config with 65,536 layers), which would otherwise make and free three blocks each.
class Explanation {
public:
    Explanation() = default;
    Explanation(std::vector<Message> messages) : m_messages(std::make_shared<const std::vector<Message>>(std::move(messages))) {}
    const std::vector<Message> &messages() const { return m_messages ? *m_messages : none(); }
    operator const std::vector<Message> &() const { return messages(); }
    bool empty() const { return messages().empty(); }
    std::size_t size() const { return messages().size(); }
    const Message &operator[](std::size_t i) const { return messages()[i]; }
    std::vector<Message>::const_iterator begin() const { return messages().begin(); }
    std::vector<Message>::const_iterator end() const { return messages().end(); }

private:
    static const std::vector<Message> &none();
    std::shared_ptr<const std::vector<Message>> m_messages;
};

// How one module is placed (Plan::placements, by module id: its name is the tree's).
struct Placement {
    std::optional<Device> device;     // none when its children are on several devices
    double bytes = 0;
    PlacementKind kind = PlacementKind::Inside;
    bool mapKey = false;              // appears in the device map
    Explanation explanation;          // why
    // The explanation in English: "did not fit on GPU 0: 1.20 GiB free, needs 1.60 GiB; split into
    // children". Rendered when asked: a plan has one per module, and most are never shown.
    std::string reason() const { return toEnglish(explanation.messages()); }
};

// What one policy did in a plan.
struct PolicyEffect {
    std::string policy;                 // toString(policy)
    std::vector<std::string> names;     // the modules / tensors it matched, execution order (outermost only)
    double bytes = 0;                   // bytes it placed under the plan's dtype (less the parts more
                                        // specific rules took); for a forbidding policy, of its names
    std::vector<std::string> splitBlocks; // no-split modules it splits (the rest of each kept on one device)
};

struct Plan {
    DeviceMap deviceMap;              // execution order; a merged parent sits at its first child's place
    MaxMemory effectiveMaxMemory;     // normalised and balanced (what infer_auto_device_map used)
    std::vector<DeviceUsage> usage;   // effective devices in order, disk last when used
    std::vector<Placement> placements; // index = ModuleTree module id (every module)
    std::vector<std::string> warnings; // Accelerate's buffer warning, insufficient memory, unknown no-split classes
    std::vector<std::vector<Message>> warningMessages; // the same structured: warnings[i] == toEnglish(warningMessages[i])
    bool bufferWarning = false;
    std::vector<std::pair<Device, double>> insufficientMemory; // devices left empty: minimum bytes needed
    double totalBytes = 0;
    HeadroomEstimate headroom;
    std::vector<PolicyEffect> policies; // one per PlanOptions::policies entry, same order

    const DeviceUsage *usageOf(const Device &device) const;
};

// Sizes (storage bytes) and the dtype of one tensor as plan() and validate() count them under
// `options` (dtype, dtypeRule, specialDtypes). `module` owns `tensor`.
ModuleSizes aggregateSizes(const ModuleTree &tree, const PlanOptions &options);
DType loadedDtype(const ModuleTree &tree, int module, const Tensor &tensor, const PlanOptions &options);

// Plans `tree` under `options`. Deterministic (same inputs, same bytes). Throws Error:
// InvalidArgument (no device, bad pin name/device, a policy that matches nothing or conflicts),
// Impossible (pins over a budget: which pin or policy, which device, how many bytes over; a pin
// inside a no-split module). Errors about pins and policies are PlanError (planerror.h): the same
// text as structured messages, for translation. A policy may split a no-split module: the parts
// it places go where it says, the rest of the module stays together on one device.
Plan plan(const ModuleTree &tree, const PlanOptions &options);

} // namespace mizan::planner
