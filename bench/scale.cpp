// bench_scale: how planning and validation grow with the input (issue 12: linear time on huge
// inputs). Each case grows N by 10x steps and prints the time of every stage per step and its
// ratio to the step before, measured side by side in one run. Linear is 10x per step; the target
// is at most 12x (O(N log N) at these sizes); a quadratic stage shows ~100x.
//
//   tensors   a checkpoint with N top-level tensors (no module at all) that must be spread over
//             4 GPUs, the CPU and disk: tree from the tensor names, plan(), validate() of the plan
//   unknown   a device_map.json that covers a small model and also lists N keys the model does
//             not have: the file read back (JSON parse keeping order), then validate() (each
//             unknown key gets an error with a "did you mean" search)
//   layers    a Llama config (405B dimensions) with num_hidden_layers = N / 16 (about 13 modules
//             a layer; the registry builds at most 65,536 layers): config -> module tree, plan() over 8 GPUs + CPU + disk, validate()
//   walks     one pass over the layers case's tree: over the module records, also over every
//             parameter's shape (through the heap), making the tree's flat layout
//             (ModuleTree::flat(), from the numbers its builder recorded), and over the same
//             numbers in that layout
//
// The plan and validate stages start from a tree without its flat layout (dropped before each
// run, untimed), so each pays for making it, as a command that builds a tree and plans it does
// (from the numbers the builder recorded: ModuleTree::layoutRecorded()).
//
// A reference runs first: N names entered in a std::unordered_map and each looked up once, the
// least that any pass keyed by names does. It is linear too, yet on a machine whose caches hold a
// 10k-name table and not a 100k one its time grows far more than 10x per step: every random access
// becomes a trip to memory. Each case's summary prints its worst ratio beside the reference's ratio
// at that same step, and their quotient ("x reference"): near 1 or below means the stage grows no
// faster than one hash lookup per name does on this machine.
//
// Before the steps: the 405B config with 65,536 layers (issue 12's case) on the 8 x H100 profile.
// Usage: bench_scale [largest N, default 1000000] [case: 65536, tensors, unknown, layers or walks; default
// all; the reference runs before any case but 65536] [--default-malloc: glibc's own settings
// instead of mizan-cli's keepFreedMemory()]. Asserts nothing.

#include "models/describe.h"
#include "models/planoptions.h"
#include "models/resources.h"
#include "planner/mapfile.h"
#include "planner/memory.h"
#include "planner/plan.h"
#include "planner/planfile.h"
#include "planner/validate.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

using namespace mizan;
using namespace mizan::planner;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t GiB = std::int64_t(1) << 30;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Fastest of a few runs: 9 under 5 ms, 3 under 50 ms, else 2. `reset` runs untimed before each run
// and frees what the run before made (a stage's result), so that no run pays for destroying the
// last one's result and, freed memory being kept for reuse (keepFreedMemory), every step after its
// first run works in memory already touched, as the small steps do: the first run of a step larger
// than any before faults its pages in, a cost per page that the small steps never show.
double timeMs(const std::function<void()> &f, double expectedMs, const std::function<void()> &reset = {})
{
    const int runs = expectedMs < 5 ? 9 : expectedMs < 50 ? 3 : 2;
    double best = 1e300;
    for (int i = 0; i < runs; ++i) {
        if (reset)
            reset();
        const auto t0 = Clock::now();
        f();
        best = std::min(best, msSince(t0));
    }
    return best;
}

long peakRssMiB()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

struct Step {
    std::int64_t n = 0;
    std::string size; // what n means here (tensors, keys, modules)
    std::vector<double> ms;
};

// The reference's time per N (the first case run), for the summaries.
std::vector<std::pair<std::int64_t, double>> g_reference;

double referenceMs(std::int64_t n)
{
    for (const auto &[rn, ms] : g_reference)
        if (rn == n)
            return ms;
    return 0;
}

