#pragma once

// The test-only reference of the forward passes (issue 10): a plain libtorch computation of a
// causal LM's logits from its config.json and raw weight dictionary, written separately from
// models/torch/ (it reads and reuses nothing of it) after transformers' modeling files, so that
// agreement between the two means something. Whole sequence, no KV cache, full causal attention,
// every weight converted to float64.
//
// Families (model_type): llama (GQA, head_dim, attention_bias / mlp_bias, rope_scaling
// "linear" and "llama3"), mistral (sliding_window), qwen2 (q/k/v biases, use_sliding_window),
// mixtral (sparse MoE, v4 block_sparse_moe.experts.K.w1/w2/w3 and v5 mlp.experts.gate_up_proj /
// down_proj layouts), gpt2 (Conv1D, learned positions, gelu_new, tied head).
// Everything it does not know (another family, another rope_type, another activation) throws
// std::runtime_error saying what; so do a missing tensor, a tensor of the wrong shape and a
// tensor the family does not use (config and weights disagree).
//
// Links libtorch and nlohmann_json (and the loader's torch bridge for loadCheckpoint); no Qt.

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mizan::testref {

// Logits [T, V] in float64 of `ids` (one sequence of T >= 1 token ids), computed from `weights`
// (state-dict name → CPU tensor of any floating dtype, as stored: tied entries need not be
// there) and `config` (config.json). Throws std::runtime_error as said above.
torch::Tensor referenceLogits(const nlohmann::json &config,
                              const std::map<std::string, torch::Tensor> &weights,
                              const std::vector<std::int64_t> &ids);

// The rotary inverse frequencies [rotary_dim / 2] in float64 the llama-style families use for
// `config` (rope_theta, head_dim, rope_scaling / rope_parameters), as transformers'
// modeling_rope_utils computes them. Throws std::runtime_error for a rope_type it does not know.
torch::Tensor ropeInverseFrequencies(const nlohmann::json &config);

// A checkpoint as the reference takes it: its config.json and every stored tensor (zero-copy
// views over the mmapped shards, via loader::open + loader::toTorch). Throws mizan::Error
// (a std::runtime_error) when the checkpoint cannot be read.
struct ReferenceCheckpoint {
    nlohmann::json config;
    std::map<std::string, torch::Tensor> weights;
};
ReferenceCheckpoint loadCheckpoint(const std::string &path);

// One line for tables: referenceLogits of the checkpoint at `path`.
torch::Tensor referenceLogits(const std::string &path, const std::vector<std::int64_t> &ids);

} // namespace mizan::testref
