#include "cost.h"

#include "error.h"
#include "steps_p.h"
#include "text_p.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace mizan::planner {

const DeviceSpeed &SpeedModel::speedOf(const Device &device) const
{
    if (device.isGpu()) {
        for (const auto &g : gpus)
            if (g.device == device)
                return g;
        return assumedGpu;
    }
    return cpu;
}

SpeedModel assumedSpeedModel()
{
    SpeedModel m;
    m.cpu.device = Device::cpu();
    // A desktop CPU: about 20 GB/s of weights through a batch-1 linear layer, 0.5 TFLOP/s float32.
    m.cpu.compute = {20e9, 0.5e12, 30e-6};
    m.cpu.source = "assumed";
    m.assumedGpu.device = Device::gpu(0);
    // A PCIe 4.0 x16 data-centre or high-end desktop GPU.
    m.assumedGpu.compute = {1.5e12, 100e12, 20e-6};
    m.assumedGpu.hostLink = 20e9;
    m.assumedGpu.source = "assumed";
    m.memcpyBandwidth = 10e9;
    m.pageCacheBandwidth = 8e9;
    m.diskBandwidth = 2e9; // an NVMe SSD
    m.pageCacheBytes = 0;
    m.convertBandwidth = 4e9;
    m.prefetchHandoff = 30e-6; // starting a thread, waking one: tens of microseconds
    m.notes.push_back("speeds assumed (no calibration, no hardware profile numbers)");
    return m;
}

// ---- JSON ----

namespace {

nlohmann::ordered_json computeJson(const ComputeSpeed &c)
{
    return {{"weight_bandwidth", c.weightBandwidth}, {"flops", c.flops}, {"module_overhead_s", c.moduleOverhead}};
}

nlohmann::ordered_json deviceJson(const DeviceSpeed &d)
{
    nlohmann::ordered_json j;
    j["device"] = d.device.toJson();
    j["compute"] = computeJson(d.compute);
    if (d.device.isGpu()) {
        j["host_link"] = d.hostLink;
        j["simulated"] = d.simulated;
    }
    j["source"] = d.source;
    return j;
}

[[noreturn]] void badField(const std::string &file, const std::string &field, const std::string &what)
{
    throw Error(ErrorKind::InvalidHeader, file, "speed model: \"" + field + "\" " + what);
}

double number(const nlohmann::json &j, const char *key, double fallback, const std::string &file, const std::string &where)
{
    const auto it = j.find(key);
    if (it == j.end())
        return fallback;
    if (!it->is_number())
        badField(file, where + key, "must be a number");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < 0)
        badField(file, where + key, "must be a finite number >= 0");
    return v;
}

ComputeSpeed computeFrom(const nlohmann::json &j, ComputeSpeed base, const std::string &file, const std::string &where)
{
    if (!j.is_object())
        badField(file, where, "must be an object");
    base.weightBandwidth = number(j, "weight_bandwidth", base.weightBandwidth, file, where + ".");
    base.flops = number(j, "flops", base.flops, file, where + ".");
    base.moduleOverhead = number(j, "module_overhead_s", base.moduleOverhead, file, where + ".");
    return base;
}

DeviceSpeed deviceFrom(const nlohmann::json &j, DeviceSpeed base, const std::string &file, const std::string &where)
{
    if (!j.is_object())
        badField(file, where, "must be an object");
    if (auto it = j.find("device"); it != j.end()) {
        try {
            base.device = Device::fromJson(*it);
        } catch (const Error &e) {
            badField(file, where + ".device", e.message());
        }
    }
    if (auto it = j.find("compute"); it != j.end())
        base.compute = computeFrom(*it, base.compute, file, where + ".compute");
    base.hostLink = number(j, "host_link", base.hostLink, file, where + ".");
    if (auto it = j.find("simulated"); it != j.end()) {
        if (!it->is_boolean())
            badField(file, where + ".simulated", "must be true or false");
        base.simulated = it->get<bool>();
    }
    if (auto it = j.find("source"); it != j.end()) {
        if (!it->is_string())
            badField(file, where + ".source", "must be a string");
        base.source = it->get<std::string>();
    }
    return base;
}

} // namespace

