// The reference forward passes (see reference.h). Written from transformers' modeling files
// (models/{llama,mistral,qwen2,mixtral,gpt2}/modeling_*.py and modeling_rope_utils.py), straight
// line per family, everything in float64. Nothing here is shared with models/torch/.

#include "reference.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mizan::testref {

namespace {

using nlohmann::json;
using Shape = std::vector<std::int64_t>;

[[noreturn]] void fail(const std::string &what)
{
    throw std::runtime_error("reference: " + what);
}

std::string quote(const std::string &s)
{
    return "\"" + s + "\"";
}

std::string shapeText(const Shape &shape)
{
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i)
        out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

// ---- config.json --------------------------------------------------------------------------

bool present(const json &config, const char *key)
{
    return config.contains(key) && !config[key].is_null();
}

std::int64_t integer(const json &config, const char *key)
{
    if (!present(config, key))
        fail(std::string("config.json has no ") + quote(key));
    if (!config[key].is_number_integer())
        fail(std::string("config.json: ") + quote(key) + " is not an integer");
    return config[key].get<std::int64_t>();
}

std::int64_t integer(const json &config, const char *key, std::int64_t fallback)
{
    return present(config, key) ? integer(config, key) : fallback;
}

double number(const json &config, const char *key)
{
    if (!present(config, key))
        fail(std::string("config.json has no ") + quote(key));
    if (!config[key].is_number())
        fail(std::string("config.json: ") + quote(key) + " is not a number");
    return config[key].get<double>();
}

double number(const json &config, const char *key, double fallback)
{
    return present(config, key) ? number(config, key) : fallback;
}

bool boolean(const json &config, const char *key, bool fallback)
{
    if (!present(config, key))
        return fallback;
    if (!config[key].is_boolean())
        fail(std::string("config.json: ") + quote(key) + " is not true or false");
    return config[key].get<bool>();
}

std::string text(const json &config, const char *key, const std::string &fallback)
{
    if (!present(config, key))
        return fallback;
    if (!config[key].is_string())
        fail(std::string("config.json: ") + quote(key) + " is not a string");
    return config[key].get<std::string>();
}

enum class Family { Llama, Mistral, Qwen2, Mixtral, Gpt2 };

Family familyOf(const json &config)
{
    if (!config.is_object())
        fail("config.json is not an object");
    const std::string type = text(config, "model_type", "");
    if (type == "llama")
        return Family::Llama;
    if (type == "mistral")
        return Family::Mistral;
    if (type == "qwen2")
        return Family::Qwen2;
    if (type == "mixtral")
        return Family::Mixtral;
    if (type == "gpt2")
        return Family::Gpt2;
    fail("unknown model_type " + quote(type) + " (known: llama, mistral, qwen2, mixtral, gpt2)");
}

const char *nameOf(Family family)
{
    switch (family) {
    case Family::Llama: return "llama";
    case Family::Mistral: return "mistral";
    case Family::Qwen2: return "qwen2";
    case Family::Mixtral: return "mixtral";
    case Family::Gpt2: return "gpt2";
    }
    return "?";
}

// head_dim when the config gives it (Mistral, Llama 3.x style), else hidden_size / heads.
std::int64_t headDimOf(const json &config)
{
    const std::int64_t hidden = integer(config, "hidden_size");
    const std::int64_t heads = integer(config, "num_attention_heads");
    if (heads <= 0)
        fail("num_attention_heads must be positive");
    if (present(config, "head_dim"))
        return integer(config, "head_dim");
    if (hidden % heads != 0)
        fail("hidden_size " + std::to_string(hidden) + " is not a multiple of num_attention_heads "
             + std::to_string(heads));
    return hidden / heads;
}

// ---- weights --------------------------------------------------------------------------------

// The weight dictionary as the forward reads it: every tensor asked for must exist with the
// shape the config implies; each is converted to float64. Remembers what was read, so that a
// tensor no part of the model uses is reported (config and checkpoint disagree).
class Weights {
public:
    explicit Weights(const std::map<std::string, torch::Tensor> &weights)
        : m_weights(weights)
    {
    }

