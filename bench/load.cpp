// bench_load: time to a ready model and peak memory of dispatched inference (issue 10) on the
// 551 M parameter float32 LLaMA-shaped demo (benchmodel.h), measured side by side in one run with
// a plain sequential read() of the same shard files. Targets:
//   - loading at >= 0.9x the bandwidth of the sequential read when nothing needs converting;
//   - time to a ready model (RunResult::loadSeconds) under 1 s warm;
//   - peak RSS <= 1.1x the weights that must be resident (mmapped pages of disk-offloaded layers
//     do not count).
// Accelerate 1.14 on the same shape and machine: load 4.8 s, peak RSS twice the weights.
//
// float32 weights computed on the CPU (or a simulated GPU) are used in place: the tensors are the
// mmapped shards, so "ready" reads no tensor data and the bytes come in at first use, as page
// faults of the first forward. So the load is timed twice: to ready, and to ready plus the first
// token (a prefill of 8 ids, which touches every weight). Cold: the shards are dropped from the
// page cache first (posix_fadvise DONTNEED; pages another process maps stay, so "cold-ish").
// Each load runs in a fresh child process (this program with --child) that reports its VmHWM.
//
// usage: bench_load [--small] [--rounds N]

#include "benchmodel.h"

#include "runtime/backend.h"
#include "runtime/session.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace {

using Clock = std::chrono::steady_clock;
using mizan::planner::Device;
namespace bench = mizan::bench;
namespace rt = mizan::runtime;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// /proc/self/status fields in bytes (VmHWM, RssAnon, RssFile).
std::int64_t statusBytes(const char *key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(key) + ":";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::atoll(line.c_str() + prefix.size()) * 1024;
    return -1;
}

// ---- the child: one load in a fresh process ----

// Prints "backendSeconds loadSeconds prefillSeconds VmHWM RssAnon RssFile".
int child(const std::string &placement, const std::string &dir, int tokens)
{
    const auto t0 = Clock::now();
    const rt::BackendLoad &load = rt::loadBackend();
    if (!load.backend) {
        std::fprintf(stderr, "bench_load: %s\n", load.error.c_str());
        return 1;
    }
    const double backendSeconds = secondsSince(t0);
    double loadSeconds = 0, prefillSeconds = 0;
    if (placement != "none") {
        rt::RunRequest request;
        request.checkpointPath = dir;
        request.map = bench::benchMap([&](const std::string &module, int layer) {
            if (placement == "disk" && layer >= bench::kLayers / 2)
                return Device::disk();
            if (placement == "gpus")
                return module == "model.embed_tokens" || (layer >= 0 && layer < bench::kLayers / 2) ? Device::gpu(0)
                                                                                                 : Device::gpu(1);
            return Device::cpu();
        });
        if (placement == "gpus")
            for (int g = 0; g < 2; ++g) {
                rt::RunDevice d;
                d.device = Device::gpu(g);
                d.simulated = true;
                request.devices.push_back(d);
            }
        request.promptIds = {1, 450, 4996, 1735, 1701, 432, 1204, 975};
        request.maxNewTokens = tokens;
        const rt::RunResult result = load.backend->createSession(request)->run({});
        if (result.error) {
            std::fprintf(stderr, "bench_load: %s\n", result.error->message.c_str());
            return 1;
        }
        loadSeconds = result.loadSeconds;
        prefillSeconds = result.prefillSeconds;
    }
    std::printf("%.6f %.6f %.6f %lld %lld %lld\n", backendSeconds, loadSeconds, prefillSeconds,
                static_cast<long long>(statusBytes("VmHWM")), static_cast<long long>(statusBytes("RssAnon")),
                static_cast<long long>(statusBytes("RssFile")));
    return 0;
}

struct ChildResult {
    double backendSeconds = 0, loadSeconds = 0, prefillSeconds = 0;
    double hwm = 0, rssAnon = 0, rssFile = 0;
};

