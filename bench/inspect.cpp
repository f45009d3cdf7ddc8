// bench_inspect: loader::open() on a sparse Llama-3.1-405B-shaped sharded checkpoint (191 shards,
// 1,137 tensors, 812 GB apparent), measured side by side in one run:
//  - time, cold and warm, against a floor that reads exactly the files and byte ranges open()
//    reads, with plain pread(): the index, every shard's header (its first min(size, 4 KiB) bytes,
//    then the rest of the 8 + N header bytes when longer, as the loader does) and config.json.
//    "Cold" = posix_fadvise(POSIX_FADV_DONTNEED) on each of those files before every run; the
//    bench checks with mincore() how many of those pages really left the page cache.
//  - memory: peak RSS of fresh processes (fork + exec of this program in a child mode, peak
//    from wait4()'s ru_maxrss): doing nothing, open(), open + describe + sizes, for the 405B and
//    for the small default demo; the ratios between the two are printed, computed.
// Usage: bench_inspect [DIR_405B] [RUNS] [DIR_SMALL]   (missing demos are written first)
//        bench_inspect --child baseline|open|inspect DIR   (internal: one measured process)
#include "loader/checkpoint.h"
#include "models/demo.h"
#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "planner/moduletree.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The files open() reads for a sharded folder, in its order: the index, every shard, config.json.
struct ReadSet {
    std::string dir;
    std::string index;
    std::vector<std::string> shards;
    std::string config;
    std::vector<std::string> all() const
    {
        std::vector<std::string> files{index};
        files.insert(files.end(), shards.begin(), shards.end());
        files.push_back(config);
        return files;
    }
};

ReadSet readSetOf(const std::string &dir)
{
    ReadSet r;
    r.dir = dir;
    r.index = (fs::path(dir) / "model.safetensors.index.json").string();
    r.config = (fs::path(dir) / "config.json").string();
    for (const auto &e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors")
            r.shards.push_back(e.path().string());
    std::sort(r.shards.begin(), r.shards.end()); // model-0000i-of-0000N: the index's order
    return r;
}

std::int64_t fileSizeOf(int fd)
{
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

bool preadAll(int fd, char *dst, std::int64_t size, std::int64_t offset)
{
    while (size > 0) {
        const ssize_t n = ::pread(fd, dst, static_cast<std::size_t>(size), offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        dst += n;
        size -= n;
        offset += n;
    }
    return true;
}

// The byte ranges open() reads: [0, length) of the file.
struct Range {
    std::string file;
    std::int64_t length = 0;
};

// Reads a whole small file (index, config) as the loader does: open, fstat, pread.
std::int64_t readWhole(const std::string &path, std::vector<char> &buf, std::vector<Range> *ranges)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    const std::int64_t size = fileSizeOf(fd);
    buf.resize(static_cast<std::size_t>(std::max<std::int64_t>(size, 0)));
    const bool ok = size > 0 && preadAll(fd, buf.data(), size, 0);
    ::close(fd);
    if (ranges)
        ranges->push_back({path, size});
    return ok ? size : 0;
}

// The floor: list the folder, read the index, every shard's header, the config, with nothing
// else (no parsing). Returns the bytes read; `ranges` (optional) receives what was read.
std::int64_t readFloor(const ReadSet &set, std::vector<Range> *ranges = nullptr)
{
    std::int64_t total = 0;
    if (DIR *d = ::opendir(set.dir.c_str())) {
        while (::readdir(d) != nullptr) {
        }
        ::closedir(d);
    }
    std::vector<char> buf;
    total += readWhole(set.index, buf, ranges);
    for (const auto &f : set.shards) {
        const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        const std::int64_t size = fileSizeOf(fd);
        const std::int64_t first = std::min<std::int64_t>(size, 4096);
        buf.resize(static_cast<std::size_t>(first));
        std::int64_t read = 0;
        if (first >= 8 && preadAll(fd, buf.data(), first, 0)) {
            read = first;
            std::uint64_t n = 0;
            std::memcpy(&n, buf.data(), 8); // little-endian length, as on every machine we run on
            const std::int64_t header = 8 + static_cast<std::int64_t>(n);
            if (n < (100u << 20) && header > first && header <= size) {
                buf.resize(static_cast<std::size_t>(header));
                if (preadAll(fd, buf.data() + first, header - first, first))
                    read = header;
            }
        }
        ::close(fd);
        total += read;
        if (ranges)
            ranges->push_back({f, read});
    }
    struct stat st {};
    if (::stat(set.config.c_str(), &st) == 0)
        total += readWhole(set.config, buf, ranges);
    return total;
}

// Drops the files from the page cache (written pages are flushed first: dirty pages cannot be dropped).
void dropCache(const std::vector<std::string> &files)
{
    for (const auto &f : files) {
        const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::fdatasync(fd);
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            ::close(fd);
        }
    }
}

// Pages of the ranges that are in the page cache now, and pages in all (mincore()).
std::pair<long, long> residentPages(const std::vector<Range> &ranges)
{
    const long page = ::sysconf(_SC_PAGESIZE);
    long resident = 0, total = 0;
    std::vector<unsigned char> vec;
    for (const auto &r : ranges) {
        if (r.length <= 0)
            continue;
        const int fd = ::open(r.file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        const auto len = static_cast<std::size_t>(r.length);
        void *p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED)
            continue;
        const std::size_t pages = (len + static_cast<std::size_t>(page) - 1) / static_cast<std::size_t>(page);
        vec.assign(pages, 0);
        if (::mincore(p, len, vec.data()) == 0)
            for (unsigned char v : vec)
                resident += v & 1;
        total += static_cast<long>(pages);
        ::munmap(p, len);
    }
    return {resident, total};
}

struct Timing {
    double best = 0;
    double median = 0;
};

template <class F> Timing measure(int runs, F &&f, bool cold, const std::vector<std::string> &files)
{
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        if (cold)
            dropCache(files);
        const auto t0 = Clock::now();
        f();
        ms.push_back(msSince(t0));
    }
    std::sort(ms.begin(), ms.end());
    return {ms.front(), ms[ms.size() / 2]};
}

