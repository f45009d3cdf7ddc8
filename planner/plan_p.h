#pragma once

// Internal to the planner: the stages of plan() (plan.cpp) in their own files: the user's pins
// (pins.cpp) and the reasons given for every module's place (explain.cpp).

#include "accelerate.h"
#include "namemap.h"
#include "plan.h"
#include "usage_p.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mizan::planner::detail {

// A map key's target; module -1 when the key names nothing of the tree.
inline KeyTarget resolveOrNone(const ModuleTree &tree, std::string_view key)
{
    return tree.resolveKey(key).value_or(KeyTarget{});
}

// A warning both as text and as structured messages.
void addWarning(Plan &plan, std::vector<Message> messages);

struct ActivePin {
    std::string module;
    Device device;
    bool forbid = false;
    bool automatic = false; // added to keep a tied group together
    std::string tiedTo;     // for automatic pins: the user's pin it follows
    std::string policy;     // toString() of the policy it comes from; empty for the user's pins
};

// The user's pins checked against the tree and the budgets, with the policies' (policy.h:
// resolveRules), plus the pins added to keep each tied group with a pinned member together.
struct Pins {
    std::vector<ActivePin> list;
    std::unordered_map<std::string, std::size_t> placing; // module -> index of the pin placing it
    std::vector<PolicyEffect> effects;                    // per policy (bytes filled by explainPlacements)
    std::unordered_map<std::string, std::string> splitBy; // no-split module split by a policy -> that policy

    bool empty() const { return list.empty(); }
    // The constraints infer_auto_device_map runs under. They refer to *this.
    accel::InferConstraints constraints() const;
};

// Throws PlanError: an unknown module or a device without budget (InvalidArgument), a pin inside a
// no-split module (Impossible; a policy may split one), overlapping or contradicting pins, a policy
// that selects nothing or conflicts (InvalidArgument). Warnings (tied members pinned to different
// devices) go to `result`.
Pins resolvePins(const ModuleTree &tree, const PlanOptions &options, const std::unordered_set<std::string> &noSplit,
                 const std::vector<std::vector<std::string>> &tiedGroups, Plan &result);

// The budgets left for infer_auto_device_map: each device's budget less its headroom and the bytes
// pinned to it. Throws PlanError(Impossible) naming the pins when they exceed a device's budget.
accel::Memory budgetsAfterPins(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes,
                               const Pins &pins, const std::vector<std::int64_t> &headroomOf);

// Policies: a GPU that runs a block whose parts a policy put on the CPU or disk brings those parts
// in for the block's step (the runtime runs a split block on its first GPU); the pins put those
// parts aside without Accelerate's walk leaving the device, so its largest-layer reserve may be
// used up by the last modules. Raises `reserve` (per options.maxMemory device; the planner keeps
// the larger of it and the largest layer free: InferOptions::minimumReserve) to the largest such
// part of each GPU of `result`; true when it grew.
bool growPartsReserve(const ModuleTree &tree, const PlanOptions &options, const Plan &result, std::vector<std::int64_t> &reserve);

// What infer_auto_device_map did with each name (its observer's events), for the reasons.
struct InferTrace {
    // What explain needs of an event (not its name and ties: a million entries stay small).
    struct Step {
        accel::InferEvent::Kind kind;
        Device device;
        double size = 0, used = 0, limit = -1, reserved = 0;
        explicit Step(const accel::InferEvent &e)
            : kind(e.kind), device(e.device), size(e.size), used(e.used), limit(e.limit), reserved(e.reserved) {}
    };
    struct Entry {
        std::vector<Step> rejections; // NextDevice / Split for this name
        std::optional<Step> placed;
        std::string tiedTo;
        bool fallback = false;
        bool rest = false; // a no-split module placed without the parts a policy placed
    };
    // Entries by what they name where the tree's names are paths (KeyPositions: no hashing of a
    // million names), else by name (names alike share an entry, as Accelerate's keys do).
    explicit InferTrace(const ModuleTree &tree);
    std::vector<std::pair<Device, std::int64_t>> reserveAt; // last largest-layer reserve seen per device

    void record(const accel::InferEvent &event);
    // The entry of the key `name` that resolves to `target` (module -1: unresolved), or nullptr.
    const Entry *find(const KeyTarget &target, std::string_view name) const;

private:
    Entry &at(const KeyTarget &target, std::string_view name);

    const ModuleTree &m_tree;
    KeyPositions m_keys; // -> index into m_entries
    std::vector<Entry> m_entries;
};

// Strategy::Optimal's map of the modules not pinned (optimal.cpp): the keys of the units it chose
// devices for, in execution order. `memory` is the budgets after pins and headroom; the reserve it
// keeps on the execution device for staging offloaded units goes to `reserveAt`.
DeviceMap optimalAssignment(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes, const accel::Memory &memory,
                            const Pins &pins, const std::vector<std::vector<std::string>> &tiedGroups,
                            std::vector<std::pair<Device, std::int64_t>> &reserveAt);

// Fills result.placements (device, kind, reasons) for every module of `tree` from the final map
// (result.deviceMap, execution order; `targets[i]` is what its i-th key names), the map before
// cleaning (`raw`), the pins and the trace.
void explainPlacements(Plan &result, const std::vector<KeyTarget> &targets, const ModuleTree &tree, const SizeTable &sizes,
                       const Pins &pins, const InferTrace &trace, const DeviceMap &raw);

} // namespace mizan::planner::detail
