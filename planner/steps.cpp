#include "steps_p.h"

#include <algorithm>

namespace mizan::planner::detail {

ExecutionSteps executionSteps(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses)
{
    ExecutionSteps out;
    out.preorder = tree.preorder();
    const auto &order = out.preorder;
    for (std::size_t i = 0; i < order.size();) {
        const int id = order[i];
        const Module &m = tree.module(id);
        const bool noSplit = !m.className.empty() &&
                             std::find(noSplitClasses.begin(), noSplitClasses.end(), m.className) != noSplitClasses.end();
        if (noSplit) {
            std::size_t end = i + 1;
            while (end < order.size() && tree.isWithin(order[end], id))
                ++end;
            out.steps.push_back({id, true, i, end});
            i = end;
            continue;
        }
        if (!m.params.empty() || !m.buffers.empty())
            out.steps.push_back({id, false, i, i + 1});
        ++i;
    }
    return out;
}

bool isEmbeddingClass(const std::string &className)
{
    return className.find("Embedding") != std::string::npos && className.find("Rotary") == std::string::npos;
}

} // namespace mizan::planner::detail
