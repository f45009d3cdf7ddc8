#pragma once

// Dispatched inference, torch-free side: what a run is asked to do (RunRequest), what it reports
// while it runs (RunEvent, delivered in batches off the worker) and at the end (RunResult). The
// libtorch backend module (backend.h) executes it: Backend::createSession().
//
// Placement follows Accelerate's big-model inference: a module mapped to a GPU (real, or simulated
// on a CPU-only machine) is resident there; a "cpu" module lives in host memory and runs on the
// map's execution device (the first GPU of the map, else the CPU), brought in right before its
// forward and released after; a "disk" module is read from the checkpoint's mmapped safetensors
// in place and brought in only for its forward. While step N computes, the offloaded weights of
// the next `prefetch` steps are brought in on a background thread.

#include "planner/device.h"
#include "planner/dtype.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "planner/planfile.h"
#include "runtime/devices.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mizan::runtime {

// A device the run may use, as the plan describes it.
struct RunDevice {
    planner::Device device;
    // A GPU that is a CPU memory arena of `capacityBytes` (a CPU-only machine, or a plan for a
    // machine with more GPUs than this one). Every allocation the run makes on it (weights, KV
    // cache, activations) counts against the capacity; exceeding it is an out-of-memory error.
    bool simulated = false;
    std::int64_t capacityBytes = -1; // the arena's size (simulated GPUs); -1: no limit
    std::string label;               // for reports: "NVIDIA H100", "simulated GPU 1", "system RAM"
};

// A run as one stage of a pipeline over several processes (ranks), connected through libtorch's
// c10d (ProcessGroupGloo over TCP, a TCPStore on rank 0 for the rendezvous). The decoder blocks are
// split into `world` contiguous stages: rank 0 also runs the embeddings, the last rank the final
// norm and the head and samples the token, which every rank receives. Each rank runs the map
// restricted to its stage's modules on its own devices. world == 1 is a single-process run.
struct PipelineSpec {
    int rank = 0;
    int world = 1;
    std::string masterAddress = "127.0.0.1"; // where rank 0 serves the TCPStore
    int masterPort = 0;
    // Every wait on another rank (joining, the rendezvous, a hidden state, a token) fails after this.
    double timeoutSeconds = 30;
    // Decoder blocks per stage (world counts, their sum the model's blocks); empty: split balanced
    // by the bytes of each stage's weights (the same on every rank: it depends on the checkpoint only).
    std::vector<int> blocksPerStage;
};

// What a stage did (RunResult::stage).
struct StageReport {
    int rank = 0;
    int world = 1;
    int firstBlock = 0, endBlock = 0;      // its decoder blocks [firstBlock, endBlock)
    bool embeddings = true, head = true;   // also ran the embeddings / the final norm and head
    std::vector<std::pair<int, int>> split; // every rank's [firstBlock, endBlock)
    std::int64_t bytesSent = 0;            // hidden states and tokens this rank sent
    std::int64_t bytesReceived = 0;
    double waitSeconds = 0;                // time spent in send / receive / token exchange
    double seconds = 0;                    // the whole run on this rank
    std::string fingerprint;               // of its checkpoint, as published at the rendezvous
    // The run failed because this other rank failed or stopped answering (-1: not so); that
    // rank's own error says why.
    int lostRank = -1;
};

