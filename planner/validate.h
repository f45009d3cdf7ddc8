#pragma once

// Validation of an edited or imported device map against a model and the planning options: what
// is not covered, covered twice, unknown, split against a tie or a no-split class, over a budget.
// Every issue comes as English text and as structured messages (for translation).

#include "plan.h"

#include <string>
#include <vector>

namespace mizan::planner {

enum class Severity { Error, Warning };
const char *toString(Severity severity);

enum class IssueKind {
    NotCovered,          // error: a parameter/buffer has no device
    CoveredTwice,        // error: a key lies inside another key (or appears twice)
    UnknownModule,       // error: a key names no module or tensor of the model
    TiedSplit,           // error: a tied group spans devices
    UnknownDevice,       // error: a device that max_memory does not list
    PinViolated,         // error: the map contradicts a pin
    OverBudget,          // warning: planned bytes exceed a device's budget by N bytes
    DiskWhileCpuHasRoom, // warning: modules on disk though the CPU budget has room for them
    EmptyGpu,            // warning: a GPU holds nothing while a later GPU holds modules
    NoSplitBroken,       // warning: a no-split module's parts are on several devices (parts a policy places aside)
    PolicyInvalid,       // error: a policy selects nothing or conflicts with another rule (the plan() error)
    PolicyViolated,      // error: the map contradicts a policy
};
const char *toString(IssueKind kind);

struct Issue {
    Severity severity = Severity::Error;
    IssueKind kind = IssueKind::NotCovered;
    std::string module;        // the key / tensor / module concerned ("" when about a device)
    Message what;              // the message as an id with arguments (for translation)
    Message fix;
    // In English, rendered when asked: a map of a million unknown keys has a million issues, and
    // the GUI shows them translated (from `what` and `fix`).
    std::string message() const { return toEnglish(what); }
    std::string suggestedFix() const { return toEnglish(fix); }
};

// Fast (linear in tensors + keys x depth): the GUI calls it on every edit.
std::vector<Issue> validate(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options);
inline bool hasErrors(const std::vector<Issue> &issues)
{
    for (const auto &i : issues)
        if (i.severity == Severity::Error)
            return true;
    return false;
}

} // namespace mizan::planner
