#include "runtime/calibrate.h"

#include "loader/checkpoint.h"
#include "models/demo.h"
#include "models/describe.h"
#include "planner/atomicfile.h"
#include "planner/error.h"
#include "planner/jsonfile.h"
#include "runtime/backend.h"
#include "runtime/devices.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <limits>
#include <thread>
#include <vector>

namespace mizan::runtime {

namespace fs = std::filesystem;
using planner::Device;
using planner::SpeedModel;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr std::size_t kFileBytes = std::size_t(64) << 20;

// The median of a few timings: what a run typically sees (the runtime's steps and the benchmarks
// that check the predictions take typical times, not the luckiest one).
double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double memcpyBandwidth()
{
    std::vector<char> a(kFileBytes, 1), b(kFileBytes, 2);
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = Clock::now();
        std::memcpy(b.data(), a.data(), a.size());
        times.push_back(since(t0));
        a[static_cast<std::size_t>(i)] = b[static_cast<std::size_t>(i) + 1]; // keep the copies observable
    }
    return static_cast<double>(kFileBytes) / median(times);
}

// The runtime's prefetch pattern: the worker launches a step's staging on a thread of its own
// (std::async), computes meanwhile, then waits for it. Returns the median of the launch-to-start
// and end-to-wake delays, averaged (the cost model counts one of each per prefetched step).
double prefetchHandoff()
{
    std::vector<double> starts, wakes;
    std::vector<double> work(std::size_t(1) << 14, 1.0); // 128 KiB: a small step's weights
    double sink = 0;
    for (int i = 0; i < 51; ++i) {
        const auto launched = Clock::now();
        auto staged = std::async(std::launch::async, [] {
            const auto started = Clock::now();
            std::this_thread::sleep_for(std::chrono::microseconds(300)); // the transfer
            return std::make_pair(started, Clock::now());
        });
        for (double w : work) // the worker computes the current step meanwhile
            sink += w;
        const auto [started, ended] = staged.get();
        const auto woke = Clock::now();
        starts.push_back(std::chrono::duration<double>(started - launched).count());
        wakes.push_back(std::max(0.0, std::chrono::duration<double>(woke - ended).count()));
    }
    volatile double keep = sink; // the summing is not optimised away
    (void)keep;
    return (median(starts) + median(wakes)) / 2;
}

// A file of kFileBytes in `folder`, removed on destruction.
class TestFile {
public:
    explicit TestFile(const std::string &folder)
    {
        std::string name = (fs::path(folder) / ".mizan-calibrate-XXXXXX").string();
        m_fd = ::mkstemp(name.data());
        if (m_fd < 0)
            throw Error(ErrorKind::Io, folder, std::string("cannot create a test file: ") + std::strerror(errno));
        m_path = name;
        std::vector<char> block(std::size_t(4) << 20);
        for (std::size_t i = 0; i < block.size(); ++i)
            block[i] = static_cast<char>(i * 2654435761u >> 24);
        for (std::size_t written = 0; written < kFileBytes; written += block.size())
            if (::write(m_fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()))
                throw Error(ErrorKind::Io, m_path, std::string("cannot write the test file: ") + std::strerror(errno));
        if (::fsync(m_fd) != 0)
            throw Error(ErrorKind::Io, m_path, std::string("cannot sync the test file: ") + std::strerror(errno));
    }
    ~TestFile()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        if (!m_path.empty())
            ::unlink(m_path.c_str());
    }
    TestFile(const TestFile &) = delete;
    TestFile &operator=(const TestFile &) = delete;
    int fd() const { return m_fd; }
    const std::string &path() const { return m_path; }

private:
    int m_fd = -1;
    std::string m_path;
};

struct Mapping {
    void *data = MAP_FAILED;
    ~Mapping()
    {
        if (data != MAP_FAILED)
            ::munmap(data, kFileBytes);
    }
};

