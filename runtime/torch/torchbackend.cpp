// libmizan_torch_backend.so: the runtime's libtorch side (see runtime/backend.h), opened with
// dlopen by runtime::loadBackend() only when something asks for it: the GPU probe and dispatched
// inference (session.cpp).
#include "runtime/backend.h"
#include "session_p.h"

#include <torch/cuda.h>
#include <torch/version.h>

#if MIZAN_TORCH_CUDA
#include <cuda_runtime_api.h>
#endif

#include <cstring>
#include <exception>

#define MIZAN_BACKEND_EXPORT __attribute__((visibility("default")))

namespace mizan::runtime {

namespace {

#if MIZAN_TORCH_CUDA
// Restores the calling thread's current CUDA device when it goes out of scope (probing sets each
// device in turn). If the current device cannot be read, nothing is restored.
class CudaDeviceGuard {
public:
    CudaDeviceGuard() { m_restore = cudaGetDevice(&m_previous) == cudaSuccess && m_previous >= 0; }
    ~CudaDeviceGuard()
    {
        if (m_restore)
            cudaSetDevice(m_previous);
    }
    CudaDeviceGuard(const CudaDeviceGuard &) = delete;
    CudaDeviceGuard &operator=(const CudaDeviceGuard &) = delete;

private:
    int m_previous = -1;
    bool m_restore = false;
};

// The CUDA runtime directly (libtorch links it): properties and free memory per device, as
// torch.cuda.mem_get_info() reports them.
std::vector<GpuInfo> probeCuda(std::vector<std::string> &notes)
{
    std::vector<GpuInfo> gpus;
    const int count = static_cast<int>(torch::cuda::device_count());
    const CudaDeviceGuard guard;
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp props{};
        cudaError_t status = cudaGetDeviceProperties(&props, i);
        std::size_t freeBytes = 0, totalBytes = 0;
        if (status == cudaSuccess)
            status = cudaSetDevice(i);
        if (status == cudaSuccess)
            status = cudaMemGetInfo(&freeBytes, &totalBytes);
        if (status != cudaSuccess) {
            // Accelerate skips an index that fails to initialise, with a log line.
            notes.push_back("GPU " + std::to_string(i) + " skipped: " + cudaGetErrorString(status));
            cudaGetLastError(); // clear the sticky error for the next device
            continue;
        }
        GpuInfo g;
        g.index = i;
        g.name = props.name;
        g.totalBytes = static_cast<std::int64_t>(totalBytes);
        g.freeBytes = static_cast<std::int64_t>(freeBytes);
        g.computeMajor = props.major;
        g.computeMinor = props.minor;
        gpus.push_back(std::move(g));
    }
    return gpus;
}
#endif

class TorchBackend final : public Backend {
public:
    std::string description() const override
    {
        return "libtorch " + torchVersion() + (cudaBuild() ? " with CUDA" : " (CPU only)");
    }

    std::string torchVersion() const override { return TORCH_VERSION; }

    bool cudaBuild() const override
    {
#if MIZAN_TORCH_CUDA
        return true;
#else
        return false;
#endif
    }

    std::vector<GpuInfo> probeGpus(std::vector<std::string> &notes) override
    {
        std::vector<GpuInfo> gpus;
        try {
#if MIZAN_TORCH_CUDA
            gpus = probeCuda(notes);
            if (gpus.empty())
                notes.push_back("this libtorch has CUDA but no GPU is visible (driver, CUDA_VISIBLE_DEVICES?)");
#else
            // A CPU-only libtorch answers false here; asking keeps the answer honest if that changes.
            if (torch::cuda::is_available())
                notes.push_back("CUDA reports devices but this build cannot query them (built without CUDA headers)");
#endif
        } catch (const std::exception &e) {
            notes.push_back(std::string("CUDA did not initialise: ") + e.what());
        }
        return gpus;
    }

    std::unique_ptr<Session> createSession(const RunRequest &request) override { return createDispatchSession(request); }
};

} // namespace

} // namespace mizan::runtime

extern "C" MIZAN_BACKEND_EXPORT int mizan_backend_abi_version(void)
{
    return mizan::runtime::kBackendAbiVersion;
}

extern "C" MIZAN_BACKEND_EXPORT mizan::runtime::Backend *mizan_backend_create(char *error, std::size_t errorSize)
{
    try {
        static mizan::runtime::TorchBackend backend;
        return &backend;
    } catch (const std::exception &e) {
        if (error && errorSize > 0) {
            std::strncpy(error, e.what(), errorSize - 1);
            error[errorSize - 1] = '\0';
        }
        return nullptr;
    }
}