nlohmann::ordered_json speedModelToJson(const SpeedModel &m)
{
    nlohmann::ordered_json j;
    j["cpu"] = deviceJson(m.cpu);
    j["gpus"] = nlohmann::ordered_json::array();
    for (const auto &g : m.gpus)
        j["gpus"].push_back(deviceJson(g));
    j["assumed_gpu"] = deviceJson(m.assumedGpu);
    j["memcpy_bandwidth"] = m.memcpyBandwidth;
    j["page_cache_bandwidth"] = m.pageCacheBandwidth;
    j["disk_bandwidth"] = m.diskBandwidth;
    j["page_cache_bytes"] = m.pageCacheBytes;
    j["convert_bandwidth"] = m.convertBandwidth;
    j["cpu_compute_dtype"] = torchName(m.cpuComputeDtype);
    j["serial_link"] = m.serialLink;
    j["prefetch_handoff_s"] = m.prefetchHandoff;
    j["notes"] = m.notes;
    return j;
}

SpeedModel speedModelFromJson(const nlohmann::json &j, SpeedModel m, const std::string &file)
{
    if (!j.is_object())
        throw Error(ErrorKind::InvalidHeader, file, "speed model: expected a JSON object");
    if (auto it = j.find("cpu"); it != j.end())
        m.cpu = deviceFrom(*it, m.cpu, file, "cpu");
    m.cpu.device = Device::cpu();
    if (auto it = j.find("gpus"); it != j.end()) {
        if (!it->is_array())
            badField(file, "gpus", "must be a list");
        m.gpus.clear();
        for (std::size_t i = 0; i < it->size(); ++i) {
            DeviceSpeed g = deviceFrom((*it)[i], m.assumedGpu, file, "gpus[" + std::to_string(i) + "]");
            if (!g.device.isGpu())
                badField(file, "gpus[" + std::to_string(i) + "].device", "must be a GPU index");
            m.gpus.push_back(std::move(g));
        }
    }
    if (auto it = j.find("assumed_gpu"); it != j.end())
        m.assumedGpu = deviceFrom(*it, m.assumedGpu, file, "assumed_gpu");
    m.memcpyBandwidth = number(j, "memcpy_bandwidth", m.memcpyBandwidth, file, "");
    m.pageCacheBandwidth = number(j, "page_cache_bandwidth", m.pageCacheBandwidth, file, "");
    m.diskBandwidth = number(j, "disk_bandwidth", m.diskBandwidth, file, "");
    m.pageCacheBytes = static_cast<std::int64_t>(number(j, "page_cache_bytes", static_cast<double>(m.pageCacheBytes), file, ""));
    m.convertBandwidth = number(j, "convert_bandwidth", m.convertBandwidth, file, "");
    m.prefetchHandoff = number(j, "prefetch_handoff_s", m.prefetchHandoff, file, "");
    if (auto it = j.find("cpu_compute_dtype"); it != j.end()) {
        if (!it->is_string())
            badField(file, "cpu_compute_dtype", "must be a dtype name");
        const auto dtype = dtypeFromTorch(it->get<std::string>());
        if (!dtype)
            badField(file, "cpu_compute_dtype", "is not a torch dtype name (\"float32\", \"bfloat16\")");
        m.cpuComputeDtype = *dtype;
    }
    if (auto it = j.find("serial_link"); it != j.end()) {
        if (!it->is_boolean())
            badField(file, "serial_link", "must be true or false");
        m.serialLink = it->get<bool>();
    }
    if (auto it = j.find("notes"); it != j.end()) {
        if (!it->is_array())
            badField(file, "notes", "must be a list of strings");
        m.notes.clear();
        for (const auto &n : *it) {
            if (!n.is_string())
                badField(file, "notes", "must be a list of strings");
            m.notes.push_back(n.get<std::string>());
        }
    }
    return m;
}

// ---- prediction ----