ChildResult runChild(const std::string &placement, const std::string &dir, int tokens)
{
    int fds[2];
    if (pipe(fds) != 0) {
        std::perror("pipe");
        std::exit(1);
    }
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string tokenText = std::to_string(tokens);
    std::vector<std::string> argv{self, "--child", placement, dir, tokenText};
    std::vector<char *> args;
    for (auto &a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (spawned != 0) {
        std::fprintf(stderr, "bench_load: cannot start %s: %s\n", self.c_str(), std::strerror(spawned));
        std::exit(1);
    }
    std::string out;
    char buffer[512];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) != 0;)
        if (n > 0)
            out.append(buffer, static_cast<std::size_t>(n));
        else if (errno != EINTR)
            break;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ChildResult r;
    std::istringstream in(out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !(in >> r.backendSeconds >> r.loadSeconds >> r.prefillSeconds >> r.hwm >> r.rssAnon >> r.rssFile)) {
        std::fprintf(stderr, "bench_load: the %s load failed\n", placement.c_str());
        std::exit(1);
    }
    return r;
}

// ---- the parent ----

// The fraction of the files' pages in the page cache (mincore).
double cachedFraction(const std::vector<std::string> &files)
{
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::size_t cached = 0, total = 0;
    for (const auto &f : files) {
        const int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        const off_t size = lseek(fd, 0, SEEK_END);
        void *p = size > 0 ? mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
        if (p != MAP_FAILED) {
            std::vector<unsigned char> in((static_cast<std::size_t>(size) + page - 1) / page);
            if (mincore(p, static_cast<std::size_t>(size), in.data()) == 0)
                for (unsigned char c : in)
                    cached += c & 1;
            total += in.size();
            munmap(p, static_cast<std::size_t>(size));
        }
        close(fd);
    }
    return total ? static_cast<double>(cached) / static_cast<double>(total) : 0;
}

// Drops the files from the page cache (written back first); returns what stayed cached.
double dropFromCache(const std::vector<std::string> &files)
{
    for (const auto &f : files) {
        const int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    return cachedFraction(files);
}

// A plain sequential read() of the files into one reused 8 MiB buffer; seconds.
double sequentialRead(const std::vector<std::string> &files)
{
    std::vector<char> buffer(8 << 20);
    const auto t0 = Clock::now();
    for (const auto &f : files) {
        const int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            std::fprintf(stderr, "bench_load: cannot open %s\n", f.c_str());
            std::exit(1);
        }
        while (read(fd, buffer.data(), buffer.size()) > 0) {
        }
        close(fd);
    }
    return secondsSince(t0);
}

const char *verdict(bool ok) { return ok ? "meets" : "MISSES"; }

} // namespace

