// bench_strategies: --strategy optimal against Accelerate's auto, balanced and sequential on every
// bundled model preset x hardware profile (issue 14): bytes kept on GPUs, bytes offloaded (RAM +
// disk), the predicted time per token under the profile's speeds, and how long planning took.
// Checks, for every pair: optimal's predicted time <= every greedy strategy's; and when something is
// offloaded, no GPU keeps free room (beyond its reserve) that the smallest offloaded no-split block
// would fit in. Prints one table per profile and a verdict line.
//
// usage: bench_strategies [--dtype float16]   (default: the presets' stored dtype)

#include "models/describe.h"
#include "models/planoptions.h"
#include "models/resources.h"
#include "planner/cost.h"
#include "planner/error.h"
#include "planner/plan.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace mizan;
using planner::Strategy;

int main(int argc, char **argv)
{
    std::optional<DType> dtype;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc) {
            dtype = dtypeFromTorch(argv[++i]);
            if (!dtype) {
                std::fprintf(stderr, "bench_strategies: unknown dtype %s\n", argv[i]);
                return 2;
            }
        } else {
            std::fprintf(stderr, "usage: bench_strategies [--dtype DTYPE]\n");
            return 2;
        }
    }
    const Strategy strategies[] = {Strategy::Auto, Strategy::Balanced, Strategy::Sequential, Strategy::Optimal};
    int pairs = 0, slower = 0, roomLeft = 0;
    double worstOptimalMs = 0;
    for (const auto &profile : models::listHardware()) {
        if (!profile.error.empty())
            continue;
        if (profile.isCluster()) {
            // Several hosts: a pipeline of stages (planner::planCluster, `mizan-cli plan --hardware CLUSTER`).
            std::printf("\n%s: a cluster profile (%zu hosts), not a machine: skipped\n", profile.name.c_str(), profile.hosts.size());
            continue;
        }
        const planner::SpeedModel speeds = models::speedModelFor(profile);
        std::printf("\n%s (%s)\n", profile.name.c_str(), profile.description.c_str());
        std::printf("| model | strategy | on GPUs | offloaded (RAM + disk) | predicted ms/token | plan ms |\n|---|---|---|---|---|---|\n");
        for (const auto &preset : models::listPresets()) {
            if (!preset.error.empty())
                continue;
            const models::ModelDescription model = models::describeConfig(models::presetConfig(preset.name), dtype);
            models::PlanSettings settings;
            settings.maxMemory = models::budgetsFor(profile).maxMemory();
            settings.dtype = dtype;
            double best = 1e300, optimal = 0;
            for (Strategy st : strategies) {
                settings.strategy = st;
                planner::PlanOptions options = models::planOptionsFor(model, settings);
                options.speeds = speeds;
                const auto t0 = std::chrono::steady_clock::now();
                planner::Plan plan;
                try {
                    plan = planner::plan(model.tree, options);
                } catch (const Error &e) {
                    std::printf("| %s | %s | cannot plan: %s |\n", preset.name.c_str(), planner::toString(st), e.what());
                    continue;
                }
                const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                const planner::Prediction p = planner::predict(model.tree, plan.deviceMap, options, speeds);
                double gpu = 0, off = 0;
                for (const auto &u : plan.usage)
                    (u.device.isGpu() ? gpu : off) += u.plannedBytes;
                std::printf("| %s | %s | %.2f GiB | %.2f GiB | %.2f | %.2f |\n", preset.name.c_str(), planner::toString(st), gpu / (1 << 30),
                            off / (1 << 30), p.decodeSeconds * 1e3, ms);
                if (st == Strategy::Optimal) {
                    optimal = p.decodeSeconds;
                    worstOptimalMs = std::max(worstOptimalMs, ms);
                    // Free room a smallest offloaded block would fit in.
                    double smallest = -1;
                    for (const auto &s : p.steps)
                        if (s.offloadedBytes > 0 && s.module.find("layers.") != std::string::npos)
                            smallest = smallest < 0 ? double(s.offloadedBytes) : std::min(smallest, double(s.offloadedBytes));
                    if (smallest > 0)
                        for (const auto &u : plan.usage)
                            if (u.device.isGpu() && u.freeBytes >= smallest) {
                                ++roomLeft;
                                std::printf("  [ROOM LEFT] %s keeps %.0f B free, a %.0f B block is offloaded\n", u.device.label().c_str(),
                                            u.freeBytes, smallest);
                            }
                } else {
                    best = std::min(best, p.decodeSeconds);
                }
            }
            ++pairs;
            if (optimal > best * (1 + 1e-9)) {
                ++slower;
                std::printf("  [SLOWER] optimal %.3f ms vs best greedy %.3f ms\n", optimal * 1e3, best * 1e3);
            }
        }
    }
    std::printf("\n%d model x profile pairs: optimal slower than a greedy strategy in %d, GPU room left beside offload in %d; "
                "slowest optimal plan %.1f ms\n",
                pairs, slower, roomLeft, worstOptimalMs);
    return slower || roomLeft ? 1 : 0;
}
