#pragma once

// Internals of the forward passes shared by the families (models/torch only).

#include "models/torch/forward.h"

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mizan::models::torchfwd::detail {

// Typed access to config.json with errors that name the key and the file.
class ConfigReader {
public:
    ConfigReader(const nlohmann::json &config, std::string path);
    const nlohmann::json &json() const { return m_config; }
    const std::string &path() const { return m_path; }
    bool has(const char *key) const; // present and not null
    std::int64_t integer(const char *key) const; // required, > 0
    std::int64_t integer(const char *key, std::int64_t fallback) const; // absent or null: fallback
    double number(const char *key, double fallback) const;
    bool boolean(const char *key, bool fallback) const;
    std::string string(const char *key, std::string fallback) const;
    // Error(UnsupportedFormat) "config key "KEY" ...: WHY".
    [[noreturn]] void refuse(const std::string &key, const std::string &why) const;
    [[noreturn]] void invalid(const std::string &key, const std::string &why) const;

private:
    const nlohmann::json &m_config;
    std::string m_path;
};

enum class Activation { Silu, Gelu, GeluTanh, Relu };
Activation activationOf(const ConfigReader &config, const char *key, const char *fallback);
torch::Tensor activate(const torch::Tensor &x, Activation activation);

// A step's weights: fetches a name from the source, checks its shape against the step's
// expected shape (Error(BadShape) naming tensor and file) and brings it to `like`'s device and
// dtype when the source handed it out elsewhere.
class StepWeights {
public:
    StepWeights(const Step &step, WeightSource &source, const torch::Tensor &like);
    StepWeights(const Step &step, WeightSource &source, c10::Device device, c10::ScalarType dtype);
    // Hands tensors out as the source gives them (shape still checked): the embedding step.
    StepWeights(const Step &step, WeightSource &source);
    torch::Tensor operator()(const std::string &suffix) const; // step.module + "." + suffix
    torch::Tensor full(const std::string &name) const;         // a full state-dict name
    bool has(const std::string &suffix) const;                 // among the step's tensors

private:
    const Step &m_step;
    WeightSource &m_source;
    c10::Device m_device;
    c10::ScalarType m_dtype;
    bool m_convert = true;
};

// Adds `name` with `shape` to the step's lists.
void need(Step &step, const std::string &suffix, std::vector<std::int64_t> shape);

// transformers' RMSNorm: in float32, normalised, cast back, times the weight.
torch::Tensor rmsNorm(const torch::Tensor &x, const torch::Tensor &weight, double eps);

// y = x W^T (+ b), W [out, in] (nn.Linear).
torch::Tensor dense(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias = {});

// Appends this forward's keys/values [B, kvHeads, T, D] to the block's cache (which must hold
// exactly state.position positions) and returns the whole cache.
std::pair<torch::Tensor, torch::Tensor> appendToCache(DecodeState &state, int layer, const torch::Tensor &key,
                                                      const torch::Tensor &value);

// Causal attention of queries [B, heads, T, D] at positions offset .. offset+T-1 over keys and
// values [B, kvHeads, S, D] at positions 0 .. S-1 (S = offset + T), key/value heads repeated
// for GQA. scores = q k^T * scale, masked (causal, and to the `window` latest positions when
// window > 0), softmax in float32, cast back, times v. Returns [B, T, heads * D].
torch::Tensor causalAttention(const torch::Tensor &query, const torch::Tensor &key, const torch::Tensor &value,
                              double scale, std::int64_t offset, std::int64_t window);

// Checks a batch of token ids: int64-able, [B, T], every id in [0, vocab).
torch::Tensor checkedIds(const torch::Tensor &ids, std::int64_t vocab, c10::Device device);

// Base of the family implementations: steps, vocabulary, state, run's common checks.
class Model : public CausalLM {
public:
    const std::vector<Step> &steps() const override { return m_steps; }
    std::int64_t vocabSize() const override { return m_vocab; }
    DecodeState newState() const override;
    torch::Tensor run(std::size_t i, const torch::Tensor &x, DecodeState &state, WeightSource &weights) const override;

protected:
    virtual torch::Tensor embed(const Step &step, const torch::Tensor &ids, const DecodeState &state,
                                WeightSource &weights) const = 0;
    virtual torch::Tensor block(const Step &step, const torch::Tensor &x, DecodeState &state,
                                WeightSource &weights) const = 0;
    virtual torch::Tensor norm(const Step &step, const torch::Tensor &x, WeightSource &weights) const = 0;
    torch::Tensor head(const Step &step, const torch::Tensor &x, WeightSource &weights) const;

    std::vector<Step> m_steps;
    std::int64_t m_vocab = 0;
    std::int64_t m_hidden = 0;
    int m_layers = 0;
};

std::unique_ptr<CausalLM> makeLlamaFamily(const ConfigReader &config, const std::string &family,
                                          TransformersLayout layout);
std::unique_ptr<CausalLM> makeGpt2(const ConfigReader &config);

std::string shapeText(c10::IntArrayRef shape);

} // namespace mizan::models::torchfwd::detail
