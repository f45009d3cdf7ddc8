// bench_predict: the cost model (planner/cost.h) against the runtime (issue 14). Calibrates this
// machine (runtime/calibrate.h), then for each demo model and placement predicts the decode time
// per token and measures it with the runtime, side by side in one run:
//   - all on the CPU; split over 2 simulated GPUs; the second half of the blocks offloaded to
//     "cpu" or "disk" with a simulated GPU as the execution device (host link 2 GB/s), with
//     prefetch 0 and 1; the second half on disk with the CPU computing (weights used in place).
//   - models: the 138 M parameter float32 LLaMA of bench_dispatch (--small shape, benchmodel.h),
//     and the trained fortunes demo (resources/demo/fortunes-llama, 0.8 M parameters: the fixed
//     cost per module dominates).
//   - a small float32 Mixtral (4 blocks of 8 experts, hidden 256, written to a temporary folder):
//     all on the CPU, and the rest of every block on a simulated GPU with its experts on "cpu" or
//     on "disk", computed on the CPU where they live (2 of 8 experts read per token).
// Target: every prediction within +-25% of the measurement. Each placement runs `rounds` times
// interleaved (a busy machine slows all alike). Each round first calibrates again and predicts
// from that calibration, so that a prediction and its measurement come from the same minute (this
// VM's speed drifts by tens of percent from one minute to the next); the median of the rounds'
// predicted / measured ratios is compared.
//
// usage: bench_predict [--rounds N] [--tokens N]
//                      [--calibrate-once] (calibrate before the first round only)
//                      [--no-calibrate] (use the saved calibration for every round)
//                      [--only TEXT] (only the cases whose model or placement contains TEXT)

#include "benchmodel.h"

#include "loader/checkpoint.h"
#include "models/demo.h"
#include "models/describe.h"
#include "models/resources.h"
#include "planner/cost.h"
#include "runtime/backend.h"
#include "runtime/calibrate.h"
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

