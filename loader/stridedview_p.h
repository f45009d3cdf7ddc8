#pragma once

// Internal: tensors stored as strided views of a larger storage (torch.save keeps a view's whole
// storage with its offset and stride: a transposed weight, a slice, one of several views sharing a
// storage). The catalog describes them by element strides (TensorEntry::stride); these helpers
// check that a view stays inside its storage and gather it into row-major order.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mizan::loader::detail {

// Whether `stride` lays `shape` out contiguously in row-major order, as torch's is_contiguous()
// decides: dimensions of size 1 may have any stride, and a tensor without elements is contiguous.
bool isContiguous(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride);

// The index of the view's last element relative to its first, sum of (size - 1) * stride over the
// dimensions, for a view with at least one element; nullopt on a negative size or stride, a rank
// mismatch or int64 overflow.
std::optional<std::int64_t> lastElementOf(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride);

// Copies the view (`shape`, `stride` in elements of `elementSize` bytes, first element at
// `source`) into `target` in row-major order. `source` must hold lastElementOf() + 1 elements and
// `target` numel elements.
void gatherStrided(const std::byte *source, std::size_t elementSize, std::span<const std::int64_t> shape,
                   std::span<const std::int64_t> stride, std::byte *target);

} // namespace mizan::loader::detail
