#pragma once

// Architecture registry front door: checkpoint / config.json -> ModelDescription (transformers'
// module tree with class names, no-split defaults, tied weights, dims). Opening a path or a preset
// name is in source.h, the bundled presets and hardware profiles in resources.h.
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

} // namespace mizan::models
