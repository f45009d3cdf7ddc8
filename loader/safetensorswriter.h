#pragma once

// Writes safetensors files and sharded safetensors checkpoints (used by `mizan-cli make-demo`
// and by the tests). Pure C++, no Qt, no libtorch. Every file is written atomically
// (temporary file + rename).

#include "planner/dtype.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace mizan::loader {

// One tensor to write. Its bytes come from `data` (exactly numel x dtype size bytes) or, when
// `data` is empty, from `filler`, called in order over consecutive chunks of the tensor:
// filler(offsetInTensorBytes, chunk) must fill every byte of `chunk`. With neither, the
// bytes are zeros. In sparse mode neither is used.
struct WriteTensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> data;
    std::function<void(std::int64_t offsetBytes, std::span<std::byte> chunk)> filler;

    std::int64_t numel() const;
    std::int64_t byteSize() const; // storage bytes; throws Error(BadShape) on overflow
};

struct WriteOptions {
    // "__metadata__" of every file: an object of string values (empty: no "__metadata__").
    nlohmann::ordered_json metadata = nlohmann::ordered_json{{"format", "pt"}};
    // Sparse: write valid headers and extend each file to its full size with ftruncate, writing
    // no tensor data (the data area is a hole that reads as zeros and uses no disk).
    bool sparse = false;
};

struct WrittenFile {
    std::string path;
    std::int64_t fileSize = 0;
    std::int64_t headerBytes = 0; // 8 + JSON header length (a multiple of 8)
};

// Writes one safetensors file: the header keeps the order of `tensors` and the data follows in
// the same order; the JSON header is padded with spaces to a multiple of 8 bytes.
// Throws Error(InvalidArgument) for duplicate names, dtypes safetensors cannot store, data of
// the wrong size or non-string metadata; Error(Io) when writing fails.
WrittenFile writeSafetensors(const std::string &path, const std::vector<WriteTensor> &tensors,
                             const WriteOptions &options = {});

struct ShardOptions {
    // Exactly one of the two: split into `shardCount` shards of about equal bytes, or start a
    // new shard whenever the next tensor would push the current one over `maxShardBytes`
    // (a tensor larger than the limit gets a shard of its own, as transformers does).
    int shardCount = 0;
    std::int64_t maxShardBytes = 0;
    // Files are named <prefix>-00001-of-0000N.safetensors and <prefix>.safetensors.index.json.
    std::string prefix = "model";
    WriteOptions write;
    // Called after each shard is written (done, total); returning false stops with Error(Cancelled).
    std::function<bool(int done, int total)> progress;
};

struct WrittenCheckpoint {
    std::string indexPath;
    std::vector<WrittenFile> shards;
    std::int64_t totalBytes = 0; // metadata.total_size: the sum of every tensor's bytes
};

// Splits `tensors` (keeping their order) into shards written in `directory` (which must
// exist) plus the index {"metadata": {"total_size": N}, "weight_map": {tensor: shard}}.
WrittenCheckpoint writeShardedSafetensors(const std::string &directory,
                                          const std::vector<WriteTensor> &tensors,
                                          const ShardOptions &options);

// The shard each tensor goes to (0-based), as writeShardedSafetensors splits them.
std::vector<int> planShards(const std::vector<WriteTensor> &tensors, const ShardOptions &options);

} // namespace mizan::loader