// One case: its stages timed per step, ratios to the previous step printed as they come.
class Case {
public:
    // `unit`: what the steps' times are in ("ms"; the walks case's are microseconds).
    Case(std::string name, std::vector<std::string> stages, const std::string &unit = "ms")
        : m_name(std::move(name)), m_stages(std::move(stages)), m_unit(unit)
    {
        std::printf("\n%s\n  %-9s %-22s", m_name.c_str(), "N", "");
        for (const auto &s : m_stages)
            std::printf(" %12s %7s", (s + " " + unit).c_str(), "ratio");
        std::printf("\n");
    }
    void add(Step step)
    {
        std::printf("  %-9lld %-22s", static_cast<long long>(step.n), step.size.c_str());
        for (std::size_t i = 0; i < step.ms.size(); ++i) {
            std::printf(" %12.2f", step.ms[i]);
            if (m_steps.empty() || m_steps.back().ms[i] <= 0)
                std::printf(" %7s", "");
            else
                std::printf(" %6.1fx", step.ms[i] / m_steps.back().ms[i]);
        }
        std::printf("\n");
        std::fflush(stdout);
        m_steps.push_back(std::move(step));
    }
    // The largest ratio per 10x step of each stage among steps whose previous step took at least
    // `floorMs` (shorter times are mostly noise and fixed costs).
    // With the reference measured, also the worst quotient of a step's ratio by the reference's
    // ratio at that step.
    void summary(double floorMs = 1.0) const
    {
        std::printf("  worst ratio per 10x step (steps from %g %s, and the last step):\n", floorMs, m_unit.c_str());
        for (std::size_t i = 0; i < m_stages.size(); ++i) {
            double worst = 0, worstRel = 0, refThere = 0;
            std::size_t relAt = 0;
            for (std::size_t k = 1; k < m_steps.size(); ++k) {
                // Shorter steps are noise, but the last one, the largest N, always counts.
                if (m_steps[k - 1].ms[i] < floorMs && k + 1 != m_steps.size())
                    continue;
                const double ratio = m_steps[k].ms[i] / m_steps[k - 1].ms[i];
                worst = std::max(worst, ratio);
                const double ref = referenceMs(m_steps[k].n), refBefore = referenceMs(m_steps[k - 1].n);
                if (ref > 0 && refBefore > 0 && ratio / (ref / refBefore) > worstRel) {
                    worstRel = ratio / (ref / refBefore);
                    refThere = ref / refBefore;
                    relAt = k;
                }
            }
            std::printf("    %-14s %5.1fx%s", m_stages[i].c_str(), worst, worst > 12.0 ? " [OVER 12x]" : "           ");
            if (relAt)
                std::printf("  against the reference: %.2fx at %lld -> %lld (%.1fx, reference %.1fx)", worstRel,
                            static_cast<long long>(m_steps[relAt - 1].n), static_cast<long long>(m_steps[relAt].n),
                            m_steps[relAt].ms[i] / m_steps[relAt - 1].ms[i], refThere);
            std::printf("\n");
        }
    }
    double last(std::size_t stage) const { return m_steps.empty() ? 0 : m_steps.back().ms[stage]; }

private:
    std::string m_name;
    std::vector<std::string> m_stages;
    std::string m_unit;
    std::vector<Step> m_steps;
};

// A stage slower than this stops its case: the next step would take ~100x longer if quadratic.
constexpr double kGiveUpMs = 20000;

bool tooSlow(const Step &s)
{
    return std::any_of(s.ms.begin(), s.ms.end(), [](double ms) { return ms > kGiveUpMs; });
}

MaxMemory budgets(int gpus, std::int64_t gpuBytes, std::int64_t cpuBytes)
{
    MaxMemory m;
    for (int i = 0; i < gpus; ++i)
        m.emplace_back(Device::gpu(i), gpuBytes);
    m.emplace_back(Device::cpu(), cpuBytes);
    return m;
}

void checkValid(const std::vector<Issue> &issues, const char *what)
{
    if (hasErrors(issues)) {
        std::fprintf(stderr, "%s: the plan does not validate: %s\n", what, issues.front().message().c_str());
        std::exit(1);
    }
}

