// The user's pins (module -> device fixed, or forbidden there) as plan() applies them: checked
// against the tree and the budgets, extended over tied groups, subtracted from the budgets, and
// turned into the constraints infer_auto_device_map runs under.
#include "plan_p.h"

#include "planerror.h"

#include <cmath>

namespace mizan::planner::detail {

namespace {

bool placesOn(const Device &d)
{
    return d.isGpu() || d.kind == DeviceKind::Mps;
}

} // namespace

Pins resolvePins(const ModuleTree &tree, const PlanOptions &options, const std::unordered_set<std::string> &noSplit,
                 const std::vector<std::vector<std::string>> &tiedGroups, Plan &result)
{
    Pins out;
    auto &pins = out.list;
    auto outermostNoSplit = [&](int id) {
        int found = -1;
        for (int m = tree.module(id).parent; m > 0; m = tree.module(m).parent)
            if (noSplit.count(tree.module(m).className))
                found = m;
        return found;
    };
    for (const auto &p : options.pins) {
        const auto resolved = resolveOrNone(tree, p.module);
        if (resolved.module < 0)
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinUnknownModule, {p.module}}});
        if (placesOn(p.device) && budgetOf(options.maxMemory, p.device) < 0) {
            std::vector<Device> listed;
            for (const auto &m : options.maxMemory)
                listed.push_back(m.first);
            throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinDeviceWithoutBudget, {p.module, p.device, listed}}});
        }
        if (!p.forbid) {
            const int inside = resolved.tensor < 0 ? outermostNoSplit(resolved.module)
                               : noSplit.count(tree.module(resolved.module).className) ? resolved.module
                                                                                        : outermostNoSplit(resolved.module);
            if (inside > 0)
                throw PlanError(ErrorKind::Impossible,
                                {{MessageId::PinInsideNoSplit, {p.module, tree.module(inside).name, tree.module(inside).className}}});
            for (const auto &q : pins)
                if (!q.forbid && (nameWithin(p.module, q.module) || nameWithin(q.module, p.module)))
                    throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinsOverlap, {q.module, p.module}}});
        }
        pins.push_back({p.module, p.device, p.forbid, false, {}});
    }
    for (const auto &p : pins)
        for (const auto &q : pins)
            if (!p.forbid && q.forbid && p.device == q.device && (nameWithin(p.module, q.module) || nameWithin(q.module, p.module)))
                throw PlanError(ErrorKind::InvalidArgument, {{MessageId::PinsContradict, {p.module, p.device, q.module}}});
    // Tied parameters follow a pinned module.
    for (const auto &group : tiedGroups) {
        const ActivePin *pinned = nullptr;
        for (const auto &member : group)
            for (const auto &p : pins)
                if (!p.forbid && nameWithin(member, p.module))
                    pinned = &p;
        if (!pinned)
            continue;
        const ActivePin anchor = *pinned;
        for (const auto &member : group) {
            bool covered = false;
            for (const auto &p : pins)
                if (!p.forbid && nameWithin(member, p.module)) {
                    covered = true;
                    if (p.device != anchor.device)
                        addWarning(result, {{MessageId::TiedPinsDiffer, {member, anchor.module, p.device, anchor.device}}});
                }
            if (covered)
                continue;
            int owner = resolveOrNone(tree, member).module;
            if (owner <= 0)
                continue;
            if (int ns = outermostNoSplit(owner); ns > 0)
                owner = ns;
            pins.push_back({tree.module(owner).name, anchor.device, false, true, anchor.module});
        }
    }
    for (std::size_t i = 0; i < pins.size(); ++i)
        if (!pins[i].forbid)
            out.placing.emplace(pins[i].module, i);
    return out;
}

accel::Memory budgetsAfterPins(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes,
                               const Pins &pins, const std::vector<std::int64_t> &headroomOf)
{
    accel::Memory memory;
    for (std::size_t i = 0; i < options.maxMemory.size(); ++i) {
        const auto &[d, b] = options.maxMemory[i];
        double pinned = 0;
        std::vector<Message> pinList;
        for (const auto &p : pins.list)
            if (!p.forbid && p.device == d) {
                const double s = sizes.ofKey(p.module, resolveOrNone(tree, p.module));
                pinned += s;
                pinList.push_back({MessageId::PinnedBytes, {p.module, ByteCount{s}}});
            }
        const double available = static_cast<double>(b - headroomOf[i]);
        if (pinned > available) {
            const auto over = static_cast<std::int64_t>(std::ceil(pinned - available));
            std::vector<Message> why = {headroomOf[i]
                ? Message{MessageId::PinsOverBudgetHeadroom, {ByteCount{pinned}, d, ByteCount{static_cast<double>(b)}, ByteCount{available}, over}}
                : Message{MessageId::PinsOverBudget, {ByteCount{pinned}, d, ByteCount{static_cast<double>(b)}, over}}};
            why.insert(why.end(), pinList.begin(), pinList.end());
            throw PlanError(ErrorKind::Impossible, std::move(why));
        }
        memory.emplace_back(d, available - pinned);
    }
    return memory;
}

accel::InferConstraints Pins::constraints() const
{
    accel::InferConstraints c;
    c.skip = [this](const std::string &name) {
        if (placing.count(name))
            return true;
        for (const auto &p : list)
            if (!p.forbid && nameWithin(name, p.module))
                return true;
        return false;
    };
    c.mustSplit = [this](const std::string &name) {
        for (const auto &p : list)
            if (!p.forbid && p.module != name && nameWithin(p.module, name))
                return true;
        return false;
    };
    c.verdict = [this](const std::string &name, const Device &device) {
        accel::PinVerdict verdict = accel::PinVerdict::Allowed;
        for (const auto &p : list) {
            if (!p.forbid || p.device != device)
                continue;
            if (nameWithin(name, p.module))
                return accel::PinVerdict::Forbidden;
            if (nameWithin(p.module, name))
                verdict = accel::PinVerdict::ForbiddenInside;
        }
        return verdict;
    };
    return c;
}

} // namespace mizan::planner::detail
