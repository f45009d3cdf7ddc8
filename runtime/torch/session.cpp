// Dispatched inference (runtime/session.h): the model's steps (models/torch/forward.h) placed by a
// device map on real or simulated GPUs, the CPU and disk; offloaded weights brought in per step,
// ahead of time on a prefetch thread; memory accounted per device; events batched to an observer.
#include "session_p.h"
#include "stagelink.h"

#include "loader/offloadfolder.h"
#include "loader/torch/torchtensor.h"
#include "models/describe.h"
#include "models/torch/forward.h"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#if MIZAN_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <thread>
#include <unordered_map>

namespace mizan::runtime {

namespace {

using models::torchfwd::CausalLM;
using models::torchfwd::DecodeState;
using models::torchfwd::Step;
using models::torchfwd::StepKind;
using models::torchfwd::WeightSource;
using Clock = std::chrono::steady_clock;
using planner::Device;
using planner::DeviceKind;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Waits until `deadline` as a link would take: sleeps for all but the last stretch, then yields
// until the deadline. A plain sleep wakes 50-200 us late (the kernel's timer slack, more under a
// hypervisor): once per step brought in, that skewed a simulated link by a fixed cost that a real
// one does not have (0.2 ms a step, a quarter of a tiny model's token).
void waitUntil(Clock::time_point deadline)
{
    constexpr auto kSpin = std::chrono::microseconds(250);
    if (const auto left = deadline - Clock::now(); left > kSpin)
        std::this_thread::sleep_for(left - kSpin);
    while (Clock::now() < deadline)
        std::this_thread::yield();
}

std::int64_t bytesOf(const torch::Tensor &t)
{
    return t.defined() ? static_cast<std::int64_t>(t.numel()) * static_cast<std::int64_t>(t.element_size()) : 0;
}

c10::ScalarType dtypeNamed(const std::string &name, const char *what)
{
    if (name == "float32" || name == "float")
        return torch::kFloat32;
    if (name == "bfloat16")
        return torch::kBFloat16;
    if (name == "float16" || name == "half")
        return torch::kFloat16;
    throw Error(ErrorKind::InvalidArgument, {}, std::string("unknown ") + what + " \"" + name + "\" (float32, bfloat16 or float16)");
}

const char *dtypeName(c10::ScalarType t)
{
    switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return "other";
    }
}

// ---- events ----------------------------------------------------------------------------------------

// The worker pushes; a delivery thread hands batches to the observer, keeping only the latest
// Memory event per device of a batch. The worker never waits for the observer.
class EventQueue {
public:
    EventQueue(RunObserver observer, Clock::time_point start) : m_observer(std::move(observer)), m_start(start)
    {
        if (m_observer)
            m_thread = std::thread([this] { deliver(); });
    }
    ~EventQueue() { close(); }

    double now() const { return secondsSince(m_start); }

    void push(RunEvent event)
    {
        if (!m_observer)
            return;
        if (event.at == 0)
            event.at = now();
        {
            const std::lock_guard lock(m_mutex);
            if (event.kind == RunEventKind::Memory)
                for (auto &e : m_pending)
                    if (e.kind == RunEventKind::Memory && e.to == event.to) {
                        e = std::move(event);
                        return;
                    }
            m_pending.push_back(std::move(event));
        }
        m_wake.notify_one();
    }

    // Delivers what is pending and stops the delivery thread.
    void close()
    {
        if (!m_thread.joinable())
            return;
        {
            const std::lock_guard lock(m_mutex);
            m_closed = true;
        }
        m_wake.notify_one();
        m_thread.join();
    }

private:
    void deliver()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait_for(lock, std::chrono::milliseconds(15), [this] { return m_closed; });
            if (!m_pending.empty()) {
                std::vector<RunEvent> batch;
                batch.swap(m_pending);
                lock.unlock();
                try {
                    m_observer(batch);
                } catch (...) {
                    // an observer's failure must not end the run
                }
                lock.lock();
                continue; // more may have come meanwhile
            }
            if (m_closed)
                return;
        }
    }

    RunObserver m_observer;
    Clock::time_point m_start;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<RunEvent> m_pending;
    bool m_closed = false;
    std::thread m_thread;
};

// ---- page-locked host memory -----------------------------------------------------------------------

// Page-locked host memory (cudaHostRegister) for the CPU-homed weights that real GPUs bring in:
// the GPU copies from it by DMA at the link's speed, where from pageable memory the driver copies
// through a bounce buffer (an H200's host: 55 GB/s against 6-19). One block of exactly their size,
// where libtorch's pin_memory() rounds each tensor up to a power of two (a 25 MB weight takes
// 32 MB). The tensors placed in it keep it alive.
class PinnedArena : public std::enable_shared_from_this<PinnedArena> {
public:
    static constexpr std::int64_t kAlign = 256;

    // nullptr when the memory cannot be had or locked; `why` says why.
    static std::shared_ptr<PinnedArena> create(std::int64_t bytes, std::string &why)
    {
#if MIZAN_TORCH_CUDA
        // Locked pages cannot be swapped out or reclaimed: at most half the machine's RAM is locked.
        const long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
        if (pages > 0 && pageSize > 0 && bytes > static_cast<std::int64_t>(pages) * pageSize / 2) {
            why = std::to_string(bytes) + " bytes are more than half of this machine's " +
                  std::to_string(static_cast<std::int64_t>(pages) * pageSize) + " bytes of RAM, the most Mizan locks";
            return nullptr;
        }
        void *base = ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
            why = std::string("no ") + std::to_string(bytes) + " bytes of host memory: " + std::strerror(errno);
            return nullptr;
        }
        const cudaError_t status = cudaHostRegister(base, static_cast<std::size_t>(bytes), cudaHostRegisterDefault);
        if (status != cudaSuccess) {
            cudaGetLastError(); // clears it
            ::munmap(base, static_cast<std::size_t>(bytes));
            why = std::string("cudaHostRegister failed: ") + cudaGetErrorString(status);
            return nullptr;
        }
        return std::shared_ptr<PinnedArena>(new PinnedArena(static_cast<char *>(base), bytes));
#else
        (void)bytes;
        why = "this libtorch has no CUDA";
        return nullptr;
#endif
    }
    PinnedArena(const PinnedArena &) = delete;
    PinnedArena &operator=(const PinnedArena &) = delete;
    ~PinnedArena()
    {
#if MIZAN_TORCH_CUDA
        cudaHostUnregister(m_base);
#endif
        ::munmap(m_base, static_cast<std::size_t>(m_size));
    }

    static std::int64_t footprint(std::int64_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
    char *data() const { return m_base; }

    // A copy of `t` in the arena (the caller sized it with footprint() of every tensor placed).
    torch::Tensor place(const torch::Tensor &t)
    {
        const std::int64_t bytes = t.numel() * static_cast<std::int64_t>(t.element_size());
        if (m_used + footprint(bytes) > m_size)
            throw Error(ErrorKind::OutOfMemory, {}, "the page-locked host memory is full (" + std::to_string(m_size) + " bytes)");
        char *at = m_base + m_used;
        m_used += footprint(bytes);
        torch::Tensor out = torch::from_blob(at, t.sizes(), [keep = shared_from_this()](void *) {}, t.options().device(c10::kCPU));
        out.copy_(t);
        return out;
    }

private:
    PinnedArena(char *base, std::int64_t size) : m_base(base), m_size(size) {}
    char *m_base;
    std::int64_t m_size;
    std::int64_t m_used = 0;
};


// Two page-locked slots for one copy stream, through which the weights a real GPU cannot copy by
// DMA (the mmapped file of disk-offloaded layers; CPU weights left pageable) are brought in: the
// thread fills one slot from the mapping while the GPU copies the other. A pageable copy does the
// same in the driver, but one at a time for the whole process, so the prefetches of several steps
// (each on its own stream, see DeviceState::copyStreams) queued behind each other; here each
// stream's thread fills its own slots, and the copies of the steps in flight overlap.
class CopyStaging {
public:
    static constexpr std::int64_t kSlotBytes = std::int64_t(16) << 20;
    static constexpr std::int64_t kBytes = 2 * kSlotBytes; // page-locked by one

    // nullptr when the memory cannot be locked (`why` says why): copies then stay pageable.
    static std::unique_ptr<CopyStaging> create(std::string &why)
    {
        std::shared_ptr<PinnedArena> arena = PinnedArena::create(kBytes, why);
        if (!arena)
            return nullptr;
        return std::unique_ptr<CopyStaging>(new CopyStaging(std::move(arena)));
    }
    CopyStaging(const CopyStaging &) = delete;
    CopyStaging &operator=(const CopyStaging &) = delete;
    ~CopyStaging()
    {
#if MIZAN_TORCH_CUDA
        for (cudaEvent_t e : m_done)
            if (e)
                cudaEventDestroy(e);
#endif
    }

