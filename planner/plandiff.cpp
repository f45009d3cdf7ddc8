#include "plandiff.h"
#include "usage.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>

namespace mizan::planner {

TensorDevices tensorDevices(const ModuleTree &tree, const DeviceMap &map)
{
    TensorDevices out(static_cast<std::size_t>(tree.size()));
    for (int id = 0; id < tree.size(); ++id) {
        const Module &m = tree.module(id);
        out[static_cast<std::size_t>(id)].assign(m.params.size() + m.buffers.size(), std::nullopt);
    }
    auto place = [&](int module, std::size_t slot, const Device &device) {
        auto &d = out[static_cast<std::size_t>(module)][slot];
        if (!d)
            d = device;
    };
    for (const auto &[key, device] : map) {
        const auto target = tree.resolveKey(key);
        if (!target)
            continue;
        if (target->isTensor()) {
            place(target->module, static_cast<std::size_t>(target->tensor), device);
            continue;
        }
        for (int id : tree.preorder(target->module))
            for (std::size_t slot = 0; slot < out[static_cast<std::size_t>(id)].size(); ++slot)
                place(id, slot, device);
    }
    return out;
}

std::vector<std::vector<double>> tensorBytes(const ModuleTree &tree, const PlanOptions &options)
{
    std::vector<std::vector<double>> out(static_cast<std::size_t>(tree.size()));
    for (int id = 0; id < tree.size(); ++id) {
        const Module &m = tree.module(id);
        out[static_cast<std::size_t>(id)].assign(m.params.size() + m.buffers.size(), 0.0);
    }
    // As aggregateSizes(): every parameter in pre-order, then every buffer; a tie object once.
    std::unordered_set<int> seenTies;
    const auto order = tree.preorder();
    for (bool buffers : {false, true})
        for (int id : order) {
            const Module &m = tree.module(id);
            const auto &list = buffers ? m.buffers : m.params;
            for (std::size_t k = 0; k < list.size(); ++k) {
                const Tensor &t = list[k];
                if (t.tie >= 0 && !seenTies.insert(t.tie).second)
                    continue;
                const std::size_t slot = buffers ? m.params.size() + k : k;
                out[static_cast<std::size_t>(id)][slot] =
                    static_cast<double>(storageBytes(loadedDtype(tree, id, t, options), t.numel()));
            }
        }
    return out;
}

namespace {

// What happened to the tensors of a subtree between A and B.
struct Change {
    enum Kind { Empty, Same, Moved, Mixed } kind = Empty;
    Device from, to;
};

Change combine(const Change &x, const Change &y)
{
    if (x.kind == Change::Empty)
        return y;
    if (y.kind == Change::Empty)
        return x;
    if (x.kind == Change::Same && y.kind == Change::Same)
        return x;
    if (x.kind == Change::Moved && y.kind == Change::Moved && x.from == y.from && x.to == y.to)
        return x;
    return Change{Change::Mixed, {}, {}};
}

std::string signedBytes(double bytes)
{
    return (bytes < 0 ? "-" : "+") + formatBytes(std::fabs(bytes));
}

std::string dtypeText(const std::optional<DType> &dtype)
{
    return dtype ? std::string(torchName(*dtype)) : std::string("the dtypes as stored");
}

} // namespace

PlanDiff diffMaps(const ModuleTree &tree, const DeviceMap &a, const PlanOptions &optionsA, const DeviceMap &b,
                  const PlanOptions &optionsB)
{
    PlanDiff diff;
    const TensorDevices da = tensorDevices(tree, a), db = tensorDevices(tree, b);
    const auto bytes = tensorBytes(tree, optionsA);
    const auto n = static_cast<std::size_t>(tree.size());

    // Bottom-up: what happened to each subtree, and its bytes.
    std::vector<Change> change(n);
    std::vector<double> subtreeBytes(n, 0.0);
    const auto order = tree.preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const auto id = static_cast<std::size_t>(*it);
        Change c;
        double sum = 0;
        for (std::size_t slot = 0; slot < da[id].size(); ++slot) {
            sum += bytes[id][slot];
            const auto &x = da[id][slot], &y = db[id][slot];
            if (!x || !y)
                continue;
            c = combine(c, *x == *y ? Change{Change::Same, *x, *y} : Change{Change::Moved, *x, *y});
            if (*x == *y)
                ++diff.unchangedTensors;
        }
        for (int child : tree.module(*it).children) {
            c = combine(c, change[static_cast<std::size_t>(child)]);
            sum += subtreeBytes[static_cast<std::size_t>(child)];
        }
        change[id] = c;
        subtreeBytes[id] = sum;
    }

    // Top-down: the largest modules that moved as a whole.
    std::vector<int> stack{ModuleTree::kRoot};
    while (!stack.empty()) {
        const int id = stack.back();
        stack.pop_back();
        const auto i = static_cast<std::size_t>(id);
        const Change &c = change[i];
        if (c.kind == Change::Moved) {
            diff.moves.push_back({tree.module(id).name, false, c.from, c.to, subtreeBytes[i]});
            continue;
        }
        if (c.kind != Change::Mixed)
            continue;
        const Module &m = tree.module(id);
        for (std::size_t slot = 0; slot < da[i].size(); ++slot) {
            const auto &x = da[i][slot], &y = db[i][slot];
            if (!x || !y || *x == *y)
                continue;
            const Tensor &t = slot < m.params.size() ? m.params[slot] : m.buffers[slot - m.params.size()];
            diff.moves.push_back({tree.tensorName(id, t), true, *x, *y, bytes[i][slot]});
        }
        for (auto child = m.children.rbegin(); child != m.children.rend(); ++child)
            stack.push_back(*child);
    }
    for (const auto &mv : diff.moves)
        diff.movedBytes += mv.bytes;

