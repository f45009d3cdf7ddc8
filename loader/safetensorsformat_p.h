#pragma once

// Internal: facts of the safetensors format shared by the reader and the writer.

#include "planner/dtype.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace mizan::loader::detail {

// Largest JSON header we accept, as the reference implementation (100 MB).
inline constexpr std::int64_t kMaxHeaderBytes = 100'000'000;

// Every dtype string the safetensors format defines (BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2
// F8_E4M3 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64).
std::optional<DType> dtypeFromSafetensorsName(std::string_view name);
// The safetensors spelling of `dtype`, or nullptr when the format cannot store it.
const char *safetensorsNameOf(DType dtype);

// numel of `shape`; nullopt on a negative dimension or int64 overflow.
std::optional<std::int64_t> checkedNumel(std::span<const std::int64_t> shape);
// Bytes of `numel` elements; nullopt on overflow or when sub-byte elements do not fill whole
// bytes (the format requires numel x bits to be a multiple of 8).
std::optional<std::int64_t> checkedStorageBytes(DType dtype, std::int64_t numel);

} // namespace mizan::loader::detail