int main(int argc, char **argv)
{
    if (argc == 5 && std::strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3], std::atoi(argv[4]));
    bool small = false;
    int rounds = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--small")
            small = true;
        else if (a == "--rounds" && i + 1 < argc)
            rounds = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: bench_load [--small] [--rounds N]\n");
            return 2;
        }
    }
    const bench::BenchModel model = bench::ensureBenchModel(small);
    std::vector<std::string> shards;
    std::int64_t fileBytes = 0;
    {
        const mizan::loader::Checkpoint c = mizan::loader::open(model.directory);
        for (const auto &s : c.catalog.shards) {
            shards.push_back(s.path);
            fileBytes += s.fileSize;
        }
    }
    const double weights = static_cast<double>(model.bytes);
    std::printf("model: %s (%.0f M parameters, %.2f GiB float32 in %zu shards)%s\n", model.directory.c_str(),
                model.parameters / 1e6, bench::gib(weights), shards.size(), model.written ? ", written now" : ", reused");
    const std::string loadBefore = bench::loadAverage();

    // Per round, cold then warm: the sequential read, ready, ready + first token.
    std::vector<double> readCold, readWarm, readyCold, readyWarm, firstCold, firstWarm, backend;
    double stayed = 0; // the most that stayed cached after a drop
    for (int r = 0; r < rounds; ++r) {
        std::printf("round %d/%d ...\n", r + 1, rounds);
        std::fflush(stdout);
        stayed = std::max(stayed, dropFromCache(shards));
        readCold.push_back(sequentialRead(shards));
        stayed = std::max(stayed, dropFromCache(shards));
        ChildResult c = runChild("cpu", model.directory, 0);
        readyCold.push_back(c.loadSeconds);
        backend.push_back(c.backendSeconds);
        stayed = std::max(stayed, dropFromCache(shards));
        c = runChild("cpu", model.directory, 1);
        firstCold.push_back(c.loadSeconds + c.prefillSeconds);
        readWarm.push_back(sequentialRead(shards));
        c = runChild("cpu", model.directory, 0);
        readyWarm.push_back(c.loadSeconds);
        c = runChild("cpu", model.directory, 1);
        firstWarm.push_back(c.loadSeconds + c.prefillSeconds);
    }
    const double gb = static_cast<double>(fileBytes) / 1e9;
    std::printf("\nload, all on the CPU, %d rounds: median seconds (GB/s of the %.2f GB of shards)\n", rounds, gb);
    std::printf("%-52s %10s %10s\n", "", "cold-ish", "warm");
    auto row = [&](const char *label, const std::vector<double> &cold, const std::vector<double> &warm) {
        std::printf("%-52s %7.3f s  %7.3f s\n", label, median(cold), median(warm));
    };
    row("sequential read() of the shards", readCold, readWarm);
    row("time to ready (loadSeconds; weights used in place)", readyCold, readyWarm);
    row("ready + first token (prefill of 8 ids)", firstCold, firstWarm);
    std::printf("(libtorch backend module loaded in %.3f s before that, once per process; after each drop at most\n"
                " %.0f%% of the shards stayed in the page cache)\n", median(backend), stayed * 100);
    // What the cold load costs over the warm one is reading the bytes (as page faults).
    const double pageIn = median(firstCold) - median(firstWarm);
    const double seqBandwidth = gb / median(readCold);
    const double loadBandwidth = pageIn > 0 ? gb / pageIn : 0;
    std::printf("paging the weights in during the first token (cold - warm): %.3f s = %.2f GB/s\n", pageIn, loadBandwidth);

    // Peak RSS of a fresh process: after the load and one token, every resident weight has been
    // touched. "none" is the process with libtorch loaded and no model.
    std::printf("\npeak RSS of a fresh process after ready + first token (warm):\n");
    const ChildResult base = runChild("none", model.directory, 0);
    struct Case {
        const char *label;
        const char *placement;
        double resident; // weights that must be resident
        double diskMapped; // mmapped pages of disk layers, touched, not counted
    };
    const double diskBytes = static_cast<double>(model.blockBytes) / 2; // layers 8-15 of 16
    const std::vector<Case> cases{
        {"all on CPU", "cpu", weights, 0},
        {"2 simulated GPUs", "gpus", weights, 0},
        {"layers 8-15 on disk", "disk", weights - diskBytes, diskBytes},
    };
    std::printf("%-22s %10s %10s %9s %22s\n", "placement", "VmHWM", "resident", "ratio", "(VmHWM - no model)");
    std::printf("%-22s %7.2f GiB\n", "libtorch, no model", bench::gib(base.hwm));
    std::vector<double> rssRatios;
    for (const auto &k : cases) {
        const ChildResult c = runChild(k.placement, model.directory, 1);
        const double ratio = (c.hwm - k.diskMapped) / k.resident;
        rssRatios.push_back(ratio);
        std::printf("%-22s %7.2f GiB %7.2f GiB %8.3fx %21.3fx%s\n", k.label, bench::gib(c.hwm), bench::gib(k.resident),
                    ratio, (c.hwm - base.hwm - k.diskMapped) / k.resident,
                    k.diskMapped > 0 ? "  (less the disk layers' mapped pages)" : "");
    }

    std::printf("\ntargets                                             measured        target    Accelerate\n");
    const double bwRatio = seqBandwidth > 0 ? loadBandwidth / seqBandwidth : 0;
    std::printf("load bandwidth / sequential read (cold)           %7.2fx  %-7s >= 0.9x\n", bwRatio, verdict(bwRatio >= 0.9));
    std::printf("time to ready, warm                               %7.3f s %-7s < 1 s     4.8 s\n", median(readyWarm),
                verdict(median(readyWarm) < 1.0));
    std::printf("ready + first token, warm                         %7.3f s\n", median(firstWarm));
    const double worst = *std::max_element(rssRatios.begin(), rssRatios.end());
    std::printf("peak RSS / resident weights (worst placement)     %7.3fx  %-7s <= 1.1x   2x\n", worst, verdict(worst <= 1.1));
    std::printf("\nload average: %s at the start, %s at the end (2 cores)\n", loadBefore.c_str(), bench::loadAverage().c_str());
    return 0;
}
