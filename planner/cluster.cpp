#include "cluster.h"

#include "error.h"
#include "jsonfile.h"
#include "steps_p.h"
#include "text_p.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

namespace mizan::planner {

using detail::duration;
using detail::fixed;

// ---- host devices --------------------------------------------------------------------------------

std::string HostDevice::toString() const
{
    return host + ":" + device.toString();
}

bool isValidHostName(std::string_view name)
{
    if (name.empty() || name.size() > 64)
        return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

HostDevice HostDevice::fromString(std::string_view text)
{
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        throw Error(ErrorKind::InvalidArgument, {},
                    "\"" + std::string(text) + "\" names no host: a cluster device is HOST:DEVICE, e.g. node1:0, node1:cpu, node1:disk");
    const std::string_view host = text.substr(0, colon);
    if (!isValidHostName(host))
        throw Error(ErrorKind::InvalidArgument, {},
                    "\"" + std::string(host) + "\" is not a host name (letters, digits, '-', '_' and '.', at most 64)");
    return {std::string(host), Device::fromString(text.substr(colon + 1))};
}

// ---- stages --------------------------------------------------------------------------------------

namespace {

// The execution steps of `tree` and which stage part each belongs to: the index of its decoder
// block (whole steps, in order), or the block it follows (-1 before the first block).
struct StepLayout {
    detail::ExecutionSteps steps;
    std::vector<int> block;       // per step: its block index, or the last block before it (-1: none)
    std::vector<bool> isBlock;
    int blocks = 0;
    std::vector<std::int64_t> tensorsUnder; // per module of the whole model: tensors at and below it
};

std::vector<std::int64_t> tensorsUnder(const ModuleTree &tree);

StepLayout layoutOf(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses)
{
    StepLayout l;
    l.steps = detail::executionSteps(tree, noSplitClasses);
    int current = -1;
    for (const auto &step : l.steps.steps) {
        if (step.whole)
            current = l.blocks++;
        l.block.push_back(current);
        l.isBlock.push_back(step.whole);
    }
    l.tensorsUnder = tensorsUnder(tree);
    return l;
}

// Is step i part of the stage [first, end) (+ embeddings / head)?
bool inStage(const StepLayout &l, std::size_t i, int first, int end, bool embeddings, bool head)
{
    const int b = l.block[i];
    if (b < 0)
        return embeddings;
    if (l.isBlock[i])
        return b >= first && b < end;
    if (b == l.blocks - 1) // after the last block
        return head;
    return b >= first && b < end; // between blocks: with the block before
}

ModuleTree buildStageTree(const ModuleTree &tree, const StepLayout &l, int first, int end, bool embeddings, bool head)
{
    // Modules and tensors the stage holds: (full module id, own tensors too?)
    std::vector<char> whole(static_cast<std::size_t>(tree.size()), 0);  // the module with all it holds
    std::vector<char> own(static_cast<std::size_t>(tree.size()), 0);    // its own tensors only
    for (std::size_t i = 0; i < l.steps.steps.size(); ++i) {
        if (!inStage(l, i, first, end, embeddings, head))
            continue;
        const auto &step = l.steps.steps[i];
        for (std::size_t k = step.first; k < step.end; ++k)
            (step.whole ? whole : own)[static_cast<std::size_t>(l.steps.preorder[k])] = 1;
    }
    // Tie groups: kept where two of their tensors are in the stage.
    std::map<int, int> tieCount;
    for (int id = 0; id < tree.size(); ++id)
        if (whole[static_cast<std::size_t>(id)] || own[static_cast<std::size_t>(id)]) {
            const Module &m = tree.module(id);
            for (const auto *list : {&m.params, &m.buffers})
                for (const Tensor &t : *list)
                    if (t.tie >= 0)
                        ++tieCount[t.tie];
        }
    ModuleTree out;
    std::vector<int> mapped(static_cast<std::size_t>(tree.size()), -1);
    mapped[ModuleTree::kRoot] = ModuleTree::kRoot;
    out.module(ModuleTree::kRoot).className = tree.module(ModuleTree::kRoot).className;
    auto ensure = [&](auto &&self, int id) -> int {
        if (mapped[static_cast<std::size_t>(id)] >= 0)
            return mapped[static_cast<std::size_t>(id)];
        const Module &m = tree.module(id);
        const int parent = self(self, m.parent);
        const int made = out.addChild(parent, m.localName, m.className);
        mapped[static_cast<std::size_t>(id)] = made;
        return made;
    };
    for (const int id : l.steps.preorder) {
        const auto u = static_cast<std::size_t>(id);
        if (!whole[u] && !own[u])
            continue;
        const int made = ensure(ensure, id);
        const Module &m = tree.module(id);
        for (const auto *list : {&m.params, &m.buffers})
            for (Tensor t : *list) {
                if (t.tie >= 0 && tieCount[t.tie] < 2)
                    t.tie = -1;
                out.addTensor(made, std::move(t));
            }
    }
    return out;
}

// Tensors under every module (own and descendants'), index = module id.
std::vector<std::int64_t> tensorsUnder(const ModuleTree &tree)
{
    std::vector<std::int64_t> n(static_cast<std::size_t>(tree.size()), 0);
    const auto order = tree.preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const Module &m = tree.module(*it);
        n[static_cast<std::size_t>(*it)] += static_cast<std::int64_t>(m.params.size() + m.buffers.size());
        if (m.parent >= 0)
            n[static_cast<std::size_t>(m.parent)] += n[static_cast<std::size_t>(*it)];
    }
    return n;
}

// The stage plan's map over the whole model's names: a key naming a module that holds more in the
// whole model than in the stage (an ancestor such as "model", or "" when all fitted on one device)
// is replaced by the stage's parts of it (its own tensors, then its children, recursively).
DeviceMap rekeyForModel(const ModuleTree &full, const std::vector<std::int64_t> &inFull, const ModuleTree &stage, const DeviceMap &map)
{
    const auto inStage = tensorsUnder(stage);
    DeviceMap out;
    auto add = [&](auto &&self, int id, const Device &device) -> void {
        const Module &m = stage.module(id);
        const int f = full.find(m.name);
        if (f >= 0 && inFull[static_cast<std::size_t>(f)] == inStage[static_cast<std::size_t>(id)]) {
            out.emplace_back(m.name, device);
            return;
        }
        for (const auto *list : {&m.params, &m.buffers})
            for (const Tensor &t : *list)
                out.emplace_back(stage.tensorName(id, t), device);
        for (const int c : m.children)
            self(self, c, device);
    };
    for (const auto &[key, device] : map) {
        const auto target = stage.resolveKey(key);
        if (target && !target->isTensor())
            add(add, target->module, device);
        else
            out.emplace_back(key, device);
    }
    return out;
}

std::int64_t budgetTotal(const PlanOptions &options)
{
    std::int64_t total = 0;
    for (const auto &[device, bytes] : options.maxMemory)
        if (device.kind != DeviceKind::Disk && bytes > 0)
            total += bytes;
    return total;
}

// The width of the first embedding table (a 2-D weight of the first step), or 0.
std::int64_t embeddingWidth(const ModuleTree &tree, const StepLayout &l)
{
    for (std::size_t i = 0; i < l.steps.steps.size(); ++i) {
        if (l.block[i] >= 0)
            break;
        const auto &step = l.steps.steps[i];
        for (std::size_t k = step.first; k < step.end; ++k) {
            const Module &m = tree.module(l.steps.preorder[k]);
            if (!detail::isEmbeddingClass(m.className) && !m.className.empty())
                continue;
            for (const Tensor &t : m.params)
                if (t.shape.size() == 2)
                    return t.shape[1];
        }
    }
    return 0;
}

struct StageInput {
    int first = 0, end = 0;
    bool embeddings = false, head = false;
};

// The stage planned and predicted; with `forModel` its map rekeyed over the whole model's names
// (what a cluster plan keeps; the split's trial stages need the prediction only).
ClusterStage planStage(const ModuleTree &tree, const StepLayout &l, const ClusterHost &host, const StageInput &in,
                       const Workload &workload, bool forModel)
{
    ClusterStage s;
    s.host = host.name;
    s.address = host.address;
    s.firstBlock = in.first;
    s.endBlock = in.end;
    s.embeddings = in.embeddings;
    s.head = in.head;
    s.tree = buildStageTree(tree, l, in.first, in.end, in.embeddings, in.head);
    s.options = host.options;
    // Pins name modules of the whole model: each host keeps those of its own modules.
    s.options.pins.clear();
    for (const Pin &p : host.options.pins)
        if (s.tree.resolveKey(p.module))
            s.options.pins.push_back(p);
    if (!s.options.speeds)
        s.options.speeds = host.speeds;
    s.options.prefetch = workload.prefetch;
    s.plan = plan(s.tree, s.options);
    s.prediction = predict(s.tree, s.plan.deviceMap, s.options, host.speeds, workload);
    s.bytes = aggregateSizes(s.tree, s.options).totalBytes();
    if (!forModel)
        return s;
    s.plan.deviceMap = rekeyForModel(tree, l.tensorsUnder, s.tree, s.plan.deviceMap);
    for (DeviceUsage &u : s.plan.usage) // the keys of the map as rekeyed
        u.moduleCount = static_cast<int>(std::count_if(s.plan.deviceMap.begin(), s.plan.deviceMap.end(),
                                                       [&](const auto &entry) { return entry.second == u.device; }));
    return s;
}

StageInput stageFor(int host, int hosts, int first, int end)
{
    return {first, end, host == 0, host == hosts - 1};
}

// A split's figure of merit: the time per token, then the fullest host (its weights over its budget).
struct Merit {
    double seconds = std::numeric_limits<double>::infinity();
    double fill = std::numeric_limits<double>::infinity();
};
bool better(const Merit &a, const Merit &b)
{
    const double tolerance = 1e-9 * std::max(std::abs(a.seconds), std::abs(b.seconds));
    if (a.seconds < b.seconds - tolerance)
        return true;
    if (a.seconds > b.seconds + tolerance)
        return false;
    return a.fill < b.fill;
}

// At most this many block counts are planned per host while choosing the split; beyond, the costs
// in between are interpolated (a model of more blocks than this is still split, approximately).
constexpr int kMaxSamplesPerHost = 256;

std::vector<int> chooseSplit(const ModuleTree &tree, const StepLayout &l, const Cluster &cluster, const Workload &workload,
                             std::vector<std::string> &notes)
{
    const int hosts = static_cast<int>(cluster.hosts.size());
    const int blocks = l.blocks;
    const int maxCount = blocks - (hosts - 1);
    // cost[h][k]: host h running k blocks, at the first, a middle or the last position.
    std::vector<std::vector<Merit>> cost(static_cast<std::size_t>(hosts), std::vector<Merit>(static_cast<std::size_t>(maxCount + 1)));
    const int step = std::max(1, (maxCount + kMaxSamplesPerHost - 1) / kMaxSamplesPerHost);
    if (step > 1)
        notes.push_back("the split was chosen from every " + std::to_string(step) + "th block count (" + std::to_string(blocks) +
                        " blocks), the counts between interpolated");
    for (int h = 0; h < hosts; ++h) {
        // A host like an earlier one at the same kind of position costs the same.
        const auto role = [&](int i) { return (i == 0 ? 1 : 0) + (i == hosts - 1 ? 2 : 0); };
        int same = -1;
        for (int e = 0; e < h && same < 0; ++e)
            if (role(e) == role(h) && cluster.hosts[static_cast<std::size_t>(e)].options == cluster.hosts[static_cast<std::size_t>(h)].options &&
                cluster.hosts[static_cast<std::size_t>(e)].speeds == cluster.hosts[static_cast<std::size_t>(h)].speeds)
                same = e;
        if (same >= 0) {
            cost[static_cast<std::size_t>(h)] = cost[static_cast<std::size_t>(same)];
            continue;
        }
        const ClusterHost &host = cluster.hosts[static_cast<std::size_t>(h)];
        const double budget = static_cast<double>(std::max<std::int64_t>(1, budgetTotal(host.options)));
        std::vector<int> sampled;
        for (int k = 1; k <= maxCount; k += step)
            sampled.push_back(k);
        if (sampled.back() != maxCount)
            sampled.push_back(maxCount);
        auto &row = cost[static_cast<std::size_t>(h)];
        for (const int k : sampled) {
            // Representative blocks: the first host runs [0, k), the last [blocks - k, blocks), one in
            // the middle [1, 1 + k) (every family the runtime runs has blocks of one shape).
            const int first = h == 0 ? 0 : h == hosts - 1 ? blocks - k : 1;
            const ClusterStage s = planStage(tree, l, host, stageFor(h, hosts, first, first + k), workload, false);
            row[static_cast<std::size_t>(k)] = {s.prediction.decodeSeconds, static_cast<double>(s.bytes) / budget};
        }
        for (std::size_t i = 0; i + 1 < sampled.size(); ++i)
            for (int k = sampled[i] + 1; k < sampled[i + 1]; ++k) {
                const double t = static_cast<double>(k - sampled[i]) / (sampled[i + 1] - sampled[i]);
                const Merit &a = row[static_cast<std::size_t>(sampled[i])], &b = row[static_cast<std::size_t>(sampled[i + 1])];
                row[static_cast<std::size_t>(k)] = {a.seconds + t * (b.seconds - a.seconds), a.fill + t * (b.fill - a.fill)};
            }
    }
    // best[h][n]: hosts 0..h running n blocks; from[h][n]: host h's count.
    std::vector<std::vector<Merit>> best(static_cast<std::size_t>(hosts), std::vector<Merit>(static_cast<std::size_t>(blocks + 1)));
    std::vector<std::vector<int>> from(static_cast<std::size_t>(hosts), std::vector<int>(static_cast<std::size_t>(blocks + 1), 0));
    for (int k = 1; k <= maxCount; ++k) {
        best[0][static_cast<std::size_t>(k)] = cost[0][static_cast<std::size_t>(k)];
        from[0][static_cast<std::size_t>(k)] = k;
    }
    for (int h = 1; h < hosts; ++h)
        for (int n = h + 1; n <= blocks; ++n)
            for (int k = 1; k <= std::min(maxCount, n - h); ++k) {
                const Merit &prev = best[static_cast<std::size_t>(h - 1)][static_cast<std::size_t>(n - k)];
                const Merit &mine = cost[static_cast<std::size_t>(h)][static_cast<std::size_t>(k)];
                const Merit merit{prev.seconds + mine.seconds, std::max(prev.fill, mine.fill)};
                if (better(merit, best[static_cast<std::size_t>(h)][static_cast<std::size_t>(n)])) {
                    best[static_cast<std::size_t>(h)][static_cast<std::size_t>(n)] = merit;
                    from[static_cast<std::size_t>(h)][static_cast<std::size_t>(n)] = k;
                }
            }
    std::vector<int> counts(static_cast<std::size_t>(hosts));
    int n = blocks;
    for (int h = hosts - 1; h >= 0; --h) {
        counts[static_cast<std::size_t>(h)] = from[static_cast<std::size_t>(h)][static_cast<std::size_t>(n)];
        n -= counts[static_cast<std::size_t>(h)];
    }
    return counts;
}

} // namespace

std::vector<std::string> pipelineBlocks(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses)
{
    std::vector<std::string> out;
    for (const auto &step : detail::executionSteps(tree, noSplitClasses).steps)
        if (step.whole)
            out.push_back(tree.module(step.module).name);
    return out;
}

ModuleTree stageTree(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses, int firstBlock, int endBlock,
                     bool embeddings, bool head)
{
    return buildStageTree(tree, layoutOf(tree, noSplitClasses), firstBlock, endBlock, embeddings, head);
}

ClusterPlan planCluster(const ModuleTree &tree, const Cluster &cluster, const ClusterOptions &options)
{
    const int hosts = static_cast<int>(cluster.hosts.size());
    if (hosts == 0)
        throw Error(ErrorKind::InvalidArgument, {}, "the cluster has no hosts");
    std::set<std::string> names;
    for (const auto &h : cluster.hosts) {
        if (!isValidHostName(h.name))
            throw Error(ErrorKind::InvalidArgument, {},
                        "\"" + h.name + "\" is not a host name (letters, digits, '-', '_' and '.', at most 64)");
        if (!names.insert(h.name).second)
            throw Error(ErrorKind::InvalidArgument, {}, "the cluster names host \"" + h.name + "\" twice");
        if (h.options.maxMemory.empty())
            throw Error(ErrorKind::InvalidArgument, {}, "host \"" + h.name + "\" has no devices");
    }
    const StepLayout l = layoutOf(tree, cluster.hosts.front().options.noSplitClasses);
    if (l.blocks < hosts)
        throw Error(ErrorKind::InvalidArgument, {},
                    "the model has " + std::to_string(l.blocks) + " decoder block(s) (modules of a no-split class) for " +
                        std::to_string(hosts) + " hosts: every host runs at least one");
    ClusterPlan out;
    out.blocks = l.blocks;
    out.linkBandwidth = cluster.linkBandwidth;
    out.linkLatency = cluster.linkLatency;
    if (out.linkBandwidth <= 0) {
        out.linkBandwidth = 1e9;
        if (hosts > 1)
            out.notes.push_back("link between hosts: no bandwidth given, assumed 1 GB/s");
    }
    out.hiddenBytesPerToken = options.hiddenBytesPerToken;
    if (out.hiddenBytesPerToken <= 0) {
        out.hiddenBytesPerToken = 4 * embeddingWidth(tree, l);
        if (hosts > 1)
            out.notes.push_back("hidden state between hosts: " + std::to_string(out.hiddenBytesPerToken) +
                                " bytes per token (the embedding width in float32)");
    }
    std::vector<int> counts = options.blocksPerHost;
    if (counts.empty()) {
        counts = chooseSplit(tree, l, cluster, options.workload, out.notes);
    } else {
        out.chosenSplit = false;
        int sum = 0;
        bool positive = true;
        for (const int c : counts) {
            sum += c;
            positive = positive && c > 0;
        }
        if (static_cast<int>(counts.size()) != hosts || !positive || sum != l.blocks)
            throw Error(ErrorKind::InvalidArgument, {},
                        "the split gives " + std::to_string(counts.size()) + " stage(s) of " + std::to_string(sum) +
                            " block(s) in all; the cluster has " + std::to_string(hosts) + " host(s) and the model " +
                            std::to_string(l.blocks) + " decoder block(s), at least one per host");
    }
    int first = 0;
    for (int h = 0; h < hosts; ++h) {
        const int count = counts[static_cast<std::size_t>(h)];
        out.stages.push_back(planStage(tree, l, cluster.hosts[static_cast<std::size_t>(h)],
                                       stageFor(h, hosts, first, first + count), options.workload, true));
        first += count;
    }
    const double hop = static_cast<double>(out.hiddenBytesPerToken) / out.linkBandwidth + out.linkLatency;
    // Per decode token: the hidden state crosses every boundary, then the last stage's token goes
    // back to every rank (one small message).
    out.hopSecondsPerToken = hosts > 1 ? (hosts - 1) * hop + out.linkLatency + 8.0 / out.linkBandwidth : 0;
    const double prompt = static_cast<double>(std::max<std::int64_t>(1, options.workload.promptTokens));
    const double prefillHops =
        hosts > 1 ? (hosts - 1) * (prompt * static_cast<double>(out.hiddenBytesPerToken) / out.linkBandwidth + out.linkLatency) + out.linkLatency
                  : 0;
    out.decodeSeconds = out.hopSecondsPerToken;
    out.prefillSeconds = prefillHops;
    for (const auto &s : out.stages) {
        out.decodeSeconds += s.prediction.decodeSeconds;
        out.prefillSeconds += s.prediction.prefillSeconds;
    }
    return out;
}

std::vector<std::pair<std::string, HostDevice>> ClusterPlan::deviceMap() const
{
    std::vector<std::pair<std::string, HostDevice>> out;
    for (const auto &s : stages)
        for (const auto &[key, device] : s.plan.deviceMap)
            out.emplace_back(key, HostDevice{s.host, device});
    return out;
}

namespace {

// Every stage's map together, and the blocks of each (ClusterPlan's and ClusterPlanFile's stages).
template<typename Stages>
DeviceMap mapsOf(const Stages &stages)
{
    DeviceMap out;
    for (const auto &s : stages)
        out.insert(out.end(), s.plan.deviceMap.begin(), s.plan.deviceMap.end());
    return out;
}

template<typename Stages>
std::vector<int> blockCountsOf(const Stages &stages)
{
    std::vector<int> out;
    for (const auto &s : stages)
        out.push_back(s.endBlock - s.firstBlock);
    return out;
}

} // namespace

DeviceMap ClusterPlan::localDeviceMap() const
{
    return mapsOf(stages);
}

std::vector<int> ClusterPlan::blocksPerStage() const
{
    return blockCountsOf(stages);
}

namespace {

std::string blockRange(int first, int end)
{
    if (end - first == 1)
        return "block " + std::to_string(first);
    return "blocks " + std::to_string(first) + "-" + std::to_string(end - 1);
}

} // namespace

std::string stageParts(int firstBlock, int endBlock, bool embeddings, bool head)
{
    return (embeddings ? "embeddings, " : "") + blockRange(firstBlock, endBlock) + (head ? ", head" : "");
}

std::string summarize(const ClusterPlan &plan)
{
    std::string s = std::to_string(plan.stages.size()) + (plan.stages.size() == 1 ? " host" : " hosts") + ", about " +
                    duration(plan.decodeSeconds) + " per token (" +
                    fixed(plan.decodeSeconds > 0 ? 1 / plan.decodeSeconds : 0, 1) + " tokens/s), prefill " + duration(plan.prefillSeconds) + ":";
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
        const auto &st = plan.stages[i];
        s += std::string(i ? "," : "") + " " + st.host + " " + blockRange(st.firstBlock, st.endBlock) + " " + duration(st.prediction.decodeSeconds);
    }
    if (plan.stages.size() > 1)
        s += "; " + std::to_string(plan.stages.size() - 1) + (plan.stages.size() == 2 ? " hop of " : " hops of ") +
             formatBytes(static_cast<double>(plan.hiddenBytesPerToken)) + " per token, " + duration(plan.hopSecondsPerToken);
    return s;
}