    bool has(const std::string &name) const { return m_weights.count(name) != 0; }

    torch::Tensor get(const std::string &name, const Shape &shape)
    {
        const auto it = m_weights.find(name);
        if (it == m_weights.end())
            fail("missing tensor " + quote(name));
        const torch::Tensor &t = it->second;
        if (!t.defined() || !t.is_floating_point())
            fail("tensor " + quote(name) + " is not a floating-point tensor");
        if (t.sizes().vec() != shape)
            fail("tensor " + quote(name) + " has shape " + shapeText(t.sizes().vec()) + ", the config implies "
                 + shapeText(shape));
        m_used.insert(name);
        return t.to(torch::kFloat64).contiguous();
    }

    void markUsed(const std::string &name) { m_used.insert(name); }

    // Non-persistent buffers that older checkpoints stored: not weights, computed from the config.
    static bool isStoredBuffer(const std::string &name)
    {
        auto endsWith = [&](const std::string &tail) {
            return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
        };
        return endsWith("rotary_emb.inv_freq") || endsWith(".attn.bias") || endsWith(".attn.masked_bias");
    }

    void requireAllUsed(Family family) const
    {
        for (const auto &[name, tensor] : m_weights)
            if (!m_used.count(name) && !isStoredBuffer(name))
                fail("tensor " + quote(name) + " is not used by the " + nameOf(family)
                     + " reference (config.json and the weights disagree)");
    }

private:
    const std::map<std::string, torch::Tensor> &m_weights;
    std::set<std::string> m_used;
};

// ---- building blocks ------------------------------------------------------------------------

// nn.Linear: y = x W^T + b, W [out, in].
torch::Tensor affine(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias = {})
{
    torch::Tensor y = torch::matmul(x, weight.t());
    if (bias.defined())
        y = y + bias;
    return y;
}

// GPT-2's Conv1D: y = x W + b, W [in, out].
torch::Tensor conv1d(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    return torch::matmul(x, weight) + bias;
}

// LlamaRMSNorm: x / sqrt(mean(x^2) + eps) * weight.
torch::Tensor rmsNorm(const torch::Tensor &x, const torch::Tensor &weight, double eps)
{
    const torch::Tensor meanSquare = (x * x).mean(-1, /*keepdim=*/true);
    return x * torch::rsqrt(meanSquare + eps) * weight;
}

// nn.LayerNorm: (x - mean) / sqrt(biased variance + eps) * weight + bias.
torch::Tensor layerNorm(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, double eps)
{
    const torch::Tensor mean = x.mean(-1, true);
    const torch::Tensor centered = x - mean;
    const torch::Tensor variance = (centered * centered).mean(-1, true);
    return centered / torch::sqrt(variance + eps) * weight + bias;
}

// transformers' ACT2FN for the activations these families use.
torch::Tensor activation(const std::string &name, const torch::Tensor &x)
{
    if (name == "silu" || name == "swish")
        return x / (1.0 + torch::exp(-x));
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
        const double c = std::sqrt(2.0 / std::numbers::pi);
        return 0.5 * x * (1.0 + torch::tanh(c * (x + 0.044715 * x * x * x)));
    }
    if (name == "gelu")
        return 0.5 * x * (1.0 + torch::erf(x / std::sqrt(2.0)));
    if (name == "relu")
        return torch::clamp_min(x, 0.0);
    fail("activation " + quote(name) + " is not supported");
}

