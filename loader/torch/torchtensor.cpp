#include "loader/torch/torchtensor.h"

#include "planner/error.h"

#include <torch/torch.h>

#include <cstdint>
#include <cstring>

namespace mizan::loader {

std::optional<c10::ScalarType> torchScalarType(DType dtype)
{
    switch (dtype) {
    case DType::Bool: return torch::kBool;
    case DType::U8: return torch::kUInt8;
    case DType::I8: return torch::kInt8;
    case DType::I16: return torch::kInt16;
    case DType::I32: return torch::kInt32;
    case DType::I64: return torch::kInt64;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F32: return torch::kFloat32;
    case DType::F64: return torch::kFloat64;
    case DType::C64: return torch::kComplexFloat;
    case DType::C128: return torch::kComplexDouble;
    default: return std::nullopt;
    }
}

torch::Tensor toTorch(const Checkpoint &checkpoint, const TensorEntry &tensor)
{
    const auto scalar = torchScalarType(tensor.dtype);
    if (!scalar) {
        const std::string file = tensor.shard >= 0 && tensor.shard < static_cast<int>(checkpoint.catalog.shards.size())
            ? checkpoint.catalog.shards[tensor.shard].path : checkpoint.path;
        throw Error(ErrorKind::UnsupportedFormat, file,
                    "tensor \"" + tensor.name + "\" has dtype " + torchName(tensor.dtype)
                        + ", which libtorch " + TORCH_VERSION + " cannot represent");
    }
    const auto options = torch::TensorOptions().dtype(*scalar).device(torch::kCPU);
    const std::vector<std::int64_t> sizes = tensor.shape;
    Checkpoint::SharedBytes shared = checkpoint.tensorBytesShared(tensor);
    if (shared.bytes.empty())
        return torch::empty(sizes, options);
    void *data = const_cast<std::byte *>(shared.bytes.data());
    const auto itemSize = static_cast<std::uintptr_t>(c10::elementSize(*scalar));
    if (reinterpret_cast<std::uintptr_t>(data) % itemSize != 0) {
        torch::Tensor copy = torch::empty(sizes, options);
        std::memcpy(copy.data_ptr(), data, shared.bytes.size());
        return copy;
    }
    auto owner = std::move(shared.owner);
    return torch::from_blob(data, sizes, [owner](void *) mutable { owner.reset(); }, options);
}

} // namespace mizan::loader