nlohmann::ordered_json clusterPlanToJson(const ClusterPlan &plan)
{
    nlohmann::ordered_json j;
    j["blocks"] = plan.blocks;
    j["split_chosen"] = plan.chosenSplit;
    j["link_bandwidth"] = plan.linkBandwidth;
    j["link_latency_s"] = plan.linkLatency;
    j["hidden_bytes_per_token"] = plan.hiddenBytesPerToken;
    j["stages"] = nlohmann::ordered_json::array();
    for (const auto &s : plan.stages) {
        nlohmann::ordered_json st;
        st["host"] = s.host;
        st["address"] = s.address;
        st["first_block"] = s.firstBlock;
        st["end_block"] = s.endBlock;
        st["embeddings"] = s.embeddings;
        st["head"] = s.head;
        st["bytes"] = s.bytes;
        st["device_map"] = deviceMapToJson(s.plan.deviceMap);
        st["predicted"] = predictionToJson(s.prediction);
        j["stages"].push_back(std::move(st));
    }
    nlohmann::ordered_json map = nlohmann::ordered_json::object();
    OrderedObjectIndex members(map);
    for (const auto &[key, device] : plan.deviceMap())
        members[key] = device.toString();
    j["device_map"] = std::move(map);
    j["predicted"] = {{"decode_s_per_token", plan.decodeSeconds},
                      {"tokens_per_s", plan.decodeSeconds > 0 ? 1 / plan.decodeSeconds : 0},
                      {"prefill_s", plan.prefillSeconds},
                      {"hop_s_per_token", plan.hopSecondsPerToken},
                      {"summary", summarize(plan)},
                      {"notes", plan.notes}};
    return j;
}