// ---- fresh processes --------------------------------------------------------------------------

int childMain(const std::string &mode, const std::string &dir)
{
    try {
        if (mode == "baseline")
            return 0;
        if (mode == "open") {
            const auto cp = mizan::loader::open(dir);
            return cp.catalog.tensors.empty() ? 1 : 0;
        }
        if (mode == "inspect") {
            const auto src = mizan::models::openSource(dir);
            const auto sizes = mizan::planner::aggregateSizes(src.model.tree, mizan::DType::BF16);
            return sizes.bytes.empty() ? 1 : 0;
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_inspect --child %s: %s\n", mode.c_str(), e.what());
        return 1;
    }
    std::fprintf(stderr, "bench_inspect: unknown child mode %s\n", mode.c_str());
    return 2;
}

std::string selfPath()
{
    std::error_code ec;
    const auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.string();
}

// Peak RSS (KiB) of a fresh process running `mode` on `dir`: fork + exec of this program, then
// wait4()'s ru_maxrss. The parent stays small until these run (demos are written in children),
// so what a child inherits at fork is below what the exec'd program itself uses.
long childPeakKb(const std::string &mode, const std::string &dir)
{
    static const std::string self = selfPath();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[] = {"bench_inspect", "--child", mode.c_str(), dir.c_str(), nullptr};
        ::execv(self.c_str(), const_cast<char *const *>(argv));
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    if (::wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_maxrss;
}

// Smallest of three fresh processes.
long peakKb(const std::string &mode, const std::string &dir)
{
    long best = -1;
    for (int i = 0; i < 3; ++i) {
        const long kb = childPeakKb(mode, dir);
        if (kb < 0)
            return -1;
        best = best < 0 ? kb : std::min(best, kb);
    }
    return best;
}

// Writes a demo in a child process, so the parent's memory stays what it was.
bool ensureDemo(const std::string &dir, const mizan::models::DemoOptions &options, const char *what)
{
    if (fs::exists(fs::path(dir) / "config.json"))
        return true;
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        try {
            const auto t0 = Clock::now();
            const auto r = mizan::models::writeDemo(dir, options);
            std::printf("wrote %s %s: %d shards, %lld tensors, %.1f GB apparent, in %.0f ms\n", what, dir.c_str(),
                        r.shardCount, static_cast<long long>(r.tensorCount), r.totalBytes / 1e9, msSince(t0));
            std::fflush(nullptr);
            _exit(0);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench_inspect: cannot write %s: %s\n", dir.c_str(), e.what());
            _exit(1);
        }
    }
    int status = 0;
    return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 4 && std::strcmp(argv[1], "--child") == 0)
        return childMain(argv[2], argv[3]);

    const std::string big = argc > 1 ? argv[1] : (fs::temp_directory_path() / "mizan-bench-405b").string();
    const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
    const std::string small = argc > 3 ? argv[3] : (fs::temp_directory_path() / "mizan-bench-small").string();

    mizan::models::DemoOptions bigOptions;
    bigOptions.preset = "llama-3.1-405b";
    bigOptions.sparse = true;
    bigOptions.shards = 191;
    if (!ensureDemo(big, bigOptions, "sparse 405B demo") || !ensureDemo(small, {}, "small default demo"))
        return 1;

    // Memory first, while this process is still small.
    struct Peak {
        const char *label;
        std::string mode, dir;
        long kb = -1;
    };
    std::vector<Peak> peaks{{"baseline: exec, no work", "baseline", big},
                            {"open(), small demo", "open", small},
                            {"open(), 405B sparse", "open", big},
                            {"open + describe + sizes, small demo", "inspect", small},
                            {"open + describe + sizes, 405B sparse", "inspect", big}};
    for (auto &p : peaks) {
        p.kb = peakKb(p.mode, p.dir);
        if (p.kb < 0) {
            std::fprintf(stderr, "bench_inspect: the child process for \"%s\" failed\n", p.label);
            return 1;
        }
    }

    const auto bigCp = mizan::loader::open(big);
    const auto smallCp = mizan::loader::open(small);
    const ReadSet set = readSetOf(big);
    const auto files = set.all();
    std::vector<Range> ranges;
    const std::int64_t floorBytes = readFloor(set, &ranges);
    if (bigCp.catalog.shards.size() != set.shards.size()) {
        std::fprintf(stderr, "bench_inspect: open() read %zu shards, the floor %zu\n", bigCp.catalog.shards.size(),
                     set.shards.size());
        return 1;
    }

    std::size_t tensors = 0;
    auto openOnly = [&] { tensors = mizan::loader::open(big).catalog.tensors.size(); };
    auto inspect = [&] {
        auto src = mizan::models::openSource(big);
        tensors = mizan::planner::aggregateSizes(src.model.tree, mizan::DType::BF16).bytes.size();
    };
    auto floor = [&] { readFloor(set); };

    dropCache(files);
    const auto afterDrop = residentPages(ranges);
    const Timing floorCold = measure(runs, floor, true, files);
    const Timing openCold = measure(runs, openOnly, true, files);
    const Timing floorWarm = measure(runs, floor, false, files);
    const Timing openWarm = measure(runs, openOnly, false, files);
    const Timing inspectWarm = measure(runs, inspect, false, files);
    const auto warm = residentPages(ranges);

    std::printf("checkpoint %s: %zu shards, %zu tensors, %.1f GB of tensor data (sparse)\n", big.c_str(),
                bigCp.catalog.shards.size(), bigCp.catalog.tensors.size(), bigCp.catalog.totalBytes() / 1e9);
    std::printf("files open() reads: the index, %zu shard headers, config.json = %zu files, %lld bytes "
                "(the floor reads the same ranges with pread)\n",
                set.shards.size(), files.size(), static_cast<long long>(floorBytes));
    std::printf("cold = posix_fadvise(POSIX_FADV_DONTNEED) on those %zu files before each run; pages of the read "
                "ranges in the page cache (mincore): %ld of %ld after a drop, %ld of %ld after the warm runs\n",
                files.size(), afterDrop.first, afterDrop.second, warm.first, warm.second);
    std::printf("\n%-34s %9s %9s %9s %7s\n", ("time, " + std::to_string(runs) + " runs each").c_str(), "best ms",
                "median ms", "floor ms", "ratio");
    auto row = [](const char *label, Timing t, Timing f) {
        std::printf("%-34s %9.2f %9.2f %9.2f %6.2fx\n", label, t.best, t.median, f.best, ratio(t.best, f.best));
    };
    row("open(), cold", openCold, floorCold);
    row("open(), warm", openWarm, floorWarm);
    row("open + describe + sizes, warm", inspectWarm, floorWarm);
    std::printf("target: open() cold within 1.5x of the floor and under 300 ms: %s (%.2fx, %.2f ms)\n",
                ratio(openCold.best, floorCold.best) <= 1.5 && openCold.best < 300 ? "met" : "MISSED",
                ratio(openCold.best, floorCold.best), openCold.best);

    std::printf("\npeak RSS of a fresh process (fork + exec of bench_inspect, wait4 ru_maxrss, smallest of 3):\n");
    const long base = peaks[0].kb;
    for (const auto &p : peaks)
        std::printf("  %-38s %8ld KiB  (%+ld KiB over the baseline)\n", p.label, p.kb, p.kb - base);
    const double bytesRatio = ratio(static_cast<double>(bigCp.catalog.totalBytes()), static_cast<double>(smallCp.catalog.totalBytes()));
    const double tensorRatio = ratio(static_cast<double>(bigCp.catalog.tensors.size()), static_cast<double>(smallCp.catalog.tensors.size()));
    const long openSmall = peaks[1].kb - base, openBig = peaks[2].kb - base;
    if (openSmall <= 0 || openBig <= 0)
        std::printf("open() peak RSS over the baseline: %ld KiB (405B), %ld KiB (small): too close to the baseline "
                    "for a ratio\n", openBig, openSmall);
    else
        std::printf("405B vs small demo: %.0fx the tensor bytes, %.1fx the tensors (%zu vs %zu), %.1fx the header bytes; "
                "open() peak RSS over the baseline %ld vs %ld KiB = %.1fx (%.0f vs %.0f bytes per tensor)\n",
                bytesRatio, tensorRatio, bigCp.catalog.tensors.size(), smallCp.catalog.tensors.size(),
                ratio(static_cast<double>(floorBytes), static_cast<double>(readFloor(readSetOf(small)))), openBig,
                openSmall, ratio(static_cast<double>(openBig), static_cast<double>(openSmall)),
                ratio(openBig * 1024.0, static_cast<double>(bigCp.catalog.tensors.size())),
                ratio(openSmall * 1024.0, static_cast<double>(smallCp.catalog.tensors.size())));
    return tensors > 0 ? 0 : 1;
}
