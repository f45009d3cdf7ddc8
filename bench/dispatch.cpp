// bench_dispatch: decode speed of dispatched inference (issue 10), placements measured side by side
// in one run on the 551 M parameter float32 LLaMA-shaped demo (benchmodel.h), through the libtorch
// backend module as mizan-cli and the GUI use it. Targets:
//   - the same model split across 2 simulated GPUs (no offload) vs all on the CPU: <= 1.02x;
//   - layers 8-15 on disk (warm page cache) vs all in RAM: <= 1.15x;
//   - CPU offload (blocks on "cpu", the main device a simulated GPU) against a simulated
//     host-to-device bandwidth chosen so that moving the blocks takes about as long as computing:
//     decode time / max(compute, transfer) <= 1.15x with prefetch 1 or 2 (prefetch 0 shown too).
// Accelerate 1.14 on the same shape and machine: 261 ms/token in RAM, 879 ms/token with the same
// layers on disk (3.37x), its hooks without offload 0.97-1.02x.
//
// Placements run interleaved (one of each per round) so that a busy machine slows all alike.
// Per run: prompt of 8 ids, N new tokens; decode ms/token is the mean over the tokens after the
// first (RunResult::decodeSecondsPerToken); compute and transfer per token are summed from the
// ModuleRan and WeightMoved events of those tokens. Figures: median (best) over the rounds.
//
// usage: bench_dispatch [--small] [--rounds N] [--tokens N] [--verbose] [--only 1,3]   (--verbose: every run;
//        --only: those rows of the table, no ratios)

#include "benchmodel.h"

#include "runtime/backend.h"
#include "runtime/session.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

using mizan::planner::Device;
using namespace mizan::runtime;
namespace bench = mizan::bench;

struct Measure {
    double decodeMs = 0;   // per token
    double computeMs = 0;  // per decode token, all devices
    double transferMs = 0; // per decode token
};

struct Placement {
    std::string label;
    mizan::planner::DeviceMap map;
    int gpus = 0;     // simulated GPUs
    int prefetch = 1;
    bool offload = false; // uses the simulated bandwidth
    double slower = 1;    // the bandwidth divided by this
    std::vector<Measure> runs;
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double best(const std::vector<double> &v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }

std::vector<double> field(const Placement &p, double Measure::*f)
{
    std::vector<double> out;
    for (const auto &m : p.runs)
        out.push_back(m.*f);
    return out;
}

struct Setup {
    std::string checkpoint;
    int tokens = 12;
    double bandwidth = 0;
};

// One run of `p`; exits with a message when the run fails.
Measure runOnce(Backend &backend, const Setup &setup, const Placement &p)
{
    RunRequest request;
    request.checkpointPath = setup.checkpoint;
    request.map = p.map;
    for (int g = 0; g < p.gpus; ++g) {
        RunDevice d;
        d.device = Device::gpu(g);
        d.simulated = true;
        request.devices.push_back(d);
    }
    request.promptIds = {1, 450, 4996, 1735, 1701, 432, 1204, 975};
    request.maxNewTokens = setup.tokens;
    request.prefetch = p.prefetch;
    request.simulatedBandwidth = p.offload ? setup.bandwidth / p.slower : 0;

    std::mutex mutex;
    std::vector<RunEvent> events;
    auto session = backend.createSession(request);
    const RunResult result = session->run([&](const std::vector<RunEvent> &batch) {
        const std::lock_guard lock(mutex);
        events.insert(events.end(), batch.begin(), batch.end());
    });
    if (result.error) {
        std::fprintf(stderr, "bench_dispatch: %s failed: %s\n", p.label.c_str(), result.error->message.c_str());
        std::exit(1);
    }
    // The decode tokens: the events after token 0 up to the last token.
    Measure m;
    m.decodeMs = result.decodeSecondsPerToken * 1e3;
    bool decoding = false;
    for (const auto &e : events) {
        if (e.kind == RunEventKind::Token) {
            decoding = e.index < setup.tokens - 1;
            continue;
        }
        if (!decoding)
            continue;
        if (e.kind == RunEventKind::ModuleRan)
            m.computeMs += e.seconds * 1e3;
        else if (e.kind == RunEventKind::WeightMoved)
            m.transferMs += e.seconds * 1e3;
    }
    m.computeMs /= setup.tokens - 1;
    m.transferMs /= setup.tokens - 1;
    return m;
}

const char *verdict(double ratio, double target) { return ratio <= target ? "meets" : "MISSES"; }

} // namespace