// ---- the cluster plan file -----------------------------------------------------------------------

DeviceMap ClusterPlanFile::localDeviceMap() const
{
    return mapsOf(stages);
}

std::vector<int> ClusterPlanFile::blocksPerStage() const
{
    return blockCountsOf(stages);
}

const ClusterPlanFile::Stage *ClusterPlanFile::stageOf(std::string_view host) const
{
    for (const auto &s : stages)
        if (s.host == host)
            return &s;
    return nullptr;
}

ClusterPlanFile clusterPlanFileOf(const ClusterPlan &plan, const CheckpointIdentity &checkpoint, const std::string &profile,
                                  const std::vector<std::vector<PlanDevice>> &devices)
{
    ClusterPlanFile f;
    f.checkpoint = checkpoint;
    f.profile = profile;
    f.linkBandwidth = plan.linkBandwidth;
    f.linkLatency = plan.linkLatency;
    f.hiddenBytesPerToken = plan.hiddenBytesPerToken;
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
        const ClusterStage &s = plan.stages[i];
        ClusterPlanFile::Stage st;
        st.host = s.host;
        st.address = s.address;
        st.firstBlock = s.firstBlock;
        st.endBlock = s.endBlock;
        st.embeddings = s.embeddings;
        st.head = s.head;
        st.plan.checkpoint = checkpoint;
        st.plan.options = s.options;
        st.plan.deviceMap = s.plan.deviceMap;
        st.plan.usage = s.plan.usage;
        if (i < devices.size())
            st.plan.devices = devices[i];
        f.stages.push_back(std::move(st));
    }
    return f;
}

