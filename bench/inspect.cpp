// bench_inspect: open a sparse Llama-3.1-405B-shaped sharded checkpoint (191 shards, 1,137 tensors)
// cold and warm, against the physical floor of reading every shard's header with plain read().
// Also times the full inspection (open + describe + sizes). Prints ratios and peak RSS.
#include "loader/checkpoint.h"
#include "models/demo.h"
#include "models/describe.h"
#include "planner/moduletree.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::vector<std::string> shardFiles(const std::string &dir)
{
    std::vector<std::string> files;
    for (const auto &e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors")
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

// Drops the files from the page cache (cold runs).
void dropCache(const std::vector<std::string> &files)
{
    for (const auto &f : files) {
        int fd = ::open(f.c_str(), O_RDONLY);
        if (fd >= 0) {
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            ::close(fd);
        }
    }
}

// The floor: read the 8-byte length and the JSON header of every shard, nothing else.
std::int64_t readHeaders(const std::vector<std::string> &files)
{
    std::int64_t total = 0;
    std::vector<char> buf;
    for (const auto &f : files) {
        int fd = ::open(f.c_str(), O_RDONLY);
        if (fd < 0)
            continue;
        std::uint64_t n = 0;
        if (::read(fd, &n, 8) == 8 && n < (100u << 20)) {
            buf.resize(n);
            total += ::read(fd, buf.data(), n);
        }
        ::close(fd);
    }
    return total;
}

template <class F> double best(int runs, F &&f, bool cold, const std::vector<std::string> &files)
{
    double b = 1e300;
    for (int i = 0; i < runs; ++i) {
        if (cold)
            dropCache(files);
        const auto t0 = Clock::now();
        f();
        b = std::min(b, msSince(t0));
    }
    return b;
}

long peakRssKb()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

} // namespace

int main(int argc, char **argv)
{
    const std::string dir = argc > 1 ? argv[1] : (fs::temp_directory_path() / "mizan-bench-405b").string();
    const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
    if (!fs::exists(fs::path(dir) / "config.json")) {
        mizan::models::DemoOptions o;
        o.preset = "llama-3.1-405b";
        o.sparse = true;
        o.shards = 191;
        const auto t0 = Clock::now();
        const auto r = mizan::models::writeDemo(dir, o);
        std::printf("wrote sparse demo %s: %d shards, %lld tensors, %.1f GB apparent, in %.0f ms\n", dir.c_str(),
                    r.shardCount, static_cast<long long>(r.tensorCount), r.totalBytes / 1e9, msSince(t0));
    }
    const auto files = shardFiles(dir);
    const long rssBefore = peakRssKb();

    std::size_t tensors = 0;
    auto openOnly = [&] { tensors = mizan::loader::open(dir).catalog.tensors.size(); };
    auto inspect = [&] {
        auto src = mizan::models::openSource(dir);
        auto sizes = mizan::planner::aggregateSizes(src.model.tree, mizan::DType::BF16);
        tensors = static_cast<std::size_t>(sizes.bytes.size());
    };
    auto floor = [&] { readHeaders(files); };

    const double floorCold = best(runs, floor, true, files);
    const double openCold = best(runs, openOnly, true, files);
    const double floorWarm = best(runs, floor, false, files);
    const double openWarm = best(runs, openOnly, false, files);
    const double inspectWarm = best(runs, inspect, false, files);

    std::printf("checkpoint: %zu shards, %zu tensors\n", files.size(), mizan::loader::open(dir).catalog.tensors.size());
    std::printf("%-34s %9s %9s %7s\n", "case (best of runs)", "ms", "floor ms", "ratio");
    std::printf("%-34s %9.2f %9.2f %6.2fx   (target <= 1.5x, < 300 ms)\n", "open, cold cache", openCold, floorCold, openCold / floorCold);
    std::printf("%-34s %9.2f %9.2f %6.2fx\n", "open, warm cache", openWarm, floorWarm, openWarm / floorWarm);
    std::printf("%-34s %9.2f %9.2f %6.2fx\n", "open + describe + sizes, warm", inspectWarm, floorWarm, inspectWarm / floorWarm);
    std::printf("peak RSS: %ld KiB before, %ld KiB after (grows with tensor count, not checkpoint bytes)\n", rssBefore, peakRssKb());
    return 0;
}