double pageCacheBandwidth(const TestFile &file)
{
    Mapping map;
    map.data = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, file.fd(), 0);
    if (map.data == MAP_FAILED)
        throw Error(ErrorKind::Io, file.path(), std::string("cannot map the test file: ") + std::strerror(errno));
    std::vector<char> out(kFileBytes);
    std::memcpy(out.data(), map.data, kFileBytes); // brings the pages in
    std::vector<double> times;
    for (int i = 0; i < 3; ++i) {
        // A fresh mapping each time: the runtime maps a checkpoint once, but its pages are first
        // touched by the copy that brings a step in.
        Mapping again;
        again.data = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, file.fd(), 0);
        if (again.data == MAP_FAILED)
            throw Error(ErrorKind::Io, file.path(), std::string("cannot map the test file: ") + std::strerror(errno));
        const auto t0 = Clock::now();
        std::memcpy(out.data(), again.data, kFileBytes);
        times.push_back(since(t0));
    }
    return static_cast<double>(kFileBytes) / median(times);
}

// Share of the file's pages in the page cache.
double residentShare(const TestFile &file)
{
    Mapping map;
    map.data = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, file.fd(), 0);
    if (map.data == MAP_FAILED)
        return 1;
    const long page = ::sysconf(_SC_PAGESIZE);
    std::vector<unsigned char> vec((kFileBytes + static_cast<std::size_t>(page) - 1) / static_cast<std::size_t>(page));
    if (::mincore(map.data, kFileBytes, vec.data()) != 0)
        return 1;
    std::size_t in = 0;
    for (unsigned char v : vec)
        in += v & 1;
    return static_cast<double>(in) / static_cast<double>(vec.size());
}