struct RunRequest {
    std::string checkpointPath;            // a checkpoint folder, index or .safetensors file
    planner::DeviceMap map;                // module / tensor key -> device; must cover the model
    std::vector<RunDevice> devices;        // the GPUs of the map (real or simulated); cpu and disk implied
    std::vector<std::pair<planner::Device, std::int64_t>> plannedBytes; // per device, for the report
    std::vector<std::int64_t> promptIds;   // at least one
    int maxNewTokens = 16;
    // Offloaded steps brought in ahead (0: none). A prefetch never causes an out-of-memory error a
    // run without it would not hit: one that finds no room is deferred (the step is brought in at
    // its turn), and prefetched weights give way when the step computing needs their room.
    int prefetch = 1;
    // A prefetch whose thread has not started when its step comes is taken back: the worker brings
    // the step in itself rather than wait for a thread the machine has not scheduled yet (on a busy
    // machine that wait can exceed a small step's copy). false: always wait for it (tests that
    // must see every prefetch happen).
    bool prefetchTakeBack = true;
    // On a real GPU, weights are brought in on CUDA streams of their own (one per step in flight),
    // so that a prefetch's copies run beside the computation. False copies them on
    // the default stream, where they queue with the kernels (to measure the difference side by side).
    bool copyStreams = true;
    // Accelerate's offload folder (loader/offloadfolder.h) for the "disk" modules: their weights are
    // read (mmapped, in place on the CPU) from its .dat files, which must match the checkpoint's
    // names, dtypes and shapes. A folder without index.json is written first from the checkpoint.
    // Empty: disk weights are read from the checkpoint's safetensors.
    std::string offloadFolder;
    // Host-to-device bandwidth of simulated GPUs in bytes/s (0: as fast as memcpy): weights moved
    // to a simulated GPU take at least bytes / bandwidth.
    double simulatedBandwidth = 0;
    // Compute dtype of CPU execution (CPU and simulated GPUs): "float32" (default) or "bfloat16".
    // Real GPUs compute in `gpuDtype`, default the checkpoint's floating dtype.
    std::string cpuDtype = "float32";
    std::string gpuDtype;
    float temperature = 0;                 // 0: greedy
    int topK = 0;
    std::uint64_t seed = 0;
    bool keepLogits = false;               // RunResult::logits: the last position's logits per forward
    // Generation ends after one of these ids (the tokenizer's / generation_config.json's end of
    // sequence), before maxNewTokens; empty: always maxNewTokens.
    std::vector<std::int64_t> stopIds;
    PipelineSpec pipeline;                 // world > 1: this run is one stage of a pipeline
};

enum class RunEventKind {
    WeightMoved,    // module's offloaded weights brought to `to` (from `from`): bytes, seconds
    WeightReleased, // module's brought-in weights released from `to`
    ModuleRan,      // module computed on `to`: seconds
    Token,          // a new token: token, index (0-based among the new ones), seconds since the start
    Memory,         // `to` now holds `bytes` (peak `peakBytes`)
    Progress,       // `phase` (and `message`, its English words)
    Finished,
    Cancelled,
    Failed,         // `message`, `error`
};
const char *toString(RunEventKind kind);

// Where a run is, for Progress events.
enum class RunPhase {
    OpeningCheckpoint,
    WritingOffloadFolder,
    LoadingWeights,
    Prefill,
    Decoding,
};
const char *toString(RunPhase phase); // "opening the checkpoint", ...

struct RunEvent {
    RunEventKind kind = RunEventKind::Progress;
    double at = 0;               // seconds since the run started
    std::string module;
    planner::Device from;        // WeightMoved: cpu or disk
    planner::Device to;          // the device concerned
    std::int64_t bytes = 0;
    std::int64_t peakBytes = 0;
    double seconds = 0;          // duration of the move / the computation
    bool prefetched = false;     // WeightMoved by the prefetch thread
    std::int64_t token = -1;
    int index = -1;
    RunPhase phase = RunPhase::OpeningCheckpoint; // Progress
    std::string message;
};

// What one device did during the run.
struct DeviceRunReport {
    planner::Device device;
    std::string label;
    bool simulated = false;
    double computeSeconds = 0;
    double transferSeconds = 0;        // time weights took to come to this device
    std::int64_t bytesMoved = 0;       // bytes brought to this device
    std::int64_t residentBytes = 0;    // weights kept on it for the whole run
    std::int64_t peakBytes = 0;        // weights + brought-in weights + KV cache + activations
    std::int64_t plannedBytes = -1;    // what the plan put there (-1 unknown)
    std::int64_t capacityBytes = -1;   // simulated arena size
};

struct RunError {
    ErrorKind kind = ErrorKind::Io;
    std::string file;
    std::string message;
};

