#pragma once

// Policies (plan.h: Policy) expanded over a module tree: what each selects, and the rules plan()
// and validate() apply once pins and policies are put together. Pure C++ (std only).
//
// Putting them together: every policy becomes one rule per module or tensor it selects (the
// outermost ones). When two placing rules overlap, the more specific one wins: the outer rule
// keeps everything of its module but the inner one ("first:4=0" with "experts-on-cpu": blocks 0-3
// on GPU 0 except their experts, on the CPU). An inner rule with the outer one's device is
// dropped. Two rules naming the same module with different devices are an error, and so is a
// placing rule overlapping a rule that forbids its device. User pins among themselves keep their
// own rules (plan.h: pins may not overlap).

#include "plan.h"

#include <string>
#include <string_view>
#include <vector>

namespace mizan::planner {

// Does `glob` match `text`? Name rules: * = any characters but '.', ** = any characters, ? = one
// character but '.', {A..B} = a decimal number from A to B, {x,y} = one of the words; anything else
// matches itself. With `dots` false (class names), * matches dots too. A malformed glob matches
// nothing (parsePolicy refuses it).
bool globMatches(std::string_view glob, std::string_view text, bool dots = true);

// The decoder blocks first:N counts, in execution order: the outermost modules of a no-split
// class; when there are none, the numbered children of the shallowest module that has some.
std::vector<int> decoderBlocks(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses);

// The names (modules, or tensors for name: globs) `policy` selects: the outermost ones, in
// execution order. Throws PlanError(InvalidArgument): a class that does not occur (listing the
// tree's classes), a glob matching nothing (naming the deepest module it reaches and what that
// holds), a model without experts / embeddings / decoder blocks, more blocks than the model has.
std::vector<std::string> selectPolicy(const ModuleTree &tree, const Policy &policy,
                                      const std::vector<std::string> &noSplitClasses);

// One rule of a plan: a user pin or a policy's, after the more specific rule won.
struct PolicyRule {
    std::string name;   // module or tensor ("" = the whole model)
    Device device;
    bool forbid = false;
    int pin = -1;       // index into PlanOptions::pins, or -1
    int policy = -1;    // index into PlanOptions::policies, or -1
    bool operator==(const PolicyRule &) const = default;
};

struct ResolvedRules {
    std::vector<PolicyRule> rules;                    // placing rules, then forbidding ones
    std::vector<std::vector<std::string>> selected;  // per policy: selectPolicy()
    std::vector<std::vector<std::string>> splitBlocks; // per policy: no-split modules it splits
};

// Pins and policies put together (see the top of this file). User pins naming nothing of the tree
// are passed through as they are (plan() refuses them before). Throws PlanError(InvalidArgument)
// for selectPolicy()'s errors and for conflicts (PolicyConflict, PolicyPinConflict,
// PolicyPlacesForbidden, PolicyForbidsPlaced; PinsContradict between user pins).
ResolvedRules resolveRules(const ModuleTree &tree, const PlanOptions &options);

} // namespace mizan::planner
