#pragma once

// Internal to the planner: the stages of plan() (plan.cpp) in their own files: the user's pins
// (pins.cpp) and the reasons given for every module's place (explain.cpp).

#include "accelerate.h"
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
};

// The user's pins checked against the tree and the budgets, plus the pins added to keep each tied
// group with a pinned member together.
struct Pins {
    std::vector<ActivePin> list;
    std::unordered_map<std::string, std::size_t> placing; // module -> index of the pin placing it

    bool empty() const { return list.empty(); }
    // The constraints infer_auto_device_map runs under. They refer to *this.
    accel::InferConstraints constraints() const;
};

// Throws PlanError: an unknown module or a device without budget (InvalidArgument), a pin inside a
// no-split module (Impossible), overlapping or contradicting pins (InvalidArgument). Warnings (tied
// members pinned to different devices) go to `result`.
Pins resolvePins(const ModuleTree &tree, const PlanOptions &options, const std::unordered_set<std::string> &noSplit,
                 const std::vector<std::vector<std::string>> &tiedGroups, Plan &result);

// The budgets left for infer_auto_device_map: each device's budget less its headroom and the bytes
// pinned to it. Throws PlanError(Impossible) naming the pins when they exceed a device's budget.
accel::Memory budgetsAfterPins(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes,
                               const Pins &pins, const std::vector<std::int64_t> &headroomOf);

// What infer_auto_device_map did with each name (its observer's events), for the reasons.
struct InferTrace {
    struct Entry {
        std::vector<accel::InferEvent> rejections; // NextDevice / Split for this name
        std::optional<accel::InferEvent> placed;
        std::string tiedTo;
        bool fallback = false;
    };
    std::unordered_map<std::string, Entry> byName;
    std::vector<std::pair<Device, std::int64_t>> reserveAt; // last largest-layer reserve seen per device

    void record(const accel::InferEvent &event);
};

// Strategy::Optimal's map of the modules not pinned (optimal.cpp): the keys of the units it chose
// devices for, in execution order. `memory` is the budgets after pins and headroom; the reserve it
// keeps on the execution device for staging offloaded units goes to `reserveAt`.
DeviceMap optimalAssignment(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes, const accel::Memory &memory,
                            const Pins &pins, const std::vector<std::vector<std::string>> &tiedGroups,
                            std::vector<std::pair<Device, std::int64_t>> &reserveAt);

// Fills result.placements (device, kind, reasons) for every module of `tree` from the final map
// (result.deviceMap, execution order), the map before cleaning (`raw`), the pins and the trace.
void explainPlacements(Plan &result, const ModuleTree &tree, const SizeTable &sizes, const Pins &pins,
                       const InferTrace &trace, const DeviceMap &raw);

} // namespace mizan::planner::detail
