#include "stridedview_p.h"

#include <cstring>
#include <vector>

namespace mizan::loader::detail {

bool isContiguous(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride)
{
    if (shape.size() != stride.size())
        return false;
    for (std::int64_t s : shape)
        if (s == 0)
            return true;
    std::int64_t expected = 1;
    for (std::size_t k = shape.size(); k-- > 0;) {
        if (shape[k] != 1 && stride[k] != expected)
            return false;
        if (__builtin_mul_overflow(expected, shape[k], &expected))
            return false;
    }
    return true;
}

std::optional<std::int64_t> lastElementOf(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride)
{
    if (shape.size() != stride.size())
        return std::nullopt;
    std::int64_t last = 0;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (shape[k] < 0 || stride[k] < 0)
            return std::nullopt;
        if (shape[k] == 0)
            continue;
        std::int64_t reach = 0;
        if (__builtin_mul_overflow(shape[k] - 1, stride[k], &reach) || __builtin_add_overflow(last, reach, &last))
            return std::nullopt;
    }
    return last;
}

void gatherStrided(const std::byte *source, std::size_t elementSize, std::span<const std::int64_t> shape,
                   std::span<const std::int64_t> stride, std::byte *target)
{
    const std::size_t rank = shape.size();
    if (rank == 0) {
        std::memcpy(target, source, elementSize);
        return;
    }
    for (std::int64_t s : shape)
        if (s == 0)
            return;
    // Rows along the last dimension: one memcpy when its elements are adjacent, else one per element.
    const std::int64_t rowLength = shape[rank - 1];
    const std::int64_t rowStride = stride[rank - 1];
    const std::size_t rowBytes = static_cast<std::size_t>(rowLength) * elementSize;
    std::vector<std::int64_t> index(rank - 1, 0);
    std::int64_t at = 0; // element offset of the current row's first element
    while (true) {
        const std::byte *row = source + static_cast<std::size_t>(at) * elementSize;
        if (rowStride == 1 || rowLength == 1) {
            std::memcpy(target, row, rowBytes);
        } else {
            for (std::int64_t j = 0; j < rowLength; ++j)
                std::memcpy(target + static_cast<std::size_t>(j) * elementSize,
                            row + static_cast<std::size_t>(j * rowStride) * elementSize, elementSize);
        }
        target += rowBytes;
        // The next row: an odometer over the leading dimensions.
        std::size_t k = rank - 1;
        while (k > 0) {
            --k;
            if (++index[k] < shape[k]) {
                at += stride[k];
                break;
            }
            at -= (shape[k] - 1) * stride[k];
            index[k] = 0;
            if (k == 0)
                return;
        }
        if (rank == 1)
            return;
    }
}

} // namespace mizan::loader::detail
