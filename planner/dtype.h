#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mizan {

// Element types of tensors, the union of what safetensors stores, what torch names, and
// Accelerate's custom quantised sizes (CustomDtype INT4/INT2/FP8).
enum class DType : std::uint8_t {
    Bool,
    U8, I8, U16, I16, U32, I32, U64, I64,
    F16, BF16, F32, F64,
    C64, C128,
    F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0,
    F6_E2M3, F6_E3M2, F4,
    CustomInt4, CustomInt2, CustomFp8,
};
// The number of dtypes (CustomFp8 is the last).
inline constexpr std::size_t kDTypeCount = static_cast<std::size_t>(DType::CustomFp8) + 1;

struct DTypeInfo {
    DType dtype;
    const char *safetensorsName; // "F32"; nullptr when safetensors has no such dtype
    const char *torchName;       // "float32" (Accelerate/transformers spelling, no "torch." prefix)
    int storageBits;             // bits one element occupies on disk / in memory
    int accelerateBits;          // bits Accelerate's dtype_byte_size counts (bool: 1)
    bool floating;               // converted by a dtype override (ints and bool never are)
};

const DTypeInfo &dtypeInfo(DType dtype);

std::optional<DType> dtypeFromSafetensors(std::string_view name);
// Accepts "float16", "torch.float16", and the common aliases ("half", "float", "fp16", "bf16").
std::optional<DType> dtypeFromTorch(std::string_view name);

inline const char *safetensorsName(DType d) { return dtypeInfo(d).safetensorsName; }
inline const char *torchName(DType d) { return dtypeInfo(d).torchName; }
inline bool isFloating(DType d) { return dtypeInfo(d).floating; }

// Bytes a tensor of `numel` elements occupies in storage (sub-byte types round up).
std::int64_t storageBytes(DType dtype, std::int64_t numel);

// Accelerate's dtype_byte_size: possibly fractional (bool = 0.125).
double accelerateByteSize(DType dtype);

// Size of the element type a tensor is loaded as when the user asks for `target`:
// integer and bool tensors keep their own type; floating tensors never grow (Accelerate's rule).
double accelerateLoadedByteSize(DType own, std::optional<DType> target);

} // namespace mizan
