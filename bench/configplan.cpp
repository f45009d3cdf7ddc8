// bench_configplan: planning from config.json alone. Times the whole path a user takes before
// downloading anything: read the 405B preset's config.json, build the module tree through the
// registry, read the hardware profile, plan the tree over it, validate the map. Target (issue 4):
// under 50 ms. Prints the parts side by side (config -> tree, reading the profile, the plan itself,
// validation), each timed on its own.

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "models/planoptions.h"
#include "planner/plan.h"
#include "planner/validate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace mizan;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    const std::string preset = argc > 1 ? argv[1] : "llama-3.1-405b";
    const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 15;
    std::printf("config-only planning of preset %s (%d runs, median)\n", preset.c_str(), runs);
    for (const char *hardware : {"8x-h100-80gb", "rtx4090-64gb", "laptop-16gb"}) {
        std::vector<double> describeMs, profileMs, planMs, validateMs, totalMs;
        std::size_t keys = 0;
        int modules = 0;
        for (int i = 0; i < runs; ++i) {
            const auto t0 = Clock::now();
            const models::Source source = models::openSource(preset); // reads resources/models/<preset>.json
            const auto t1 = Clock::now();
            const models::HardwareProfile profile = models::hardwareProfile(hardware); // resources/hardware/<name>.json
            models::PlanSettings settings;
            settings.maxMemory = models::budgetsFor(profile).maxMemory();
            const auto t1b = Clock::now();
            const planner::PlanOptions options = models::planOptionsFor(source.model, settings);
            const planner::Plan plan = planner::plan(source.model.tree, options);
            const auto t2 = Clock::now();
            const auto issues = planner::validate(source.model.tree, plan.deviceMap, options);
            const auto t3 = Clock::now();
            if (planner::hasErrors(issues)) {
                std::fprintf(stderr, "invalid plan on %s\n", hardware);
                return 1;
            }
            describeMs.push_back(ms(t1 - t0));
            profileMs.push_back(ms(t1b - t1));
            planMs.push_back(ms(t2 - t1b));
            validateMs.push_back(ms(t3 - t2));
            totalMs.push_back(ms(t3 - t0));
            keys = plan.deviceMap.size();
            modules = source.model.tree.size();
        }
        const double total = median(totalMs);
        std::printf("  %-14s config->tree %6.2f ms | read profile %6.2f ms | plan %6.2f ms | validate %6.2f ms | "
                    "total %6.2f ms (%d modules, %zu map keys) %s\n",
                    hardware, median(describeMs), median(profileMs), median(planMs), median(validateMs), total, modules, keys,
                    total < 50.0 ? "[under 50 ms target]" : "[OVER 50 ms target]");
    }
    return 0;
}
