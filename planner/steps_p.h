#pragma once

// Internal to the planner: the steps the runtime executes a model in, as the cost model (cost.cpp)
// predicts them and the optimal strategy (optimal.cpp) places them, so that the two cannot disagree
// on what a step is. A step is a no-split module with everything under it, or any other module
// that holds tensors of its own (those tensors only), in execution (depth-first pre-) order.

#include "moduletree.h"

#include <string>
#include <vector>

namespace mizan::planner::detail {

struct ExecutionStep {
    int module = -1;
    bool whole = false; // a no-split module: its subtree is modules [first, end) of the pre-order
    std::size_t first = 0, end = 0;
};

struct ExecutionSteps {
    std::vector<int> preorder; // tree.preorder(): the subtrees of whole steps are ranges of it
    std::vector<ExecutionStep> steps;
};

ExecutionSteps executionSteps(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses);

// Embedding tables are read one row per token, not streamed (rotary embeddings hold no weights).
bool isEmbeddingClass(const std::string &className);

} // namespace mizan::planner::detail
