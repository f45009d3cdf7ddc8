#pragma once

// The seam between the torch-free core and everything that needs libtorch. mizan-cli and the GUI
// do not link libtorch (its load costs most of a second): what needs it lives in a module,
// libmizan_torch_backend.so (runtime/torch/), that loadBackend() opens with dlopen the first time
// it is asked for. This header is torch-free; the module implements Backend and exports the two
// extern "C" entry points declared at the end.
//
// The module and the program must come from the same build (same compiler, same headers): the
// interface passes C++ types. kBackendAbiVersion guards against a stale module found on disk.

#include "runtime/devices.h"
#include "runtime/session.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mizan::runtime {

// Bump whenever Backend (its virtual functions, their order or signatures) or a type it passes
// (GpuInfo, ...) changes. A module reporting another number is refused with a clear error.
inline constexpr int kBackendAbiVersion = 6;

// What libtorch does for Mizan. One object per process, owned by the module, alive until exit (the
// module is never closed). Calls may come from any thread; none throws across the boundary.
class Backend {
public:
    virtual ~Backend() = default;

    // For people: "libtorch 1.13.1 (CPU only)", "libtorch 2.3.0 with CUDA".
    virtual std::string description() const = 0;
    // The libtorch version alone: "1.13.1".
    virtual std::string torchVersion() const = 0;
    // Built against a libtorch with CUDA (so GPUs can be queried).
    virtual bool cudaBuild() const = 0;
    // Every CUDA GPU in index order, with free memory as torch.cuda.mem_get_info() reports it.
    // Initialising CUDA can take seconds: call off any UI thread. A GPU that fails to initialise is
    // skipped with a note appended to `notes`. Leaves the calling thread's current device as it was.
    virtual std::vector<GpuInfo> probeGpus(std::vector<std::string> &notes) = 0;

    // A dispatched-inference session for `request` (session.h). Nothing is read until
    // Session::run(), which reports failures in its result instead of throwing.
    virtual std::unique_ptr<Session> createSession(const RunRequest &request) = 0;
};

// The result of finding and opening the module.
struct BackendLoad {
    Backend *backend = nullptr; // null when unavailable; see `error`
    std::string path;           // the module file opened (or the one that failed)
    std::string error;          // "libtorch backend not found: looked in ...", a dlopen error, ...
};

// The libtorch backend of this process, opened on the first call (thread-safe, once; later calls
// return the same result, failures included). Looks, in order, at:
//   1. $MIZAN_TORCH_BACKEND, a path (when set, nothing else is tried);
//   2. libmizan_torch_backend.so next to the executable, then in ../lib/mizan/ relative to it;
//   3. the module of this build tree (when built with MIZAN_WITH_TORCH).
// Opened with RTLD_NOW | RTLD_LOCAL. Never throws.
const BackendLoad &loadBackend();

// Where loadBackend() looks, in order (the environment variable alone when it is set).
std::vector<std::string> backendSearchPath();

// Opens the module at `path` (no search, not cached; a module opened twice is the same object)
// and checks its interface version. For loadBackend(), tests and diagnostics. Never throws.
BackendLoad openBackend(const std::string &path);

} // namespace mizan::runtime

// The module's entry points, looked up with dlsym under these names.
#define MIZAN_BACKEND_ABI_SYMBOL "mizan_backend_abi_version"
#define MIZAN_BACKEND_CREATE_SYMBOL "mizan_backend_create"

extern "C" {
// The kBackendAbiVersion the module was compiled with. Its signature never changes.
int mizan_backend_abi_version(void);
// The module's Backend (created on the first call), or null with a message (at most `errorSize`
// bytes, NUL-terminated) in `error` when libtorch fails to initialise. Called only after the
// version matched.
mizan::runtime::Backend *mizan_backend_create(char *error, std::size_t errorSize);
}