namespace {

struct Weight {
    int module = -1;
    const Tensor *tensor = nullptr;
    Device home;
    bool embedding = false; // read one row per token, not streamed
    int experts = -1;       // inside a block's experts (module named "experts"): its index in Step::experts
};

// The experts module of a mixture-of-experts block inside a step.
struct Experts {
    int module = -1;
    int count = 1;           // experts: the leading dimension of stacked weights, else the children
    bool stacked = false;    // one tensor per projection for all experts (transformers v5), not a module each
    std::int64_t hidden = 0; // the hidden size: the last dimension of its first weight
    int weightedModules = 0;
};

struct Step {
    std::string module;
    std::vector<Weight> weights;
    int weightedModules = 0; // modules with weights (for the fixed cost), those of `experts` included
    std::vector<Experts> experts;
    // After the last no-split block (the final norm, the head): the prompt's last position only,
    // as the runtime computes them (only its logits give the next token).
    bool lastPositionOnly = false;
};

bool counts(const Tensor &t)
{
    return !t.buffer || t.persistent;
}

// Device of every module (from its own key or an ancestor's) and of tensor keys.
struct Homes {
    std::vector<std::optional<Device>> module;
    std::map<std::pair<int, const Tensor *>, Device> tensor;
};

Homes resolveHomes(const ModuleTree &tree, const DeviceMap &map)
{
    Homes homes;
    homes.module.assign(static_cast<std::size_t>(tree.size()), std::nullopt);
    KeyResolver resolve(tree);
    for (const auto &[key, device] : map) {
        const auto target = resolve(key);
        if (!target)
            throw Error(ErrorKind::InvalidDeviceMap, {}, "the device map names \"" + key + "\", which the model does not have");
        if (target->isTensor())
            homes.tensor[{target->module, &tree.tensor(*target)}] = device;
        else
            homes.module[static_cast<std::size_t>(target->module)] = device;
    }
    for (int id : tree.preorder()) {
        const int parent = tree.module(id).parent;
        if (!homes.module[static_cast<std::size_t>(id)] && parent >= 0)
            homes.module[static_cast<std::size_t>(id)] = homes.module[static_cast<std::size_t>(parent)];
    }
    return homes;
}

std::vector<Step> stepsOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options)
{
    const Homes homes = resolveHomes(tree, map);
    std::vector<Step> steps;
    auto addWeights = [&](Step &step, int id) {
        const Module &m = tree.module(id);
        bool any = false;
        auto add = [&](const std::vector<Tensor> &list) {
            for (const auto &t : list) {
                if (!counts(t))
                    continue;
                Weight w;
                w.module = id;
                w.tensor = &t;
                if (auto it = homes.tensor.find({id, &t}); it != homes.tensor.end())
                    w.home = it->second;
                else if (homes.module[static_cast<std::size_t>(id)])
                    w.home = *homes.module[static_cast<std::size_t>(id)];
                else
                    throw Error(ErrorKind::InvalidDeviceMap, {},
                                "the device map does not cover \"" + tree.tensorName(id, t) + "\": add a key for it or for a module that contains it");
                w.embedding = detail::isEmbeddingClass(m.className);
                step.weights.push_back(w);
                any = true;
            }
        };
        add(m.params);
        add(m.buffers);
        if (any)
            ++step.weightedModules;
    };
    const detail::ExecutionSteps order = detail::executionSteps(tree, options.noSplitClasses);
    std::size_t afterBlocks = 0; // the first of `steps` past the last whole (no-split) one
    for (const auto &st : order.steps) {
        Step step{tree.module(st.module).name, {}, 0, {}};
        int expertsEnd = -1; // the pre-order end of the experts module being walked
        for (std::size_t i = st.first; i < st.end; ++i) {
            const int id = order.preorder[i];
            const Module &m = tree.module(id);
            if (st.whole && static_cast<int>(i) >= expertsEnd && m.localName == "experts" && id != st.module) {
                std::size_t end = i + 1;
                while (end < st.end && tree.isWithin(order.preorder[end], id))
                    ++end;
                expertsEnd = static_cast<int>(end);
                Experts e;
                e.module = id;
                e.stacked = !m.params.empty();
                e.count = m.params.empty() ? std::max<int>(1, static_cast<int>(m.children.size()))
                                           : static_cast<int>(std::max<std::int64_t>(1, m.params.front().shape.empty() ? 1 : m.params.front().shape.front()));
                for (std::size_t j = i; j < end && e.hidden == 0; ++j)
                    for (const auto &t : tree.module(order.preorder[j]).params)
                        if (t.shape.size() >= 2) {
                            e.hidden = t.shape.back();
                            break;
                        }
                step.experts.push_back(e);
            }
            const std::size_t before = step.weights.size();
            const int weighted = step.weightedModules;
            addWeights(step, id);
            if (static_cast<int>(i) < expertsEnd) {
                for (std::size_t w = before; w < step.weights.size(); ++w)
                    step.weights[w].experts = static_cast<int>(step.experts.size()) - 1;
                step.experts.back().weightedModules += step.weightedModules - weighted;
            }
        }
        if (!step.weights.empty()) {
            steps.push_back(std::move(step));
            if (st.whole)
                afterBlocks = steps.size();
        }
    }
    if (afterBlocks > 0)
        for (std::size_t i = afterBlocks; i < steps.size(); ++i)
            steps[i].lastPositionOnly = true;
    return steps;
}