    std::unordered_set<std::string> keysA, keysB;
    for (const auto &entry : a)
        keysA.insert(entry.first);
    for (const auto &entry : b)
        keysB.insert(entry.first);
    for (const auto &entry : a)
        if (!keysB.count(entry.first))
            diff.keysOnlyInA.push_back(entry.first);
    for (const auto &entry : b)
        if (!keysA.count(entry.first))
            diff.keysOnlyInB.push_back(entry.first);

    auto changeOf = [&](const Device &device) -> DeviceChange & {
        for (auto &d : diff.devices)
            if (d.device == device)
                return d;
        diff.devices.push_back({device, 0, 0});
        return diff.devices.back();
    };
    for (const auto &u : usageOf(tree, a, optionsA))
        changeOf(u.device).bytesBefore += u.plannedBytes;
    for (const auto &u : usageOf(tree, b, optionsB))
        changeOf(u.device).bytesAfter += u.plannedBytes;
    std::stable_sort(diff.devices.begin(), diff.devices.end(),
                     [](const DeviceChange &x, const DeviceChange &y) { return x.device < y.device; });

    if (optionsA.dtype != optionsB.dtype || optionsA.specialDtypes != optionsB.specialDtypes)
        diff.notes.push_back("A loads " + dtypeText(optionsA.dtype) + " and B " + dtypeText(optionsB.dtype) +
                             ": bytes before are sized as A loads them, bytes after as B does, moved bytes as A");
    return diff;
}

std::string diffSummary(const PlanDiff &diff)
{
    if (diff.moves.empty())
        return "no module moved";
    std::size_t tensors = 0;
    for (const auto &m : diff.moves)
        tensors += m.tensor ? 1 : 0;
    const std::size_t modules = diff.moves.size() - tensors;
    std::string text;
    if (modules)
        text = std::to_string(modules) + (modules == 1 ? " module" : " modules");
    if (tensors)
        text += (modules ? " and " : "") + std::to_string(tensors) + (tensors == 1 ? " tensor" : " tensors");
    text += " moved (" + formatBytes(diff.movedBytes) + ")";
    std::string changes;
    for (const auto &d : diff.devices)
        if (d.change() != 0)
            changes += (changes.empty() ? ": " : ", ") + d.device.label() + " " + signedBytes(d.change());
    return text + changes;
}

namespace {
// "prefix.N" -> N, else -1.
long numberAfter(const std::string &name, const std::string &prefix)
{
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0)
        return -1;
    long v = 0;
    auto [ptr, ec] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), v);
    return ec == std::errc() && ptr == name.data() + name.size() ? v : -1;
}
} // namespace

std::vector<MoveRun> moveRuns(const PlanDiff &diff)
{
    std::vector<MoveRun> runs;
    const auto &moves = diff.moves;
    for (std::size_t r = 0; r < moves.size();) {
        const ModuleMove &m = moves[r];
        const auto dot = m.name.rfind('.');
        std::size_t end = r + 1;
        long first = -1;
        if (!m.tensor && dot != std::string::npos) {
            const std::string prefix = m.name.substr(0, dot + 1);
            first = numberAfter(m.name, prefix);
            if (first >= 0)
                while (end < moves.size() && !moves[end].tensor && moves[end].from == m.from && moves[end].to == m.to &&
                       numberAfter(moves[end].name, prefix) == first + static_cast<long>(end - r))
                    ++end;
        }
        MoveRun run;
        run.first = r;
        if (end - r >= 3) {
            run.count = end - r;
            for (std::size_t k = r; k < end; ++k)
                run.bytes += moves[k].bytes;
            run.label = m.name.substr(0, dot + 1) + std::to_string(first) + "-" + std::to_string(first + static_cast<long>(run.count) - 1) +
                        " (" + std::to_string(run.count) + ")";
        } else {
            end = r + 1;
            run.bytes = m.bytes;
            run.label = m.name;
        }
        runs.push_back(std::move(run));
        r = end;
    }
    return runs;
}

nlohmann::ordered_json planDiffToJson(const PlanDiff &diff)
{
    using json = nlohmann::ordered_json;
    json j;
    j["identical"] = diff.identical();
    j["moved_bytes"] = diff.movedBytes;
    j["unchanged_tensors"] = diff.unchangedTensors;
    j["moves"] = json::array();
    for (const auto &m : diff.moves)
        j["moves"].push_back({{"name", m.name}, {"tensor", m.tensor}, {"from", json(m.from.toJson())}, {"to", json(m.to.toJson())},
                              {"bytes", m.bytes}});
    j["keys_only_in_a"] = diff.keysOnlyInA;
    j["keys_only_in_b"] = diff.keysOnlyInB;
    j["devices"] = json::array();
    for (const auto &d : diff.devices)
        j["devices"].push_back({{"device", json(d.device.toJson())}, {"bytes_before", d.bytesBefore}, {"bytes_after", d.bytesAfter},
                                {"change", d.change()}});
    j["notes"] = diff.notes;
    auto speed = [](const std::optional<PredictedSpeed> &s) {
        if (!s)
            return json();
        return json{{"prefill_seconds", s->prefillSeconds < 0 ? json() : json(s->prefillSeconds)},
                    {"decode_seconds_per_token", s->decodeSecondsPerToken < 0 ? json() : json(s->decodeSecondsPerToken)}};
    };
    j["predicted"] = {{"a", speed(diff.speedA)}, {"b", speed(diff.speedB)}};
    j["summary"] = diffSummary(diff);
    return j;
}

} // namespace mizan::planner
