// Strategy::Optimal: the device map with the least predicted time per token (cost.h) under the
// budgets left after pins and headroom.
//
// The model runs as a sequence of units (each no-split module, and each module with weights outside
// them), as the runtime executes it. A unit resident on a GPU costs its compute there; one kept in
// RAM or on disk is brought to the execution device (the first GPU) for every token, which adds its
// transfer. So the choice is which units stay on GPUs, then which of the rest stay in RAM:
//   1. GPUs: dynamic programming over the units in execution order, GPUs taken in index order (so
//      each GPU holds a contiguous run of the units it keeps), state = (current GPU, room used on it
//      in buckets of 1/Q of its budget), value = the time saved against keeping the unit in RAM.
//      Sizes are rounded up to whole buckets, so the result never exceeds a budget; the loss
//      against the exact optimum is at most one bucket per unit on each GPU.
//   2. RAM: a 0/1 knapsack of the units left over, value = the time saved against disk.
//   3. The rest: disk.
// Offloaded units are staged on the execution device: the largest of them must fit there beside what
// it keeps, so its room is reduced by that much and the choice repeated until the
// reserve covers what is offloaded. Tied units go where the first of them goes.
#include "cost.h"
#include "plan_p.h"
#include "steps_p.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace mizan::planner::detail {

namespace {

struct Unit {
    std::string key;          // module or tensor name (the map key)
    std::vector<std::string> restKeys; // a no-split module holding pinned parts (policies): the keys of the rest
    double bytes = 0;         // as loaded
    double streamed = 0;      // weights read per token (embeddings: one row, not counted)
    int modules = 0;          // modules with weights
    int leader = -1;          // a tied unit: the unit whose device it follows
    std::vector<Device> forbidden;
    // The rest of a block whose experts policies put on the CPU: kept on a GPU, the block computes
    // them on the CPU (cost.h); kept off the GPUs, the whole block, experts too, is brought in.
    double cpuExpertsBytes = 0;    // their weights, as loaded
    double cpuExpertsRouted = 0;   // of those, read per token on the CPU (the routed experts)
    int cpuExpertsModules = 0;     // their modules with weights
};

double ownBytes(const ModuleTree &tree, int id, const SizeTable &sizes)
{
    double b = 0;
    const Module &m = tree.module(id);
    for (std::size_t i = 0; i < m.params.size() + m.buffers.size(); ++i) {
        const Tensor &t = i < m.params.size() ? m.params[i] : m.buffers[i - m.params.size()];
        const std::string name = tree.tensorName(id, t);
        b += sizes.ofKey(name, resolveOrNone(tree, name));
    }
    return b;
}

bool hasWeights(const Module &m)
{
    return !m.params.empty() || !m.buffers.empty();
}

} // namespace