// Causal attention of one sequence: q [heads, T, d], k and v [heads, T, d] (already expanded
// to all query heads). `scale` multiplies the scores; `window` > 0 also hides keys that lie
// `window` or more positions back (transformers' sliding window: key s is seen from query t
// when t - window < s <= t).
torch::Tensor attend(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, double scale,
                     std::int64_t window)
{
    const std::int64_t T = q.size(1);
    torch::Tensor scores = torch::matmul(q, k.transpose(1, 2)) * scale; // [heads, T, T]
    torch::Tensor visible = torch::ones({T, T}, torch::kBool).tril();
    if (window > 0)
        visible = visible.triu(-(window - 1));
    scores = scores.masked_fill(visible.logical_not(), -std::numeric_limits<double>::infinity());
    return torch::matmul(torch::softmax(scores, -1), v); // [heads, T, d]
}

// rotate_half and apply_rotary_pos_emb: x [heads, T, d], cos/sin [T, d] (the T angles repeated
// for both halves).
torch::Tensor rotate(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin)
{
    const std::int64_t half = x.size(-1) / 2;
    const torch::Tensor x1 = x.slice(-1, 0, half);
    const torch::Tensor x2 = x.slice(-1, half);
    const torch::Tensor rotated = torch::cat({-x2, x1}, -1);
    return x * cos + rotated * sin;
}

