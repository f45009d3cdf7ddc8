#pragma once

// libtorch forward passes of the supported causal language models (target mizan_models_torch),
// step by step, so that a runtime can place every step (embedding, each decoder block, the
// final norm, the head) on its own device. Include only from libtorch translation units.
//
// Families (from config.json's model_type, else architectures[0]):
//   llama    Llama 2/3/3.1: GQA, rope_scaling "llama3" and "linear" (others are refused),
//            attention_bias / mlp_bias honoured
//   mistral  the llama layout without biases; sliding_window applied as transformers 4.5x/v5
//            masks it (a query sees the `sliding_window` latest positions, itself included)
//   qwen2    q/k/v biases; use_sliding_window honoured per layer (layer >= max_window_layers)
//   mixtral  sparse MoE, top-k routing (softmax over all router logits in float32, top-k,
//            renormalised); both module layouts: v5 (mlp.gate, mlp.experts.gate_up_proj /
//            down_proj) and 4.x (block_sparse_moe.gate, block_sparse_moe.experts.N.w1/w2/w3),
//            chosen by a parameter of fromConfig() or detected by fromCheckpoint()
//   gpt2     Conv1D layout (y = x W + b), learned positions, head tied to wte, gelu_new
//
// Compute dtype: every step computes in the floating dtype of its input hidden state (the
// embedding step: in the dtype of the weights the source gives). RMSNorm and the attention
// softmax compute in float32 and cast back, the rotary tables are computed in float32, as
// transformers does. Weights a source hands out in another dtype or on another device than the
// hidden state are converted per call (a copy): sources should hand them out ready.
//
// Deviations from the contract of notes/forward-interface.md (additions only):
// - WeightSource::fileOf() names the file of a tensor in error messages.
// - Step::shapes: the shape the config implies for each of Step::tensors.
// - DecodeState is the struct below (layers, position, advance(), clear(), bytes()).
// - CausalLM::fromConfig() takes the Mixtral layout as a third parameter (default V5);
//   CausalLM::fromCheckpoint() detects it from the tensor names; family() names the family.
// - checkpointSource() returns the concrete CheckpointSource (statistics of what it converted).
// - checkCheckpoint() validates names and shapes of a checkpoint without reading tensor data.
// - generate(): single device, one sequence, returns the new ids only.

