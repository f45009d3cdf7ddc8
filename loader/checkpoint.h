#pragma once

// Public API of the loader: open a checkpoint path and get its tensor catalog and config.
// Pure C++ (no Qt, no libtorch in this header).

#include "notes.h"

#include "planner/dtype.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::loader {

enum class Format {
    Safetensors,        // one *.safetensors file
    ShardedSafetensors, // *.index.json + shards
    ConfigOnly,         // config.json without weights
    OffloadFolder,      // Accelerate's offload folder: index.json + one .dat per tensor (offloadfolder.h)
    PyTorchBin,         // one torch.save archive (pytorch_model.bin)
    ShardedPyTorchBin,  // pytorch_model.bin.index.json + .bin shards
};
const char *toString(Format format);

// One tensor of the checkpoint, in checkpoint order.
struct TensorEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::int64_t byteSize = 0;   // bytes of the tensor (numel * dtype size), what it takes loaded
    int shard = 0;               // index into Catalog::shards
    std::int64_t offset = 0;     // absolute byte offset of the data (its first element) in the shard file
    // A strided view of a larger storage (a PyTorch .bin may save a transposed weight or a slice
    // as its whole storage with the view's offset and stride): the stride of each dimension, in
    // elements. Empty when the bytes are contiguous in row-major order (every other format, and
    // .bin tensors that are not such views); tensorBytes() then hands them out in place.
    std::vector<std::int64_t> stride;
    std::int64_t numel() const;
};

struct ShardInfo {
    std::string path;            // absolute or as given, usable to open the file
    std::string fileName;        // as named in the index
    std::int64_t fileSize = 0;
    std::int64_t headerBytes = 0; // 8 + JSON header length
    nlohmann::ordered_json metadata; // safetensors "__metadata__" (object, maybe empty)
};

struct Catalog {
    std::vector<TensorEntry> tensors;
    std::vector<ShardInfo> shards;
    std::int64_t totalBytes() const;
    // Index into tensors, or -1. Uses a hash index built by reindex() (open() calls it); falls
    // back to a linear scan when tensors were added or removed since.
    int find(const std::string &name) const;
    void reindex();

private:
    std::vector<std::pair<std::size_t, int>> m_byHash; // (hash of name, index), sorted
};

// The few config.json fields that matter everywhere; the raw object is kept too.
struct ConfigInfo {
    std::vector<std::string> architectures;
    std::string modelType;
    std::optional<DType> torchDtype;          // "torch_dtype" (or v5 "dtype")
    std::optional<bool> tieWordEmbeddings;    // absent when the config does not say
};

class MappedFile; // private (copy-on-write) mmap of one shard, never written back (loader internal)

class Checkpoint {
public:
    Checkpoint();
    ~Checkpoint();
    Checkpoint(Checkpoint &&) noexcept;
    Checkpoint &operator=(Checkpoint &&) noexcept;

    std::string path;            // what the user opened
    std::string directory;       // folder of the weights / config
    Format format = Format::ConfigOnly;
    Catalog catalog;
    std::optional<std::string> configPath;
    nlohmann::ordered_json config;   // null when there is no config.json
    ConfigInfo configInfo;
    std::vector<std::string> warnings; // non-fatal findings (unknown metadata format, ...)
    std::vector<Note> notes; // the same structured: warnings[i] == planner::toEnglish(notes[i])

    bool hasWeights() const { return format != Format::ConfigOnly; }

    // The tensor's bytes in row-major order: a zero-copy view inside the memory-mapped shard
    // (mapped on first use). A strided view (TensorEntry::stride) is gathered into a contiguous
    // copy that this Checkpoint keeps until it is destroyed. Throws mizan::Error(Io) if the shard
    // cannot be mapped. Thread-safe.
    std::span<const std::byte> tensorBytes(const TensorEntry &tensor) const;

    // The same bytes plus an owner that keeps them alive on its own, even after this Checkpoint is
    // destroyed (for zero-copy tensors that outlive it, e.g. the torch bridge): the mapping, or for
    // a strided view its contiguous copy, shared while any owner of it lives (not kept otherwise).
    struct SharedBytes {
        std::span<const std::byte> bytes;
        std::shared_ptr<const void> owner;
    };
    SharedBytes tensorBytesShared(const TensorEntry &tensor) const;

private:
    struct Mappings; // one lazily created mmap per shard, behind a mutex
    mutable std::unique_ptr<Mappings> m_maps;
};

struct OpenOptions {
    // Called after each shard header is read: (done, total). Return false to cancel
    // (open() then throws mizan::Error(Cancelled)). May be called from the opening thread only.
    std::function<bool(int done, int total)> progress;
};

// The catalog of one safetensors file, fully validated (see open()); tensors in the header's
// key order, `shard` 0, offsets absolute. Reads the header only (the first page, then the rest
// of the 8 + N header bytes if longer), never the tensor data.
struct SafetensorsHeader {
    std::vector<TensorEntry> tensors;
    ShardInfo info;                      // path, fileSize, headerBytes, metadata
    std::vector<std::string> warnings;   // e.g. metadata "format" other than "pt" (no file name)
    std::vector<Note> notes; // the same structured: warnings[i] == planner::toEnglish(notes[i])
};
SafetensorsHeader readSafetensorsHeader(const std::string &path);
// Validates a header already in memory: `json` is the N header bytes of a file of `fileSize`
// bytes (8 + N + data). Throws like readSafetensorsHeader; `path` names the file in errors.
SafetensorsHeader parseSafetensorsHeader(std::string_view json, std::int64_t fileSize,
                                         const std::string &path);

// Opens a directory (finds model.safetensors / *.safetensors.index.json / config.json), a
// *.safetensors file, an *.index.json, or a config.json alone. Validates everything it reads;
// throws mizan::Error naming the file and the problem.
Checkpoint open(const std::string &path, const OpenOptions &options = {});

// Reads config.json into a ConfigInfo (throws InvalidConfig on malformed JSON/fields).
ConfigInfo readConfigInfo(const nlohmann::ordered_json &config, const std::string &file);

} // namespace mizan::loader