// ---- reference: N names into a hash table, each looked up once ------------------------------------
void reference(std::int64_t maxN)
{
    Case c("reference: N names (\"model.layers.<i>.mlp.weight\") entered in a std::unordered_map, each looked up once",
           {"hash"});
    for (std::int64_t n = 1000; n <= maxN; n *= 10) {
        Step s{n, std::to_string(n) + " names", {}};
        s.ms.push_back(timeMs([&] {
            std::vector<std::string> names;
            names.reserve(static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i)
                names.push_back("model.layers." + std::to_string(i) + ".mlp.weight");
            std::unordered_map<std::string, std::int64_t> table;
            table.reserve(static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i)
                table.emplace(names[static_cast<std::size_t>(i)], i);
            // Looked up in a scattered order, as keys of a map arrive.
            std::int64_t sum = 0;
            for (std::int64_t i = 0; i < n; ++i)
                sum += table.find(names[static_cast<std::size_t>((i * 7919) % n)])->second;
            if (sum != n * (n - 1) / 2) {
                std::fprintf(stderr, "reference: wrong sum\n");
                std::exit(1);
            }
        }, c.last(0)));
        g_reference.emplace_back(n, s.ms[0]);
        c.add(s);
    }
    c.summary();
}

// ---- tensors: N top-level tensors, 1 KiB each, over 4 GPUs (1/8 each), the CPU (1/4) and disk --
void topLevelTensors(std::int64_t maxN)
{
    Case c("tensors: N top-level tensors (1 KiB each) spread over 4 GPUs + CPU + disk", {"tree", "plan", "validate"});
    for (std::int64_t n = 1000; n <= maxN; n *= 10) {
        std::vector<std::pair<std::string, Tensor>> named;
        named.reserve(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
            Tensor t;
            t.dtype = DType::F16;
            t.shape = {512};
            named.emplace_back("w" + std::to_string(i), t);
        }
        ModuleTree tree;
        Step s{n, std::to_string(n) + " tensors", {}};
        s.ms.push_back(timeMs([&] { tree = ModuleTree::fromTensorNames(named); }, c.last(0), [&] { tree = ModuleTree(); }));
        PlanOptions o;
        o.maxMemory = budgets(4, n * KiB / 8, n * KiB / 4);
        Plan p;
        s.ms.push_back(timeMs([&] { p = plan(tree, o); }, c.last(1), [&] { p = Plan(); tree.dropFlat(); }));
        std::vector<Issue> issues;
        s.ms.push_back(timeMs([&] { issues = validate(tree, p.deviceMap, o); }, c.last(2), [&] { issues.clear(); tree.dropFlat(); }));
        checkValid(issues, "tensors");
        s.size = std::to_string(p.deviceMap.size()) + " map keys";
        c.add(s);
        if (tooSlow(s))
            break;
    }
    c.summary();
}

// ---- unknown: a small model's map plus N keys it does not have -----------------------------------
void unknownKeys(std::int64_t maxN)
{
    Case c("unknown: a device_map.json with N keys the model does not have, read then validate()d", {"read", "validate"});
    std::vector<std::pair<std::string, Tensor>> named;
    for (int l = 0; l < 4; ++l)
        for (const char *t : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "mlp.up_proj.weight", "input_layernorm.weight"}) {
            Tensor w;
            w.dtype = DType::BF16;
            w.shape = {64, 64};
            named.emplace_back("model.layers." + std::to_string(l) + "." + t, w);
        }
    ModuleTree tree = ModuleTree::fromTensorNames(named);
    PlanOptions o;
    o.maxMemory = budgets(2, GiB, GiB);
    for (std::int64_t n = 1000; n <= maxN; n *= 10) {
        DeviceMap map = {{"model", Device::gpu(0)}};
        map.reserve(static_cast<std::size_t>(n) + 1);
        // Half look like layers the model lacks, half like typos of a tensor name.
        for (std::int64_t i = 0; i < n; ++i)
            map.emplace_back(i % 2 ? "model.layers." + std::to_string(i + 4) + ".mlp" : "lm_head" + std::to_string(i) + ".weight",
                             Device::gpu(static_cast<int>(i % 2)));
        // The file as a user hands it over: read back (parsed, order kept) before validation.
        const std::string path = (std::filesystem::temp_directory_path() / ("bench_scale_map_" + std::to_string(::getpid()) + ".json")).string();
        {
            std::ofstream out(path, std::ios::binary);
            out << deviceMapToJson(map).dump();
        }
        std::vector<Issue> issues;
        Step s{n, std::to_string(n) + " unknown keys", {}};
        s.ms.push_back(timeMs([&] {
            if (readMapOrPlanFile(path).map.size() != map.size()) {
                std::fprintf(stderr, "unknown: the map file read back has another size\n");
                std::exit(1);
            }
        }, c.last(0)));
        std::filesystem::remove(path);
        s.ms.push_back(timeMs([&] { issues = validate(tree, map, o); }, c.last(1), [&] { issues = {}; tree.dropFlat(); }));
        if (static_cast<std::int64_t>(issues.size()) < n) {
            std::fprintf(stderr, "unknown: %zu issues for %lld unknown keys\n", issues.size(), static_cast<long long>(n));
            std::exit(1);
        }
        c.add(s);
        if (tooSlow(s))
            break;
    }
    c.summary();
}