bool isClusterPlanJson(const nlohmann::ordered_json &json)
{
    return json.is_object() && json.contains("format") && json["format"] == "mizan-cluster-plan";
}

nlohmann::ordered_json clusterPlanFileToJson(const ClusterPlanFile &file, const ClusterPlan *plan)
{
    nlohmann::ordered_json j;
    j["format"] = "mizan-cluster-plan";
    j["version"] = ClusterPlanFile::kVersion;
    j["checkpoint"] = {{"path", file.checkpoint.path}, {"fingerprint", file.checkpoint.fingerprint},
                       {"total_bytes", file.checkpoint.totalBytes}, {"tensor_count", file.checkpoint.tensorCount}};
    j["profile"] = file.profile;
    j["link"] = {{"bandwidth", file.linkBandwidth}, {"latency_s", file.linkLatency}, {"hidden_bytes_per_token", file.hiddenBytesPerToken}};
    j["stages"] = nlohmann::ordered_json::array();
    nlohmann::ordered_json map = nlohmann::ordered_json::object();
    OrderedObjectIndex members(map);
    for (const auto &s : file.stages) {
        nlohmann::ordered_json st;
        st["host"] = s.host;
        st["address"] = s.address;
        st["first_block"] = s.firstBlock;
        st["end_block"] = s.endBlock;
        st["embeddings"] = s.embeddings;
        st["head"] = s.head;
        st["plan"] = planFileToJson(s.plan);
        if (plan) {
            for (const auto &computed : plan->stages)
                if (computed.host == s.host)
                    st["predicted"] = {{"decode_s_per_token", computed.prediction.decodeSeconds},
                                       {"summary", summarize(computed.prediction)}};
        } else if (!s.predictedSummary.empty()) {
            st["predicted"] = {{"decode_s_per_token", s.predictedDecodeSeconds}, {"summary", s.predictedSummary}};
        }
        j["stages"].push_back(std::move(st));
        for (const auto &[key, device] : s.plan.deviceMap)
            members[key] = HostDevice{s.host, device}.toString();
    }
    j["device_map"] = std::move(map);
    if (plan)
        j["predicted"] = clusterPlanToJson(*plan)["predicted"];
    else if (!file.predictedSummary.empty())
        j["predicted"] = {{"decode_s_per_token", file.predictedDecodeSeconds}, {"summary", file.predictedSummary}};
    return j;
}