    // Copies the bytes of `source` (contiguous, in host memory) into `target` (as many bytes, on
    // the current device) on `stream`, without waiting for the last copy: the caller synchronizes
    // the stream before it uses `target` or calls again from another thread.
    void copy(const torch::Tensor &source, const torch::Tensor &target, const c10::Stream &stream)
    {
#if MIZAN_TORCH_CUDA
        const cudaStream_t cudaStream = c10::cuda::CUDAStream(c10::cuda::CUDAStream::UNCHECKED, stream).stream();
        const char *from = static_cast<const char *>(source.data_ptr());
        char *to = static_cast<char *>(target.data_ptr());
        const std::int64_t total = bytesOf(source);
        for (std::int64_t offset = 0; offset < total; offset += kSlotBytes) {
            const std::int64_t n = std::min(kSlotBytes, total - offset);
            const int slot = m_next;
            m_next ^= 1;
            char *buffer = m_arena->data() + slot * kSlotBytes;
            if (!m_done[slot])
                check(cudaEventCreateWithFlags(&m_done[slot], cudaEventDisableTiming), "cudaEventCreateWithFlags");
            else
                check(cudaEventSynchronize(m_done[slot]), "cudaEventSynchronize"); // its last copy has left the slot
            std::memcpy(buffer, from + offset, static_cast<std::size_t>(n));
            check(cudaMemcpyAsync(to + offset, buffer, static_cast<std::size_t>(n), cudaMemcpyHostToDevice, cudaStream),
                  "cudaMemcpyAsync");
            check(cudaEventRecord(m_done[slot], cudaStream), "cudaEventRecord");
        }
#else
        (void)source;
        (void)target;
        (void)stream;
        throw Error(ErrorKind::InvalidArgument, {}, "page-locked staging needs a libtorch with CUDA");
#endif
    }

private:
    explicit CopyStaging(std::shared_ptr<PinnedArena> arena) : m_arena(std::move(arena)) {}
#if MIZAN_TORCH_CUDA
    static void check(cudaError_t status, const char *call)
    {
        if (status != cudaSuccess) {
            cudaGetLastError(); // clears it
            throw Error(ErrorKind::Io, {}, std::string(call) + " failed while bringing weights in: " + cudaGetErrorString(status));
        }
    }
    cudaEvent_t m_done[2] = {nullptr, nullptr}; // the last copy out of each slot
#endif
    std::shared_ptr<PinnedArena> m_arena;
    int m_next = 0;
};

// ---- devices ----------------------------------------------------------------------------------------

// A device of the run: where it computes, its memory account and what it did.
struct DeviceState {
    Device device;
    std::string label;
    bool simulated = false;
    bool cuda = false;                // a real CUDA device
    c10::Device exec{c10::kCPU};      // where its tensors live
    c10::ScalarType dtype = torch::kFloat32;
    // What its memory is counted in: a simulated GPU computes in `dtype` on the CPU but counts
    // what a real GPU would hold, in the GPU dtype (a float16 plan fills its arena as it would fill
    // the card, not twice over because the CPU computes in float32).
    c10::ScalarType heldDtype = torch::kFloat32;
    std::int64_t capacity = -1;       // enforced for simulated GPUs
    std::int64_t planned = -1;
    std::atomic<std::int64_t> used{0};
    std::atomic<std::int64_t> peak{0};
    std::int64_t resident = 0;
    // Written by the worker only, or under `statsMutex` by the prefetch thread.
    std::mutex statsMutex;
    double computeSeconds = 0;
    double transferSeconds = 0;
    std::int64_t bytesMoved = 0;
    // A real GPU's streams for bringing weights in, prefetch + 1 of them from libtorch's pool: step
    // g copies on copyStreams[g % size], so the copies of the steps in flight (at most prefetch + 1
    // consecutive steps) each have their own and run beside the worker's kernels on its current
    // stream, instead of queueing with them on the default stream. Empty: copies on the current
    // stream (a libtorch whose CUDA guard has no stream pool).
    std::vector<c10::Stream> copyStreams;
    // copyStreams[i]'s page-locked slots for the copies that cannot be DMAs (CopyStaging); one step
    // at a time uses a stream, so each is touched by one thread at a time.
    // Empty: none needed, or they could not be locked (those copies stay pageable).
    std::vector<std::unique_ptr<CopyStaging>> staging;

    // Counts `bytes` more on this device; a simulated GPU refuses to go past its capacity, as a
    // real one would fail its allocation.
    void allocate(std::int64_t bytes, const std::string &what)
    {
        if (bytes <= 0)
            return;
        // Never counted past the capacity, not even for a moment: the worker and the prefetch
        // thread allocate at once, and a refused allocation must not make the other one fail.
        std::int64_t before = used.load();
        do {
            if (capacity >= 0 && before + bytes > capacity)
                throw Error(ErrorKind::OutOfMemory, {},
                            label + " is out of memory: " + what + " needs " + std::to_string(bytes) + " bytes, " +
                                std::to_string(capacity - before) + " of its " + std::to_string(capacity) + " bytes are free");
        } while (!used.compare_exchange_weak(before, before + bytes));
        const std::int64_t now = before + bytes;
        std::int64_t p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
    }
    // The bytes `computeBytes` of floating data in `dtype` count for on this device.
    std::int64_t held(std::int64_t computeBytes) const
    {
        if (heldDtype == dtype)
            return computeBytes;
        return computeBytes / static_cast<std::int64_t>(c10::elementSize(dtype)) * static_cast<std::int64_t>(c10::elementSize(heldDtype));
    }
    std::int64_t held(const torch::Tensor &t) const { return t.is_floating_point() ? held(bytesOf(t)) : bytesOf(t); }
    void release(std::int64_t bytes)
    {
        if (bytes > 0)
            used.fetch_sub(bytes);
    }
};

// ---- weights ------------------------------------------------------------------------------------------

// One tensor a step reads: where the map puts it, and its resident copy when it has one.
struct Weight {
    std::string name;        // as the forward asks for it
    std::string stored;      // the checkpoint's name (a tie resolved)
    int catalogIndex = -1;
    Device home;             // the map's device: a GPU, cpu or disk
    int offloadIndex = -1;   // disk home read from the offload folder: its tensor there
    torch::Tensor resident;  // GPU home: on that GPU; cpu home: in host memory (in the dtype it computes in);
                             // disk home computed on the CPU: the mmapped tensor (stored dtype)
    mutable std::atomic<bool> touched{false}; // disk home used in place: its pages were faulted in once
    // Part of a step's part (Step::parts: a sparse-MoE block's experts) that computes on the CPU,
    // where it lives, while the step runs on a GPU: never brought in, handed out as `resident`.
    bool computedOnCpu = false;
    bool toCuda = false; // brought in to a real GPU by some step: kept in page-locked memory (PinnedArena)
};

// The weights of one step, ready on its execution device, and what bringing them cost.
struct Staged {
    std::unordered_map<std::string, torch::Tensor> tensors;
    std::int64_t allocated = 0;                  // bytes counted on the execution device
    std::vector<std::pair<Device, std::int64_t>> movedFrom; // bytes per source device
    double seconds = 0;
    bool prefetched = false;
    bool deferred = false; // a prefetch that found no room: brought in by the worker at its turn
    bool takenBack = false; // a prefetch not started when the worker needed it: brought in by the worker
};

// prefetch + 1 streams from the pool of the CUDA device `device` (the pool has 32; past that they
// repeat, which only makes some copies wait for each other); none where its guard has no pool.
std::vector<c10::Stream> copyStreamsFor(c10::Device device, std::int64_t prefetch)
{
    std::vector<c10::Stream> streams;
    try {
        const auto *guard = c10::impl::getDeviceGuardImpl(device.type());
        for (std::int64_t i = 0; i <= std::min<std::int64_t>(prefetch, 31); ++i)
            streams.push_back(guard->getStreamFromGlobalPool(device));
    } catch (const c10::Error &) {
        streams.clear();
    }
    return streams;
}

// Waits for what this thread queued on `device`'s current stream, not for the copies of
// prefetches on their own streams.
void synchronizeCurrentStream(c10::Device device)
{
    c10::impl::getDeviceGuardImpl(device.type())->getStream(device).synchronize();
}

// A failure for want of memory: a simulated GPU's arena, or a real GPU's allocator.
bool isOutOfMemory(const std::exception_ptr &error)
{
    try {
        std::rethrow_exception(error);
    } catch (const Error &e) {
        return e.kind() == ErrorKind::OutOfMemory;
    } catch (const c10::OutOfMemoryError &) {
        return true;
    } catch (const c10::Error &e) {
        return std::string(e.what()).find("out of memory") != std::string::npos;
    } catch (...) {
        return false;
    }
}

// Rethrows the exception being handled, a real GPU's out-of-memory (a c10::Error) as an
// Error(OutOfMemory) naming the device and what needed the memory.
[[noreturn]] void rethrowOutOfMemory(const std::string &device, const std::string &what)
{
    try {
        throw;
    } catch (const Error &) {
        throw;
    } catch (const std::exception &e) {
        const std::string text = e.what();
        throw Error(ErrorKind::OutOfMemory, {}, device + " is out of memory: " + what + ": " + text.substr(0, text.find('\n')));
    }
}