nlohmann::json llamaConfig(std::int64_t layers)
{
    nlohmann::json config = models::presetConfig("llama-3.1-405b");
    config["num_hidden_layers"] = layers;
    return config;
}

// ---- layers: the 405B config with N / 16 layers ---------------------------------------------------
void configLayers(std::int64_t maxN)
{
    Case c("layers: Llama 405B config with N/16 layers (~13 modules a layer) over 8 GPUs + CPU + disk",
           {"config->tree", "plan", "validate"});
    for (std::int64_t n = 1000; n <= maxN; n *= 10) {
        const std::int64_t layers = n / 16;
        const nlohmann::json config = llamaConfig(layers);
        models::ModelDescription model;
        Step s{n, "", {}};
        s.ms.push_back(timeMs([&] { model = models::describeConfig(config); }, c.last(0), [&] { model = {}; }));
        models::PlanSettings settings;
        // The 126-layer model's budgets (~756 GiB: 8 x 70 GiB + 100 GiB RAM, the rest on disk)
        // scaled with the layer count, so that every step spreads the same way.
        settings.maxMemory = budgets(8, 70 * GiB * layers / 126, 100 * GiB * layers / 126);
        const PlanOptions o = models::planOptionsFor(model, settings);
        Plan p;
        s.ms.push_back(timeMs([&] { p = plan(model.tree, o); }, c.last(1), [&] { p = Plan(); model.tree.dropFlat(); }));
        std::vector<Issue> issues;
        s.ms.push_back(timeMs([&] { issues = validate(model.tree, p.deviceMap, o); }, c.last(2), [&] { issues = {}; model.tree.dropFlat(); }));
        checkValid(issues, "layers");
        s.size = std::to_string(model.tree.size()) + " modules";
        c.add(s);
        if (tooSlow(s))
            break;
    }
    c.summary();
}

