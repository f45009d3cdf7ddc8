#include "dtype.h"

#include <array>

namespace mizan {

namespace {

constexpr std::array<DTypeInfo, kDTypeCount> kInfos{{
    {DType::Bool, "BOOL", "bool", 8, 1, false},
    {DType::U8, "U8", "uint8", 8, 8, false},
    {DType::I8, "I8", "int8", 8, 8, false},
    {DType::U16, "U16", "uint16", 16, 16, false},
    {DType::I16, "I16", "int16", 16, 16, false},
    {DType::U32, "U32", "uint32", 32, 32, false},
    {DType::I32, "I32", "int32", 32, 32, false},
    {DType::U64, "U64", "uint64", 64, 64, false},
    {DType::I64, "I64", "int64", 64, 64, false},
    {DType::F16, "F16", "float16", 16, 16, true},
    {DType::BF16, "BF16", "bfloat16", 16, 16, true},
    {DType::F32, "F32", "float32", 32, 32, true},
    {DType::F64, "F64", "float64", 64, 64, true},
    {DType::C64, "C64", "complex64", 64, 64, true},
    {DType::C128, nullptr, "complex128", 128, 128, true},
    {DType::F8_E4M3, "F8_E4M3", "float8_e4m3fn", 8, 8, true},
    {DType::F8_E5M2, "F8_E5M2", "float8_e5m2", 8, 8, true},
    {DType::F8_E4M3FNUZ, nullptr, "float8_e4m3fnuz", 8, 8, true},
    {DType::F8_E5M2FNUZ, nullptr, "float8_e5m2fnuz", 8, 8, true},
    {DType::F8_E8M0, "F8_E8M0", "float8_e8m0fnu", 8, 8, true},
    {DType::F6_E2M3, "F6_E2M3", "float6_e2m3fn", 6, 6, true},
    {DType::F6_E3M2, "F6_E3M2", "float6_e3m2fn", 6, 6, true},
    {DType::F4, "F4", "float4_e2m1fn_x2", 4, 4, true},
    {DType::CustomInt4, nullptr, "custom_int4", 4, 4, false},
    {DType::CustomInt2, nullptr, "custom_int2", 2, 2, false},
    {DType::CustomFp8, nullptr, "custom_fp8", 8, 8, true},
}};

} // namespace

const DTypeInfo &dtypeInfo(DType dtype)
{
    return kInfos[static_cast<std::size_t>(dtype)];
}

std::optional<DType> dtypeFromSafetensors(std::string_view name)
{
    for (const auto &info : kInfos)
        if (info.safetensorsName && name == info.safetensorsName)
            return info.dtype;
    return std::nullopt;
}

std::optional<DType> dtypeFromTorch(std::string_view name)
{
    if (name.starts_with("torch."))
        name.remove_prefix(6);
    for (const auto &info : kInfos)
        if (name == info.torchName)
            return info.dtype;
    struct Alias { std::string_view name; DType dtype; };
    static constexpr Alias kAliases[] = {
        {"half", DType::F16}, {"fp16", DType::F16}, {"float", DType::F32}, {"fp32", DType::F32},
        {"double", DType::F64}, {"bf16", DType::BF16}, {"long", DType::I64}, {"int", DType::I32},
        {"short", DType::I16}, {"float8_e4m3", DType::F8_E4M3}, {"cfloat", DType::C64},
    };
    for (const auto &alias : kAliases)
        if (name == alias.name)
            return alias.dtype;
    return std::nullopt;
}

std::int64_t storageBytes(DType dtype, std::int64_t numel)
{
    const std::int64_t bits = dtypeInfo(dtype).storageBits;
    return (numel * bits + 7) / 8;
}

double accelerateByteSize(DType dtype)
{
    return dtypeInfo(dtype).accelerateBits / 8.0;
}

double accelerateLoadedByteSize(DType own, std::optional<DType> target)
{
    const double ownSize = accelerateByteSize(own);
    if (!target || !isFloating(own))
        return ownSize;
    const double targetSize = accelerateByteSize(*target);
    return targetSize < ownSize ? targetSize : ownSize;
}

} // namespace mizan