// Cold read bandwidth, or 0 when the file system keeps the pages whatever is asked (tmpfs).
double coldReadBandwidth(const TestFile &file)
{
    ::fdatasync(file.fd());
    ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
    if (residentShare(file) > 0.1)
        return 0;
    std::vector<char> buffer(std::size_t(4) << 20);
    const auto t0 = Clock::now();
    for (std::size_t offset = 0; offset < kFileBytes; offset += buffer.size()) {
        const ssize_t got = ::pread(file.fd(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
        if (got <= 0)
            throw Error(ErrorKind::Io, file.path(), std::string("cannot read the test file back: ") + std::strerror(errno));
    }
    return static_cast<double>(kFileBytes) / since(t0);
}

std::string isoDate()
{
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// What a checkpoint's model is for the cost model.
struct Counted {
    planner::ModuleTree tree;
    planner::PlanOptions options;
    double modules = 0;      // modules with weights, per forward
    double bytes = 0;        // weights streamed per token, in the CPU's compute dtype
    double flopsPerToken = 0;
};

Counted count(const std::string &dir)
{
    Counted c;
    const loader::Checkpoint checkpoint = loader::open(dir);
    models::ModelDescription model = models::describe(checkpoint);
    c.tree = std::move(model.tree);
    c.options.noSplitClasses = model.noSplitClasses;
    c.options.maxMemory = {{Device::cpu(), 1}};
    const planner::DeviceMap map{{"", Device::cpu()}};
    SpeedModel unit = planner::assumedSpeedModel();
    unit.cpu.compute = {1e300, 1e300, 1};
    c.modules = planner::predict(c.tree, map, c.options, unit).computeSecondsPerToken;
    unit.cpu.compute = {1, 1e300, 0};
    c.bytes = planner::predict(c.tree, map, c.options, unit).computeSecondsPerToken;
    c.flopsPerToken = c.bytes / 2; // float32: 4 bytes and 2 FLOPs per weight
    return c;
}

struct Measured {
    double decode = 0;   // seconds per token
    double prefill = 0;  // seconds for the prompt
    RunResult result;
};

Measured runOnce(Backend &backend, const std::string &dir, const planner::DeviceMap &map, const std::vector<RunDevice> &devices,
                 int promptTokens, int newTokens)
{
    RunRequest request;
    request.checkpointPath = dir;
    request.map = map;
    request.devices = devices;
    for (int i = 0; i < promptTokens; ++i)
        request.promptIds.push_back(1 + (i * 7) % 100);
    request.maxNewTokens = newTokens;
    request.prefetch = 0;
    std::unique_ptr<Session> session = backend.createSession(request);
    RunResult result = session->run([](const std::vector<RunEvent> &) {});
    if (result.error)
        throw Error(result.error->kind, result.error->file.empty() ? dir : result.error->file,
                    "calibration run failed: " + result.error->message);
    return {result.decodeSecondsPerToken, result.prefillSeconds, std::move(result)};
}

// The median decode and prefill times of `tries` runs (odd).
Measured typical(Backend &backend, const std::string &dir, const planner::DeviceMap &map, const std::vector<RunDevice> &devices,
                 int promptTokens, int newTokens, int tries)
{
    Measured m = runOnce(backend, dir, map, devices, promptTokens, newTokens);
    std::vector<double> decode{m.decode}, prefill{m.prefill};
    for (int i = 1; i < tries; ++i) {
        const Measured again = runOnce(backend, dir, map, devices, promptTokens, newTokens);
        decode.push_back(again.decode);
        prefill.push_back(again.prefill);
    }
    m.decode = median(decode);
    m.prefill = median(prefill);
    return m;
}

// Fixed cost per module and weight bandwidth from a tiny and a large model's decode times.
planner::ComputeSpeed fit(const Counted &tiny, double tTiny, const Counted &large, double tLarge, double prefillLarge, int promptTokens)
{
    planner::ComputeSpeed speed;
    const double det = tiny.modules * large.bytes - large.modules * tiny.bytes;
    double overhead = det != 0 ? (tTiny * large.bytes - tLarge * tiny.bytes) / det : 0;
    double inverseBandwidth = det != 0 ? (tiny.modules * tLarge - large.modules * tTiny) / det : 0;
    if (overhead < 0 || inverseBandwidth <= 0) {
        // Noise swamped one of them: attribute the tiny model's time to the fixed cost.
        overhead = std::max(0.0, tTiny / tiny.modules);
        inverseBandwidth = std::max(1e-15, (tLarge - overhead * large.modules) / large.bytes);
    }
    speed.moduleOverhead = overhead;
    speed.weightBandwidth = 1 / inverseBandwidth;
    const double compute = prefillLarge - overhead * large.modules;
    const double flops = large.flopsPerToken * 2 * promptTokens; // 2 FLOPs per weight per token
    speed.flops = compute > 0 ? flops / compute : 0;
    return speed;
}

} // namespace

Calibration calibrate(const CalibrateOptions &options)
{
    auto say = [&](const std::string &what) {
        if (options.progress)
            options.progress(what);
    };
    Calibration cal;
    cal.date = isoDate();
    std::error_code ec;
    cal.folder = options.folder.empty() ? fs::temp_directory_path(ec).string() : options.folder;
    if (cal.folder.empty())
        cal.folder = "/tmp";
    fs::create_directories(cal.folder, ec);
    if (!fs::is_directory(cal.folder))
        throw Error(ErrorKind::Io, cal.folder, "not a folder (calibration writes its test files there)");

    SpeedModel &s = cal.speeds;
    s = planner::assumedSpeedModel();
    s.notes.clear();
    say("measuring memcpy");
    s.memcpyBandwidth = memcpyBandwidth();
    say("measuring the prefetch thread's hand-off");
    s.prefetchHandoff = prefetchHandoff();
    {
        say("measuring the page cache and the disk");
        TestFile file(cal.folder);
        s.pageCacheBandwidth = pageCacheBandwidth(file);
        const double cold = coldReadBandwidth(file);
        if (cold > 0) {
            s.diskBandwidth = cold;
        } else {
            s.diskBandwidth = s.pageCacheBandwidth;
            cal.notes.push_back(cal.folder + " keeps its files in memory (tmpfs or a cache that cannot be dropped): cold reads "
                                "not measured, the disk counts as fast as the page cache");
        }
    }
    s.pageCacheBytes = probeHostMemory().availableBytes;

    const BackendLoad &load = loadBackend();
    if (!load.backend)
        throw Error(ErrorKind::NotFound, load.path, "cannot measure compute without the libtorch backend: " + load.error);
    Backend &backend = *load.backend;
    cal.backend = backend.description();

    struct Demo {
        std::string dir;
        ~Demo()
        {
            std::error_code e;
            if (!dir.empty())
                fs::remove_all(dir, e);
        }
    };
    Demo tinyDir, largeDir, halfDir;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%d", static_cast<int>(::getpid()));
    tinyDir.dir = (fs::path(cal.folder) / (std::string(".mizan-calibrate-tiny-") + stamp)).string();
    largeDir.dir = (fs::path(cal.folder) / (std::string(".mizan-calibrate-large-") + stamp)).string();
    halfDir.dir = (fs::path(cal.folder) / (std::string(".mizan-calibrate-half-") + stamp)).string();
    say("writing the test models");
    models::DemoOptions tinyOptions;
    tinyOptions.hidden = 64;
    tinyOptions.layers = 4;
    tinyOptions.dtype = DType::F32;
    models::writeDemo(tinyDir.dir, tinyOptions);
    models::DemoOptions largeOptions = tinyOptions;
    largeOptions.hidden = 2048;
    models::writeDemo(largeDir.dir, largeOptions);
    models::DemoOptions halfOptions = largeOptions;
    halfOptions.layers = 2;
    halfOptions.dtype = DType::F16;
    models::writeDemo(halfDir.dir, halfOptions);
    const Counted tiny = count(tinyDir.dir), large = count(largeDir.dir);

    const int prompt = 64;
    const planner::DeviceMap onCpu{{"", Device::cpu()}};
    say("measuring the CPU");
    // The tiny model's ~1 ms tokens are what the fixed cost per module is fitted on, and a busy
    // machine spreads them widely: more tokens and runs than the large model needs.
    const double tTiny = typical(backend, tinyDir.dir, onCpu, {}, 4, 48, 7).decode;
    const Measured mLarge = typical(backend, largeDir.dir, onCpu, {}, 4, 12, 3);
    const double prefillLarge = typical(backend, largeDir.dir, onCpu, {}, prompt, 1, 3).prefill;
    s.cpu.compute = fit(tiny, tTiny, large, mLarge.decode, prefillLarge, prompt);
    s.cpu.source = "calibrated on this machine " + cal.date;
    say("measuring float16 conversion");
    const Measured half = runOnce(backend, halfDir.dir, onCpu, {}, 2, 1);
    if (half.result.convertSeconds > 0 && half.result.convertedBytes > 0)
        s.convertBandwidth = static_cast<double>(half.result.convertedBytes) / half.result.convertSeconds;
    else
        cal.notes.push_back("float16 conversion not measured (nothing was converted): assumed");

    if (options.gpus) {
        std::vector<std::string> gpuNotes;
        const std::vector<GpuInfo> gpus = backend.probeGpus(gpuNotes);
        cal.notes.insert(cal.notes.end(), gpuNotes.begin(), gpuNotes.end());
        for (const GpuInfo &g : gpus) {
            say("measuring GPU " + std::to_string(g.index) + " (" + g.name + ")");
            const Device d = Device::gpu(g.index);
            const std::vector<RunDevice> devices{{d, false, -1, g.name}};
            const planner::DeviceMap onGpu{{"", d}};
            planner::DeviceSpeed speed;
            speed.device = d;
            const double gTiny = typical(backend, tinyDir.dir, onGpu, devices, 4, 48, 7).decode;
            const double gLarge = typical(backend, largeDir.dir, onGpu, devices, 4, 12, 3).decode;
            const double gPrefill = typical(backend, largeDir.dir, onGpu, devices, prompt, 1, 3).prefill;
            speed.compute = fit(tiny, gTiny, large, gLarge, gPrefill, prompt);
            // The host link: the blocks' weights kept in RAM and brought to the GPU every token.
            const planner::DeviceMap streamed{{"model.embed_tokens", d}, {"model.layers", Device::cpu()}, {"model.norm", d}, {"lm_head", d}};
            const Measured moved = runOnce(backend, largeDir.dir, streamed, devices, 4, 6);
            for (const auto &report : moved.result.devices)
                if (report.device == d && report.transferSeconds > 0)
                    speed.hostLink = static_cast<double>(report.bytesMoved) / report.transferSeconds;
            speed.source = g.name + ", calibrated on this machine " + cal.date;
            s.gpus.push_back(speed);
        }
    }
    s.notes = cal.notes;
    return cal;
}

std::string calibrationPath()
{
    if (const char *p = std::getenv("MIZAN_CALIBRATION"); p && *p)
        return p;
    if (const char *x = std::getenv("XDG_CONFIG_HOME"); x && *x)
        return (fs::path(x) / "mizan" / "calibration.json").string();
    const char *home = std::getenv("HOME");
    return (fs::path(home && *home ? home : "/tmp") / ".config" / "mizan" / "calibration.json").string();
}

nlohmann::ordered_json calibrationToJson(const Calibration &c)
{
    nlohmann::ordered_json j;
    j["format"] = "mizan-calibration";
    j["version"] = 1;
    j["date"] = c.date;
    j["folder"] = c.folder;
    j["backend"] = c.backend;
    j["speeds"] = planner::speedModelToJson(c.speeds);
    j["notes"] = c.notes;
    return j;
}

std::optional<Calibration> loadCalibration(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)))
        return std::nullopt;
    const nlohmann::json j = planner::readJsonFile(path, InputKind::Other);
    if (!j.is_object() || j.value("format", std::string()) != "mizan-calibration")
        throw Error(ErrorKind::InvalidHeader, path, "not a Mizan calibration (\"format\": \"mizan-calibration\" expected); run mizan-cli calibrate again");
    Calibration c;
    auto text = [&](const char *key) {
        const auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    c.date = text("date");
    c.folder = text("folder");
    c.backend = text("backend");
    const auto speeds = j.find("speeds");
    if (speeds == j.end())
        throw Error(ErrorKind::InvalidHeader, path, "the calibration has no \"speeds\"; run mizan-cli calibrate again");
    c.speeds = planner::speedModelFromJson(*speeds, planner::assumedSpeedModel(), path);
    c.notes = c.speeds.notes;
    return c;
}

void saveCalibration(const Calibration &calibration, const std::string &path)
{
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    writeFileAtomically(path, calibrationToJson(calibration).dump(2) + "\n");
}

SpeedModel speedModelForThisMachine(const std::optional<Calibration> &calibration, const std::vector<int> &simulatedGpus,
                                    double simulatedBandwidth)
{
    SpeedModel s = calibration ? calibration->speeds : planner::assumedSpeedModel();
    if (calibration)
        s.notes = {"speeds calibrated on this machine " + calibration->date};
    s.pageCacheBytes = probeHostMemory().availableBytes;
    for (int index : simulatedGpus) {
        planner::DeviceSpeed g = s.cpu;
        g.device = Device::gpu(index);
        g.simulated = true;
        g.hostLink = simulatedBandwidth;
        g.source = "simulated in host RAM";
        s.gpus.erase(std::remove_if(s.gpus.begin(), s.gpus.end(), [&](const planner::DeviceSpeed &d) { return d.device == g.device; }),
                     s.gpus.end());
        s.gpus.push_back(g);
    }
    if (!simulatedGpus.empty())
        s.serialLink = false; // the runtime's simulated link sleeps per transfer: prefetches overlap
    return s;
}

} // namespace mizan::runtime
