#include "session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mizan::runtime {

const char *toString(RunEventKind kind)
{
    switch (kind) {
    case RunEventKind::WeightMoved: return "weight-moved";
    case RunEventKind::WeightReleased: return "weight-released";
    case RunEventKind::ModuleRan: return "module-ran";
    case RunEventKind::Token: return "token";
    case RunEventKind::Memory: return "memory";
    case RunEventKind::Progress: return "progress";
    case RunEventKind::Finished: return "finished";
    case RunEventKind::Cancelled: return "cancelled";
    case RunEventKind::Failed: return "failed";
    }
    return "unknown";
}

std::vector<RunDevice> runDevicesFor(const planner::DeviceMap &map, const std::vector<GpuInfo> &machine,
                                     const std::vector<planner::PlanDevice> &known, const planner::MaxMemory &budgets)
{
    std::vector<planner::Device> gpus;
    for (const auto &[key, d] : map)
        if (d.isGpu() && std::find(gpus.begin(), gpus.end(), d) == gpus.end())
            gpus.push_back(d);
    std::sort(gpus.begin(), gpus.end());
    std::vector<RunDevice> out;
    for (const planner::Device &g : gpus) {
        RunDevice rd;
        rd.device = g;
        const auto real = std::find_if(machine.begin(), machine.end(), [&](const GpuInfo &i) { return i.index == g.index; });
        const auto info = std::find_if(known.begin(), known.end(), [&](const planner::PlanDevice &p) { return p.device == g; });
        if (real != machine.end()) {
            rd.label = real->name;
        } else {
            rd.simulated = true;
            if (info != known.end()) {
                rd.label = info->label;
                rd.capacityBytes = info->capacityBytes;
            }
            if (rd.capacityBytes < 0)
                rd.capacityBytes = planner::budgetOf(budgets, g);
        }
        out.push_back(rd);
    }
    return out;
}

void setPlan(RunRequest &request, const planner::DeviceMap &map, const std::vector<planner::DeviceUsage> &usage,
             std::optional<DType> loadDtype)
{
    request.map = map;
    request.plannedBytes.clear();
    for (const auto &u : usage)
        request.plannedBytes.emplace_back(u.device, static_cast<std::int64_t>(std::llround(u.plannedBytes)));
    request.gpuDtype.clear();
    if (loadDtype && (*loadDtype == DType::F16 || *loadDtype == DType::BF16 || *loadDtype == DType::F32))
        request.gpuDtype = torchName(*loadDtype);
}

const char *toString(RunPhase phase)
{
    switch (phase) {
    case RunPhase::OpeningCheckpoint: return "opening the checkpoint";
    case RunPhase::WritingOffloadFolder: return "writing the offload folder";
    case RunPhase::LoadingWeights: return "loading weights";
    case RunPhase::Prefill: return "prefill";
    case RunPhase::Decoding: return "decoding";
    }
    return "running";
}

RunError runErrorOf(const Error &error)
{
    return RunError{error.kind(), error.file(), error.message()};
}

std::string deviceName(const planner::Device &device, bool simulated)
{
    if (device.isGpu())
        return "GPU " + std::to_string(device.index) + (simulated ? " (simulated)" : "");
    if (device.kind == planner::DeviceKind::Cpu)
        return "CPU";
    if (device.kind == planner::DeviceKind::Disk)
        return "disk";
    return device.label();
}

std::vector<int> balancedStages(const std::vector<std::int64_t> &weights, const std::vector<bool> &isBlock, int world)
{
    // One item per block; what precedes the first block joins it, what follows a block joins it.
    std::vector<std::int64_t> items;
    std::int64_t before = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const std::int64_t w = std::max<std::int64_t>(0, weights[i]);
        if (i < isBlock.size() && isBlock[i]) {
            items.push_back(before + w);
            before = 0;
        } else if (items.empty()) {
            before += w;
        } else {
            items.back() += w;
        }
    }
    const int blocks = static_cast<int>(items.size());
    if (world < 1 || world > blocks)
        throw Error(ErrorKind::InvalidArgument, {},
                    "cannot split " + std::to_string(blocks) + " decoder block(s) into " + std::to_string(world) +
                        " pipeline stages: each stage needs at least one block");
    std::vector<std::int64_t> prefix(items.size() + 1, 0);
    for (std::size_t i = 0; i < items.size(); ++i)
        prefix[i + 1] = prefix[i] + items[i];
    // best[k][i]: the first i blocks in k stages with the smallest largest stage, then (among
    // splits as good) the smallest sum of squared stage sizes: the other stages as even as they go.
    struct Cost {
        std::int64_t largest = std::numeric_limits<std::int64_t>::max();
        double squares = 0;
        bool operator<(const Cost &o) const { return largest != o.largest ? largest < o.largest : squares < o.squares; }
    };
    const auto n = static_cast<std::size_t>(blocks);
    const auto stages = static_cast<std::size_t>(world);
    std::vector<std::vector<Cost>> best(stages + 1, std::vector<Cost>(n + 1));
    std::vector<std::vector<std::size_t>> cut(stages + 1, std::vector<std::size_t>(n + 1, 0));
    best[0][0] = Cost{0, 0};
    constexpr std::int64_t kInf = std::numeric_limits<std::int64_t>::max();
    for (std::size_t k = 1; k <= stages; ++k)
        for (std::size_t i = k; i <= n; ++i)
            for (std::size_t j = k - 1; j < i; ++j) {
                if (best[k - 1][j].largest == kInf)
                    continue;
                const std::int64_t stage = prefix[i] - prefix[j];
                const Cost cost{std::max(best[k - 1][j].largest, stage),
                                best[k - 1][j].squares + static_cast<double>(stage) * static_cast<double>(stage)};
                if (cost < best[k][i]) {
                    best[k][i] = cost;
                    cut[k][i] = j;
                }
            }
    std::vector<int> counts(stages, 0);
    std::size_t end = n;
    for (std::size_t k = stages; k >= 1; --k) {
        const std::size_t start = cut[k][end];
        counts[k - 1] = static_cast<int>(end - start);
        end = start;
    }
    return counts;
}

int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw Error(ErrorKind::Io, {}, "cannot open a socket to find a free port");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0;
    ::close(fd);
    if (!ok)
        throw Error(ErrorKind::Io, {}, "cannot find a free port on 127.0.0.1");
    return ntohs(address.sin_port);
}

} // namespace mizan::runtime
