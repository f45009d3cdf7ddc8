#pragma once

// A tiny random-weight model of a preset's architecture for the runtime and forward-pass tests:
// float32, hidden size 64 (GPT-2: four heads of 16, since the hidden override would leave it one
// head of 64), 64 positions, `vocab` tokens.

#include "models/demo.h"
#include "models/resources.h"

#include <string>

namespace mizan::test {

inline models::DemoOptions tinyDemoOptions(const std::string &preset, int layers, int vocab, std::uint64_t seed)
{
    models::DemoOptions o;
    o.dtype = DType::F32;
    o.layers = layers;
    o.seed = seed;
    o.config = models::presetConfig(preset);
    o.config["vocab_size"] = vocab;
    if (preset == "gpt2") {
        o.config["n_embd"] = 64;
        o.config["n_head"] = 4;
        o.config["n_positions"] = 64;
        o.config["n_ctx"] = 64;
    } else {
        o.hidden = 64;
        o.config["max_position_embeddings"] = 64;
    }
    return o;
}

} // namespace mizan::test