struct RunResult {
    std::vector<std::int64_t> promptIds;
    std::vector<std::int64_t> generatedIds;
    bool stoppedAtStopId = false;      // the last generated id is one of RunRequest::stopIds
    std::vector<DeviceRunReport> devices;
    double loadSeconds = 0;            // from the start to the weights in place
    double prefillSeconds = 0;
    double decodeSecondsPerToken = 0;  // mean over the tokens after the first
    std::string cpuDtype, gpuDtype;    // what was computed in
    // Conversions of weights to the compute dtype (e.g. float16 -> float32 on the CPU): one per
    // weight at load or per move, and one per use for experts computed on the CPU from disk.
    std::int64_t convertedTensors = 0;
    std::int64_t convertedBytes = 0;
    double convertSeconds = 0;
    std::int64_t inPlaceTensors = 0;   // float32 weights used straight from the mmapped file
    // Host memory page-locked for real GPUs' copies: the CPU-homed weights they bring in, and two
    // 16 MiB slots per copy stream through which weights from disk come (0 when none, or when
    // locking failed: a note says why).
    std::int64_t pageLockedBytes = 0;
    std::vector<std::string> notes;
    std::vector<std::vector<float>> logits; // with keepLogits (the last stage's only)
    StageReport stage;                 // the pipeline stage this run was (world 1: everything)
    bool cancelled = false;
    std::optional<RunError> error;     // set when the run failed
};

// Receives events in batches, on a thread of the session (never the worker's): a slow observer
// delays later batches, never the computation. The last batch holds Finished, Cancelled or Failed.
using RunObserver = std::function<void(const std::vector<RunEvent> &)>;

class Session {
public:
    virtual ~Session() = default;
    // Loads and runs, blocking the calling thread (the worker) until done, cancelled or failed;
    // never throws (failures are in RunResult::error and a Failed event). Call once.
    virtual RunResult run(const RunObserver &observer) = 0;
    // From any thread: the run stops before its next step (within one block's time).
    virtual void cancel() = 0;
};

// The RunDevices of the map's GPUs, in index order, as mizan-cli run and the window's test inference
// both decide them: a GPU of `machine` (matched by index) is real and named after its card; any
// other is simulated, an arena of its `known` capacity (a plan file's or the window's device),
// else of its budget in `budgets`, else unlimited (-1), labelled with the known label.
std::vector<RunDevice> runDevicesFor(const planner::DeviceMap &map, const std::vector<GpuInfo> &machine,
                                     const std::vector<planner::PlanDevice> &known, const planner::MaxMemory &budgets);

// The plan's part of a run, as mizan-cli run and the window both take it: the map, the bytes the
// plan puts on each device (for the report), and real GPUs' compute dtype from the plan's load
// dtype (float16, bfloat16 or float32; any other, or none, leaves the checkpoint's).
void setPlan(RunRequest &request, const planner::DeviceMap &map, const std::vector<planner::DeviceUsage> &usage,
             std::optional<DType> loadDtype);

// Turns an Error into the RunError a session reports.
RunError runErrorOf(const Error &error);

// A TCP port of 127.0.0.1 that nothing listens on now (the kernel's pick): the master port of a
// pipeline run on local ranks (mizan-cli run --local-ranks, the window's cluster run). Throws
// Error(Io) when no socket can be opened.
int freePort();
// Decoder blocks per stage: `weights` holds the bytes of each step of the model in order (embedding,
// blocks..., norm, head; `isBlock` marks the blocks); the blocks are cut into `world` contiguous,
// non-empty ranges minimising the largest stage's bytes (the first stage also holds what comes
// before the first block, the last what comes after the last). Throws InvalidArgument when there
// are fewer blocks than stages.
std::vector<int> balancedStages(const std::vector<std::int64_t> &weights, const std::vector<bool> &isBlock, int world);
// "0" -> "GPU 0 (simulated)" and the like, for reports.
std::string deviceName(const planner::Device &device, bool simulated);

} // namespace mizan::runtime