DeviceMap optimalAssignment(const ModuleTree &tree, const PlanOptions &options, const SizeTable &sizes, const accel::Memory &memory,
                            const Pins &pins, const std::vector<std::vector<std::string>> &tiedGroups,
                            std::vector<std::pair<Device, std::int64_t>> &reserveAt)
{
    const SpeedModel speeds = options.speeds.value_or(assumedSpeedModel());
    // ---- the units ----
    std::vector<int> pinnedRoot(static_cast<std::size_t>(tree.size()), 0);
    for (const auto &p : pins.list)
        if (!p.forbid)
            if (auto t = tree.resolveKey(p.module); t && !t->isTensor())
                pinnedRoot[static_cast<std::size_t>(t->module)] = 1;
    // Policies may pin parts of a no-split module: the rest of it is one unit (as plan() keeps it).
    std::unordered_set<std::string> placedNames;
    std::vector<char> holdsPinned(static_cast<std::size_t>(tree.size()), 0); // strictly above a placing pin
    for (const auto &p : pins.list) {
        if (p.forbid)
            continue;
        placedNames.insert(p.module);
        if (auto t = tree.resolveKey(p.module))
            for (int a = t->isTensor() ? t->module : tree.module(t->module).parent; a >= 0; a = tree.module(a).parent)
                holdsPinned[static_cast<std::size_t>(a)] = 1;
    }
    auto restKeys = [&](int block) {
        std::vector<std::string> keys;
        auto walk = [&](auto &&self, int id) -> void {
            const Module &m = tree.module(id);
            for (const auto &t : m.params)
                if (std::string n = tree.tensorName(id, t); !placedNames.count(n))
                    keys.push_back(std::move(n));
            for (int c : m.children) {
                const std::string &n = tree.module(c).name;
                if (placedNames.count(n))
                    continue;
                if (holdsPinned[static_cast<std::size_t>(c)])
                    self(self, c);
                else
                    keys.push_back(n);
            }
            for (const auto &t : m.buffers)
                if (std::string n = tree.tensorName(id, t); !placedNames.count(n))
                    keys.push_back(std::move(n));
        };
        walk(walk, block);
        return keys;
    };
    std::vector<Unit> units;
    std::unordered_map<int, int> unitOfModule; // module id -> unit (for the units' subtrees)
    const ExecutionSteps execution = executionSteps(tree, options.noSplitClasses);
    // Pinned: a module a pin places, and everything under it.
    std::vector<char> pinned(static_cast<std::size_t>(tree.size()), 0);
    for (int id : execution.preorder) {
        const int parent = tree.module(id).parent;
        pinned[static_cast<std::size_t>(id)] = pinnedRoot[static_cast<std::size_t>(id)] || (parent >= 0 && pinned[static_cast<std::size_t>(parent)]);
    }
    // Experts modules that policies place on the CPU.
    std::vector<char> cpuExperts(static_cast<std::size_t>(tree.size()), 0);
    for (const auto &p : pins.list)
        if (!p.forbid && p.device.kind == DeviceKind::Cpu)
            if (auto t = tree.resolveKey(p.module); t && !t->isTensor() && tree.module(t->module).localName == "experts")
                cpuExperts[static_cast<std::size_t>(t->module)] = 1;
    const int expertsPerToken = Workload{}.expertsPerToken;
    for (const auto &step : execution.steps) {
        const int id = step.module;
        const Module &m = tree.module(id);
        if (pinned[static_cast<std::size_t>(id)])
            continue;
        if (step.whole && holdsPinned[static_cast<std::size_t>(id)]) {
            // Policies pinned parts of this no-split module: the rest of it is one unit.
            Unit u;
            u.key = m.name;
            u.restKeys = restKeys(id);
            if (u.restKeys.empty())
                continue; // pinned whole, part by part
            for (const auto &k : u.restKeys)
                u.bytes += sizes.ofKey(k, resolveOrNone(tree, k));
            u.modules = 1;
            u.streamed = u.bytes;
            for (std::size_t i = step.first; i < step.end; ++i) {
                const int inner = execution.preorder[i];
                unitOfModule[inner] = static_cast<int>(units.size());
                if (!cpuExperts[static_cast<std::size_t>(inner)])
                    continue;
                const Module &em = tree.module(inner);
                const std::int64_t count = em.params.empty() ? static_cast<std::int64_t>(em.children.size())
                                           : (em.params.front().shape.empty() ? 1 : em.params.front().shape.front());
                const double routed = expertsPerToken > 0 && count > 0 ? std::min(1.0, expertsPerToken / static_cast<double>(count)) : 1.0;
                const double bytes = sizes.module[static_cast<std::size_t>(inner)];
                u.cpuExpertsBytes += bytes;
                u.cpuExpertsRouted += bytes * routed;
                u.cpuExpertsModules += std::max<int>(1, static_cast<int>(em.children.size()));
            }
            units.push_back(std::move(u));
            continue;
        }
        if (step.whole) {
            Unit u;
            u.key = m.name;
            u.bytes = sizes.module[static_cast<std::size_t>(id)];
            for (std::size_t i = step.first; i < step.end; ++i) {
                const int inner = execution.preorder[i];
                const Module &im = tree.module(inner);
                unitOfModule[inner] = static_cast<int>(units.size());
                if (hasWeights(im)) {
                    u.modules += 1;
                    if (!isEmbeddingClass(im.className))
                        u.streamed += ownBytes(tree, inner, sizes);
                }
            }
            units.push_back(std::move(u));
            continue;
        }
        bool childWeights = false;
        for (int c : m.children)
            childWeights = childWeights || sizes.module[static_cast<std::size_t>(c)] > 0;
        if (!childWeights) {
            Unit u;
            u.key = m.name;
            u.bytes = sizes.module[static_cast<std::size_t>(id)];
            u.modules = 1;
            u.streamed = isEmbeddingClass(m.className) ? 0 : u.bytes;
            unitOfModule[id] = static_cast<int>(units.size());
            units.push_back(std::move(u));
        } else {
            // Own tensors of a module whose children also hold weights: one key per tensor.
            for (std::size_t i = 0; i < m.params.size() + m.buffers.size(); ++i) {
                const Tensor &t = i < m.params.size() ? m.params[i] : m.buffers[i - m.params.size()];
                Unit u;
                u.key = tree.tensorName(id, t);
                u.bytes = sizes.ofKey(u.key, resolveOrNone(tree, u.key));
                u.modules = 1;
                u.streamed = u.bytes;
                units.push_back(std::move(u));
            }
        }
    }
    // Forbidden devices.
    for (const auto &p : pins.list) {
        if (!p.forbid)
            continue;
        const auto t = tree.resolveKey(p.module);
        if (!t)
            continue;
        for (std::size_t u = 0; u < units.size(); ++u) {
            const auto ut = tree.resolveKey(units[u].key);
            if (ut && (tree.isWithin(ut->module, t->module) || tree.isWithin(t->module, ut->module)))
                units[u].forbidden.push_back(p.device);
        }
    }
    // Tied units follow the first of their group.
    for (const auto &group : tiedGroups) {
        int leader = -1;
        for (const auto &name : group) {
            const auto t = tree.resolveKey(name);
            if (!t)
                continue;
            const auto it = unitOfModule.find(t->module);
            if (it == unitOfModule.end())
                continue;
            if (leader < 0 || it->second < leader)
                leader = it->second;
        }
        if (leader < 0)
            continue;
        for (const auto &name : group) {
            const auto t = tree.resolveKey(name);
            if (!t)
                continue;
            const auto it = unitOfModule.find(t->module);
            if (it != unitOfModule.end() && it->second != leader && units[static_cast<std::size_t>(it->second)].leader < 0) {
                Unit &f = units[static_cast<std::size_t>(it->second)];
                f.leader = leader;
                // The tied tensor is counted once: the follower adds what else it holds.
                units[static_cast<std::size_t>(leader)].bytes += f.bytes;
                units[static_cast<std::size_t>(leader)].streamed += f.streamed;
                units[static_cast<std::size_t>(leader)].modules += f.modules;
                units[static_cast<std::size_t>(leader)].forbidden.insert(units[static_cast<std::size_t>(leader)].forbidden.end(),
                                                                          f.forbidden.begin(), f.forbidden.end());
            }
        }
    }

    // ---- devices and costs ----
    std::vector<std::pair<Device, double>> gpus;
    double cpuBudget = -1; // -1: no CPU budget (nothing may stay in RAM)
    for (const auto &[d, b] : memory) {
        if (d.isGpu() && b > 0)
            gpus.emplace_back(d, b);
        else if (d.kind == DeviceKind::Cpu)
            cpuBudget = std::max(0.0, b);
    }
    const std::optional<Device> main = gpus.empty() ? std::nullopt : std::optional<Device>(gpus.front().first);
    auto computeOn = [&](const Unit &u, const Device &d) {
        const ComputeSpeed &c = (d.isGpu() && !speeds.speedOf(d).simulated) ? speeds.speedOf(d).compute : speeds.cpu.compute;
        return c.moduleOverhead * u.modules + (c.weightBandwidth > 0 ? u.streamed / c.weightBandwidth : 0);
    };
    auto rate = [](double bytes, double bw) { return bw > 0 ? bytes / bw : 0; };
    auto costCpu = [&](const Unit &u) {
        if (!main)
            return computeOn(u, Device::cpu());
        const DeviceSpeed &s = speeds.speedOf(*main);
        auto link = [&](double bytes) {
            return s.simulated ? std::max(rate(bytes, speeds.memcpyBandwidth), rate(bytes, s.hostLink)) : rate(bytes, s.hostLink);
        };
        double experts = 0;
        if (u.cpuExpertsBytes > 0) {
            // Off the GPUs, the block's CPU experts come in with it and compute on the execution
            // device, instead of computing on the CPU as they do beside a rest kept on a GPU.
            const ComputeSpeed &c = s.simulated ? speeds.cpu.compute : s.compute;
            const ComputeSpeed &cpu = speeds.cpu.compute;
            const double broughtIn = link(u.cpuExpertsBytes) + c.moduleOverhead * u.cpuExpertsModules + rate(u.cpuExpertsBytes, c.weightBandwidth);
            const double onCpu = cpu.moduleOverhead * u.cpuExpertsModules + rate(u.cpuExpertsRouted, cpu.weightBandwidth);
            experts = broughtIn - onCpu;
        }
        return link(u.bytes) + computeOn(u, *main) + experts;
    };
    auto costDisk = [&](const Unit &u) { return costCpu(u) + rate(u.bytes, speeds.diskBandwidth); };
    auto allowed = [](const Unit &u, const Device &d) { return std::find(u.forbidden.begin(), u.forbidden.end(), d) == u.forbidden.end(); };

    std::vector<int> order; // the units that choose (followers go with their leader)
    for (std::size_t u = 0; u < units.size(); ++u)
        if (units[u].leader < 0)
            order.push_back(static_cast<int>(u));
    const std::size_t n = order.size();
    std::vector<std::optional<Device>> chosen(units.size());

    // ---- 1. GPUs, with the staging reserve on the execution device ----
    const std::size_t G = gpus.size();
    double reserve = 0;
    struct Table {
        std::unique_ptr<std::uint32_t[]> data_;
        std::size_t size_ = 0;
        std::uint32_t *data() { return data_.get(); }
        std::size_t size() const { return size_; }
        void reset(std::uint32_t *p, std::size_t n) { data_.reset(p); size_ = n; }
    } fromTable;
    for (int round = 0; round < 6 && G > 0; ++round) {
        const std::size_t Q = std::clamp<std::size_t>(static_cast<std::size_t>(4e7 / std::max<double>(1.0, double(n) * double(G) * double(G))), 16, 1024);
        std::vector<double> capacity(G);
        for (std::size_t g = 0; g < G; ++g)
            capacity[g] = std::max(0.0, gpus[g].second - (g == 0 ? reserve : 0));
        auto bucketsOf = [&](const Unit &u, std::size_t g) -> std::size_t {
            if (capacity[g] <= 0)
                return Q + 1;
            const double w = std::ceil(u.bytes / (capacity[g] / static_cast<double>(Q)) - 1e-9);
            return w > static_cast<double>(Q) ? Q + 1 : static_cast<std::size_t>(std::max(0.0, w));
        };
        const double minusInf = -std::numeric_limits<double>::infinity();
        const std::size_t states = G * (Q + 1);
        std::vector<double> value(states, minusInf), next(states);
        // from[i][state] = previous state, its top bit set when unit i went on a GPU (clear: the
        // same state, the unit stays off the GPUs). Only states reached at step i are written and
        // read back, so the table needs no clearing between rounds.
        constexpr std::uint32_t onGpuBit = 0x80000000u;
        if (fromTable.size() < n * states)
            fromTable.reset(new std::uint32_t[n * states], n * states);
        std::uint32_t *from = fromTable.data();
        value[0] = 0;
        std::vector<std::size_t> width(G);
        for (std::size_t i = 0; i < n; ++i) {
            const Unit &u = units[static_cast<std::size_t>(order[i])];
            std::uint32_t *fromI = from + i * states;
            std::fill(next.begin(), next.end(), minusInf);
            const double off = costCpu(u);
            for (std::size_t h = 0; h < G; ++h)
                width[h] = allowed(u, gpus[h].first) ? bucketsOf(u, h) : Q + 1;
            // Moving on to GPU h starts it empty: the best state on any earlier GPU leads there
            // (a running maximum over the GPUs before h), so each state is visited once.
            double bestBefore = minusInf;
            std::size_t bestBeforeState = 0;
            for (std::size_t g = 0; g < G; ++g) {
                const std::size_t w = width[g];
                if (bestBefore != minusInf && w <= Q) {
                    const std::size_t to = g * (Q + 1) + w;
                    const double v = bestBefore + off - computeOn(u, gpus[g].first);
                    if (v > next[to]) {
                        next[to] = v;
                        fromI[to] = static_cast<std::uint32_t>(bestBeforeState) | onGpuBit;
                    }
                }
                const double gain = w <= Q ? off - computeOn(u, gpus[g].first) : 0;
                for (std::size_t q = 0; q <= Q; ++q) {
                    const std::size_t s = g * (Q + 1) + q;
                    const double v = value[s];
                    if (v == minusInf)
                        continue;
                    if (v > next[s]) { // stays off the GPUs
                        next[s] = v;
                        fromI[s] = static_cast<std::uint32_t>(s);
                    }
                    if (w <= Q && q + w <= Q) { // on this GPU, after what it holds
                        const std::size_t to = s + w;
                        if (v + gain > next[to]) {
                            next[to] = v + gain;
                            fromI[to] = static_cast<std::uint32_t>(s) | onGpuBit;
                        }
                    }
                    if (v > bestBefore) {
                        bestBefore = v;
                        bestBeforeState = s;
                    }
                }
            }
            value.swap(next);
        }
        std::size_t best = 0;
        for (std::size_t s = 1; s < states; ++s)
            if (value[s] > value[best])
                best = s;
        std::fill(chosen.begin(), chosen.end(), std::nullopt);
        for (std::size_t i = n; i-- > 0;) {
            const std::uint32_t f = from[i * states + best];
            if (f & onGpuBit)
                chosen[static_cast<std::size_t>(order[i])] = gpus[best / (Q + 1)].first;
            best = f & ~onGpuBit;
        }
        double largest = 0;
        for (int u : order)
            if (!chosen[static_cast<std::size_t>(u)])
                largest = std::max(largest, units[static_cast<std::size_t>(u)].bytes);
        // Room to bring the largest offloaded unit in (a prefetch that finds no more room waits
        // for its turn in the runtime, as Accelerate's own reserve of one largest layer assumes).
        const double needed = largest;
        if (needed <= reserve + 0.5)
            break;
        reserve = needed;
    }
    if (G > 0 && reserve > 0)
        reserveAt.emplace_back(gpus.front().first, static_cast<std::int64_t>(std::ceil(reserve)));

    // ---- 2. RAM ----
    std::vector<int> rest;
    for (int u : order)
        if (!chosen[static_cast<std::size_t>(u)] && allowed(units[static_cast<std::size_t>(u)], Device::cpu()))
            rest.push_back(u);
    if (cpuBudget > 0 && !rest.empty()) {
        const std::size_t Q = std::clamp<std::size_t>(static_cast<std::size_t>(4e7 / double(rest.size())), 16, 4096);
        const double bucket = cpuBudget / static_cast<double>(Q);
        std::vector<double> value(Q + 1, -1);
        std::vector<std::uint8_t> take(rest.size() * (Q + 1), 0);
        value[0] = 0;
        for (std::size_t i = 0; i < rest.size(); ++i) {
            const Unit &u = units[static_cast<std::size_t>(rest[i])];
            const double w = std::ceil(u.bytes / bucket - 1e-9);
            if (w > static_cast<double>(Q))
                continue;
            const std::size_t wi = static_cast<std::size_t>(std::max(0.0, w));
            const double gain = costDisk(u) - costCpu(u) + 1e-12 * u.bytes; // ties: keep the larger in RAM
            for (std::size_t q = Q + 1; q-- > wi;) {
                if (value[q - wi] < 0)
                    continue;
                if (value[q - wi] + gain > value[q]) {
                    value[q] = value[q - wi] + gain;
                    take[i * (Q + 1) + q] = 1;
                }
            }
        }
        std::size_t q = static_cast<std::size_t>(std::max_element(value.begin(), value.end()) - value.begin());
        for (std::size_t i = rest.size(); i-- > 0;) {
            if (!take[i * (Q + 1) + q])
                continue;
            chosen[static_cast<std::size_t>(rest[i])] = Device::cpu();
            const double w = std::ceil(units[static_cast<std::size_t>(rest[i])].bytes / bucket - 1e-9);
            q -= static_cast<std::size_t>(std::max(0.0, w));
        }
    }

    // ---- 3. disk; the map ----
    DeviceMap map;
    map.reserve(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) {
        const int lead = units[u].leader >= 0 ? units[u].leader : static_cast<int>(u);
        const Device d = chosen[static_cast<std::size_t>(lead)].value_or(Device::disk());
        if (units[u].restKeys.empty())
            map.emplace_back(units[u].key, d);
        else
            for (const auto &k : units[u].restKeys)
                map.emplace_back(k, d);
    }
    return map;
}

} // namespace mizan::planner::detail
