// Test fixture for tst_runtime: a module with the backend entry points that reports another
// interface version, as a libmizan_torch_backend.so left over from an older build would.
#include "runtime/backend.h"

extern "C" __attribute__((visibility("default"))) int mizan_backend_abi_version(void)
{
    return mizan::runtime::kBackendAbiVersion + 1;
}

extern "C" __attribute__((visibility("default"))) mizan::runtime::Backend *mizan_backend_create(char *, std::size_t)
{
    return nullptr; // never called: the version check refuses the module first
}