int main(int argc, char **argv)
{
    bool small = false, verbose = false;
    std::string only; // "1,3": those rows of the table only
    int rounds = 3;
    Setup setup;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--small")
            small = true;
        else if (a == "--rounds" && i + 1 < argc)
            rounds = std::max(1, std::atoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (a == "--verbose")
            verbose = true;
        else if (a == "--tokens" && i + 1 < argc)
            setup.tokens = std::max(3, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: bench_dispatch [--small] [--rounds N] [--tokens N] [--verbose] [--only 1,3]\n");
            return 2;
        }
    }

    const bench::BenchModel model = bench::ensureBenchModel(small);
    setup.checkpoint = model.directory;
    std::printf("model: %s (%.0f M parameters, %.2f GiB float32), %s\n", model.directory.c_str(), model.parameters / 1e6,
                bench::gib(static_cast<double>(model.bytes)), model.written ? "written now" : "reused");
    const std::string loadBefore = bench::loadAverage();

    const BackendLoad &load = loadBackend();
    if (!load.backend) {
        std::fprintf(stderr, "bench_dispatch: %s\n", load.error.c_str());
        return 1;
    }
    std::printf("backend: %s\n", load.backend->description().c_str());

    const Device cpu = Device::cpu(), disk = Device::disk(), gpu0 = Device::gpu(0), gpu1 = Device::gpu(1);
    constexpr int half = bench::kLayers / 2;
    Placement allCpu{"all on CPU", bench::benchMap([&](const std::string &, int) { return cpu; }), 0, 1, false, 1, {}};
    Placement twoGpus{"2 simulated GPUs (layers 0-7 | 8-15)",
                      bench::benchMap([&](const std::string &m, int layer) {
                          return layer >= half || m == "model.norm" || m == "lm_head" ? gpu1 : gpu0;
                      }),
                      2, 1, false, 1, {}};
    Placement onDisk{"layers 8-15 on disk", bench::benchMap([&](const std::string &, int layer) { return layer >= half ? disk : cpu; }),
                     0, 1, false, 1, {}};
    auto offload = [&](int prefetch, double slower = 1) {
        return Placement{std::string(slower > 1 ? "slow link, " : "") + "CPU offload, prefetch " + std::to_string(prefetch),
                         bench::benchMap([&](const std::string &, int layer) { return layer >= 0 ? cpu : gpu0; }), 1,
                         prefetch, true, slower, {}};
    };

    // Warm-up (page cache, libtorch's first calls), then the offload without a simulated link to
    // measure its compute and the bare copy: the bandwidth is chosen so that moving the blocks of a
    // token takes as long as computing it.
    std::printf("warming up ...\n");
    std::fflush(stdout);
    runOnce(*load.backend, setup, allCpu);
    Placement probe = offload(0);
    const Measure calib = runOnce(*load.backend, setup, probe);
    setup.bandwidth = static_cast<double>(model.blockBytes) / (calib.computeMs / 1e3);
    std::printf("offload calibration: compute %.1f ms/token, bare copy of the blocks %.1f ms/token -> simulated "
                "bandwidth %.2f GB/s\n",
                calib.computeMs, calib.transferMs, setup.bandwidth / 1e9);
    if (calib.transferMs > calib.computeMs)
        std::printf("note: the bare copy already takes longer than the compute; the link is copy-bound\n");

    // The same offload over a link half as fast (transfer about twice the compute): there the link,
    // not the CPU's own copy, is what prefetch has to hide.
    std::vector<Placement> placements{allCpu, twoGpus, onDisk, offload(0), offload(1), offload(2), offload(0, 2), offload(2, 2)};
    if (!only.empty()) {
        std::vector<Placement> kept;
        for (std::size_t i = 0; i < placements.size(); ++i)
            if (("," + only + ",").find("," + std::to_string(i + 1) + ",") != std::string::npos)
                kept.push_back(placements[i]);
        placements = kept;
    }
    for (int r = 0; r < rounds; ++r) {
        std::printf("round %d/%d ...\n", r + 1, rounds);
        std::fflush(stdout);
        for (auto &p : placements) {
            p.runs.push_back(runOnce(*load.backend, setup, p));
            if (verbose)
                std::printf("  %-40s %8.1f ms/token, compute %8.1f, transfer %8.1f  (load %s)\n", p.label.c_str(),
                            p.runs.back().decodeMs, p.runs.back().computeMs, p.runs.back().transferMs,
                            bench::loadAverage().c_str());
        }
    }

    std::printf("\ndecode, prompt 8 ids, %d new tokens, %d rounds: median (best)\n", setup.tokens, rounds);
    std::printf("%-40s %18s %18s %18s\n", "placement", "ms/token", "compute ms/tok", "transfer ms/tok");
    for (const auto &p : placements)
        std::printf("%-40s %9.1f (%6.1f) %9.1f (%6.1f) %9.1f (%6.1f)\n", p.label.c_str(), median(field(p, &Measure::decodeMs)),
                    best(field(p, &Measure::decodeMs)), median(field(p, &Measure::computeMs)),
                    best(field(p, &Measure::computeMs)), median(field(p, &Measure::transferMs)),
                    best(field(p, &Measure::transferMs)));

    if (!only.empty()) { // the ratios need every row
        std::printf("load average: %s at the start, %s at the end (2 cores)\n", loadBefore.c_str(), bench::loadAverage().c_str());
        return 0;
    }
    // Ratios of medians, and of the per-round ratios' median (both placements ran back to back).
    auto ratio = [&](const Placement &a, const Placement &b) {
        std::vector<double> per;
        for (std::size_t i = 0; i < a.runs.size(); ++i)
            per.push_back(a.runs[i].decodeMs / b.runs[i].decodeMs);
        return median(per);
    };
    std::printf("\nratios (median of the per-round ratios)                      target   Accelerate\n");
    const double split = ratio(placements[1], placements[0]);
    std::printf("2 simulated GPUs / all on CPU            %6.3fx  %-7s        <= 1.02x  0.97-1.02x (hooks)\n", split,
                verdict(split, 1.02));
    const double diskRatio = ratio(placements[2], placements[0]);
    std::printf("layers 8-15 on disk / all in RAM         %6.3fx  %-7s        <= 1.15x  3.37x (879 / 261 ms)\n", diskRatio,
                verdict(diskRatio, 1.15));
    for (std::size_t i = 3; i < placements.size(); ++i) {
        std::vector<double> per;
        for (const auto &m : placements[i].runs)
            per.push_back(m.decodeMs / std::max(m.computeMs, m.transferMs));
        const double r = median(per);
        std::printf("%-38s  %6.3fx  %-7s total / max(compute, transfer)%s\n", placements[i].label.c_str(), r,
                    placements[i].prefetch == 0 ? "" : verdict(r, 1.15),
                    placements[i].prefetch == 0 ? " (no prefetch: about compute + transfer)" : ", target <= 1.15x");
        // With prefetch, the copy and the computation share the cores and each is slowed: the same
        // total against compute and transfer as measured without prefetch (same round, same link).
        if (placements[i].prefetch > 0) {
            const Placement *base = nullptr;
            for (const auto &q : placements)
                if (q.offload && q.prefetch == 0 && q.slower == placements[i].slower)
                    base = &q;
            if (base) {
                std::vector<double> against;
                for (std::size_t k = 0; k < placements[i].runs.size(); ++k)
                    against.push_back(placements[i].runs[k].decodeMs /
                                      std::max(base->runs[k].computeMs, base->runs[k].transferMs));
                const double a = median(against);
                std::printf("%-38s  %6.3fx  %-7s total / max(compute, transfer) of prefetch 0\n", "", a, verdict(a, 1.15));
            }
        }
    }
    std::printf("(CPU offload: blocks on \"cpu\", run on simulated GPU 0 over a simulated link of %.2f GB/s, chosen so\n"
                " that moving a token's blocks takes as long as computing it; \"slow link\": %.2f GB/s. On a simulated\n"
                " GPU the move is also a memcpy by the CPU, which competes with the computation for the cores.)\n",
                setup.bandwidth / 1e9, setup.bandwidth / 2e9);
    std::printf("\nAccelerate 1.14, same shape, same machine: in RAM 261 ms/token, layers on disk 879 ms/token (3.37x).\n");
    std::printf("load average: %s at the start, %s at the end (2 cores)\n", loadBefore.c_str(), bench::loadAverage().c_str());
    return 0;
}
