#pragma once

// Architecture registry front door: checkpoint / config.json / preset -> ModelDescription
// (transformers' module tree with class names, no-split defaults, tied weights, dims).
// Pure C++ (no Qt, no libtorch).

#include "loader/checkpoint.h"
#include "planner/dtype.h"
#include "models/notes.h"
#include "planner/moduletree.h"
#include "planner/plan.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mizan::models {

// The sizes a runtime-headroom estimate needs. 0 = unknown.
struct ModelDims {
    std::int64_t hiddenSize = 0;
    std::int64_t numLayers = 0;
    std::int64_t numAttentionHeads = 0;
    std::int64_t numKeyValueHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t intermediateSize = 0;
    std::int64_t vocabSize = 0;
    std::int64_t maxPositions = 0;
};

struct ModelDescription {
    // Names, classes, params/buffers (shape, dtype, persistent), tie ids, execution order.
    planner::ModuleTree tree;
    std::string architecture;   // "LlamaForCausalLM", or "" when unknown
    std::string family;         // registry family ("llama", "gpt2", ...) or "" when unknown
    bool fromRegistry = false;  // false: the tree was derived from tensor names
    // Family default no-split classes (transformers' _no_split_modules), or the structural guess.
    std::vector<std::string> noSplitClasses;
    bool noSplitGuessed = false; // true: noSplitClasses is a structural guess (unknown architecture)
    // Full tensor names that are one object (tie_word_embeddings, T5's shared embedding), each
    // group in tree order.
    std::vector<std::vector<std::string>> tiedGroups;
    // Full tensor names transformers keeps in float32 whatever the load dtype
    // (_keep_in_fp32_modules, T5's "wo"): a planner sizes them at 4 bytes under fp16/bf16.
    std::vector<std::string> keepFp32Tensors;
    ModelDims dims;
    // Matching of the registry tree against a checkpoint's catalog (empty without weights).
    std::vector<std::string> missingTensors;    // in the registry tree, absent from the checkpoint
    std::vector<std::string> unexpectedTensors; // in the checkpoint, unknown to the registry tree
    std::vector<std::string> shapeMismatches;   // "name: expected [a, b], checkpoint [c, d]"
    std::vector<std::string> dtypeDifferences;  // "name: expected F32, checkpoint F16"
    std::vector<std::string> warnings;
    std::vector<Note> notes; // the same structured: warnings[i] == planner::toEnglish(notes[i])
};

// Describes an opened checkpoint: the registry tree when its config names a known architecture
// (matched against the catalog, tensors take the checkpoint's dtypes), else the tree derived
// from tensor names with a structural no-split guess. Config-only checkpoints use describeConfig.
ModelDescription describe(const loader::Checkpoint &checkpoint);

// Builds the model from a transformers config.json alone. `dtype`: the dtype floating weights are
// stored in (default: the config's torch_dtype, else float32). Throws mizan::Error(InvalidConfig)
// for malformed configs and (NotFound) for architectures the registry does not know.
ModelDescription describeConfig(const nlohmann::json &config, std::optional<DType> dtype = {});

// Which transformers release's module layout to build. They differ in Mixtral's MoE block
// (v5: mlp.gate + mlp.experts with fused 3-D tensors; 4.x: block_sparse_moe.experts.N.w1/w2/w3)
// and in rotary buffers (v5 adds original_inv_freq). Parameter counts are the same.
enum class TransformersLayout { V5, V4 };
struct DescribeOptions {
    std::optional<DType> dtype;
    TransformersLayout layout = TransformersLayout::V5;
};
ModelDescription describeConfig(const nlohmann::json &config, const DescribeOptions &options);

// The special dtypes transformers applies when loading the model: every keep-in-fp32 tensor
// (T5's "wo") stays float32 whatever the load dtype. Pass them as PlanOptions::specialDtypes.
std::vector<std::pair<std::string, DType>> keepFp32SpecialDtypes(const ModelDescription &model);

// Runtime headroom (activations + KV cache) for `tokens` tokens of `batchSize` sequences in
// `dtype`, from the model's dimensions. Disabled (tokens = 0) when `tokens` is 0. Throws
// Error(InvalidArgument) when tokens > 0 and the config gives no hidden size.
planner::Headroom headroomFor(const ModelDescription &model, std::int64_t tokens, std::int64_t batchSize, DType dtype);

// Architectures the registry knows ("LlamaForCausalLM", ...), sorted.
std::vector<std::string> supportedArchitectures();

// What the user asked to open: a checkpoint path, a config.json, or a preset name.
struct Source {
    loader::Checkpoint checkpoint; // ConfigOnly for presets and config.json
    ModelDescription model;
    std::string presetName;        // non-empty when a preset was opened
};
// A path that exists is opened with loader::open(); otherwise the name must be a preset
// ("llama-3.1-405b"). Throws mizan::Error(NotFound) naming the presets when neither.
Source openSource(const std::string &pathOrPreset, const loader::OpenOptions &options = {});

// Bundled model presets (resources/models/NAME.json).
struct PresetInfo {
    std::string name;          // file stem, e.g. "llama-3.1-405b"
    std::string displayName;   // "_mizan.display_name", e.g. "Llama 3.1 405B"
    std::string source;        // "_mizan.source": where the numbers come from
    std::string architecture;  // architectures[0]
    std::string path;          // the JSON file
    std::int64_t parameters = 0; // from the registry (config alone)
    std::string error;           // non-empty: the file is unusable (bad JSON, unknown architecture)
};
// Every resources/models/*.json, sorted by name; a broken file is listed with `error` set.
std::vector<PresetInfo> listPresets();
// The preset's config (the "_mizan" entry removed). Throws mizan::Error(NotFound).
nlohmann::json presetConfig(const std::string &name);

// Hardware profiles (resources/hardware/NAME.json).
struct HardwareDevice {
    std::string key;            // Accelerate key: "0", "1", ... for GPUs, "cpu", "disk", "mps"
    std::int64_t capacityBytes = 0;
    std::string label;          // "NVIDIA RTX 4090 24 GB"
};
struct HardwareProfile {
    std::string name;           // file stem, e.g. "rtx4090-64gb"
    std::string description;
    std::vector<HardwareDevice> devices; // GPUs in index order, then cpu (then disk if any)
    std::string path;
    std::string error;          // listHardware(): non-empty when the file is unusable (no devices then)
};
// Every resources/hardware/*.json, sorted by name; a broken file is listed with `error` set.
std::vector<HardwareProfile> listHardware();
// Throws mizan::Error(NotFound) naming the known profiles.
HardwareProfile hardwareProfile(const std::string &name);

// The resources folder: env MIZAN_RESOURCES, else the compile-time MIZAN_RESOURCE_DIR (the
// repository's resources/), else ../share/mizan next to the executable.
std::string resourceDir();

} // namespace mizan::models