#include "loader/checkpoint.h"
#include "models/describe.h"

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mizan::models::torchfwd {

// What a forward asks weights from. `name` is the state-dict name
// ("model.layers.3.self_attn.q_proj.weight"). Returns the tensor on the device the step runs
// on, in the compute dtype. Throws mizan::Error. May be called from several threads.
class WeightSource {
public:
    virtual ~WeightSource() = default;
    virtual torch::Tensor get(const std::string &name) = 0;
    // The file that holds `name` (for error messages), "" when unknown.
    virtual std::string fileOf(const std::string &name) const;
    // A part of a step that may compute on another device than the step (Step::parts: the experts
    // of a sparse-MoE block): compute(device, dtype) computes it on that device in that dtype, with
    // weights from get() converted there, and returns its output; runPart() returns that output on
    // `device` in `dtype` (the step's). Default: computed on the step's device. A runtime computes
    // it where the part's weights live (experts mapped to the CPU while the block runs on a GPU).
    using PartCompute = std::function<torch::Tensor(c10::Device device, c10::ScalarType dtype)>;
    virtual torch::Tensor runPart(const std::string &module, c10::Device device, c10::ScalarType dtype,
                                  const PartCompute &compute);
    // The forward converted a weight from get() to another floating dtype where it computes
    // (`bytes` read, in `seconds`): a part computed on the CPU over weights stored in another
    // dtype, mmapped experts converted on every use. Default: nothing.
    virtual void converted(const std::string &name, std::int64_t bytes, double seconds);
};

enum class StepKind { Embedding, Block, Norm, Head };
const char *toString(StepKind kind);

// One unit the runtime places and runs.
struct Step {
    StepKind kind = StepKind::Block;
    // "model.embed_tokens", "model.layers.3", "model.norm", "lm_head"; gpt2: "transformer.wte"
    // (its step also reads transformer.wpe.weight), "transformer.h.3", "transformer.ln_f", "lm_head".
    std::string module;
    int layer = -1;                               // block index for Block steps
    std::vector<std::string> tensors;             // every name get() may be asked for by this step
    std::vector<std::vector<std::int64_t>> shapes; // the shape the config implies, per tensor
    // Modules of the step that WeightSource::runPart() may compute elsewhere (Mixtral: the block's
    // experts, "model.layers.3.mlp.experts" or "model.layers.3.block_sparse_moe.experts").
    std::vector<std::string> parts;
};

// Keys and values of one decoder block: [batch, key/value heads, positions, head size], on the
// device the block ran on, in its compute dtype. Undefined until the block first runs.
struct LayerCache {
    torch::Tensor key;
    torch::Tensor value;
};

// Per-sequence state of a forward: the KV cache of every block and the number of positions
// already processed. A forward of T new positions runs every step (each block appends its T
// keys/values after `position`), then calls advance(T).
struct DecodeState {
    std::vector<LayerCache> layers; // one per decoder block
    std::int64_t position = 0;

    void advance(std::int64_t tokens);
    void clear();                       // back to position 0, caches released
    std::int64_t bytes(int layer) const; // bytes of that block's cache
    std::int64_t bytes() const;          // all blocks
};

class CausalLM {
public:
    // From config.json. Throws mizan::Error(UnsupportedFormat) naming the family or the config
    // key it cannot run, (InvalidConfig) naming a missing or malformed key; `configPath` is the
    // file those errors name. `layout` selects Mixtral's module layout (ignored by the others).
    static std::unique_ptr<CausalLM> fromConfig(const nlohmann::json &config, std::string configPath = {},
                                                TransformersLayout layout = TransformersLayout::V5);
    // From an opened checkpoint: its config.json, and for Mixtral the layout its tensor names
    // use (4.x when "model.layers.0.block_sparse_moe.gate.weight" is stored, else v5).
    static std::unique_ptr<CausalLM> fromCheckpoint(const loader::Checkpoint &checkpoint);

    virtual ~CausalLM() = default;
    virtual std::string family() const = 0; // "llama", "mistral", "qwen2", "mixtral", "gpt2"
    virtual const std::vector<Step> &steps() const = 0;
    virtual std::int64_t vocabSize() const = 0;
    virtual DecodeState newState() const = 0;
    // Runs step i. Embedding: token ids (int64 [B, T], any device; moved to the embedding
    // weight's device) -> hidden [B, T, H]. Block, Norm: hidden -> hidden. Head: hidden -> logits
    // [B, T, V]. Positions are state.position .. state.position + T - 1. Throws mizan::Error
    // (BadShape naming tensor and file for weights of the wrong shape, InvalidArgument for bad
    // ids or positions past the model's maximum). Records autograd history when a weight the
    // source hands out requires grad (training: tools/traindemo); inference callers hold a
    // torch::NoGradGuard (logits(), generate() and the runtime's session do).
    virtual torch::Tensor run(std::size_t i, const torch::Tensor &x, DecodeState &state,
                              WeightSource &weights) const = 0;
};

// Every tensor the model's steps read is in `checkpoint` (directly, or through a tie) with the
// shape the config implies. Reads headers only. Throws mizan::Error(NotFound) naming the first
// missing tensor, (BadShape) the first of the wrong shape, with the file.
void checkCheckpoint(const CausalLM &model, const loader::Checkpoint &checkpoint);

// Runs all steps on `ids` [B, T] (one device), then advances the state. Logits [B, T, V].
torch::Tensor logits(const CausalLM &model, const torch::Tensor &ids, DecodeState &state, WeightSource &weights);

struct Sampling {
    float temperature = 0; // 0: greedy
    int topK = 0;          // > 0: sample among the k most likely only
    std::uint64_t seed = 0;
};
// The next token from the last position's logits [V] (any floating dtype, any device). Greedy:
// the first index of the maximum. Sampling: softmax(logits / temperature) over the top k, drawn
// with `generator` (a CPU generator; when null, one seeded with sampling.seed is used).
std::int64_t chooseToken(const torch::Tensor &lastLogits, const Sampling &sampling, torch::Generator *generator);

// Single-device generation of one sequence (tests, the runtime's simple path): prefill of
// `promptIds`, then one position at a time, `maxNewTokens` new ids (no stop token). Sampling
// uses one CPU generator seeded with sampling.seed. Returns the new ids only.
std::vector<std::int64_t> generate(const CausalLM &model, WeightSource &weights,
                                   const std::vector<std::int64_t> &promptIds, int maxNewTokens,
                                   const Sampling &sampling = {});

// A WeightSource over an opened checkpoint, handing out tensors on `device` in `computeDtype`.
// Stored in that dtype on the CPU: the tensor over the mmapped shard itself (no copy); else
// converted (and kept: later get()s of the name return the same tensor until release()).
// Tied names the checkpoint does not store (lm_head.weight of a tied model) resolve to the
// stored member of their tied group (models::describe()). `checkpoint` must outlive the source.
class CheckpointSource : public WeightSource {
public:
    struct Stats {
        std::int64_t inPlace = 0;          // tensors handed out over the mmapped bytes
        std::int64_t converted = 0;        // tensors converted (dtype and/or device)
        std::int64_t convertedBytes = 0;   // bytes read by those conversions
        double convertSeconds = 0;         // time they took
    };

    CheckpointSource(const loader::Checkpoint &checkpoint, c10::ScalarType computeDtype, c10::Device device);
    torch::Tensor get(const std::string &name) override;
    std::string fileOf(const std::string &name) const override;
    // The stored name a requested name reads ("lm_head.weight" -> "model.embed_tokens.weight"),
    // or "" when neither the name nor a tie of it is stored.
    std::string storedName(const std::string &name) const;
    Stats stats() const;
    void release(); // forget converted tensors

private:
    const loader::Checkpoint &m_checkpoint;
    c10::ScalarType m_dtype;
    c10::Device m_device;
    mutable std::mutex m_mutex;
    mutable bool m_tiesRead = false;
    mutable std::map<std::string, std::vector<std::string>> m_ties; // name -> its tied group
    std::map<std::string, torch::Tensor> m_kept;
    Stats m_stats;
};
std::unique_ptr<CheckpointSource> checkpointSource(const loader::Checkpoint &checkpoint, c10::ScalarType computeDtype,
                                                   c10::Device device);

} // namespace mizan::models::torchfwd