torch::Tensor embed(const torch::Tensor &table, const std::vector<std::int64_t> &ids)
{
    const std::int64_t vocab = table.size(0);
    for (std::int64_t id : ids)
        if (id < 0 || id >= vocab)
            fail("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab));
    const torch::Tensor index = torch::tensor(ids, torch::kInt64);
    return table.index_select(0, index);
}

// ---- LLaMA family: llama, mistral, qwen2, mixtral -------------------------------------------

double defaultRopeTheta(Family family)
{
    return family == Family::Mixtral ? 1e6 : 10000.0;
}

// The sliding window of layer `layer` (0: full attention).
std::int64_t slidingWindow(const json &config, Family family, std::int64_t layer)
{
    switch (family) {
    case Family::Mistral:
        // MistralConfig's default is 4096; null means full attention.
        if (!config.contains("sliding_window"))
            return 4096;
        return integer(config, "sliding_window", 0);
    case Family::Mixtral:
        return integer(config, "sliding_window", 0);
    case Family::Qwen2: {
        // Newer configs list the kind of every layer; older ones say use_sliding_window and from
        // which layer on (max_window_layers) the window applies.
        if (present(config, "layer_types")) {
            const json &types = config["layer_types"];
            if (!types.is_array() || layer >= static_cast<std::int64_t>(types.size()))
                fail("config.json: \"layer_types\" does not name every layer");
            return types[layer] == "sliding_attention" ? integer(config, "sliding_window") : 0;
        }
        if (!boolean(config, "use_sliding_window", false))
            return 0;
        return layer >= integer(config, "max_window_layers", 28) ? integer(config, "sliding_window", 0) : 0;
    }
    case Family::Llama:
    case Family::Gpt2:
        return 0;
    }
    return 0;
}

struct LlamaShape {
    std::int64_t hidden = 0;
    std::int64_t vocab = 0;
    std::int64_t layers = 0;
    std::int64_t heads = 0;
    std::int64_t kvHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t intermediate = 0;
    double eps = 0;
    std::string act;
    bool qkvBias = false;
    bool oBias = false;
    bool mlpBias = false;
    bool tied = false;
};

LlamaShape llamaShape(const json &config, Family family)
{
    LlamaShape s;
    s.hidden = integer(config, "hidden_size");
    s.vocab = integer(config, "vocab_size");
    s.layers = integer(config, "num_hidden_layers");
    s.heads = integer(config, "num_attention_heads");
    s.kvHeads = integer(config, "num_key_value_heads", s.heads);
    s.headDim = headDimOf(config);
    s.intermediate = integer(config, "intermediate_size");
    s.eps = number(config, "rms_norm_eps", family == Family::Mixtral ? 1e-5 : 1e-6);
    s.act = text(config, "hidden_act", "silu");
    s.tied = boolean(config, "tie_word_embeddings", false);
    switch (family) {
    case Family::Llama:
        // LlamaAttention: bias=config.attention_bias on q/k/v/o; LlamaMLP: bias=config.mlp_bias.
        s.qkvBias = s.oBias = boolean(config, "attention_bias", false);
        s.mlpBias = boolean(config, "mlp_bias", false);
        break;
    case Family::Qwen2:
        // Qwen2Attention: q/k/v with bias, o_proj without; the MLP has none.
        s.qkvBias = true;
        break;
    default:
        break;
    }
    if (s.kvHeads <= 0 || s.heads % s.kvHeads != 0)
        fail("num_attention_heads " + std::to_string(s.heads) + " is not a multiple of num_key_value_heads "
             + std::to_string(s.kvHeads));
    if (s.headDim % 2 != 0)
        fail("head_dim " + std::to_string(s.headDim) + " is odd; rotary embeddings need an even size");
    return s;
}

// Gated MLP: down(act(gate(x)) * up(x)).
torch::Tensor gatedMlp(const torch::Tensor &x, const std::string &act, const torch::Tensor &gate,
                       const torch::Tensor &up, const torch::Tensor &down, const torch::Tensor &gateBias = {},
                       const torch::Tensor &upBias = {}, const torch::Tensor &downBias = {})
{
    return affine(activation(act, affine(x, gate, gateBias)) * affine(x, up, upBias), down, downBias);
}

// Mixtral's sparse MoE block: the router's softmax over all experts, the top-k of those
// probabilities renormalised to sum 1, and the weighted sum of the chosen experts' gated MLPs.
torch::Tensor mixtralMoe(const json &config, const LlamaShape &s, Weights &w, const std::string &p,
                         const torch::Tensor &x)
{
    const std::int64_t E = integer(config, "num_local_experts", 8);
    const std::int64_t K = integer(config, "num_experts_per_tok", 2);
    const std::int64_t H = s.hidden;
    const std::int64_t I = s.intermediate;
    if (K < 1 || K > E)
        fail("num_experts_per_tok " + std::to_string(K) + " is not between 1 and num_local_experts "
             + std::to_string(E));

    // Per expert: gate (w1) [I, H], up (w3) [I, H], down (w2) [H, I].
    std::vector<torch::Tensor> gates, ups, downs;
    torch::Tensor router;
    const bool v5 = w.has(p + "mlp.gate.weight");
    const bool v4 = w.has(p + "block_sparse_moe.gate.weight");
    if (v5 && v4)
        fail("layer " + quote(p) + " stores both the mlp.* and the block_sparse_moe.* expert layouts");
    if (v4) {
        router = w.get(p + "block_sparse_moe.gate.weight", {E, H});
        for (std::int64_t e = 0; e < E; ++e) {
            const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
            gates.push_back(w.get(q + "w1.weight", {I, H}));
            ups.push_back(w.get(q + "w3.weight", {I, H}));
            downs.push_back(w.get(q + "w2.weight", {H, I}));
        }
    } else {
        // transformers v5 MixtralExperts: gate_up_proj [E, 2I, H] holds gate rows then up rows
        // (`linear(x, gate_up_proj[e]).chunk(2, dim=-1)`), down_proj [E, H, I] is a Linear weight.
        router = w.get(p + "mlp.gate.weight", {E, H});
        const torch::Tensor gateUp = w.get(p + "mlp.experts.gate_up_proj", {E, 2 * I, H});
        const torch::Tensor down = w.get(p + "mlp.experts.down_proj", {E, H, I});
        for (std::int64_t e = 0; e < E; ++e) {
            gates.push_back(gateUp[e].slice(0, 0, I));
            ups.push_back(gateUp[e].slice(0, I, 2 * I));
            downs.push_back(down[e]);
        }
    }

    const torch::Tensor probabilities = torch::softmax(affine(x, router), -1); // [T, E]
    auto [topWeights, topExperts] = probabilities.topk(K, -1);                 // [T, K]
    topWeights = topWeights / topWeights.sum(-1, true);
    // Dense [T, E] routing weights: zero for the experts a token does not use.
    const torch::Tensor routing = torch::zeros_like(probabilities).scatter(1, topExperts, topWeights);

    torch::Tensor out = torch::zeros_like(x);
    for (std::int64_t e = 0; e < E; ++e) {
        const torch::Tensor chosen = routing.select(1, e).unsqueeze(1); // [T, 1]
        if (chosen.abs().sum().item<double>() == 0)
            continue;
        out = out + chosen * gatedMlp(x, s.act, gates[e], ups[e], downs[e]);
    }
    return out;
}

torch::Tensor llamaFamilyLogits(const json &config, Family family, Weights &w, const std::vector<std::int64_t> &ids)
{
    const LlamaShape s = llamaShape(config, family);
    const std::int64_t T = static_cast<std::int64_t>(ids.size());
    const std::int64_t H = s.hidden;
    const std::int64_t qDim = s.heads * s.headDim;
    const std::int64_t kvDim = s.kvHeads * s.headDim;

    const torch::Tensor table = w.get("model.embed_tokens.weight", {s.vocab, H});
    torch::Tensor x = embed(table, ids); // [T, H]

    // Rotary angles: position t times each inverse frequency, repeated for both halves.
    const torch::Tensor invFreq = ropeInverseFrequencies(config);
    const torch::Tensor positions = torch::arange(T, torch::kFloat64).unsqueeze(1);
    const torch::Tensor angles = positions * invFreq.unsqueeze(0); // [T, d/2]
    const torch::Tensor cos = torch::cat({angles, angles}, -1).cos();
    const torch::Tensor sin = torch::cat({angles, angles}, -1).sin();

    for (std::int64_t layer = 0; layer < s.layers; ++layer) {
        const std::string p = "model.layers." + std::to_string(layer) + ".";

        // Self-attention.
        torch::Tensor h = rmsNorm(x, w.get(p + "input_layernorm.weight", {H}), s.eps);
        const std::string a = p + "self_attn.";
        torch::Tensor q = affine(h, w.get(a + "q_proj.weight", {qDim, H}),
                                 s.qkvBias ? w.get(a + "q_proj.bias", {qDim}) : torch::Tensor());
        torch::Tensor k = affine(h, w.get(a + "k_proj.weight", {kvDim, H}),
                                 s.qkvBias ? w.get(a + "k_proj.bias", {kvDim}) : torch::Tensor());
        torch::Tensor v = affine(h, w.get(a + "v_proj.weight", {kvDim, H}),
                                 s.qkvBias ? w.get(a + "v_proj.bias", {kvDim}) : torch::Tensor());
        q = q.view({T, s.heads, s.headDim}).transpose(0, 1);   // [heads, T, d]
        k = k.view({T, s.kvHeads, s.headDim}).transpose(0, 1); // [kv heads, T, d]
        v = v.view({T, s.kvHeads, s.headDim}).transpose(0, 1);
        q = rotate(q, cos, sin);
        k = rotate(k, cos, sin);
        // repeat_kv: query head i reads key/value head i / (heads / kv heads).
        const std::int64_t group = s.heads / s.kvHeads;
        k = k.repeat_interleave(group, 0);
        v = v.repeat_interleave(group, 0);
        const torch::Tensor o = attend(q, k, v, 1.0 / std::sqrt(static_cast<double>(s.headDim)),
                                       slidingWindow(config, family, layer))
                                    .transpose(0, 1)
                                    .reshape({T, qDim});
        x = x + affine(o, w.get(a + "o_proj.weight", {H, qDim}), s.oBias ? w.get(a + "o_proj.bias", {H}) : torch::Tensor());

        // Feed-forward.
        h = rmsNorm(x, w.get(p + "post_attention_layernorm.weight", {H}), s.eps);
        if (family == Family::Mixtral) {
            x = x + mixtralMoe(config, s, w, p, h);
        } else {
            const std::string m = p + "mlp.";
            const std::int64_t I = s.intermediate;
            x = x + gatedMlp(h, s.act, w.get(m + "gate_proj.weight", {I, H}), w.get(m + "up_proj.weight", {I, H}),
                             w.get(m + "down_proj.weight", {H, I}),
                             s.mlpBias ? w.get(m + "gate_proj.bias", {I}) : torch::Tensor(),
                             s.mlpBias ? w.get(m + "up_proj.bias", {I}) : torch::Tensor(),
                             s.mlpBias ? w.get(m + "down_proj.bias", {H}) : torch::Tensor());
        }
    }

    x = rmsNorm(x, w.get("model.norm.weight", {H}), s.eps);
    torch::Tensor head;
    if (s.tied) {
        // tie_weights(): lm_head is the embedding; a stored lm_head.weight is replaced by it.
        head = table;
        w.markUsed("lm_head.weight");
    } else {
        head = w.get("lm_head.weight", {s.vocab, H});
    }
    return affine(x, head);
}

// ---- GPT-2 ----------------------------------------------------------------------------------

torch::Tensor gpt2Logits(const json &config, Weights &w, const std::vector<std::int64_t> &ids)
{
    const std::int64_t H = integer(config, "n_embd", integer(config, "hidden_size", 768));
    const std::int64_t heads = integer(config, "n_head", 12);
    const std::int64_t layers = integer(config, "n_layer", 12);
    const std::int64_t vocab = integer(config, "vocab_size");
    const std::int64_t positions = integer(config, "n_positions", 1024);
    const std::int64_t inner = integer(config, "n_inner", 4 * H);
    const double eps = number(config, "layer_norm_epsilon", 1e-5);
    const std::string act = text(config, "activation_function", "gelu_new");
    const bool scaleWeights = boolean(config, "scale_attn_weights", true);
    const bool scaleByLayer = boolean(config, "scale_attn_by_inverse_layer_idx", false);
    const bool tied = boolean(config, "tie_word_embeddings", true);
    if (heads <= 0 || H % heads != 0)
        fail("n_embd " + std::to_string(H) + " is not a multiple of n_head " + std::to_string(heads));
    const std::int64_t d = H / heads;
    const std::int64_t T = static_cast<std::int64_t>(ids.size());
    if (T > positions)
        fail(std::to_string(T) + " tokens exceed n_positions " + std::to_string(positions));

    const torch::Tensor wte = w.get("transformer.wte.weight", {vocab, H});
    const torch::Tensor wpe = w.get("transformer.wpe.weight", {positions, H});
    torch::Tensor x = embed(wte, ids) + wpe.slice(0, 0, T); // [T, H]

    for (std::int64_t layer = 0; layer < layers; ++layer) {
        const std::string p = "transformer.h." + std::to_string(layer) + ".";

        torch::Tensor h = layerNorm(x, w.get(p + "ln_1.weight", {H}), w.get(p + "ln_1.bias", {H}), eps);
        const torch::Tensor qkv = conv1d(h, w.get(p + "attn.c_attn.weight", {H, 3 * H}),
                                         w.get(p + "attn.c_attn.bias", {3 * H})); // [T, 3H]: q | k | v
        auto split = [&](std::int64_t part) {
            return qkv.slice(1, part * H, (part + 1) * H).view({T, heads, d}).transpose(0, 1);
        };
        double scale = 1.0;
        if (scaleWeights)
            scale /= std::sqrt(static_cast<double>(d));
        if (scaleByLayer)
            scale /= static_cast<double>(layer + 1);
        const torch::Tensor o = attend(split(0), split(1), split(2), scale, 0).transpose(0, 1).reshape({T, H});
        x = x + conv1d(o, w.get(p + "attn.c_proj.weight", {H, H}), w.get(p + "attn.c_proj.bias", {H}));

        h = layerNorm(x, w.get(p + "ln_2.weight", {H}), w.get(p + "ln_2.bias", {H}), eps);
        h = activation(act, conv1d(h, w.get(p + "mlp.c_fc.weight", {H, inner}), w.get(p + "mlp.c_fc.bias", {inner})));
        x = x + conv1d(h, w.get(p + "mlp.c_proj.weight", {inner, H}), w.get(p + "mlp.c_proj.bias", {H}));
    }

    x = layerNorm(x, w.get("transformer.ln_f.weight", {H}), w.get("transformer.ln_f.bias", {H}), eps);
    torch::Tensor head;
    if (tied) {
        head = wte;
        w.markUsed("lm_head.weight");
    } else {
        head = w.get("lm_head.weight", {vocab, H});
    }
    return affine(x, head);
}

} // namespace