namespace {

using mizan::planner::Device;
using namespace mizan;
using namespace mizan::runtime;
namespace bench = mizan::bench;

constexpr double kLink = 2e9; // simulated host-to-GPU bandwidth, bytes/s

struct Case {
    std::string model;   // label
    std::string dir;
    std::string label;
    planner::DeviceMap map;
    int gpus = 0;        // simulated GPUs
    int prefetch = 1;
    double link = 0;     // simulated bandwidth
    std::vector<double> predicted; // per round
    std::vector<double> measured;
    std::vector<double> ratios;    // predicted / measured per round
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Placements of a LLaMA with `layers` blocks.
std::vector<Case> casesFor(const std::string &model, const std::string &dir, int layers)
{
    auto mapOf = [&](Device embed, Device first, Device second, Device tail) {
        planner::DeviceMap map;
        map.emplace_back("model.embed_tokens", embed);
        for (int i = 0; i < layers; ++i)
            map.emplace_back("model.layers." + std::to_string(i), i < layers / 2 ? first : second);
        map.emplace_back("model.norm", tail);
        map.emplace_back("lm_head", tail);
        return map;
    };
    const Device g0 = Device::gpu(0), g1 = Device::gpu(1), cpu = Device::cpu(), disk = Device::disk();
    std::vector<Case> cases;
    cases.push_back({model, dir, "all on the CPU", {{"", cpu}}, 0, 1, 0, {}, {}, {}});
    cases.push_back({model, dir, "2 simulated GPUs", mapOf(g0, g0, g1, g1), 2, 1, 0, {}, {}, {}});
    for (int prefetch : {0, 1}) {
        cases.push_back({model, dir, "half on cpu, GPU link 2 GB/s, prefetch " + std::to_string(prefetch), mapOf(g0, g0, cpu, g0), 1, prefetch,
                         kLink, {}, {}, {}});
        cases.push_back({model, dir, "half on disk, GPU link 2 GB/s, prefetch " + std::to_string(prefetch), mapOf(g0, g0, disk, g0), 1,
                         prefetch, kLink, {}, {}, {}});
    }
    cases.push_back({model, dir, "half on disk, CPU computes", mapOf(cpu, cpu, disk, cpu), 0, 1, 0, {}, {}, {}});
    return cases;
}

// Placements of a mixture-of-experts model: all on the CPU; the rest of every block on a simulated
// GPU (link 2 GB/s) with its experts on "cpu" or "disk", computed on the CPU where they live.
std::vector<Case> moeCasesFor(const std::string &model, const std::string &dir, int layers)
{
    auto split = [&](Device experts) {
        planner::DeviceMap map{{"model.embed_tokens", Device::gpu(0)}};
        for (int i = 0; i < layers; ++i) {
            map.emplace_back("model.layers." + std::to_string(i), Device::gpu(0));
            map.emplace_back("model.layers." + std::to_string(i) + ".mlp.experts", experts);
        }
        map.emplace_back("model.norm", Device::gpu(0));
        map.emplace_back("lm_head", Device::gpu(0));
        return map;
    };
    std::vector<Case> cases;
    cases.push_back({model, dir, "all on the CPU", {{"", Device::cpu()}}, 0, 1, 0, {}, {}, {}});
    cases.push_back({model, dir, "experts on cpu, rest on a GPU (link 2 GB/s)", split(Device::cpu()), 1, 1, kLink, {}, {}, {}});
    cases.push_back({model, dir, "experts on disk, rest on a GPU (link 2 GB/s)", split(Device::disk()), 1, 1, kLink, {}, {}, {}});
    return cases;
}

// A temporary folder removed with its contents at the end.
struct TempDir {
    std::string path;
    ~TempDir()
    {
        std::error_code ec;
        if (!path.empty())
            std::filesystem::remove_all(path, ec);
    }
};

double measure(Backend &backend, const Case &c, int tokens)
{
    RunRequest request;
    request.checkpointPath = c.dir;
    request.map = c.map;
    for (int g = 0; g < c.gpus; ++g)
        request.devices.push_back({Device::gpu(g), true, -1, "simulated GPU " + std::to_string(g)});
    request.promptIds = {1, 5, 9, 14, 20, 27, 33, 40};
    request.maxNewTokens = tokens;
    request.prefetch = c.prefetch;
    request.simulatedBandwidth = c.link;
    auto session = backend.createSession(request);
    const RunResult r = session->run([](const std::vector<RunEvent> &) {});
    if (r.error) {
        std::fprintf(stderr, "bench_predict: %s, %s: %s\n", c.model.c_str(), c.label.c_str(), r.error->message.c_str());
        std::exit(1);
    }
    return r.decodeSecondsPerToken;
}

// Tokens to generate for a case: `tokens`, or more for a model predicted under a few ms a token,
// so that every measurement decodes for at least 40 ms (at most 64 tokens). A tiny model's tokens
// vary by tens of percent one to the next on a busy 2-core machine; a dozen of them are no measure.
int tokensFor(const Case &c, int tokens)
{
    constexpr double kMinSeconds = 0.04;
    // The first round's prediction, so that every round decodes as many tokens.
    if (c.predicted.empty() || c.predicted.front() <= 0)
        return tokens;
    return std::clamp(static_cast<int>(std::ceil(kMinSeconds / c.predicted.front())), tokens, std::max(tokens, 64));
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 3, tokens = 12;
    bool calibrateNow = true, eachRound = true;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc)
            tokens = std::max(3, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--no-calibrate"))
            calibrateNow = eachRound = false;
        else if (!std::strcmp(argv[i], "--calibrate-once"))
            eachRound = false;
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_predict [--rounds N] [--tokens N] [--calibrate-once | --no-calibrate] [--only TEXT]\n");
            return 2;
        }
    }
    const BackendLoad &load = loadBackend();
    if (!load.backend) {
        std::fprintf(stderr, "bench_predict: %s\n", load.error.c_str());
        return 1;
    }
    std::printf("bench_predict: predicted vs measured decode time per token (load %s)\n", bench::loadAverage().c_str());
    auto calibrateHere = [&]() -> std::optional<Calibration> {
        try {
            if (!calibrateNow)
                return loadCalibration();
            CalibrateOptions options;
            options.folder = bench::cacheRoot();
            std::filesystem::create_directories(options.folder);
            options.gpus = false;
            return calibrate(options);
        } catch (const Error &e) {
            std::fprintf(stderr, "bench_predict: calibration: %s\n", e.what());
            return std::nullopt;
        }
    };
    auto describeCalibration = [](const Calibration &calibration) {
        const auto &cs = calibration.speeds;
        std::printf("calibration: CPU %.2f GiB/s of weights, %.1f us per module, %.1f GFLOP/s; memcpy %.2f GiB/s, page cache %.2f GiB/s, "
                    "disk %.2f GiB/s, float16->float32 %.2f GiB/s\n",
                    bench::gib(cs.cpu.compute.weightBandwidth), cs.cpu.compute.moduleOverhead * 1e6, cs.cpu.compute.flops / 1e9,
                    bench::gib(cs.memcpyBandwidth), bench::gib(cs.pageCacheBandwidth), bench::gib(cs.diskBandwidth),
                    bench::gib(cs.convertBandwidth));
    };
    std::optional<Calibration> calibration = calibrateHere();
    if (!calibration) {
        if (!calibrateNow)
            std::fprintf(stderr, "bench_predict: no saved calibration (run mizan-cli calibrate, or drop --no-calibrate)\n");
        return 1;
    }
    describeCalibration(*calibration);

