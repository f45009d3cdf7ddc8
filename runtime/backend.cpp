// Finding and opening the libtorch backend module (see backend.h).
#include "runtime/backend.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

#include <dlfcn.h>

namespace mizan::runtime {

namespace {

constexpr const char *kModuleName = "libmizan_torch_backend.so";
constexpr const char *kEnvironment = "MIZAN_TORCH_BACKEND";

std::string dlError()
{
    const char *e = dlerror();
    return e ? e : "unknown error";
}

// The folder of the running executable (/proc/self/exe), empty when it cannot be read.
std::filesystem::path executableFolder()
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe.parent_path();
}

} // namespace

std::vector<std::string> backendSearchPath()
{
    if (const char *env = std::getenv(kEnvironment); env && *env)
        return {env};
    std::vector<std::string> paths;
    if (const auto folder = executableFolder(); !folder.empty()) {
        paths.push_back((folder / kModuleName).string());
        paths.push_back((folder / ".." / "lib" / "mizan" / kModuleName).lexically_normal().string());
    }
#ifdef MIZAN_TORCH_BACKEND_BUILD_PATH
    paths.push_back(MIZAN_TORCH_BACKEND_BUILD_PATH);
#endif
    return paths;
}

BackendLoad openBackend(const std::string &path)
{
    BackendLoad load;
    load.path = path;
    // RTLD_LOCAL: libtorch's symbols stay inside the module's lookup scope. Never closed: libtorch
    // registers operators and thread pools that must outlive every caller.
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        load.error = "libtorch backend " + path + " could not be loaded: " + dlError();
        return load;
    }
    dlerror();
    auto abi = reinterpret_cast<int (*)()>(dlsym(handle, MIZAN_BACKEND_ABI_SYMBOL));
    auto create = reinterpret_cast<Backend *(*)(char *, std::size_t)>(dlsym(handle, MIZAN_BACKEND_CREATE_SYMBOL));
    if (!abi || !create) {
        load.error = "libtorch backend " + path + " is not a Mizan backend (no " + MIZAN_BACKEND_ABI_SYMBOL + " or "
                     + MIZAN_BACKEND_CREATE_SYMBOL + ")";
        return load;
    }
    if (const int version = abi(); version != kBackendAbiVersion) {
        load.error = "libtorch backend " + path + " has interface version " + std::to_string(version)
                     + ", this program needs " + std::to_string(kBackendAbiVersion)
                     + " (a module from another build: rebuild it or set " + kEnvironment + ")";
        return load;
    }
    char message[512] = {};
    load.backend = create(message, sizeof message);
    if (!load.backend)
        load.error = "libtorch backend " + path + " failed to start: " + (message[0] ? message : "unknown error");
    return load;
}

const BackendLoad &loadBackend()
{
    static BackendLoad result;
    static std::once_flag once;
    std::call_once(once, [] {
        const std::vector<std::string> paths = backendSearchPath();
        std::string looked;
        for (const auto &path : paths) {
            std::error_code ec;
            if (std::filesystem::exists(path, ec)) {
                // The first module found is the one used: its failure is the answer, not a reason
                // to pick up some other build's module further down the list.
                result = openBackend(path);
                return;
            }
            looked += (looked.empty() ? "" : ", ") + path;
        }
        result.error = "libtorch backend not found: looked in " + (looked.empty() ? std::string("no place") : looked);
        if (const char *env = std::getenv(kEnvironment); env && *env)
            result.error += std::string(" (from ") + kEnvironment + ")";
        else
            result.error += std::string(" (set ") + kEnvironment + " to its path)";
    });
    return result;
}

} // namespace mizan::runtime
