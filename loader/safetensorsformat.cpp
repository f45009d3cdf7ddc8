#include "safetensorsformat_p.h"

#include <limits>

namespace mizan::loader::detail {

std::optional<DType> dtypeFromSafetensorsName(std::string_view name)
{
    if (auto d = dtypeFromSafetensors(name))
        return d;
    // Defined by the format (safetensors >= 0.6) but not named in planner's table.
    if (name == "F8_E4M3FNUZ")
        return DType::F8_E4M3FNUZ;
    if (name == "F8_E5M2FNUZ")
        return DType::F8_E5M2FNUZ;
    return std::nullopt;
}

const char *safetensorsNameOf(DType dtype)
{
    switch (dtype) {
    case DType::F8_E4M3FNUZ: return "F8_E4M3FNUZ";
    case DType::F8_E5M2FNUZ: return "F8_E5M2FNUZ";
    default: return safetensorsName(dtype);
    }
}

std::optional<std::int64_t> checkedNumel(std::span<const std::int64_t> shape)
{
    std::int64_t numel = 1;
    for (std::int64_t dim : shape) {
        if (dim < 0)
            return std::nullopt;
        if (dim != 0 && numel > std::numeric_limits<std::int64_t>::max() / dim)
            return std::nullopt;
        numel *= dim;
    }
    return numel;
}

std::optional<std::int64_t> checkedStorageBytes(DType dtype, std::int64_t numel)
{
    const std::int64_t bits = dtypeInfo(dtype).storageBits;
    if (numel < 0 || numel > std::numeric_limits<std::int64_t>::max() / bits)
        return std::nullopt;
    const std::int64_t totalBits = numel * bits;
    if (totalBits % 8 != 0)
        return std::nullopt;
    return totalBits / 8;
}

} // namespace mizan::loader::detail