// ---- walks: what one pass over a tree costs, by what it reads -------------------------------------
// The 405B config's trees of the layers case, one pass each: over the modules' records (parent and
// tensor counts), over the records and every parameter's element count (a tensor is reached through
// its module's list and its shape through another heap block: what making the tree's flat layout
// read before the builder recorded these numbers), the making of that layout (ModuleTree::flat(),
// from the recorded numbers), and over the same numbers in it, which is what the passes of plan()
// and validate() read. Times in microseconds per pass.
void walks(std::int64_t maxN)
{
    Case c("walks: one pass over the layers case's tree, by what it reads", {"records", "+ shapes", "make layout", "flat"},
           "us");
    for (std::int64_t n = 1000; n <= maxN; n *= 10) {
        models::ModelDescription model = models::describeConfig(llamaConfig(n / 16));
        ModuleTree &tree = model.tree;
        // Repeated so that every step runs about as long as the largest (timer resolution).
        const int repeats = static_cast<int>(std::max<std::int64_t>(1, maxN / n));
        volatile std::int64_t sink = 0;
        auto perPass = [&](const std::function<std::int64_t()> &pass) { // microseconds
            return 1000.0 * timeMs([&] {
                for (int r = 0; r < repeats; ++r)
                    sink = sink + pass();
            }, 0) / repeats;
        };
        Step s{n, std::to_string(tree.size()) + " modules", {}};
        s.ms.push_back(perPass([&] {
            std::int64_t sum = 0;
            for (const Module &m : tree.modules())
                sum += m.parent + static_cast<std::int64_t>(m.params.size() + m.buffers.size());
            return sum;
        }));
        s.ms.push_back(perPass([&] {
            std::int64_t sum = 0;
            for (const Module &m : tree.modules()) {
                sum += m.parent;
                for (const Tensor &t : m.params)
                    sum += t.numel();
            }
            return sum;
        }));
        s.ms.push_back(perPass([&] {
            tree.dropFlat();
            return tree.flat()->tensors();
        }));
        const auto flat = tree.flat();
        s.ms.push_back(perPass([&] {
            const FlatTree &f = *flat;
            std::int64_t sum = 0;
            for (int id = 0; id < f.size(); ++id) {
                const auto i = static_cast<std::size_t>(id);
                sum += f.parent[i];
                for (auto k = f.tensorBegin[i]; k < f.tensorBegin[i] + f.paramCount[i]; ++k)
                    sum += f.numel[static_cast<std::size_t>(k)];
            }
            return sum;
        }));
        c.add(s);
    }
    c.summary(1.0);
}

// ---- issue 12's case: 65,536 layers on the 8 x H100 profile ---------------------------------------
void layers65536()
{
    const auto t0 = Clock::now();
    const models::ModelDescription model = models::describeConfig(llamaConfig(65536));
    const double describeMs = msSince(t0);
    models::PlanSettings settings;
    settings.maxMemory = models::budgetsFor(models::hardwareProfile("8x-h100-80gb")).maxMemory();
    const PlanOptions o = models::planOptionsFor(model, settings);
    const auto t1 = Clock::now();
    const Plan p = plan(model.tree, o);
    const double planMs = msSince(t1);
    const auto t2 = Clock::now();
    const auto issues = validate(model.tree, p.deviceMap, o);
    const double validateMs = msSince(t2);
    checkValid(issues, "65536 layers");
    std::printf("Llama 405B config with 65,536 layers (%d modules), 8 x H100 80 GB profile:\n"
                "  config->tree %.0f ms, plan %.0f ms, validate %.0f ms, %zu map keys, peak RSS %ld MiB\n",
                model.tree.size(), describeMs, planMs, validateMs, p.deviceMap.size(), peakRssMiB());
}

} // namespace

int main(int argc, char **argv)
{
    // As mizan-cli does for planning and validation (planner/memory.h), unless --default-malloc
    // asks for glibc's defaults (each block over 32 MiB mapped afresh, its pages faulted in again).
    std::vector<std::string> args(argv + 1, argv + argc);
    const bool defaultMalloc = std::erase(args, std::string("--default-malloc")) > 0;
    const bool kept = !defaultMalloc && keepFreedMemory();
    const std::int64_t maxN = args.size() > 0 ? std::max<std::int64_t>(1000, std::atoll(args[0].c_str())) : 1000000;
    const std::string only = args.size() > 1 ? args[1] : "";
    auto wanted = [&](const char *name) { return only.empty() || only == name; };
    const auto t0 = Clock::now();
    std::printf("bench_scale: time per 10x step of N (fastest of 9 runs under 5 ms, of 3 under 50 ms, else of 2); freed memory %s\n\n",
                kept ? "kept for reuse (keepFreedMemory, as mizan-cli plans)" : "handed back (glibc's defaults)");
    if (wanted("65536"))
        layers65536();
    if (only.empty() || only != "65536")
        reference(maxN);
    if (wanted("tensors"))
        topLevelTensors(maxN);
    if (wanted("unknown"))
        unknownKeys(maxN);
    if (wanted("layers"))
        configLayers(maxN);
    if (wanted("walks"))
        walks(maxN);
    std::printf("\ntotal %.1f s\n", msSince(t0) / 1000.0);
    return 0;
}