// A prefetch on the background thread; its result is taken once, by the worker or by an eviction.
// Drops the futures whose thread has returned (destroying one still running would wait for it).
void forgetFinished(std::vector<std::future<Staged>> &futures)
{
    std::erase_if(futures, [](const std::future<Staged> &f) { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
}

// A prefetch of one step on its own thread. Until that thread starts it, the worker may take it
// back and bring the step in itself (`get`): on a busy machine (libtorch's compute threads
// spinning on every core, another process) a new thread can wait milliseconds to be scheduled, far
// longer than a small step's weights take to copy, and waiting for it would make prefetching
// slower than none.
struct InFlight {
    enum : int { Queued, Running, TakenBack };
    std::int64_t step = 0; // global step index
    std::shared_ptr<std::atomic<int>> state = std::make_shared<std::atomic<int>>(Queued);
    std::future<Staged> future;
    std::optional<Staged> ready;
    // On the prefetch thread, before staging: false when the worker took the step back.
    static bool begin(std::atomic<int> &state)
    {
        int expected = Queued;
        return state.compare_exchange_strong(expected, Running);
    }
    // The staged step; one the prefetch thread had not started comes back empty, deferred and
    // takenBack (its future, whose thread returns at once, goes to `abandoned`, never waited on
    // here: a std::async future waits for its thread when destroyed).
    Staged &get(std::vector<std::future<Staged>> &abandoned, bool takeBack)
    {
        if (!ready) {
            int expected = Queued;
            if (takeBack && state->compare_exchange_strong(expected, TakenBack)) {
                abandoned.push_back(std::move(future));
                Staged back;
                back.prefetched = true;
                back.deferred = true;
                back.takenBack = true;
                ready = std::move(back);
            } else {
                ready = future.get();
            }
        }
        return *ready;
    }
};

// Host buffers for weights brought in to a CPU-backed device (simulated GPUs, conversions on the
// CPU), reused from step to step. A fresh buffer of a block's size is a new mmap for malloc: every
// 4 KiB page faults (and is zeroed) at its first touch, and the munmap after the step shoots down
// TLBs; on a VM that cost several times the copy itself. A buffer goes back to the pool when the
// last tensor over it dies, so the pool holds at most what was in flight at once (about
// prefetch + 1 steps' offloaded weights), like CUDA's caching allocator.
class StagingPool {
public:
    StagingPool() : m_state(std::make_shared<State>()) {}

    torch::Tensor take(c10::IntArrayRef sizes, c10::ScalarType dtype)
    {
        const std::size_t bytes =
            static_cast<std::size_t>(c10::multiply_integers(sizes)) * c10::elementSize(dtype);
        void *block = nullptr;
        {
            const std::lock_guard lock(m_state->mutex);
            auto it = m_state->free.find(bytes);
            if (it != m_state->free.end() && !it->second.empty()) {
                block = it->second.back();
                it->second.pop_back();
            }
        }
        if (!block) {
            block = std::aligned_alloc(64, (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64);
            if (!block)
                throw std::bad_alloc();
        }
        return torch::from_blob(
            block, sizes,
            [state = m_state, bytes](void *p) {
                const std::lock_guard lock(state->mutex);
                state->free[bytes].push_back(p);
            },
            torch::TensorOptions().dtype(dtype));
    }
    // Frees the buffers not in use (those in use are kept until their tensors die, then freed
    // with the pool).
    void clear()
    {
        const std::lock_guard lock(m_state->mutex);
        m_state->freeAll();
    }

private:
    struct State {
        std::mutex mutex;
        std::map<std::size_t, std::vector<void *>> free;
        void freeAll()
        {
            for (auto &[bytes, blocks] : free)
                for (void *p : blocks)
                    std::free(p);
            free.clear();
        }
        ~State() { freeAll(); }
    };
    std::shared_ptr<State> m_state;
};

class StagedSource final : public WeightSource {
public:
    using PartRunner = std::function<torch::Tensor(const std::string &, c10::Device, c10::ScalarType, const PartCompute &)>;
    using ConversionNote = std::function<void(std::int64_t bytes, double seconds)>;
    StagedSource(const Staged &staged, PartRunner parts, ConversionNote note)
        : m_staged(staged), m_parts(std::move(parts)), m_note(std::move(note))
    {
    }
    void converted(const std::string &, std::int64_t bytes, double seconds) override
    {
        if (m_note)
            m_note(bytes, seconds);
    }
    torch::Tensor runPart(const std::string &module, c10::Device device, c10::ScalarType dtype,
                          const PartCompute &compute) override
    {
        return m_parts ? m_parts(module, device, dtype, compute) : WeightSource::runPart(module, device, dtype, compute);
    }
    torch::Tensor get(const std::string &name) override
    {
        auto it = m_staged.tensors.find(name);
        if (it == m_staged.tensors.end())
            throw Error(ErrorKind::NotFound, {}, "tensor " + inQuotes(name) + " was not brought in for this step");
        return it->second;
    }

private:
    const Staged &m_staged;
    PartRunner m_parts;
    ConversionNote m_note;
};

struct StepPlan {
    const Step *step = nullptr;
    std::size_t index = 0; // the step's index in the model
    DeviceState *exec = nullptr;
    std::vector<Weight *> weights;
    bool needsStaging = false; // some weight is not already where the step computes
    // Step::parts computed on the CPU where their weights live (the step runs on a GPU that holds
    // some of its weights, every tensor of the part is mapped to "cpu" or "disk"): the experts of a
    // sparse-MoE block, as llama.cpp's --n-cpu-moe and ktransformers do. Only the hidden states go
    // to the CPU and back; experts on disk are read in place from the mmapped file, so a token
    // touches only the pages of the experts it is routed to.
    std::vector<std::string> cpuParts;
};

class DispatchSession final : public Session {
public:
    explicit DispatchSession(RunRequest request) : m_request(std::move(request)) {}

    void cancel() override { m_cancel.store(true); }

    RunResult run(const RunObserver &observer) override
    {
        m_start = Clock::now();
        EventQueue events(observer, m_start);
        m_events = &events;
        RunResult result;
        result.promptIds = m_request.promptIds;
        try {
            execute(result);
            result.stage = stageReport();
            result.devices = reports();
            RunEvent done;
            done.kind = RunEventKind::Finished;
            events.push(done);
        } catch (const Error &e) {
            result.stage = stageReport();
            if (const auto *lost = dynamic_cast<const PeerLost *>(&e))
                result.stage.lostRank = lost->peer();
            if (m_link)
                m_link->reportFailure(e.kind() == ErrorKind::Cancelled ? std::string("cancelled") : std::string(e.what()));
            result.devices = reports();
            RunEvent ev;
            if (e.kind() == ErrorKind::Cancelled) {
                result.cancelled = true;
                ev.kind = RunEventKind::Cancelled;
            } else {
                result.error = runErrorOf(e);
                ev.kind = RunEventKind::Failed;
                ev.message = e.what();
            }
            events.push(ev);
        } catch (const std::exception &e) {
            result.stage = stageReport();
            if (m_link)
                m_link->reportFailure(e.what());
            result.devices = reports();
            result.error = RunError{ErrorKind::Io, {}, std::string("the run failed: ") + e.what()};
            RunEvent ev;
            ev.kind = RunEventKind::Failed;
            ev.message = result.error->message;
            events.push(ev);
        }
        releaseAll();
        m_link.reset();
        events.close();
        m_events = nullptr;
        return result;
    }

private:
    // ---- set-up ----

    DeviceState &deviceState(const Device &d)
    {
        for (auto &s : m_devices)
            if (s->device == d)
                return *s;
        throw Error(ErrorKind::InvalidDeviceMap, {}, "the map uses " + d.label() + ", which the run has no device for");
    }

    void setUpDevices(c10::ScalarType stored)
    {
        const c10::ScalarType cpuDtype = dtypeNamed(m_request.cpuDtype.empty() ? "float32" : m_request.cpuDtype, "CPU dtype");
        if (cpuDtype == torch::kFloat16)
            throw Error(ErrorKind::InvalidArgument, {},
                        "libtorch " TORCH_VERSION " cannot multiply float16 matrices on the CPU: compute in float32 or bfloat16");
        const c10::ScalarType gpuDtype = m_request.gpuDtype.empty() ? stored : dtypeNamed(m_request.gpuDtype, "GPU dtype");
        const std::int64_t cudaCount = torch::cuda::is_available() ? static_cast<std::int64_t>(torch::cuda::device_count()) : 0;
        auto plannedFor = [&](const Device &d) -> std::int64_t {
            for (const auto &[device, bytes] : m_request.plannedBytes)
                if (device == d)
                    return bytes;
            return -1;
        };
        // GPUs the map uses, in index order.
        std::vector<Device> gpus;
        for (const auto &[key, d] : m_request.map)
            if (d.isGpu() && std::find(gpus.begin(), gpus.end(), d) == gpus.end())
                gpus.push_back(d);
        std::sort(gpus.begin(), gpus.end());
        for (const auto &g : gpus) {
            auto s = std::make_unique<DeviceState>();
            s->device = g;
            const RunDevice *info = nullptr;
            for (const auto &rd : m_request.devices)
                if (rd.device == g)
                    info = &rd;
            if (!info)
                throw Error(ErrorKind::InvalidDeviceMap, {},
                            "the map puts modules on " + g.label() + " but the run was given no such device");
            s->simulated = info->simulated;
            if (!s->simulated) {
                if (g.index >= cudaCount)
                    throw Error(ErrorKind::InvalidArgument, {},
                                "the map puts modules on " + g.label() + ", but this machine has " + std::to_string(cudaCount) +
                                    " CUDA GPU(s) (" + TORCH_VERSION + (torch::cuda::is_available() ? "" : ", CPU only") +
                                    "): run it on simulated GPUs instead");
                s->cuda = true;
                s->exec = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(g.index));
                if (m_request.copyStreams)
                    s->copyStreams = copyStreamsFor(s->exec, m_request.prefetch);
                s->dtype = gpuDtype;
                s->heldDtype = gpuDtype;
            } else {
                s->capacity = info->capacityBytes;
                s->dtype = cpuDtype;
                s->heldDtype = gpuDtype;
            }
            s->label = info->label.empty() ? deviceName(g, s->simulated) : info->label + (s->simulated ? " (simulated)" : "");
            s->planned = plannedFor(g);
            m_devices.push_back(std::move(s));
        }
        for (const Device &d : {Device::cpu(), Device::disk()}) {
            auto s = std::make_unique<DeviceState>();
            s->device = d;
            s->label = d.kind == DeviceKind::Cpu ? "CPU" : "disk";
            s->dtype = cpuDtype;
            s->heldDtype = cpuDtype;
            s->planned = plannedFor(d);
            m_devices.push_back(std::move(s));
        }
        // Accelerate's execution device for offloaded modules: the first GPU of the map, else the CPU.
        m_main = gpus.empty() ? &deviceState(Device::cpu()) : &deviceState(gpus.front());
    }

    // The map's device of a state-dict name: the longest key that is the name or one of its prefixes.
    std::optional<Device> homeOf(const std::string &name) const
    {
        std::string prefix = name;
        for (;;) {
            if (auto it = m_keys.find(prefix); it != m_keys.end())
                return it->second;
            if (prefix.empty())
                return std::nullopt;
            const auto dot = prefix.rfind('.');
            prefix = dot == std::string::npos ? std::string() : prefix.substr(0, dot);
        }
    }

    // A tensor of the checkpoint as libtorch sees it: over the mmapped bytes (a disk weight's in the
    // offload folder when the run has one).
    torch::Tensor mapped(const Weight &w) const
    {
        if (m_offload && w.offloadIndex >= 0)
            return loader::toTorch(*m_offload, m_offload->catalog.tensors[static_cast<std::size_t>(w.offloadIndex)]);
        return loader::toTorch(*m_checkpoint, m_checkpoint->catalog.tensors[static_cast<std::size_t>(w.catalogIndex)]);
    }

    // RunRequest::offloadFolder: disk weights come from Accelerate's offload folder, written first
    // (from the checkpoint, in its stored dtypes) when the folder has no index.json yet.
    void useOffloadFolder(RunResult &result)
    {
        const std::string &folder = m_request.offloadFolder;
        if (folder.empty())
            return;
        std::vector<const Weight *> disk;
        for (const auto &[name, w] : m_weights)
            if (w.home.kind == DeviceKind::Disk)
                disk.push_back(&w);
        if (disk.empty()) {
            result.notes.push_back("offload folder " + folder + " not used: the map puts nothing on disk");
            return;
        }
        std::vector<int> stored; // checkpoint tensors, in checkpoint order, once each (ties)
        for (const Weight *w : disk)
            stored.push_back(w->catalogIndex);
        std::sort(stored.begin(), stored.end());
        stored.erase(std::unique(stored.begin(), stored.end()), stored.end());
        if (loader::offloadIndexPath(folder).empty()) {
            progress(RunPhase::WritingOffloadFolder);
            std::vector<std::string> names;
            for (const int i : stored)
                names.push_back(m_checkpoint->catalog.tensors[static_cast<std::size_t>(i)].name);
            loader::OffloadWriteOptions options;
            options.progress = [this](int, int) { return !m_cancel.load(); };
            const auto t0 = Clock::now();
            const loader::OffloadWritten written = loader::writeOffloadFolder(folder, *m_checkpoint, names, options);
            result.notes.push_back("offload folder " + folder + ": wrote the " + std::to_string(written.tensors) +
                                   " tensor(s) of the disk modules there (" + std::to_string(written.bytes) + " bytes, " +
                                   std::to_string(static_cast<long long>(secondsSince(t0) * 1000)) +
                                   " ms; it had no index.json), as Accelerate does");
        }
        m_offload = std::make_unique<loader::Checkpoint>(loader::openOffloadFolder(folder));
        const std::string indexPath = folder + (folder.ends_with('/') ? "" : "/") + "index.json";
        for (const int i : stored) {
            const loader::TensorEntry &want = m_checkpoint->catalog.tensors[static_cast<std::size_t>(i)];
            const int found = m_offload->catalog.find(want.name);
            if (found < 0)
                throw Error(ErrorKind::IndexMismatch, indexPath,
                            "has no tensor " + inQuotes(want.name) + ", which the map puts on disk: write the folder again (remove its index.json)");
            const loader::TensorEntry &have = m_offload->catalog.tensors[static_cast<std::size_t>(found)];
            if (have.dtype != want.dtype || have.shape != want.shape) {
                auto describe = [](const loader::TensorEntry &t) {
                    std::string text = std::string(torchName(t.dtype)) + " [";
                    for (std::size_t d = 0; d < t.shape.size(); ++d)
                        text += (d ? ", " : "") + std::to_string(t.shape[d]);
                    return text + "]";
                };
                throw Error(ErrorKind::IndexMismatch, indexPath,
                            "tensor " + inQuotes(want.name) + " is " + describe(have) + " there but " + describe(want) +
                                " in the checkpoint " + m_request.checkpointPath + ": the folder was written for another model");
            }
        }
        for (auto &[name, w] : m_weights)
            if (w.home.kind == DeviceKind::Disk)
                w.offloadIndex = m_offload->catalog.find(m_checkpoint->catalog.tensors[static_cast<std::size_t>(w.catalogIndex)].name);
        result.notes.push_back("disk modules read from the offload folder " + folder + " (" + std::to_string(stored.size()) +
                               " tensor(s), mmapped like the safetensors)");
    }

    // The tensor in `dtype` on `device`: the mmapped one itself when nothing changes.
    torch::Tensor converted(const torch::Tensor &t, c10::ScalarType dtype, c10::Device device, bool copy, bool &didConvert)
    {
        didConvert = t.scalar_type() != dtype;
        if (!didConvert && t.device() == device && !copy)
            return t;
        return t.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    }

    void noteConversion(std::int64_t bytes, double seconds)
    {
        const std::lock_guard lock(m_conversionMutex);
        ++m_converted;
        m_convertedBytes += bytes;
        m_convertSeconds += seconds;
    }

    // Puts every resident weight in place: GPU weights on their GPU, CPU weights in host memory in
    // the dtype their execution device computes in (in place when they already are). Disk weights
    // stay in the file; those of a part computed on the CPU are the mmapped tensor itself, in its
    // stored dtype (the forward converts what it reads, so a token touches only its routed
    // experts' pages).
    void loadResident(RunResult &result)
    {
        progress(RunPhase::LoadingWeights);
        // The CPU-homed weights real GPUs bring in go to one page-locked block.
        std::int64_t pinnedBytes = 0;
        for (auto &[name, w] : m_weights)
            if (w.home.kind == DeviceKind::Cpu && w.toCuda)
                pinnedBytes += PinnedArena::footprint(mapped(w).numel() * static_cast<std::int64_t>(c10::elementSize(m_execDtypeOf[name])));
        if (pinnedBytes > 0) {
            std::string why;
            m_pinned = PinnedArena::create(pinnedBytes, why);
            if (m_pinned)
                result.pageLockedBytes = pinnedBytes;
            else
                result.notes.push_back("the weights in CPU RAM that the GPU brings in stay in pageable memory (" + why +
                                       "): the GPU copies them at a fraction of the link's speed");
        }
        // Weights a real GPU brings in from pageable memory (the mmapped file of disk modules, or
        // CPU weights left unlocked) come through page-locked slots per copy stream.
        const bool pageableToCuda = std::any_of(m_weights.begin(), m_weights.end(), [&](const auto &entry) {
            const Weight &w = entry.second;
            return w.toCuda && (w.home.kind == DeviceKind::Disk || (w.home.kind == DeviceKind::Cpu && !m_pinned));
        });
        for (auto &d : m_devices) {
            if (!pageableToCuda || !d->cuda || d->copyStreams.empty())
                continue;
            d->staging.resize(d->copyStreams.size());
            for (auto &slots : d->staging) {
                std::string why;
                slots = CopyStaging::create(why);
                if (!slots) {
                    d->staging.clear();
                    result.notes.push_back(d->label + " copies the weights it brings in from disk (or from unlocked CPU RAM) straight from " +
                                           "pageable memory (" + why + "): one copy at a time, at a fraction of the link's speed");
                    break;
                }
            }
            result.pageLockedBytes += static_cast<std::int64_t>(d->staging.size()) * CopyStaging::kBytes;
        }
        for (auto &[name, w] : m_weights) {
            checkCancel();
            if (w.home.kind == DeviceKind::Disk) {
                if (w.computedOnCpu)
                    w.resident = mapped(w);
                continue;
            }
            DeviceState &home = deviceState(w.home);
            // CPU weights compute on the device of their step; in host memory they are kept in that
            // device's dtype so that a move is a plain copy. A float32 weight on the CPU stays mmapped.
            const c10::ScalarType dtype = w.home.kind == DeviceKind::Cpu ? m_execDtypeOf[name] : home.dtype;
            const torch::Tensor source = mapped(w);
            const auto t0 = Clock::now();
            bool didConvert = false;
            const c10::Device target = home.cuda ? home.exec : c10::Device(c10::kCPU);
            w.resident = converted(source, dtype, target, false, didConvert);
            const bool toPin = m_pinned && w.home.kind == DeviceKind::Cpu && w.toCuda;
            if (didConvert)
                noteConversion(bytesOf(source), secondsSince(t0));
            else if (!home.cuda && !toPin)
                ++m_inPlace;
            if (toPin)
                w.resident = m_pinned->place(w.resident);
            const std::int64_t bytes = home.held(w.resident);
            home.allocate(bytes, "the weights of " + inQuotes(name));
            home.resident += bytes;
            memoryEvent(home);
        }
    }

    void prepare(RunResult &result)
    {
        progress(RunPhase::OpeningCheckpoint);
        m_checkpoint = std::make_unique<loader::Checkpoint>(loader::open(m_request.checkpointPath));
        if (!m_checkpoint->hasWeights())
            throw Error(ErrorKind::InvalidArgument, m_request.checkpointPath, "has no weights to run (a config.json alone)");
        m_model = CausalLM::fromCheckpoint(*m_checkpoint);
        models::torchfwd::checkCheckpoint(*m_model, *m_checkpoint);
        if (m_request.promptIds.empty())
            throw Error(ErrorKind::InvalidArgument, {}, "the prompt has no token ids");
        for (const auto id : m_request.promptIds)
            if (id < 0 || id >= m_model->vocabSize())
                throw Error(ErrorKind::InvalidArgument, {},
                            "prompt token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                std::to_string(m_model->vocabSize() - 1) + ")");
        if (m_request.maxNewTokens < 0 || m_request.prefetch < 0)
            throw Error(ErrorKind::InvalidArgument, {}, "max new tokens and prefetch must not be negative");
        const auto source = models::torchfwd::checkpointSource(*m_checkpoint, torch::kFloat32, c10::Device(c10::kCPU));
        chooseStage(*source);
        for (const auto &[key, d] : m_request.map)
            m_keys[key] = d;

        // The stored floating dtype: what real GPUs compute in by default.
        c10::ScalarType stored = torch::kFloat32;
        for (const auto &t : m_checkpoint->catalog.tensors)
            if (auto s = loader::torchScalarType(t.dtype); s && c10::isFloatingType(*s)) {
                stored = *s;
                break;
            }
        setUpDevices(stored);
        result.cpuDtype = dtypeName(deviceState(Device::cpu()).dtype);
        result.gpuDtype = dtypeName(m_devices.front()->cuda ? m_devices.front()->dtype : stored);

        const auto &allSteps = m_model->steps();
        m_plans.resize(m_stageSteps.size());
        for (std::size_t p = 0; p < m_stageSteps.size(); ++p) {
            const std::size_t i = m_stageSteps[p];
            const auto &steps = allSteps;
            StepPlan &plan = m_plans[p];
            plan.step = &steps[i];
            plan.index = i;
            // Where the step computes: the first GPU among its weights' homes, else the main device.
            DeviceState *exec = nullptr;
            for (const auto &name : steps[i].tensors) {
                const auto home = homeOf(name);
                if (!home)
                    throw Error(ErrorKind::InvalidDeviceMap, {},
                                "the device map does not cover " + inQuotes(name) + " (step " + inQuotes(steps[i].module) +
                                    "): add a key for it or for a module that contains it");
                if (home->isGpu() && !exec)
                    exec = &deviceState(*home);
            }
            plan.exec = exec ? exec : m_main;
            // Parts whose weights all live in host memory or on disk compute on the CPU while the
            // rest of the step lives on a GPU (a block split by the experts-on-cpu policy, or its
            // experts sent to disk); a whole block mapped to "cpu" or "disk" is brought in as
            // Accelerate does. A part with some weights on a GPU is brought in too.
            auto partOf = [&](const std::string &name) -> const std::string * {
                for (const auto &part : plan.cpuParts)
                    if (name.size() > part.size() && name.compare(0, part.size(), part) == 0 && name[part.size()] == '.')
                        return &part;
                return nullptr;
            };
            if (exec)
                for (const auto &part : steps[i].parts) {
                    bool any = false, allOffloaded = true;
                    for (const auto &name : steps[i].tensors)
                        if (name.size() > part.size() && name.compare(0, part.size(), part) == 0 && name[part.size()] == '.') {
                            any = true;
                            allOffloaded = allOffloaded && homeOf(name)->isOffload();
                        }
                    if (any && allOffloaded)
                        plan.cpuParts.push_back(part);
                }
            for (const auto &name : steps[i].tensors) {
                auto [it, inserted] = m_weights.try_emplace(name);
                Weight &w = it->second;
                if (inserted) {
                    w.name = name;
                    w.stored = source->storedName(name);
                    w.catalogIndex = m_checkpoint->catalog.find(w.stored);
                    if (w.catalogIndex < 0)
                        throw Error(ErrorKind::NotFound, m_request.checkpointPath, "tensor " + inQuotes(name) + " is not stored");
                    w.home = *homeOf(name);
                    w.computedOnCpu = partOf(name) != nullptr;
                    m_execDtypeOf[name] = w.computedOnCpu ? deviceState(Device::cpu()).dtype : plan.exec->dtype;
                }
                w.toCuda = w.toCuda || (plan.exec->cuda && !w.computedOnCpu);
                plan.weights.push_back(&w);
                if (!(w.home == plan.exec->device) && !w.computedOnCpu)
                    plan.needsStaging = true;
            }
        }
        // The other stages: fingerprints compared before any weight is read.
        if (m_request.pipeline.world > 1)
            m_link = StageLink::connect(m_request.pipeline, fingerprint());
        if (m_link)
            m_link->loading();
        useOffloadFolder(result);
        loadResident(result);
        if (m_link)
            m_link->allLoaded();
        result.loadSeconds = secondsSince(m_start);
    }

    // ---- bringing weights in ----

    // Brings the weights of `plan` to its execution device. Runs on the worker or the prefetch thread.
    // A failure releases what it took. A prefetch that finds no room comes back deferred instead of
    // failing: the worker brings that step in at its turn, when only that step needs the room.
    Staged stage(const StepPlan &plan, std::int64_t globalStep, bool prefetched)
    {
        Staged out;
        out.prefetched = prefetched;
        try {
            stageInto(plan, globalStep, out);
        } catch (...) {
            plan.exec->release(out.allocated);
            out.tensors.clear();
            const bool outOfMemory = isOutOfMemory(std::current_exception());
            if (!prefetched && outOfMemory)
                rethrowOutOfMemory(plan.exec->label, "bringing in the weights of " + inQuotes(plan.step->module));
            if (!outOfMemory)
                throw;
            Staged deferred;
            deferred.prefetched = true;
            deferred.deferred = true;
            return deferred;
        }
        return out;
    }

    // The worker's allocations on `device` (a step's weights, its activations, its KV cache): when
    // one fails for want of memory while prefetched weights are held there, those give way (they
    // are brought in again at their turn) and it is tried once more. So prefetch never causes an
    // out-of-memory error that a run without it would not hit.
    template<typename F>
    void withRoomOn(DeviceState &device, F &&attempt)
    {
        try {
            attempt();
            return;
        } catch (...) {
            if (!isOutOfMemory(std::current_exception()) || !evictPrefetched(device))
                throw;
        }
        attempt();
    }

    // Releases the prefetched weights held on `device`, waiting for prefetches still under way
    // (one may have held part of its weights when the worker's allocation failed, then deferred);
    // false when no prefetch was concerned, so that trying again would change nothing.
    bool evictPrefetched(DeviceState &device)
    {
        bool freed = false;
        for (auto &f : m_inFlight) {
            const StepPlan &plan = m_plans[static_cast<std::size_t>(f.step % static_cast<std::int64_t>(m_plans.size()))];
            if (plan.exec != &device)
                continue;
            const bool wasUnderWay = !f.ready;
            // One not started yet holds nothing: taken back, it is deferred for want of room.
            Staged &staged = f.get(m_abandoned, true);
            staged.takenBack = false;
            freed = freed || wasUnderWay;
            if (staged.deferred || staged.allocated == 0)
                continue;
            device.release(staged.allocated);
            freed = true;
            staged = Staged{};
            staged.prefetched = true;
            staged.deferred = true;
        }
        return freed;
    }

    void stageInto(const StepPlan &plan, std::int64_t globalStep, Staged &out)
    {
        DeviceState &exec = *plan.exec;
        // On a real GPU the copies go on this step's own stream (see DeviceState::copyStreams).
        std::optional<c10::StreamGuard> onCopyStream;
        if (!exec.copyStreams.empty())
            onCopyStream.emplace(exec.copyStreams[static_cast<std::size_t>(globalStep) % exec.copyStreams.size()]);
        const auto t0 = Clock::now();
        std::int64_t moved = 0;
        for (const Weight *w : plan.weights) {
            if (w->home == exec.device || w->computedOnCpu) {
                out.tensors[w->name] = w->resident;
                continue;
            }
            torch::Tensor t;
            std::int64_t bytes = 0;
            if (w->home.kind == DeviceKind::Disk) {
                const torch::Tensor source = mapped(*w);
                const bool didConvert = source.scalar_type() != exec.dtype;
                const auto c0 = Clock::now();
                // Computing on the CPU: the mmapped tensor itself (the page cache is the copy);
                // anywhere else it is read in.
                const bool inPlace = !exec.cuda && !exec.simulated;
                if (inPlace && !didConvert) {
                    t = source;
                    // Once: the pages stay mapped while the checkpoint is open, and touching them
                    // again each token costs a cache and TLB miss per page on the compute's cores.
                    if (out.prefetched && !w->touched.exchange(true))
                        touchPages(t);
                } else {
                    t = copyIn(source, exec, globalStep, true);
                }
                if (didConvert)
                    noteConversion(bytesOf(source), secondsSince(c0));
                bytes = inPlace && !didConvert ? 0 : exec.held(t);
                out.movedFrom.push_back({w->home, bytesOf(source)});
            } else {
                // From host memory (a cpu module) or another GPU (a split across GPUs).
                t = copyIn(w->resident, exec, globalStep, w->home.kind == DeviceKind::Cpu && !m_pinned);
                bytes = exec.held(t);
                out.movedFrom.push_back({w->home, bytes});
            }
            if (bytes > 0) {
                exec.allocate(bytes, "the weights of " + inQuotes(w->name) + " brought in for " + inQuotes(plan.step->module));
                out.allocated += bytes;
            }
            moved += bytes;
            out.tensors[w->name] = t;
        }
        // Waits for this step's copies only (its stream, or the current one), not for the worker's
        // kernels nor the other prefetches' copies.
        if (exec.cuda)
            synchronizeCurrentStream(exec.exec);
        // A simulated link: the move takes at least bytes / bandwidth.
        if (exec.simulated && m_request.simulatedBandwidth > 0 && moved > 0) {
            const double wanted = static_cast<double>(moved) / m_request.simulatedBandwidth;
            waitUntil(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wanted)));
        }
        out.seconds = secondsSince(t0);
    }

    // A copy of `source` on `exec` in its dtype; on a CPU-backed device in a pooled buffer. On a
    // real GPU, from `pageable` host memory through the step's copy stream's page-locked slots.
    torch::Tensor copyIn(const torch::Tensor &source, const DeviceState &exec, std::int64_t globalStep, bool pageable)
    {
        if (exec.cuda && pageable && !exec.staging.empty() && source.device().is_cpu() && source.is_contiguous()) {
            const std::size_t i = static_cast<std::size_t>(globalStep) % exec.staging.size();
            // In the stored dtype (the bytes as they are), converted on the GPU if need be; the caller
            // synchronizes the stream.
            torch::Tensor raw = torch::empty(source.sizes(), source.options().device(exec.exec));
            exec.staging[i]->copy(source, raw, exec.copyStreams[i]);
            return raw.scalar_type() == exec.dtype ? raw : raw.to(exec.dtype);
        }
        // Each copy waits for itself (on the step's copy stream): from page-locked memory (PinnedArena)
        // it is a DMA at the link's speed either way, and the tensors of a block are large enough
        // that queueing them without a wait would gain little.
        if (exec.cuda)
            return source.to(exec.exec, exec.dtype, /*non_blocking=*/false, /*copy=*/true);
        torch::Tensor buffer = m_pool.take(source.sizes(), exec.dtype);
        // A plain memcpy on this thread when nothing converts: Tensor::copy_ would split it over
        // libtorch's intra-op threads, which then compete with the computation (the prefetch thread
        // runs beside it) and spin at their barrier whenever the cores are oversubscribed.
        if (source.device().is_cpu() && source.scalar_type() == exec.dtype && source.is_contiguous())
            std::memcpy(buffer.data_ptr(), source.data_ptr(), static_cast<std::size_t>(bytesOf(source)));
        else
            buffer.copy_(source);
        return buffer;
    }

    // A step whose weights from elsewhere have all been touched: `stage` touches only disk weights
    // the CPU uses in place, in their stored dtype, so their pages are mapped and staging them again
    // makes a tensor over the mapping per weight, less than handing the step to a prefetch thread
    // costs (tens of us to start it and to wake the worker): the worker stages it at its turn.
    bool movesNothing(const StepPlan &plan) const
    {
        const DeviceState &exec = *plan.exec;
        if (exec.cuda || exec.simulated)
            return false;
        return std::all_of(plan.weights.begin(), plan.weights.end(),
                           [&](const Weight *w) { return w->home == exec.device || w->computedOnCpu || w->touched.load(); });
    }

    // Reads one byte per page so that the kernel maps them now (the prefetch of an in-place tensor).
    static void touchPages(const torch::Tensor &t)
    {
        const auto *p = static_cast<const volatile unsigned char *>(t.data_ptr());
        const std::int64_t n = bytesOf(t);
        unsigned sum = 0;
        for (std::int64_t i = 0; i < n; i += 4096)
            sum += p[i];
        (void)sum;
    }

    void releaseStaged(const StepPlan &plan, Staged &staged)
    {
        if (staged.allocated > 0) {
            plan.exec->release(staged.allocated);
            RunEvent ev;
            ev.kind = RunEventKind::WeightReleased;
            ev.module = plan.step->module;
            ev.to = plan.exec->device;
            ev.bytes = staged.allocated;
            m_events->push(ev);
        }
        staged.tensors.clear();
        staged.allocated = 0;
    }

    void reportStaged(const StepPlan &plan, const Staged &staged)
    {
        if (staged.movedFrom.empty())
            return;
        std::vector<std::pair<Device, std::int64_t>> bySource;
        std::int64_t total = 0;
        for (const auto &[from, bytes] : staged.movedFrom) {
            total += bytes;
            auto it = std::find_if(bySource.begin(), bySource.end(), [&](const auto &p) { return p.first == from; });
            if (it == bySource.end())
                bySource.emplace_back(from, bytes);
            else
                it->second += bytes;
        }
        {
            const std::lock_guard lock(plan.exec->statsMutex);
            plan.exec->transferSeconds += staged.seconds;
            plan.exec->bytesMoved += total;
        }
        for (const auto &[from, bytes] : bySource) {
            RunEvent ev;
            ev.kind = RunEventKind::WeightMoved;
            ev.module = plan.step->module;
            ev.from = from;
            ev.to = plan.exec->device;
            ev.bytes = bytes;
            ev.seconds = staged.seconds * (total > 0 ? static_cast<double>(bytes) / static_cast<double>(total) : 1.0);
            ev.prefetched = staged.prefetched;
            m_events->push(ev);
        }
    }

    // ---- running ----

    // Bytes a step's computation holds at its peak beyond its weights: the activations of the
    // hidden state and, for a block, the attention scores and the MLP's intermediate.
    std::int64_t activationBytes(const StepPlan &plan, std::int64_t tokens, std::int64_t context) const
    {
        const auto &d = m_dims;
        const std::int64_t elt = c10::elementSize(plan.exec->heldDtype);
        const std::int64_t hidden = tokens * d.hiddenSize * elt;
        switch (plan.step->kind) {
        case StepKind::Embedding:
        case StepKind::Norm: return 2 * hidden;
        case StepKind::Head: return hidden + tokens * m_model->vocabSize() * 4;
        case StepKind::Block:
            return 3 * hidden + tokens * std::max<std::int64_t>(d.intermediateSize, d.hiddenSize) * elt * 3 +
                   d.numAttentionHeads * tokens * context * 4;
        }
        return hidden;
    }

    void checkCancel() const
    {
        if (m_cancel.load())
            throw Error(ErrorKind::Cancelled, {}, "cancelled");
    }

    void progress(RunPhase phase)
    {
        RunEvent ev;
        ev.kind = RunEventKind::Progress;
        ev.phase = phase;
        ev.message = toString(phase);
        m_events->push(ev);
    }

    void memoryEvent(const DeviceState &d)
    {
        RunEvent ev;
        ev.kind = RunEventKind::Memory;
        ev.to = d.device;
        ev.bytes = d.used.load();
        ev.peakBytes = d.peak.load();
        m_events->push(ev);
    }

    // One forward of `x` (token ids [1, T], or the previous stage's hidden state) through every step:
    // logits [1, 1, V] of the last position on the CPU (the hidden state [1, T, H] for a stage that
    // ends before the norm).
    torch::Tensor forward(torch::Tensor x, std::int64_t &globalStep, std::int64_t totalSteps)
    {
        const std::int64_t tokens = x.size(1);
        const std::int64_t context = m_state.position + tokens;
        for (std::size_t i = 0; i < m_plans.size(); ++i, ++globalStep) {
            checkCancel();
            const StepPlan &plan = m_plans[i];
            DeviceState &exec = *plan.exec;
            // Keep up to `prefetch` steps ahead in flight.
            for (std::int64_t g = std::max(globalStep + 1, m_nextPrefetch); g <= std::min(globalStep + m_request.prefetch, totalSteps - 1); ++g) {
                m_nextPrefetch = g + 1;
                const StepPlan &ahead = m_plans[static_cast<std::size_t>(g % static_cast<std::int64_t>(m_plans.size()))];
                if (!ahead.needsStaging || movesNothing(ahead))
                    continue;
                InFlight f;
                f.step = g;
                f.future = std::async(std::launch::async, [this, &ahead, g, state = f.state] {
                    return InFlight::begin(*state) ? stage(ahead, g, true) : Staged{};
                });
                m_inFlight.push_back(std::move(f));
            }
            Staged staged;
            if (!m_inFlight.empty() && m_inFlight.front().step == globalStep) {
                staged = std::move(m_inFlight.front().get(m_abandoned, m_request.prefetchTakeBack));
                m_inFlight.pop_front();
                if (staged.deferred) {
                    if (staged.takenBack)
                        ++m_takenBack;
                    else
                        ++m_deferred[&exec];
                    withRoomOn(exec, [&] { staged = stage(plan, globalStep, false); });
                }
                forgetFinished(m_abandoned);
            } else if (plan.needsStaging) {
                withRoomOn(exec, [&] { staged = stage(plan, globalStep, false); });
            } else {
                for (const Weight *w : plan.weights)
                    staged.tensors[w->name] = w->resident;
            }
            reportStaged(plan, staged);
            // Weights copied on a copy stream are used on this thread's stream: the caching
            // allocator must not hand their memory to another copy until these kernels are done,
            // even when they are released early (a failure below).
            if (!exec.copyStreams.empty() && staged.allocated > 0) {
                const auto *guard = c10::impl::getDeviceGuardImpl(exec.exec.type());
                const c10::Stream computeStream = guard->getStream(exec.exec);
                for (const auto &[name, t] : staged.tensors)
                    if (t.is_cuda())
                        guard->recordDataPtrOnStream(t.storage().data_ptr(), computeStream);
            }

            // Only the last position's logits are used (they give the next token), so the final norm
            // and the head see that position alone, as transformers' logits_to_keep=1 does: for a
            // long prompt the head would otherwise compute, and copy back, [T, vocab].
            if ((plan.step->kind == StepKind::Norm || plan.step->kind == StepKind::Head) && x.size(1) > 1)
                x = x.narrow(1, x.size(1) - 1, 1);
            // Inputs move to the step's device and dtype.
            if (plan.step->kind == StepKind::Embedding)
                x = x.to(exec.exec);
            else
                x = x.to(exec.exec, exec.dtype);
            const std::int64_t activations = activationBytes(plan, x.size(1), context);
            withRoomOn(exec, [&] { exec.allocate(activations, "the activations of " + inQuotes(plan.step->module)); });
            const std::int64_t cacheBefore = plan.step->kind == StepKind::Block ? m_state.bytes(plan.step->layer) : 0;
            double partSeconds = 0; // of the parts computed on the CPU
            StagedSource source(staged, [&](const std::string &module, c10::Device device, c10::ScalarType dtype,
                                            const WeightSource::PartCompute &compute) {
                if (std::find(plan.cpuParts.begin(), plan.cpuParts.end(), module) == plan.cpuParts.end())
                    return compute(device, dtype).to(device, dtype);
                // The hidden states go to the CPU (in its dtype), the part computes there over the
                // weights in host memory, its output comes back.
                DeviceState &cpu = deviceState(Device::cpu());
                const auto p0 = Clock::now();
                const torch::Tensor out = compute(c10::Device(c10::kCPU), cpu.dtype);
                const double partTime = secondsSince(p0);
                partSeconds += partTime;
                cpu.computeSeconds += partTime;
                RunEvent ran;
                ran.kind = RunEventKind::ModuleRan;
                ran.module = module;
                ran.to = cpu.device;
                ran.seconds = partTime;
                m_events->push(ran);
                return out.to(device, dtype);
            }, [this](std::int64_t bytes, double seconds) { noteConversion(bytes, seconds); });
            const auto t0 = Clock::now();
            torch::Tensor y;
            try {
                y = m_model->run(plan.index, x, m_state, source);
            } catch (...) {
                exec.release(activations);
                releaseStaged(plan, staged);
                if (exec.cuda && isOutOfMemory(std::current_exception()))
                    rethrowOutOfMemory(exec.label, "computing " + inQuotes(plan.step->module));
                throw;
            }
            // This step's kernels only: a prefetch's copies on their own streams run on.
            if (exec.cuda)
                synchronizeCurrentStream(exec.exec);
            const double seconds = std::max(0.0, secondsSince(t0) - partSeconds);
            exec.release(activations);
            if (plan.step->kind == StepKind::Block) {
                const std::int64_t grown = exec.held(m_state.bytes(plan.step->layer) - cacheBefore);
                withRoomOn(exec, [&] { exec.allocate(grown, "the KV cache of " + inQuotes(plan.step->module)); });
            }
            exec.computeSeconds += seconds;
            RunEvent ran;
            ran.kind = RunEventKind::ModuleRan;
            ran.module = plan.step->module;
            ran.to = exec.device;
            ran.seconds = seconds;
            m_events->push(ran);
            releaseStaged(plan, staged);
            memoryEvent(exec);
            x = y;
        }
        m_state.advance(tokens);
        return x.to(torch::kCPU, torch::kFloat32);
    }

    void execute(RunResult &result)
    {
        torch::NoGradGuard noGrad;
        prepare(result);
        m_dims = models::describe(*m_checkpoint).dims;
        m_state = m_model->newState();
        models::torchfwd::Sampling sampling;
        sampling.temperature = m_request.temperature;
        sampling.topK = m_request.topK;
        sampling.seed = m_request.seed;
        auto generator = at::make_generator<at::CPUGeneratorImpl>(m_request.seed);

        const int forwards = std::max(1, m_request.maxNewTokens);
        const std::int64_t totalSteps = static_cast<std::int64_t>(forwards) * static_cast<std::int64_t>(m_plans.size());
        std::int64_t globalStep = 0;
        torch::Tensor ids = torch::tensor(m_request.promptIds, torch::kInt64).unsqueeze(0);
        progress(RunPhase::Prefill);
        std::vector<double> decodeTimes;
        const bool first = m_request.pipeline.rank == 0;
        const bool lastStage = m_request.pipeline.rank == m_request.pipeline.world - 1;
        for (int t = 0; t < m_request.maxNewTokens; ++t) {
            const auto t0 = Clock::now();
            // A stage after the first starts from the previous stage's hidden state.
            torch::Tensor input = ids;
            if (!first)
                input = m_link->receiveHidden(ids.size(1), m_dims.hiddenSize);
            const torch::Tensor output = forward(input, globalStep, totalSteps);
            std::int64_t next = -1;
            if (lastStage) {
                const torch::Tensor last = output[0][output.size(1) - 1];
                if (m_request.keepLogits) {
                    const torch::Tensor c = last.contiguous();
                    result.logits.emplace_back(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
                }
                next = models::torchfwd::chooseToken(last, sampling, &generator);
            } else {
                m_link->sendHidden(output);
            }
            if (m_link)
                next = m_link->shareToken(next);
            const double seconds = secondsSince(t0);
            if (t == 0) {
                result.prefillSeconds = seconds;
                progress(RunPhase::Decoding);
            } else {
                decodeTimes.push_back(seconds);
            }
            result.generatedIds.push_back(next);
            RunEvent ev;
            ev.kind = RunEventKind::Token;
            ev.token = next;
            ev.index = t;
            ev.seconds = seconds;
            m_events->push(ev);
            if (std::find(m_request.stopIds.begin(), m_request.stopIds.end(), next) != m_request.stopIds.end()) {
                result.stoppedAtStopId = true;
                break;
            }
            ids = torch::tensor({next}, torch::kInt64).unsqueeze(0);
            checkCancel();
        }
        if (!decodeTimes.empty()) {
            double sum = 0;
            for (double s : decodeTimes)
                sum += s;
            result.decodeSecondsPerToken = sum / static_cast<double>(decodeTimes.size());
        }
        result.convertedTensors = m_converted;
        result.convertedBytes = m_convertedBytes;
        result.convertSeconds = m_convertSeconds;
        result.inPlaceTensors = m_inPlace;
        if (m_converted > 0)
            result.notes.push_back(std::to_string(m_converted) + " weight conversion(s) to the compute dtype (" +
                                   std::to_string(m_convertedBytes) + " bytes read, " +
                                   std::to_string(static_cast<long long>(m_convertSeconds * 1000)) + " ms)");
        std::int64_t cpuParts = 0;
        for (const auto &plan : m_plans)
            cpuParts += static_cast<std::int64_t>(plan.cpuParts.size());
        if (cpuParts > 0)
            result.notes.push_back(std::to_string(cpuParts) + " mixture-of-experts block(s) computed their experts on the CPU, "
                                   "where the map puts them (only the hidden states moved; experts on disk read in place), not brought to the GPU");
        for (const auto &d : m_devices)
            if (d->planned >= 0 && d->peak.load() > d->planned && d->device.kind != DeviceKind::Disk)
                result.notes.push_back(d->label + " needed " + std::to_string(d->peak.load()) + " bytes at its peak, " +
                                       std::to_string(d->peak.load() - d->planned) + " more than the plan's " +
                                       std::to_string(d->planned) + " (KV cache and activations come on top of the weights)");
        for (const auto &d : m_devices)
            if (const auto it = m_deferred.find(d.get()); it != m_deferred.end())
                result.notes.push_back(std::to_string(it->second) + (it->second == 1 ? " prefetch" : " prefetches") + " deferred: " +
                                       d->label + " had no room for the weights of the steps ahead (prefetch " +
                                       std::to_string(m_request.prefetch) +
                                       "), so they were brought in at their turn, after the previous step's were released");
        if (m_takenBack > 0)
            result.notes.push_back(std::to_string(m_takenBack) +
                                   (m_takenBack == 1 ? " prefetch had not started when its step came" : " prefetches had not started when their steps came") +
                                   " (the prefetch thread was not scheduled in time, as on a busy machine): the worker brought those "
                                   "weights in itself rather than wait for it");
    }

    // The steps this run executes: all of them (one stage), or its pipeline stage's; the map is
    // restricted to the keys of those steps' tensors, so that a rank needs only its own devices.
    void chooseStage(const models::torchfwd::CheckpointSource &source)
    {
        const PipelineSpec &spec = m_request.pipeline;
        if (spec.world < 1 || spec.rank < 0 || spec.rank >= spec.world)
            throw Error(ErrorKind::InvalidArgument, {},
                        "rank " + std::to_string(spec.rank) + " is not one of the " + std::to_string(spec.world) + " ranks of the pipeline");
        const auto &steps = m_model->steps();
        std::vector<std::int64_t> weights;
        std::vector<bool> isBlock;
        int blocks = 0;
        for (const Step &step : steps) {
            std::int64_t bytes = 0;
            for (const auto &name : step.tensors)
                if (const int i = m_checkpoint->catalog.find(source.storedName(name)); i >= 0)
                    bytes += m_checkpoint->catalog.tensors[static_cast<std::size_t>(i)].byteSize;
            weights.push_back(bytes);
            isBlock.push_back(step.kind == StepKind::Block);
            blocks += step.kind == StepKind::Block ? 1 : 0;
        }
        std::vector<int> counts = spec.blocksPerStage;
        if (counts.empty()) {
            counts = spec.world == 1 ? std::vector<int>{blocks} : balancedStages(weights, isBlock, spec.world);
        } else {
            int sum = 0;
            bool positive = true;
            for (const int c : counts) {
                sum += c;
                positive = positive && c > 0;
            }
            if (static_cast<int>(counts.size()) != spec.world || !positive || sum != blocks)
                throw Error(ErrorKind::InvalidArgument, {},
                            "the stage split gives " + std::to_string(counts.size()) + " stage(s) of " + std::to_string(sum) +
                                " block(s) in all; the pipeline has " + std::to_string(spec.world) + " rank(s) and the model " +
                                std::to_string(blocks) + " decoder block(s), at least one per stage");
        }
        m_split.clear();
        int begin = 0;
        for (const int c : counts) {
            m_split.emplace_back(begin, begin + c);
            begin += c;
        }
        const auto [firstBlock, endBlock] = m_split[static_cast<std::size_t>(spec.rank)];
        m_stageSteps.clear();
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const Step &step = steps[i];
            const bool mine = step.kind == StepKind::Block ? step.layer >= firstBlock && step.layer < endBlock
                              : step.kind == StepKind::Embedding ? spec.rank == 0
                                                                 : spec.rank == spec.world - 1;
            if (mine)
                m_stageSteps.push_back(i);
        }
        m_fullMap = m_request.map;
        if (spec.world == 1)
            return;
        planner::DeviceMap kept;
        for (const auto &entry : m_request.map) {
            const std::string &key = entry.first;
            bool used = key.empty();
            for (std::size_t i = 0; i < m_stageSteps.size() && !used; ++i)
                for (const auto &name : steps[m_stageSteps[i]].tensors)
                    if (name == key || (name.size() > key.size() && name.compare(0, key.size(), key) == 0 && name[key.size()] == '.')) {
                        used = true;
                        break;
                    }
            if (used)
                kept.push_back(entry);
        }
        m_request.map = std::move(kept);
    }

    // What every rank must agree on, published at the rendezvous: the checkpoint (tensor names,
    // dtypes, shapes, file sizes: headers only), the whole map, the stage split and the generation.
    nlohmann::json fingerprint()
    {
        auto fnv = [](const std::string &text) {
            std::uint64_t h = 1469598103934665603ull;
            for (const unsigned char c : text) {
                h ^= c;
                h *= 1099511628211ull;
            }
            char buf[17];
            std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
            return std::string(buf);
        };
        auto part = [&](const std::string &text, const std::string &summary) {
            const std::string hash = fnv(text);
            return nlohmann::json{{"hash", hash}, {"summary", summary + " (fingerprint " + hash + ")"}};
        };
        std::vector<std::string> tensors;
        std::int64_t bytes = 0;
        for (const auto &t : m_checkpoint->catalog.tensors) {
            std::string line = t.name + ":" + torchName(t.dtype) + ":";
            for (const auto d : t.shape)
                line += std::to_string(d) + ",";
            tensors.push_back(line);
            bytes += t.byteSize;
        }
        std::sort(tensors.begin(), tensors.end());
        std::vector<std::string> files;
        for (const auto &shard : m_checkpoint->catalog.shards)
            files.push_back(std::filesystem::path(shard.fileName.empty() ? shard.path : shard.fileName).filename().string() + ":" +
                            std::to_string(shard.fileSize));
        std::sort(files.begin(), files.end());
        std::string checkpointText;
        for (const auto &line : tensors)
            checkpointText += line + "\n";
        for (const auto &line : files)
            checkpointText += line + "\n";
        std::string mapText;
        for (const auto &[key, d] : m_fullMap)
            mapText += key + "=" + d.label() + "\n";
        std::string splitText;
        for (std::size_t r = 0; r < m_split.size(); ++r)
            splitText += (r ? " | " : "") + std::to_string(m_split[r].first) + "-" + std::to_string(m_split[r].second - 1);
        const RunRequest &q = m_request;
        std::string runText = "max_new=" + std::to_string(q.maxNewTokens) + ";temperature=" + std::to_string(q.temperature) +
                              ";top_k=" + std::to_string(q.topK) + ";seed=" + std::to_string(q.seed) + ";prompt=";
        for (const auto id : q.promptIds)
            runText += std::to_string(id) + ",";
        runText += ";stop=";
        for (const auto id : q.stopIds)
            runText += std::to_string(id) + ",";
        nlohmann::json j;
        j["checkpoint"] = part(checkpointText, std::to_string(tensors.size()) + " tensors of " + std::to_string(bytes) + " bytes in " +
                                                   std::to_string(files.size()) + " file(s)");
        j["plan"] = part(mapText, "a device map of " + std::to_string(m_fullMap.size()) + " entries");
        j["stage split"] = part(splitText + ";world=" + std::to_string(m_split.size()), "blocks " + splitText);
        j["generation settings"] =
            part(runText, std::to_string(q.promptIds.size()) + " prompt ids, " + std::to_string(q.maxNewTokens) + " new tokens, " +
                              (q.temperature > 0 ? "temperature " + std::to_string(q.temperature) : std::string("greedy")) + ", seed " +
                              std::to_string(q.seed));
        m_fingerprint = j["checkpoint"]["hash"].get<std::string>();
        return j;
    }

    StageReport stageReport() const
    {
        StageReport r;
        r.rank = m_request.pipeline.rank;
        r.world = m_request.pipeline.world;
        if (static_cast<std::size_t>(r.rank) < m_split.size()) {
            r.firstBlock = m_split[static_cast<std::size_t>(r.rank)].first;
            r.endBlock = m_split[static_cast<std::size_t>(r.rank)].second;
        }
        r.embeddings = r.rank == 0;
        r.head = r.rank == r.world - 1;
        r.split = m_split;
        r.seconds = secondsSince(m_start);
        r.fingerprint = m_fingerprint;
        if (m_link) {
            r.bytesSent = m_link->bytesSent;
            r.bytesReceived = m_link->bytesReceived;
            r.waitSeconds = m_link->waitSeconds;
        }
        return r;
    }

    void releaseAll()
    {
        // Prefetches still in flight (a failure or cancel mid-run) finish before their weights go.
        for (auto &f : m_inFlight)
            if (f.future.valid()) {
                try {
                    f.future.get();
                } catch (...) {
                }
            }
        m_inFlight.clear();
        m_abandoned.clear(); // their threads return without staging anything
        m_pool.clear();
        m_pinned.reset(); // the weights placed in it go below; the last of them frees it
        m_state = DecodeState{};
        m_weights.clear();
        m_plans.clear();
        m_model.reset();
        m_offload.reset();
        m_checkpoint.reset();
    }

    std::vector<DeviceRunReport> reports() const
    {
        std::vector<DeviceRunReport> out;
        for (const auto &d : m_devices) {
            // A stage reports the devices its part of the map uses (and where it computes).
            if (m_request.pipeline.world > 1 && d.get() != m_main) {
                bool used = false;
                for (const auto &[key, dev] : m_request.map)
                    used = used || dev == d->device;
                if (!used)
                    continue;
            }
            if (d->device.kind == DeviceKind::Disk && d->planned < 0) {
                bool used = false;
                for (const auto &[key, dev] : m_request.map)
                    used = used || dev.kind == DeviceKind::Disk;
                if (!used)
                    continue;
            }
            DeviceRunReport r;
            r.device = d->device;
            r.label = d->label;
            r.simulated = d->simulated;
            r.computeSeconds = d->computeSeconds;
            r.transferSeconds = d->transferSeconds;
            r.bytesMoved = d->bytesMoved;
            r.residentBytes = d->resident;
            r.peakBytes = d->peak.load();
            r.plannedBytes = d->planned;
            r.capacityBytes = d->capacity;
            out.push_back(r);
        }
        return out;
    }

    RunRequest m_request;
    std::atomic<bool> m_cancel{false};
    Clock::time_point m_start;
    EventQueue *m_events = nullptr;
    std::unique_ptr<loader::Checkpoint> m_checkpoint;
    std::unique_ptr<loader::Checkpoint> m_offload; // RunRequest::offloadFolder, opened
    std::unique_ptr<CausalLM> m_model;
    models::ModelDims m_dims;
    DecodeState m_state;
    std::vector<std::unique_ptr<DeviceState>> m_devices;
    DeviceState *m_main = nullptr;
    std::unordered_map<std::string, Device> m_keys;
    std::map<std::string, Weight> m_weights;
    std::unordered_map<std::string, c10::ScalarType> m_execDtypeOf;
    std::shared_ptr<PinnedArena> m_pinned; // the page-locked CPU-homed weights real GPUs bring in
    std::vector<StepPlan> m_plans;
    std::vector<std::size_t> m_stageSteps;         // the model's steps this run executes
    std::vector<std::pair<int, int>> m_split;      // every rank's blocks [first, end)
    planner::DeviceMap m_fullMap;                  // the map before its restriction to this stage
    std::string m_fingerprint;
    std::unique_ptr<StageLink> m_link;             // world > 1: the other stages
    std::deque<InFlight> m_inFlight;
    std::map<const DeviceState *, std::int64_t> m_deferred; // prefetches deferred per execution device
    std::int64_t m_takenBack = 0;                  // prefetches the worker took back before they started
    std::vector<std::future<Staged>> m_abandoned;  // the futures of those (see InFlight::get)
    std::int64_t m_nextPrefetch = 0;
    StagingPool m_pool;
    std::mutex m_conversionMutex;
    std::int64_t m_converted = 0, m_convertedBytes = 0, m_inPlace = 0;
    double m_convertSeconds = 0;
};

} // namespace

std::unique_ptr<Session> createDispatchSession(const RunRequest &request)
{
    return std::make_unique<DispatchSession>(request);
}

} // namespace mizan::runtime
