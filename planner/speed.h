#pragma once

// The speeds the cost model (cost.h) and the optimal strategy (plan.h) work with: how fast each
// device computes and how fast weights move between devices. Pure C++.

#include "device.h"
#include "dtype.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::planner {

// How one device computes.
struct ComputeSpeed {
    double weightBandwidth = 0; // bytes/s of weights a batch-1 linear layer streams (decode)
    double flops = 0;           // dense matmul FLOP/s in the compute dtype (prefill)
    double moduleOverhead = 0;  // seconds per module with weights, per forward (dispatch, launches)
    bool operator==(const ComputeSpeed &) const = default;
};

struct DeviceSpeed {
    Device device;
    ComputeSpeed compute;
    // GPUs: host-to-device bandwidth in bytes/s. A simulated GPU (a memory arena in host RAM)
    // copies at the model's memcpy bandwidth, or at this rate when it is set and slower.
    double hostLink = 0;
    bool simulated = false;     // a GPU simulated in host RAM: computes as the CPU does
    std::string source;         // where the numbers come from: "calibrated on this machine", "profile a100-80gb", "assumed"
    bool operator==(const DeviceSpeed &) const = default;
};

struct SpeedModel {
    DeviceSpeed cpu;                   // device = cpu
    std::vector<DeviceSpeed> gpus;     // by GPU index; a GPU missing here gets `assumedGpu`
    DeviceSpeed assumedGpu;            // for GPUs without numbers (source says so)
    double memcpyBandwidth = 0;        // host RAM to host RAM, bytes/s
    double pageCacheBandwidth = 0;     // copying a file's pages already in the page cache
    double diskBandwidth = 0;          // cold reads from the disk that holds "disk" weights
    // RAM that can keep disk weights cached between tokens. When every disk-offloaded byte fits,
    // later tokens read them from the page cache; otherwise each token reads them from disk
    // (streaming a working set larger than the cache evicts what the next token needs).
    std::int64_t pageCacheBytes = 0;
    double convertBandwidth = 0;       // float16/bfloat16 -> float32, bytes read per second
    DType cpuComputeDtype = DType::F32; // what the CPU (and simulated GPUs) compute in
    std::optional<DType> gpuComputeDtype; // none: the load dtype of each weight
    // A real host link carries one transfer at a time; the runtime's simulated link (a sleep per
    // transfer) lets prefetches overlap each other.
    bool serialLink = true;
    // The runtime brings each prefetched step in on a thread of its own: seconds from the launch
    // until that thread runs, and again from its end until the worker waiting for it wakes (each
    // counted once per prefetched step; a fixed cost that matters for small steps).
    double prefetchHandoff = 0;
    std::vector<std::string> notes;    // how the model was built (what was assumed)

    const DeviceSpeed &speedOf(const Device &device) const; // cpu, a GPU, else cpu
    bool operator==(const SpeedModel &) const = default;
};

// What is asked of the model.
struct Workload {
    std::int64_t promptTokens = 32;
    int prefetch = 1;                  // steps brought in ahead (0: none), as the runtime's --prefetch
    // Experts a token is routed to in a mixture-of-experts block (Mixtral's num_experts_per_tok):
    // experts computed on the CPU read only those per generated token. 0: all of them.
    int expertsPerToken = 2;
};

} // namespace mizan::planner
