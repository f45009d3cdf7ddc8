#include "limits.h"

namespace mizan {

InputLimits inputLimits(InputKind kind)
{
    constexpr std::int64_t MiB = std::int64_t(1) << 20;
    switch (kind) {
    case InputKind::Config: return {"a model config", 64 * MiB};
    case InputKind::SafetensorsIndex: return {"a safetensors index", 512 * MiB};
    case InputKind::DeviceMap: return {"a device map", 256 * MiB};
    case InputKind::PlanFile: return {"a plan file", 512 * MiB};
    case InputKind::Preset: return {"a model preset", 16 * MiB};
    case InputKind::HardwareProfile: return {"a hardware profile", 16 * MiB};
    case InputKind::OffloadIndex: return {"an offload folder index", 512 * MiB};
    case InputKind::Tokenizer: return {"a tokenizer file", 256 * MiB};
    case InputKind::GenerationConfig: return {"a generation config", 16 * MiB};
    case InputKind::TorchPickle: return {"a PyTorch state dict pickle", 512 * MiB};
    case InputKind::Other: break;
    }
    return {"this kind of file", 64 * MiB};
}

} // namespace mizan