torch::Tensor ropeInverseFrequencies(const json &config)
{
    const Family family = familyOf(config);
    if (family == Family::Gpt2)
        fail("gpt2 has no rotary embeddings");

    // transformers v5 keeps everything in "rope_parameters"; v4 has rope_theta and rope_scaling.
    json scaling;
    double theta = 0;
    if (present(config, "rope_parameters")) {
        scaling = config["rope_parameters"];
        if (!scaling.is_object())
            fail("config.json: \"rope_parameters\" is not an object");
        theta = present(scaling, "rope_theta") ? number(scaling, "rope_theta")
                                               : number(config, "rope_theta", defaultRopeTheta(family));
    } else {
        theta = number(config, "rope_theta", defaultRopeTheta(family));
        if (present(config, "rope_scaling")) {
            scaling = config["rope_scaling"];
            if (!scaling.is_object())
                fail("config.json: \"rope_scaling\" is not an object");
        }
    }
    std::string type = "default";
    if (scaling.is_object())
        type = text(scaling, "rope_type", text(scaling, "type", "default"));

    if (number(config, "partial_rotary_factor", 1.0) != 1.0)
        fail("partial_rotary_factor other than 1 is not supported");

    // _compute_default_rope_parameters: 1 / theta^(2i / d), i = 0 .. d/2 - 1.
    const std::int64_t d = headDimOf(config);
    std::vector<double> inv(static_cast<std::size_t>(d / 2));
    for (std::size_t i = 0; i < inv.size(); ++i)
        inv[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(d));

    if (type == "default") {
        // nothing to change
    } else if (type == "linear") {
        // _compute_linear_scaling_rope_parameters: every frequency divided by the factor.
        const double factor = number(scaling, "factor");
        for (double &f : inv)
            f /= factor;
    } else if (type == "llama3") {
        // _compute_llama3_parameters: wavelengths shorter than original / high_freq_factor are
        // kept, longer than original / low_freq_factor divided by the factor, and in between
        // interpolated smoothly between the two.
        const double factor = number(scaling, "factor");
        const double low = number(scaling, "low_freq_factor");
        const double high = number(scaling, "high_freq_factor");
        const double original = number(scaling, "original_max_position_embeddings");
        const double lowFreqWavelength = original / low;
        const double highFreqWavelength = original / high;
        for (double &f : inv) {
            const double wavelength = 2.0 * std::numbers::pi / f;
            if (wavelength < highFreqWavelength)
                continue;
            if (wavelength > lowFreqWavelength) {
                f = f / factor;
                continue;
            }
            const double smooth = (original / wavelength - low) / (high - low);
            f = (1.0 - smooth) * f / factor + smooth * f;
        }
    } else {
        fail("rope_type " + quote(type) + " is not supported (default, linear, llama3)");
    }
    return torch::tensor(inv, torch::kFloat64);
}

torch::Tensor referenceLogits(const json &config, const std::map<std::string, torch::Tensor> &weights,
                              const std::vector<std::int64_t> &ids)
{
    const Family family = familyOf(config);
    if (ids.empty())
        fail("no token ids");
    torch::NoGradGuard noGrad;
    Weights w(weights);
    torch::Tensor logits = family == Family::Gpt2 ? gpt2Logits(config, w, ids) : llamaFamilyLogits(config, family, w, ids);
    w.requireAllUsed(family);
    return logits;
}

} // namespace mizan::testref
