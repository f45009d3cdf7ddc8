#include "safetensorswriter.h"

#include "fileio_p.h"
#include "safetensorsformat_p.h"

#include "planner/error.h"
#include "planner/jsonfile.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <unordered_set>

#include <unistd.h>

namespace mizan::loader {

using detail::AtomicFile;

std::int64_t WriteTensor::numel() const
{
    const auto n = detail::checkedNumel(shape);
    if (!n)
        throw Error(ErrorKind::BadShape, {}, "tensor \"" + name + "\": shape has a negative dimension or its element count overflows");
    return *n;
}

std::int64_t WriteTensor::byteSize() const
{
    const auto bytes = detail::checkedStorageBytes(dtype, numel());
    if (!bytes)
        throw Error(ErrorKind::BadShape, {}, "tensor \"" + name + "\": byte size overflows or "
                                                 "does not fill whole bytes for dtype " + torchName(dtype));
    return *bytes;
}

namespace {

struct PreparedHeader {
    std::string bytes;                 // 8-byte length + padded JSON
    std::vector<std::int64_t> sizes;   // bytes of each tensor
    std::int64_t dataBytes = 0;
};

using TensorRefs = std::vector<const WriteTensor *>;

PreparedHeader prepareHeader(const std::string &path, const TensorRefs &tensors,
                             const WriteOptions &options)
{
    PreparedHeader out;
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    const auto &meta = options.metadata;
    if (!meta.is_null()) {
        if (!meta.is_object())
            throw Error(ErrorKind::InvalidArgument, path, "metadata must be an object of strings");
        for (const auto &[key, value] : meta.items())
            if (!value.is_string())
                throw Error(ErrorKind::InvalidArgument, path, "metadata value of \"" + key + "\" is not a string");
        if (!meta.empty())
            header["__metadata__"] = meta;
    }
    std::unordered_set<std::string> seen;
    seen.reserve(tensors.size());
    planner::OrderedObjectIndex headerMembers(header);
    out.sizes.reserve(tensors.size());
    std::int64_t offset = 0;
    for (const WriteTensor *tp : tensors) {
        const WriteTensor &t = *tp;
        if (t.name == "__metadata__")
            throw Error(ErrorKind::InvalidArgument, path, "a tensor cannot be named \"__metadata__\"");
        if (!seen.insert(t.name).second)
            throw Error(ErrorKind::InvalidArgument, path, "duplicate tensor name \"" + t.name + "\"");
        const char *dtypeName = detail::safetensorsNameOf(t.dtype);
        if (!dtypeName)
            throw Error(ErrorKind::InvalidArgument, path, std::string("safetensors cannot store dtype ")
                                                              + torchName(t.dtype) + " (tensor \"" + t.name + "\")");
        std::int64_t size = 0;
        try {
            size = t.byteSize();
        } catch (const Error &e) {
            throw Error(ErrorKind::InvalidArgument, path, e.message());
        }
        if (!t.data.empty() && static_cast<std::int64_t>(t.data.size()) != size)
            throw Error(ErrorKind::InvalidArgument, path,
                        "tensor \"" + t.name + "\" has " + std::to_string(t.data.size())
                            + " data bytes, its dtype and shape need " + std::to_string(size));
        nlohmann::ordered_json entry = nlohmann::ordered_json::object();
        entry["dtype"] = dtypeName;
        entry["shape"] = t.shape;
        entry["data_offsets"] = {offset, offset + size};
        headerMembers[t.name] = std::move(entry);
        out.sizes.push_back(size);
        offset += size;
    }
    out.dataBytes = offset;

    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');
    const std::uint64_t n = json.size();
    out.bytes.resize(8);
    for (int i = 0; i < 8; ++i)
        out.bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.bytes += json;
    return out;
}

void writeData(AtomicFile &file, const WriteTensor &t, std::int64_t size)
{
    if (size == 0)
        return;
    if (!t.data.empty()) {
        file.write(t.data.data(), t.data.size());
        return;
    }
    if (!t.filler) {
        // Zeros: leave a hole; the final truncate gives the file its full size.
        if (::lseek(file.fd(), static_cast<off_t>(size), SEEK_CUR) < 0)
            throw Error(ErrorKind::Io, file.path(), "seek failed: " + detail::errnoText(errno));
        return;
    }
    constexpr std::int64_t kChunk = 1 << 20;
    std::vector<std::byte> buffer(static_cast<std::size_t>(std::min(size, kChunk)));
    for (std::int64_t done = 0; done < size;) {
        const std::int64_t n = std::min(kChunk, size - done);
        std::span<std::byte> chunk(buffer.data(), static_cast<std::size_t>(n));
        t.filler(done, chunk);
        file.write(chunk.data(), chunk.size());
        done += n;
    }
}

WrittenFile writeFile(const std::string &path, const TensorRefs &tensors, const WriteOptions &options)
{
    const PreparedHeader header = prepareHeader(path, tensors, options);
    const std::int64_t fileSize = static_cast<std::int64_t>(header.bytes.size()) + header.dataBytes;
    AtomicFile file(path);
    file.write(header.bytes.data(), header.bytes.size());
    if (!options.sparse)
        for (std::size_t i = 0; i < tensors.size(); ++i)
            writeData(file, *tensors[i], header.sizes[i]);
    file.truncate(fileSize);
    file.commit();
    return WrittenFile{path, fileSize, static_cast<std::int64_t>(header.bytes.size())};
}

} // namespace

WrittenFile writeSafetensors(const std::string &path, const std::vector<WriteTensor> &tensors,
                             const WriteOptions &options)
{
    TensorRefs refs;
    refs.reserve(tensors.size());
    for (const auto &t : tensors)
        refs.push_back(&t);
    return writeFile(path, refs, options);
}

std::vector<int> planShards(const std::vector<WriteTensor> &tensors, const ShardOptions &options)
{
    const bool byCount = options.shardCount > 0;
    const bool byBytes = options.maxShardBytes > 0;
    if (byCount == byBytes)
        throw Error(ErrorKind::InvalidArgument, {}, "give either a shard count or a maximum shard size");
    const auto n = static_cast<std::int64_t>(tensors.size());
    std::vector<std::int64_t> sizes;
    sizes.reserve(tensors.size());
    std::int64_t total = 0;
    for (const auto &t : tensors) {
        try {
            sizes.push_back(t.byteSize());
        } catch (const Error &e) {
            throw Error(ErrorKind::InvalidArgument, {}, e.message());
        }
        total += sizes.back();
    }
    std::vector<int> shardOf(tensors.size(), 0);
    if (byBytes) {
        int shard = 0;
        std::int64_t current = 0;
        bool empty = true;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            if (!empty && current + sizes[i] > options.maxShardBytes) {
                ++shard;
                current = 0;
            }
            shardOf[i] = shard;
            current += sizes[i];
            empty = false;
        }
        return shardOf;
    }
    const std::int64_t count = options.shardCount;
    if (n < count)
        throw Error(ErrorKind::InvalidArgument, {}, "cannot split " + std::to_string(n) + " tensors into "
                                                       + std::to_string(count) + " shards");
    // Greedy by byte midpoints: a tensor moves to the next shard once its middle lies past the
    // current shard's share of the total, while every later shard keeps at least one tensor.
    std::int64_t shard = 0;
    std::int64_t before = 0;
    bool empty = true;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t laterShards = count - 1 - shard;
        const bool forced = !empty && n - i == laterShards;
        const __int128 middle2 = static_cast<__int128>(2 * before + sizes[i]) * count;
        const bool past = middle2 > static_cast<__int128>(2) * (shard + 1) * total;
        if (shard < count - 1 && !empty && (forced || past)) {
            ++shard;
            empty = true;
        }
        shardOf[i] = static_cast<int>(shard);
        before += sizes[i];
        empty = false;
    }
    return shardOf;
}