double seconds(double bytes, double bandwidth)
{
    return bytes > 0 && bandwidth > 0 ? bytes / bandwidth : 0;
}

std::int64_t sizeOf(DType d, std::int64_t numel)
{
    return storageBytes(d, numel);
}

// The time line of the worker and the prefetch threads over `forwards` forwards of `costs`, the
// first one with `prefill` compute times. Returns the end of each forward. A prefetch starts
// `handoff` after its launch (its thread has to run), and a worker that had to wait for it
// resumes `handoff` after it ends (it has to wake). A prefetch's copy by the CPU (hostCopySeconds,
// at the start of its transfer) slows the step computing meanwhile by as long as they overlap.
std::vector<double> simulate(const std::vector<StepCost> &costs, int prefetch, bool serialLink, double handoff, int forwards)
{
    struct Copy {
        double start, seconds;
    };
    std::vector<Copy> copies; // the CPU copies of the prefetches launched this iteration
    const std::int64_t n = static_cast<std::int64_t>(costs.size());
    const std::int64_t total = n * forwards;
    std::vector<double> transferEnd(static_cast<std::size_t>(total), -1);
    std::vector<double> ends;
    double computeEnd = 0, linkFree = 0;
    std::int64_t nextLaunch = 1;
    for (std::int64_t g = 0; g < total; ++g) {
        const double iterStart = computeEnd;
        copies.clear();
        for (std::int64_t a = std::max(g + 1, nextLaunch); a <= std::min<std::int64_t>(g + prefetch, total - 1); ++a) {
            nextLaunch = a + 1;
            const StepCost &ahead = costs[static_cast<std::size_t>(a % n)];
            if (ahead.offloadedBytes == 0 && ahead.transferSeconds == 0)
                continue;
            const double start = (serialLink ? std::max(iterStart, linkFree) : iterStart) + handoff;
            transferEnd[static_cast<std::size_t>(a)] = start + ahead.transferSeconds;
            if (ahead.hostCopySeconds > 0)
                copies.push_back({start, ahead.hostCopySeconds});
            if (serialLink)
                linkFree = transferEnd[static_cast<std::size_t>(a)];
        }
        const StepCost &step = costs[static_cast<std::size_t>(g % n)];
        double computeStart = iterStart;
        if (const double ready = transferEnd[static_cast<std::size_t>(g)]; ready >= 0) {
            computeStart = ready > iterStart ? ready + handoff : iterStart;
        } else if (step.offloadedBytes > 0 || step.transferSeconds > 0) {
            const double start = serialLink ? std::max(iterStart, linkFree) : iterStart;
            computeStart = start + step.transferSeconds;
            if (serialLink)
                linkFree = computeStart;
        }
        double compute = g < n ? step.prefillComputeSeconds : step.computeSeconds;
        for (const Copy &copy : copies)
            compute += std::max(0.0, std::min(copy.start + copy.seconds, computeStart + compute) - std::max(copy.start, computeStart));
        computeEnd = computeStart + compute;
        if ((g + 1) % n == 0)
            ends.push_back(computeEnd);
    }
    return ends;
}

} // namespace

