// bench_startup: mizan-cli end to end, as processes, against /bin/true in the same run. Target
// (issue 9): `presets`, `inspect` of the demo and `plan` of the 405B preset each under 30 ms, which
// they can only reach without loading libtorch. `devices` loads the libtorch backend and is timed
// for reference. The commands run interleaved (one of each per round) so that a busy machine
// slows all of them alike; stdout and stderr go to /dev/null. Besides the wall time, the CPU time
// the process used (user + system, from wait4) is shown: on a loaded machine it is the steadier
// figure. So are its page faults (minor faults, from wait4): on virtual machines each costs 10-20 us,
// and they were most of the start-up of `plan` before mizan-cli backed its heap with huge pages.
//
// usage: bench_startup [MIZAN_CLI] [ROUNDS]   (default: this build's mizan-cli, 30 rounds)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kTargetMs = 30.0;

struct Command {
    std::string label;
    std::vector<std::string> argv;
    std::vector<double> ms, cpuMs, faults;
};

struct Timing {
    double wallMs = -1; // negative: could not start, or did not exit with 0
    double cpuMs = 0;
    double faults = 0;
};

double ms(const timeval &t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

// Runs argv to completion with stdout/stderr on /dev/null.
Timing timeRun(const std::vector<std::string> &argv)
{
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const auto start = Clock::now();
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0)
        return {};
    int status = 0;
    rusage usage{};
    while (wait4(pid, &status, 0, &usage) < 0) {
    }
    const double wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return {};
    return {wall, ms(usage.ru_utime) + ms(usage.ru_stime), static_cast<double>(usage.ru_minflt)};
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

int main(int argc, char **argv)
{
    const std::string cli = argc > 1 ? argv[1] : MIZAN_CLI;
    const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 30;

    // The demo checkpoint, made in a temporary folder first.
    char folder[] = "/tmp/mizan-bench-startup-XXXXXX";
    if (!mkdtemp(folder)) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::string demo = std::string(folder) + "/demo";
    if (timeRun({cli, "make-demo", demo}).wallMs < 0) {
        std::fprintf(stderr, "bench_startup: %s make-demo %s failed\n", cli.c_str(), demo.c_str());
        std::filesystem::remove_all(folder);
        return 1;
    }

    std::vector<Command> commands = {
        {"/bin/true", {"/bin/true"}, {}, {}, {}},
        {"mizan-cli presets", {cli, "presets"}, {}, {}, {}},
        {"mizan-cli inspect DEMO", {cli, "inspect", demo}, {}, {}, {}},
        {"mizan-cli plan llama-3.1-405b --hardware 8x-h100-80gb", {cli, "plan", "llama-3.1-405b", "--hardware", "8x-h100-80gb"}, {}, {}, {}},
        {"mizan-cli devices (loads libtorch)", {cli, "devices"}, {}, {}, {}},
    };
    // One unmeasured round warms the page cache; then `rounds` interleaved rounds.
    for (int round = -1; round < rounds; ++round)
        for (auto &c : commands) {
            const Timing t = timeRun(c.argv);
            if (t.wallMs < 0) {
                std::fprintf(stderr, "bench_startup: \"%s\" failed\n", c.label.c_str());
                std::filesystem::remove_all(folder);
                return 1;
            }
            if (round >= 0) {
                c.ms.push_back(t.wallMs);
                c.cpuMs.push_back(t.cpuMs);
                c.faults.push_back(t.faults);
            }
        }
    std::filesystem::remove_all(folder);

    const double trueMedian = median(commands.front().ms);
    std::printf("start-up as processes: %s, %d interleaved rounds (stdout to /dev/null)\n\n", cli.c_str(), rounds);
    std::printf("%-53s %10s %8s %11s %9s %10s %7s\n", "command", "median ms", "min ms", "x /bin/true", "x 30 ms",
                "cpu ms", "faults");
    for (const auto &c : commands) {
        const double med = median(c.ms);
        const double min = *std::min_element(c.ms.begin(), c.ms.end());
        std::printf("%-53s %10.2f %8.2f %11.1f %9.2f %10.2f %7.0f\n", c.label.c_str(), med, min, med / trueMedian,
                    med / kTargetMs, median(c.cpuMs), median(c.faults));
    }
    std::printf("\nx 30 ms: median wall time / 30 ms (the target; under 1.00 meets it). cpu ms: median user +\n"
                "system time of the process. faults: median minor page faults of the process. devices is a\n"
                "reference: it loads the libtorch backend, which the other commands never do.\n");
    return 0;
}