WrittenCheckpoint writeShardedSafetensors(const std::string &directory,
                                          const std::vector<WriteTensor> &tensors,
                                          const ShardOptions &options)
{
    if (tensors.empty())
        throw Error(ErrorKind::InvalidArgument, directory, "no tensors to write");
    const std::vector<int> shardOf = planShards(tensors, options);
    const int shardCount = shardOf.back() + 1;
    std::vector<TensorRefs> members(shardCount);
    for (std::size_t i = 0; i < tensors.size(); ++i)
        members[shardOf[i]].push_back(&tensors[i]);

    const std::string dir = directory.empty() || directory.back() == '/' ? directory : directory + "/";
    auto shardName = [&](int k) {
        std::array<char, 64> buf{};
        std::snprintf(buf.data(), buf.size(), "-%05d-of-%05d.safetensors", k + 1, shardCount);
        return options.prefix + buf.data();
    };

    WrittenCheckpoint result;
    nlohmann::ordered_json weightMap = nlohmann::ordered_json::object();
    planner::OrderedObjectIndex weightMapMembers(weightMap);
    for (std::size_t i = 0; i < tensors.size(); ++i)
        weightMapMembers[tensors[i].name] = shardName(shardOf[i]);
    for (int k = 0; k < shardCount; ++k) {
        result.shards.push_back(writeFile(dir + shardName(k), members[k], options.write));
        for (const WriteTensor *t : members[k])
            result.totalBytes += t->byteSize();
        if (options.progress && !options.progress(k + 1, shardCount))
            throw Error(ErrorKind::Cancelled, directory, "cancelled");
    }
    nlohmann::ordered_json index = nlohmann::ordered_json::object();
    index["metadata"] = {{"total_size", result.totalBytes}};
    index["weight_map"] = std::move(weightMap);
    result.indexPath = dir + options.prefix + ".safetensors.index.json";
    detail::writeFileAtomically(result.indexPath, index.dump(2) + "\n");
    return result;
}

} // namespace mizan::loader