    const bench::BenchModel small = bench::ensureBenchModel(true);
    std::vector<Case> cases = casesFor("llama 138M f32", small.directory, bench::kLayers);
    const std::string demo = (std::filesystem::path(models::resourceDir()) / "demo" / "fortunes-llama").string();
    const loader::Checkpoint demoCheckpoint = loader::open(demo);
    const models::ModelDescription demoModel = models::describe(demoCheckpoint);
    int demoLayers = 0;
    for (const auto &m : demoModel.tree.modules())
        if (m.name.rfind("model.layers.", 0) == 0 && m.name.find('.', 13) == std::string::npos)
            ++demoLayers;
    for (auto &c : casesFor("fortunes demo", demo, demoLayers))
        cases.push_back(std::move(c));
    TempDir moe;
    moe.path = (std::filesystem::temp_directory_path() / ("mizan-bench-predict-moe-" + std::to_string(::getpid()))).string();
    {
        models::DemoOptions o;
        o.config = models::presetConfig("mixtral-8x7b");
        o.config["vocab_size"] = 1024;
        o.config["max_position_embeddings"] = 256;
        o.layers = 4;
        o.hidden = 256;
        o.dtype = DType::F32;
        models::writeDemo(moe.path, o);
    }
    for (auto &c : moeCasesFor("mixtral 4x8 f32", moe.path, 4))
        cases.push_back(std::move(c));

    if (!only.empty()) {
        std::erase_if(cases, [&](const Case &c) { return (c.model + " " + c.label).find(only) == std::string::npos; });
        if (cases.empty()) {
            std::fprintf(stderr, "bench_predict: no case matches \"%s\"\n", only.c_str());
            return 2;
        }
    }

    // Predictions from a calibration.
    struct Described {
        std::string dir;
        models::ModelDescription model;
    };
    std::vector<Described> described;
    for (const auto &c : cases)
        if (std::none_of(described.begin(), described.end(), [&](const Described &d) { return d.dir == c.dir; }))
            described.push_back({c.dir, models::describe(loader::open(c.dir))});
    auto predictAll = [&](const Calibration &cal) {
        for (auto &c : cases) {
            const auto it = std::find_if(described.begin(), described.end(), [&](const Described &d) { return d.dir == c.dir; });
            planner::PlanOptions options;
            options.maxMemory = {{Device::cpu(), 1}};
            options.noSplitClasses = it->model.noSplitClasses;
            std::vector<int> simulated;
            for (int g = 0; g < c.gpus; ++g)
                simulated.push_back(g);
            const planner::SpeedModel speeds = speedModelForThisMachine(cal, simulated, c.link);
            planner::Workload workload;
            workload.promptTokens = 8;
            workload.prefetch = c.prefetch;
            c.predicted.push_back(planner::predict(it->model.tree, c.map, options, speeds, workload).decodeSeconds);
        }
    };

    for (int r = 0; r < rounds; ++r) {
        std::fprintf(stderr, "round %d/%d\n", r + 1, rounds);
        if (r > 0 && eachRound) {
            calibration = calibrateHere();
            if (!calibration)
                return 1;
            describeCalibration(*calibration);
        }
        predictAll(*calibration);
        for (auto &c : cases) {
            c.measured.push_back(measure(*load.backend, c, tokensFor(c, tokens)));
            c.ratios.push_back(c.predicted.back() / c.measured.back());
        }
    }
    std::printf("\n");

    std::printf("%-15s %-44s %7s %12s %12s %8s\n", "model", "placement", "tokens", "predicted ms", "measured ms", "ratio");
    int within = 0;
    double worst = 1;
    for (const auto &c : cases) {
        const double m = median(c.measured);
        const double ratio = median(c.ratios);
        const bool ok = ratio >= 0.75 && ratio <= 1.25;
        within += ok;
        if (std::abs(std::log(ratio)) > std::abs(std::log(worst)))
            worst = ratio;
        std::printf("%-15s %-44s %7d %12.2f %12.2f %7.2fx%s\n", c.model.c_str(), c.label.c_str(), tokensFor(c, tokens), median(c.predicted) * 1e3,
                    m * 1e3, ratio, ok ? "" : "  [OUTSIDE +-25%]");
    }
    std::printf("\n%d of %zu predictions within +-25%% of the measurement (worst predicted/measured %.2fx, the median of the rounds' "
                "ratios); %d rounds, %s, at least %d new tokens (at least 40 ms of decoding), load %s\n",
                within, cases.size(), worst, rounds,
                !calibrateNow ? "the saved calibration" : eachRound ? "calibrated before each round" : "calibrated once", tokens,
                bench::loadAverage().c_str());
    return 0;
}