namespace {

[[noreturn]] void badCluster(const std::string &file, const std::string &what)
{
    throw Error(ErrorKind::InvalidHeader, file, "cluster plan file: " + what);
}

// `path` by value: callers pass literals, and a reference returned from a call given temporaries is
// one GCC 13 warns about (-Wdangling-reference).
const nlohmann::ordered_json &field(const nlohmann::ordered_json &object, const char *key, std::string_view path, const std::string &file)
{
    if (!object.is_object() || !object.contains(key))
        badCluster(file, "\"" + std::string(path) + "\" is missing");
    return object[key];
}

std::int64_t integerField(const nlohmann::ordered_json &object, const char *key, const std::string &path, const std::string &file,
                          std::int64_t min = 0, std::int64_t max = std::numeric_limits<std::int64_t>::max())
{
    std::string why;
    const auto value = jsonInteger(field(object, key, path, file), min, max, &why);
    if (!value)
        badCluster(file, "\"" + path + "\" must be an integer, not " + why);
    return *value;
}

std::string stringField(const nlohmann::ordered_json &object, const char *key, const std::string &path, const std::string &file)
{
    const auto &v = field(object, key, path, file);
    if (!v.is_string())
        badCluster(file, "\"" + path + "\" must be a string, not " + jsonTypeName(v));
    return v.get<std::string>();
}

bool boolField(const nlohmann::ordered_json &object, const char *key, const std::string &path, const std::string &file)
{
    const auto &v = field(object, key, path, file);
    if (!v.is_boolean())
        badCluster(file, "\"" + path + "\" must be true or false, not " + jsonTypeName(v));
    return v.get<bool>();
}

double numberField(const nlohmann::ordered_json &object, const char *key, const std::string &path, const std::string &file)
{
    const auto &v = field(object, key, path, file);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
        badCluster(file, "\"" + path + "\" must be a number of at least 0, not " + jsonTypeName(v));
    return v.get<double>();
}

// The optional "predicted" object's summary and time per token.
void readPrediction(const nlohmann::ordered_json &object, const std::string &at, const std::string &file, std::string &summary,
                    double &seconds)
{
    if (!object.contains("predicted"))
        return;
    const std::string path = at.empty() ? std::string("predicted") : at + ".predicted";
    const auto &p = object["predicted"];
    if (!p.is_object())
        badCluster(file, "\"" + path + "\" must be an object, not " + jsonTypeName(p));
    if (p.contains("summary"))
        summary = stringField(p, "summary", path + ".summary", file);
    if (p.contains("decode_s_per_token"))
        seconds = numberField(p, "decode_s_per_token", path + ".decode_s_per_token", file);
}

} // namespace

