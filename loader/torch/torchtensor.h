#pragma once

// libtorch bridge of the loader: target mizan_loader_torch (built only with MIZAN_WITH_TORCH),
// linked only by what runs tensors (the libtorch backend module, its tests). Include it only from
// libtorch translation units; mizan_loader and checkpoint.h stay free of torch.

#include "loader/checkpoint.h"

#include <torch/types.h>

#include <optional>

namespace mizan::loader {

// The libtorch 1.13 element type of `dtype`, or nullopt when that libtorch has none
// (unsigned 16/32/64-bit, the 8/6/4-bit floats, complex128 is not stored by safetensors).
std::optional<c10::ScalarType> torchScalarType(DType dtype);

// A CPU tensor over the tensor's bytes in the memory-mapped shard, without a copy (a strided
// view of a .bin storage: over the contiguous copy tensorBytesShared() gathers): the tensor
// keeps the mapping alive (it may outlive `checkpoint`). The mapping is private copy-on-write,
// so writing into the tensor never changes the file. When the bytes are not aligned for the
// element type (files written without alignment), the tensor is an aligned copy instead.
// Throws Error(UnsupportedFormat) for dtypes libtorch 1.13 lacks, Error(Io) if mapping fails.
torch::Tensor toTorch(const Checkpoint &checkpoint, const TensorEntry &tensor);

} // namespace mizan::loader