namespace detail {

std::string fixed(double v, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string duration(double s)
{
    if (s >= 1)
        return fixed(s, 2) + " s";
    if (s >= 1e-3)
        return fixed(s * 1e3, s >= 0.1 ? 0 : 1) + " ms";
    return fixed(s * 1e6, 0) + " us";
}

} // namespace detail

using detail::duration;
using detail::fixed;

Prediction predict(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options, const SpeedModel &speeds,
                   const Workload &workload)
{
    Prediction p;
    const std::vector<Step> steps = stepsOf(tree, map, options);
    // The map's execution device: its first GPU, else the CPU.
    std::optional<Device> main;
    for (const auto &entry : map)
        if (entry.second.isGpu() && (!main || entry.second < *main))
            main = entry.second;
    const Device mainDevice = main.value_or(Device::cpu());
    const double tokens = static_cast<double>(std::max<std::int64_t>(1, workload.promptTokens));

    // Disk bytes read per token: all from the page cache when they all fit there.
    // The RAM that "cpu" weights take is not there for the page cache.
    std::int64_t diskBytes = 0, cpuBytes = 0;
    for (const auto &s : steps)
        for (const auto &w : s.weights) {
            if (w.home.kind == DeviceKind::Disk)
                diskBytes += sizeOf(w.tensor->dtype, w.tensor->numel());
            else if (w.home.kind == DeviceKind::Cpu)
                cpuBytes += sizeOf(w.tensor->dtype, w.tensor->numel());
        }
    const std::int64_t cache = std::max<std::int64_t>(0, speeds.pageCacheBytes - cpuBytes);
    const bool diskCached = diskBytes <= cache;

    std::vector<bool> assumed(64, false);
    double convertedDiskExperts = 0; // bytes of experts on disk converted on every use
    std::optional<DType> convertedFrom;
    for (const auto &s : steps) {
        StepCost c;
        c.module = s.module;
        c.exec = mainDevice;
        for (const auto &w : s.weights)
            if (w.home.isGpu()) {
                c.exec = w.home;
                break;
            }
        const DeviceSpeed &speed = speeds.speedOf(c.exec);
        const bool cpuLike = !c.exec.isGpu() || speed.simulated;
        if (c.exec.isGpu() && &speed == &speeds.assumedGpu && c.exec.index >= 0 && c.exec.index < 64 && !assumed[static_cast<std::size_t>(c.exec.index)]) {
            assumed[static_cast<std::size_t>(c.exec.index)] = true;
            p.notes.push_back(c.exec.label() + ": no speed known (no calibration or profile numbers): " + speeds.assumedGpu.source +
                              " numbers of a PCIe 4.0 GPU");
        }
        // Experts whose weights all live in host memory or on disk while the step runs on a GPU
        // compute on the CPU (the runtime's WeightSource::runPart): per token they read only the
        // experts the token is routed to; the prompt's forward reads them all. On disk they are
        // read in place from the mmapped file: the routed experts' pages, or, when their dtype
        // must be converted and they are stacked in one tensor, all of it.
        // Only when the rest of the step lives on that GPU (a block split by experts-on-cpu): a
        // whole block mapped to "cpu" is brought in, as Accelerate does.
        bool execHolds = false;
        for (const auto &w : s.weights)
            execHolds = execHolds || w.home == c.exec;
        std::vector<bool> onCpu(s.experts.size(), c.exec.isGpu() && execHolds);
        for (const auto &w : s.weights)
            if (w.experts >= 0 && !w.home.isOffload())
                onCpu[static_cast<std::size_t>(w.experts)] = false;
        double cpuStreamed = 0, cpuRouted = 0, cpuFlops = 0;
        double cpuDiskRead = 0, cpuDiskReadAll = 0; // seconds per token, and for the prompt (every expert)
        int cpuModules = 0;
        double hopBytes = 0;
        for (std::size_t e = 0; e < s.experts.size(); ++e)
            if (onCpu[e]) {
                cpuModules += s.experts[e].weightedModules;
                hopBytes += 2.0 * static_cast<double>(s.experts[e].hidden) * 4; // float32 there and back
            }
        // The share of an experts module's weights a token reads: the forward computes only the
        // experts it is routed to, wherever they compute.
        auto routedShare = [&](const Experts &e) {
            return workload.expertsPerToken > 0 ? std::min(1.0, workload.expertsPerToken / static_cast<double>(e.count)) : 1.0;
        };
        double streamed = 0, streamedAll = 0, flops = 0, transfer = 0; // streamedAll: every expert (the prompt)
        double hostCopy = 0; // of transfer: copied by the CPU into a simulated GPU
        std::int64_t moved = 0;
        for (const auto &w : s.weights) {
            const std::int64_t numel = w.tensor->numel();
            const DType loaded = loadedDtype(tree, w.module, *w.tensor, options);
            if (w.experts >= 0 && onCpu[static_cast<std::size_t>(w.experts)]) {
                const Experts &e = s.experts[static_cast<std::size_t>(w.experts)];
                const double routed = routedShare(e);
                const DType cpuDtype = isFloating(loaded) ? speeds.cpuComputeDtype : loaded;
                cpuStreamed += static_cast<double>(sizeOf(cpuDtype, numel));
                cpuRouted += static_cast<double>(sizeOf(cpuDtype, numel)) * routed;
                cpuFlops += 2.0 * static_cast<double>(numel) * routed;
                c.cpuComputedBytes += sizeOf(w.tensor->dtype, numel);
                if (w.home.kind == DeviceKind::Disk) {
                    const double stored = static_cast<double>(sizeOf(w.tensor->dtype, numel));
                    const bool converts = isFloating(w.tensor->dtype) && w.tensor->dtype != cpuDtype;
                    const double read = converts && e.stacked ? stored : stored * routed;
                    if (converts) {
                        convertedDiskExperts += read;
                        convertedFrom = w.tensor->dtype;
                    }
                    c.fromDisk = true;
                    if (!diskCached)
                        p.bytesFromDiskPerToken += static_cast<std::int64_t>(read);
                    const double fromDisk = diskCached ? 0 : seconds(read, speeds.diskBandwidth);
                    const double fromDiskAll = diskCached ? 0 : seconds(stored, speeds.diskBandwidth);
                    cpuDiskRead += fromDisk + (converts ? seconds(read, speeds.convertBandwidth) : 0);
                    cpuDiskReadAll += fromDiskAll + (converts ? seconds(stored, speeds.convertBandwidth) : 0);
                } else {
                    p.cpuExpertsPlannedBytes += sizeOf(loaded, numel);
                    p.cpuExpertsHeldBytes += sizeOf(cpuDtype, numel);
                }
                continue;
            }
            DType exec = loaded;
            if (isFloating(loaded))
                exec = cpuLike ? speeds.cpuComputeDtype : speeds.gpuComputeDtype.value_or(loaded);
            const std::int64_t execBytes = sizeOf(exec, numel);
            if (!w.embedding) {
                const double share = w.experts >= 0 ? routedShare(s.experts[static_cast<std::size_t>(w.experts)]) : 1.0;
                streamed += static_cast<double>(execBytes) * share;
                streamedAll += static_cast<double>(execBytes);
                flops += 2.0 * static_cast<double>(numel) * share;
            }
            if (w.home == c.exec) {
                c.residentBytes += execBytes;
                continue;
            }
            const DType stored = w.tensor->dtype;
            const std::int64_t storedBytes = sizeOf(stored, numel);
            c.offloadedBytes += storedBytes;
            const bool converts = isFloating(stored) && stored != exec;
            if (w.home.kind == DeviceKind::Disk) {
                c.fromDisk = true;
                const double read = diskCached ? 0 : seconds(static_cast<double>(storedBytes), speeds.diskBandwidth);
                if (!diskCached)
                    p.bytesFromDiskPerToken += storedBytes;
                if (!c.exec.isGpu()) {
                    // Used in place from the page cache; converted when the dtypes differ.
                    transfer += read + (converts ? seconds(static_cast<double>(storedBytes), speeds.convertBandwidth) : 0);
                    if (converts)
                        moved += execBytes;
                } else if (speed.simulated) {
                    const double copy = converts ? seconds(static_cast<double>(storedBytes), speeds.convertBandwidth)
                                                 : (diskCached ? seconds(static_cast<double>(storedBytes), speeds.pageCacheBandwidth) : 0);
                    hostCopy += copy;
                    transfer += std::max(read + copy, seconds(static_cast<double>(execBytes), speed.hostLink));
                    moved += execBytes;
                } else {
                    transfer += read + seconds(static_cast<double>(execBytes), speed.hostLink);
                    moved += execBytes;
                }
            } else {
                // From host memory (kept in the compute dtype) or from another GPU.
                if (speed.simulated || !c.exec.isGpu()) {
                    const double copy = seconds(static_cast<double>(execBytes), speeds.memcpyBandwidth);
                    if (speed.simulated)
                        hostCopy += copy;
                    transfer += std::max(copy, seconds(static_cast<double>(execBytes), speed.hostLink));
                } else {
                    transfer += seconds(static_cast<double>(execBytes), speed.hostLink);
                }
                moved += execBytes;
            }
        }
        const ComputeSpeed &cs = cpuLike ? speeds.cpu.compute : speed.compute;
        const double overhead = cs.moduleOverhead * s.weightedModules;
        c.computeSeconds = overhead + seconds(streamed, cs.weightBandwidth);
        const double stepTokens = s.lastPositionOnly ? 1.0 : tokens;
        c.prefillComputeSeconds = overhead + std::max(seconds(streamedAll, cs.weightBandwidth), seconds(flops * stepTokens, cs.flops));
        if (cpuModules > 0 || cpuStreamed > 0) {
            const ComputeSpeed &cpu = speeds.cpu.compute;
            const double cpuOverhead = cpu.moduleOverhead * cpuModules;
            const double gpuOverheadSaved = cs.moduleOverhead * cpuModules;
            // The hidden states go to the CPU and come back: host link (memcpy for a simulated GPU).
            const double hop = speed.simulated ? std::max(seconds(hopBytes, speeds.memcpyBandwidth), seconds(hopBytes, speed.hostLink))
                                               : seconds(hopBytes, speed.hostLink);
            c.cpuComputeSeconds = cpuOverhead + seconds(cpuRouted, cpu.weightBandwidth) + hop + cpuDiskRead;
            c.cpuPrefillComputeSeconds = cpuOverhead + std::max(seconds(cpuStreamed, cpu.weightBandwidth), seconds(cpuFlops * tokens, cpu.flops)) +
                                         hop * tokens + cpuDiskReadAll;
            c.computeSeconds += c.cpuComputeSeconds - gpuOverheadSaved;
            c.prefillComputeSeconds += c.cpuPrefillComputeSeconds - gpuOverheadSaved;
        }
        c.transferSeconds = transfer;
        c.hostCopySeconds = hostCopy; // at most transfer: each copy is within its step's transfer
        c.bytesMoved = moved;
        p.computeSecondsPerToken += c.computeSeconds;
        if (c.cpuComputedBytes > 0) {
            ++p.cpuExpertSteps;
            p.cpuComputeSecondsPerToken += c.cpuComputeSeconds;
        }
        p.transferSecondsPerToken += c.transferSeconds;
        p.bytesMovedPerToken += moved;
        if (c.offloadedBytes > 0) {
            ++p.offloadedSteps;
            if (c.fromDisk)
                ++p.diskSteps;
        }
        p.steps.push_back(std::move(c));
    }
    if (p.steps.empty())
        return p;
    // Forwards 0 (the prompt) to 3 are read; one more is simulated so that the last one read also
    // launches the prefetches of the next, as every token but the last does.
    const int forwards = 4;
    const auto withPrefetch = simulate(p.steps, std::max(0, workload.prefetch), speeds.serialLink, speeds.prefetchHandoff, forwards + 1);
    const auto without = simulate(p.steps, 0, speeds.serialLink, speeds.prefetchHandoff, forwards + 1);
    p.prefillSeconds = withPrefetch.front();
    p.decodeSeconds = withPrefetch[forwards - 1] - withPrefetch[forwards - 2];
    p.decodeSecondsNoPrefetch = without[forwards - 1] - without[forwards - 2];
    p.decodeSecondsResident = p.computeSecondsPerToken;
    p.transferShare = p.decodeSeconds > 0 ? std::max(0.0, (p.decodeSeconds - p.computeSecondsPerToken) / p.decodeSeconds) : 0;
    if (diskBytes > 0 && !diskCached)
        p.notes.push_back(formatBytes(static_cast<double>(diskBytes)) + " on disk do not fit in the page cache (" +
                          formatBytes(static_cast<double>(cache)) + "): read from disk for every token");
    if (p.cpuExpertsHeldBytes > p.cpuExpertsPlannedBytes)
        p.notes.push_back("the experts computed on the CPU are held there in " + std::string(torchName(speeds.cpuComputeDtype)) + ": " +
                          formatBytes(static_cast<double>(p.cpuExpertsHeldBytes)) + " of RAM where the plan counts " +
                          formatBytes(static_cast<double>(p.cpuExpertsPlannedBytes)) +
                          " (run with --cpu-dtype bfloat16 to hold them in 2 bytes per weight)");
    if (convertedDiskExperts > 0)
        p.notes.push_back("the experts read from disk are converted from " + std::string(torchName(*convertedFrom)) + " to " +
                          torchName(speeds.cpuComputeDtype) + " on every use: " + formatBytes(convertedDiskExperts) +
                          " per token (" +
                          (*convertedFrom == DType::BF16 ? std::string("with `mizan-cli run --cpu-dtype bfloat16` they are")
                                                         : std::string("stored in bfloat16 and run with --cpu-dtype bfloat16, they would be")) +
                          " used in place, reading only the routed experts; or map them to a GPU or \"cpu\")");
    p.notes.push_back("attention over the KV cache is not counted (short contexts)");
    return p;
}

std::string summarize(const Prediction &p)
{
    if (p.steps.empty())
        return "nothing to run";
    std::string s = "about " + duration(p.decodeSeconds) + " per token (" + fixed(p.tokensPerSecond(), p.tokensPerSecond() >= 100 ? 0 : 1) +
                    " tokens/s), prefill " + duration(p.prefillSeconds);
    if (p.cpuExpertSteps > 0)
        s += "; the experts of " + std::to_string(p.cpuExpertSteps) + (p.cpuExpertSteps == 1 ? " block" : " blocks") +
             " computed on the CPU (" + duration(p.cpuComputeSecondsPerToken) + " per token)";
    if (p.offloadedSteps == 0)
        return s + (p.cpuExpertSteps > 0 ? "; no weight moved" : "; every weight resident");
    s += "; " + std::to_string(p.offloadedSteps) + (p.offloadedSteps == 1 ? " step" : " steps") + " offloaded";
    if (p.diskSteps > 0)
        s += " (" + std::to_string(p.diskSteps) + " from disk)";
    s += ", " + formatBytes(static_cast<double>(p.bytesMovedPerToken)) + " moved per token: about " + fixed(p.slowdown(), 1) +
         "x slower than with every weight resident";
    if (p.decodeSecondsNoPrefetch > p.decodeSeconds * 1.005)
        s += " (" + duration(p.decodeSecondsNoPrefetch) + " without prefetch)";
    return s;
}

nlohmann::ordered_json predictionToJson(const Prediction &p)
{
    nlohmann::ordered_json j;
    j["prefill_s"] = p.prefillSeconds;
    j["decode_s_per_token"] = p.decodeSeconds;
    j["decode_s_per_token_no_prefetch"] = p.decodeSecondsNoPrefetch;
    j["decode_s_per_token_resident"] = p.decodeSecondsResident;
    j["tokens_per_s"] = p.tokensPerSecond();
    j["compute_s_per_token"] = p.computeSecondsPerToken;
    j["transfer_s_per_token"] = p.transferSecondsPerToken;
    j["bytes_moved_per_token"] = p.bytesMovedPerToken;
    j["bytes_from_disk_per_token"] = p.bytesFromDiskPerToken;
    j["transfer_share"] = p.transferShare;
    j["offloaded_steps"] = p.offloadedSteps;
    j["disk_steps"] = p.diskSteps;
    j["cpu_expert_steps"] = p.cpuExpertSteps;
    j["cpu_experts_planned_bytes"] = p.cpuExpertsPlannedBytes;
    j["cpu_experts_held_bytes"] = p.cpuExpertsHeldBytes;
    j["cpu_compute_s_per_token"] = p.cpuComputeSecondsPerToken;
    j["slowdown"] = p.slowdown();
    j["summary"] = summarize(p);
    j["notes"] = p.notes;
    return j;
}

} // namespace mizan::planner