ClusterPlanFile clusterPlanFileFromJson(const nlohmann::ordered_json &j, const std::string &file, const CheckpointIdentity *expected)
{
    if (!isClusterPlanJson(j))
        throw Error(ErrorKind::VersionMismatch, file, "not a Mizan cluster plan file (\"format\" is not \"mizan-cluster-plan\")");
    const std::int64_t version = integerField(j, "version", "version", file, 1, 1 << 20);
    if (version > ClusterPlanFile::kVersion)
        throw Error(ErrorKind::VersionMismatch, file,
                    "this cluster plan file was written by a newer Mizan (format version " + std::to_string(version) +
                        "; this version reads up to " + std::to_string(ClusterPlanFile::kVersion) + "): update Mizan to open it");
    ClusterPlanFile out;
    const auto &c = field(j, "checkpoint", "checkpoint", file);
    out.checkpoint.path = stringField(c, "path", "checkpoint.path", file);
    out.checkpoint.fingerprint = stringField(c, "fingerprint", "checkpoint.fingerprint", file);
    out.checkpoint.totalBytes = integerField(c, "total_bytes", "checkpoint.total_bytes", file);
    out.checkpoint.tensorCount = integerField(c, "tensor_count", "checkpoint.tensor_count", file);
    if (j.contains("profile"))
        out.profile = stringField(j, "profile", "profile", file);
    const auto &link = field(j, "link", "link", file);
    out.linkBandwidth = numberField(link, "bandwidth", "link.bandwidth", file);
    out.linkLatency = numberField(link, "latency_s", "link.latency_s", file);
    out.hiddenBytesPerToken = integerField(link, "hidden_bytes_per_token", "link.hidden_bytes_per_token", file);
    const auto &stages = field(j, "stages", "stages", file);
    if (!stages.is_array() || stages.empty())
        badCluster(file, "\"stages\" must be a non-empty array, not " + jsonTypeName(stages));
    std::set<std::string> hosts;
    int expectedFirst = 0;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        const std::string at = "stages[" + std::to_string(i) + "]";
        const auto &s = stages[i];
        ClusterPlanFile::Stage st;
        st.host = stringField(s, "host", at + ".host", file);
        if (!isValidHostName(st.host))
            badCluster(file, "\"" + at + ".host\" is not a host name (letters, digits, '-', '_' and '.', at most 64)");
        if (!hosts.insert(st.host).second)
            badCluster(file, "host \"" + st.host + "\" has two stages");
        if (s.contains("address"))
            st.address = stringField(s, "address", at + ".address", file);
        constexpr std::int64_t kMaxBlocks = 1 << 24;
        st.firstBlock = static_cast<int>(integerField(s, "first_block", at + ".first_block", file, 0, kMaxBlocks));
        st.endBlock = static_cast<int>(integerField(s, "end_block", at + ".end_block", file, 0, kMaxBlocks));
        if (st.firstBlock != expectedFirst || st.endBlock <= st.firstBlock)
            badCluster(file, "\"" + at + "\" runs blocks [" + std::to_string(st.firstBlock) + ", " + std::to_string(st.endBlock) +
                                 "); the stages must run contiguous, non-empty ranges from block 0 (this one from block " +
                                 std::to_string(expectedFirst) + ")");
        expectedFirst = st.endBlock;
        st.embeddings = boolField(s, "embeddings", at + ".embeddings", file);
        st.head = boolField(s, "head", at + ".head", file);
        if (st.embeddings != (i == 0) || st.head != (i + 1 == stages.size()))
            badCluster(file, "\"" + at + "\": the first stage runs the embeddings and the last the head, no other");
        try {
            st.plan = planFileFromJson(field(s, "plan", at + ".plan", file), file, expected);
        } catch (const Error &e) {
            throw Error(e.kind(), file, "host \"" + st.host + "\"'s plan: " + e.message());
        }
        readPrediction(s, at, file, st.predictedSummary, st.predictedDecodeSeconds);
        out.stages.push_back(std::move(st));
    }
    readPrediction(j, "", file, out.predictedSummary, out.predictedDecodeSeconds);
    if (expected && !out.checkpoint.fingerprint.empty() && out.checkpoint.fingerprint != expected->fingerprint)
        throw Error(ErrorKind::VersionMismatch, file,
                    "this cluster plan was made for another checkpoint (" + out.checkpoint.path + ", fingerprint " +
                        out.checkpoint.fingerprint + "; this one's is " + expected->fingerprint + ")");
    return out;
}

void writeClusterPlanFile(const std::string &path, const ClusterPlanFile &file, const ClusterPlan *plan)
{
    writeFileAtomically(path, clusterPlanFileToJson(file, plan).dump(2, ' ', false, nlohmann::detail::error_handler_t::replace) + "\n");
}

ClusterPlanFile readClusterPlanFile(const std::string &path, const CheckpointIdentity *expected)
{
    return clusterPlanFileFromJson(readJsonFile(path, InputKind::PlanFile), path, expected);
}

} // namespace mizan::planner
