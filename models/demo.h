#pragma once

// Demo checkpoints: a model built from a config through the registry, written as a sharded
// safetensors checkpoint with deterministic random weights (or as sparse files of the right
// size for giant models). Used by `mizan-cli make-demo`, the tests and the benchmarks.

#include "models/describe.h"
#include "planner/dtype.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace mizan::models {

struct DemoOptions {
    std::string preset;          // a preset name ("llama-3.1-405b"); empty: see `config`
    nlohmann::json config;       // a transformers config; null and no preset: the small default LLaMA
    int layers = 0;              // > 0: override the number of layers (every stack)
    int hidden = 0;              // > 0: override the hidden size (heads and FFN scale with it)
    std::uint64_t seed = 0;
    DType dtype = DType::F16;    // F16, BF16 or F32 for floating weights
    int shards = 2;              // >= 2
    bool sparse = false;         // headers only, data areas are holes (no disk used)
    // Module layout of the transformers release to write (differs for Mixtral only). A V4
    // Mixtral gets exactly the weights of the V5 one of the same seed: expert K's w1 and w3 are
    // the two halves of gate_up_proj[K], w2 is down_proj[K], block_sparse_moe.gate is mlp.gate.
    TransformersLayout layout = TransformersLayout::V5;
};

struct DemoResult {
    std::string directory;
    std::string configPath;
    std::string indexPath;
    int shardCount = 0;
    std::int64_t tensorCount = 0;
    std::int64_t parameters = 0;
    std::int64_t totalBytes = 0; // the index's metadata.total_size
};

// The config a demo of `options` gets (preset or default, overrides applied, torch_dtype set).
// Throws mizan::Error(InvalidArgument) for impossible overrides, (NotFound) for unknown presets.
nlohmann::json demoConfig(const DemoOptions &options);

// Writes config.json, model-0000i-of-0000N.safetensors and model.safetensors.index.json into
// `directory` (created when missing). Every file is written atomically.
DemoResult writeDemo(const std::string &directory, const DemoOptions &options);

} // namespace mizan::models
