// The LLaMA family: Llama 2/3/3.1, Mistral, Qwen2 and Mixtral (modeling_llama.py,
// modeling_mistral.py, modeling_qwen2.py, modeling_mixtral.py and modeling_rope_utils.py of
// transformers): pre-norm decoder blocks with RMSNorm, rotary attention with grouped key/value
// heads, and a SwiGLU MLP or Mixtral's sparse mixture of experts.
#include "models/torch/forward_p.h"

#include "planner/error.h"

#include <torch/torch.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace mizan::models::torchfwd::detail {

namespace {

// The rotary inverse frequencies [headDim / 2], float32, with the config's scaling applied.
torch::Tensor rotaryInverseFrequencies(const ConfigReader &config, std::int64_t headDim, double defaultTheta)
{
    const nlohmann::json *rope = nullptr;
    std::string ropeKey;
    for (const char *key : {"rope_parameters", "rope_scaling"})
        if (config.has(key)) {
            if (!config.json()[key].is_object())
                config.invalid(key, "must be an object");
            rope = &config.json()[key];
            ropeKey = key;
            break;
        }
    double theta = config.number("rope_theta", defaultTheta);
    std::string type = "default";
    auto ropeNumber = [&](const char *key) {
        if (!rope->contains(key) || !(*rope)[key].is_number())
            config.invalid(ropeKey + "." + key, "is missing or not a number");
        return (*rope)[key].get<double>();
    };
    if (rope) {
        if (rope->contains("rope_theta"))
            theta = ropeNumber("rope_theta");
        for (const char *key : {"rope_type", "type"})
            if (rope->contains(key) && (*rope)[key].is_string()) {
                type = (*rope)[key].get<std::string>();
                break;
            }
    }
    if (headDim % 2 != 0)
        config.refuse("head_dim", "rotary embeddings need an even head size, not " + std::to_string(headDim));

    const torch::Tensor exponents = torch::arange(0, headDim, 2, torch::kInt64).to(torch::kFloat32) / headDim;
    torch::Tensor inv = 1.0 / torch::pow(theta, exponents);
    if (type == "default")
        return inv;
    if (type == "linear")
        return inv / ropeNumber("factor");
    if (type == "llama3") {
        // Llama 3.1: long wavelengths divided by `factor`, short ones kept, those in between
        // interpolated smoothly (modeling_rope_utils.py, _compute_llama3_parameters).
        const double factor = ropeNumber("factor");
        const double low = ropeNumber("low_freq_factor");
        const double high = ropeNumber("high_freq_factor");
        const double context = ropeNumber("original_max_position_embeddings");
        if (high == low)
            config.invalid(ropeKey + ".high_freq_factor", "must differ from low_freq_factor");
        const double lowWavelength = context / low;
        const double highWavelength = context / high;
        const torch::Tensor wavelength = 2 * std::numbers::pi / inv;
        torch::Tensor scaled = torch::where(wavelength > lowWavelength, inv / factor, inv);
        const torch::Tensor smooth = (context / wavelength - low) / (high - low);
        const torch::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        const torch::Tensor medium = (wavelength >= highWavelength).logical_and(wavelength <= lowWavelength);
        return torch::where(medium, smoothed, scaled);
    }
    config.refuse(ropeKey + ".rope_type",
                  "rotary scaling " + inQuotes(type) + " is not implemented (default, linear, llama3 are)");
}

torch::Tensor rotateHalf(const torch::Tensor &x)
{
    const auto half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

class LlamaFamily final : public Model {
public:
    LlamaFamily(const ConfigReader &config, std::string family, TransformersLayout layout);
    std::string family() const override { return m_family; }

protected:
    torch::Tensor embed(const Step &step, const torch::Tensor &ids, const DecodeState &state,
                        WeightSource &weights) const override;
    torch::Tensor block(const Step &step, const torch::Tensor &x, DecodeState &state,
                        WeightSource &weights) const override;
    torch::Tensor norm(const Step &step, const torch::Tensor &x, WeightSource &weights) const override;

private:
    torch::Tensor attention(const Step &step, const StepWeights &w, const torch::Tensor &h, DecodeState &state) const;
    torch::Tensor mlp(const StepWeights &w, const torch::Tensor &h) const;
    torch::Tensor experts(const Step &step, WeightSource &weights, const StepWeights &w, const torch::Tensor &h) const;

    std::string m_family;
    TransformersLayout m_layout;
    std::int64_t m_heads = 0;
    std::int64_t m_kvHeads = 0;
    std::int64_t m_headDim = 0;
    std::int64_t m_intermediate = 0;
    std::int64_t m_experts = 0; // > 0: Mixtral
    std::int64_t m_topK = 0;
    double m_eps = 1e-6;
    Activation m_act = Activation::Silu;
    bool m_qkvBias = false;
    bool m_outBias = false;
    bool m_mlpBias = false;
    std::vector<std::int64_t> m_windows; // per block: 0 = full causal attention
    torch::Tensor m_invFreq;             // CPU float32
};

LlamaFamily::LlamaFamily(const ConfigReader &config, std::string family, TransformersLayout layout)
    : m_family(std::move(family)), m_layout(layout)
{
    const bool mixtral = m_family == "mixtral";
    m_hidden = config.integer("hidden_size");
    m_vocab = config.integer("vocab_size");
    m_layers = static_cast<int>(config.integer("num_hidden_layers"));
    m_heads = config.integer("num_attention_heads");
    m_kvHeads = config.integer("num_key_value_heads", m_family == "mistral" || mixtral ? 8 : m_heads);
    m_headDim = config.integer("head_dim", m_hidden / m_heads);
    m_intermediate = config.integer("intermediate_size");
    if (m_kvHeads <= 0 || m_heads % m_kvHeads != 0)
        config.invalid("num_key_value_heads", "must divide num_attention_heads");
    if (m_headDim <= 0)
        config.invalid("head_dim", "must be positive");
    m_eps = config.number("rms_norm_eps", mixtral ? 1e-5 : 1e-6);
    m_act = activationOf(config, "hidden_act", "silu");
    if (m_family == "llama") {
        m_qkvBias = m_outBias = config.boolean("attention_bias", false);
        m_mlpBias = config.boolean("mlp_bias", false);
    } else if (m_family == "qwen2") {
        m_qkvBias = true; // Qwen2Attention: q/k/v with bias, o_proj without
    }
    if (mixtral) {
        m_experts = config.integer("num_local_experts", 8);
        m_topK = config.integer("num_experts_per_tok", 2);
        if (m_experts <= 0 || m_topK <= 0 || m_topK > m_experts)
            config.invalid("num_experts_per_tok", "must be between 1 and num_local_experts");
    }
    m_invFreq = rotaryInverseFrequencies(config, m_headDim, mixtral ? 1e6 : 1e4);

    // Sliding-window attention: every block of Mistral and Mixtral when sliding_window is set;
    // Qwen2's blocks from max_window_layers on when use_sliding_window; a v5 config's
    // layer_types decides when present.
    m_windows.assign(static_cast<std::size_t>(m_layers), 0);
    const std::int64_t window = config.integer("sliding_window", 0);
    if (m_family == "mistral" || mixtral) {
        m_windows.assign(static_cast<std::size_t>(m_layers), window);
    } else if (m_family == "qwen2" && config.boolean("use_sliding_window", false)) {
        const std::int64_t from = config.integer("max_window_layers", 28);
        for (int i = 0; i < m_layers; ++i)
            if (i >= from)
                m_windows[static_cast<std::size_t>(i)] = window;
    }
    if (m_family != "llama" && config.has("layer_types")) {
        const auto &types = config.json()["layer_types"];
        if (!types.is_array() || types.size() != static_cast<std::size_t>(m_layers))
            config.invalid("layer_types", "must list one type per layer");
        for (int i = 0; i < m_layers; ++i) {
            const auto &t = types[static_cast<std::size_t>(i)];
            if (t == "full_attention")
                m_windows[static_cast<std::size_t>(i)] = 0;
            else if (t == "sliding_attention")
                m_windows[static_cast<std::size_t>(i)] = window;
            else
                config.refuse("layer_types", "layer type " + t.dump() + " is not implemented");
        }
    }

    const std::int64_t h = m_hidden, q = m_heads * m_headDim, kv = m_kvHeads * m_headDim, inter = m_intermediate;
    Step embedding{StepKind::Embedding, "model.embed_tokens", -1, {}, {}, {}};
    need(embedding, "weight", {m_vocab, h});
    m_steps.push_back(std::move(embedding));
    for (int i = 0; i < m_layers; ++i) {
        Step s{StepKind::Block, "model.layers." + std::to_string(i), i, {}, {}, {}};
        need(s, "input_layernorm.weight", {h});
        for (auto [name, rows] : {std::pair<const char *, std::int64_t>{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}}) {
            need(s, std::string("self_attn.") + name + ".weight", {rows, h});
            if (m_qkvBias)
                need(s, std::string("self_attn.") + name + ".bias", {rows});
        }
        need(s, "self_attn.o_proj.weight", {h, q});
        if (m_outBias)
            need(s, "self_attn.o_proj.bias", {h});
        need(s, "post_attention_layernorm.weight", {h});
        if (mixtral && layout == TransformersLayout::V4) {
            need(s, "block_sparse_moe.gate.weight", {m_experts, h});
            s.parts.push_back(s.module + ".block_sparse_moe.experts");
            for (std::int64_t e = 0; e < m_experts; ++e) {
                const std::string expert = "block_sparse_moe.experts." + std::to_string(e) + ".";
                need(s, expert + "w1.weight", {inter, h});
                need(s, expert + "w2.weight", {h, inter});
                need(s, expert + "w3.weight", {inter, h});
            }
        } else if (mixtral) {
            need(s, "mlp.gate.weight", {m_experts, h});
            s.parts.push_back(s.module + ".mlp.experts");
            need(s, "mlp.experts.gate_up_proj", {m_experts, 2 * inter, h});
            need(s, "mlp.experts.down_proj", {m_experts, h, inter});
        } else {
            need(s, "mlp.gate_proj.weight", {inter, h});
            need(s, "mlp.up_proj.weight", {inter, h});
            need(s, "mlp.down_proj.weight", {h, inter});
            if (m_mlpBias) {
                need(s, "mlp.gate_proj.bias", {inter});
                need(s, "mlp.up_proj.bias", {inter});
                need(s, "mlp.down_proj.bias", {h});
            }
        }
        m_steps.push_back(std::move(s));
    }
    Step final{StepKind::Norm, "model.norm", -1, {}, {}, {}};
    need(final, "weight", {h});
    m_steps.push_back(std::move(final));
    Step head{StepKind::Head, "lm_head", -1, {}, {}, {}};
    need(head, "weight", {m_vocab, h});
    m_steps.push_back(std::move(head));
}

torch::Tensor LlamaFamily::embed(const Step &step, const torch::Tensor &ids, const DecodeState &,
                                 WeightSource &weights) const
{
    const torch::Tensor table = StepWeights(step, weights)("weight");
    return torch::embedding(table, checkedIds(ids, m_vocab, table.device()));
}

torch::Tensor LlamaFamily::norm(const Step &step, const torch::Tensor &x, WeightSource &weights) const
{
    return rmsNorm(x, StepWeights(step, weights, x)("weight"), m_eps);
}

torch::Tensor LlamaFamily::attention(const Step &step, const StepWeights &w, const torch::Tensor &h,
                                     DecodeState &state) const
{
    const auto b = h.size(0), t = h.size(1);
    auto project = [&](const char *name, std::int64_t heads) {
        const std::string prefix = std::string("self_attn.") + name;
        const torch::Tensor bias = m_qkvBias ? w(prefix + ".bias") : torch::Tensor();
        return dense(h, w(prefix + ".weight"), bias).view({b, t, heads, m_headDim}).transpose(1, 2);
    };
    torch::Tensor query = project("q_proj", m_heads);
    torch::Tensor key = project("k_proj", m_kvHeads);
    const torch::Tensor value = project("v_proj", m_kvHeads);

    // Rotary tables for positions offset .. offset + t - 1, computed in float32.
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(h.device());
    const torch::Tensor positions = torch::arange(state.position, state.position + t, f32);
    const torch::Tensor freqs = torch::outer(positions, m_invFreq.to(h.device()));
    const torch::Tensor angles = torch::cat({freqs, freqs}, -1);
    const torch::Tensor cos = angles.cos().to(h.scalar_type());
    const torch::Tensor sin = angles.sin().to(h.scalar_type());
    query = query * cos + rotateHalf(query) * sin;
    key = key * cos + rotateHalf(key) * sin;

    const auto [keys, values] = appendToCache(state, step.layer, key, value);
    const torch::Tensor out = causalAttention(query, keys, values, std::pow(static_cast<double>(m_headDim), -0.5),
                                              state.position, m_windows[static_cast<std::size_t>(step.layer)]);
    const torch::Tensor outBias = m_outBias ? w("self_attn.o_proj.bias") : torch::Tensor();
    return dense(out, w("self_attn.o_proj.weight"), outBias);
}

torch::Tensor LlamaFamily::mlp(const StepWeights &w, const torch::Tensor &h) const
{
    auto bias = [&](const char *name) { return m_mlpBias ? w(std::string("mlp.") + name + ".bias") : torch::Tensor(); };
    const torch::Tensor gate = dense(h, w("mlp.gate_proj.weight"), bias("gate_proj"));
    const torch::Tensor up = dense(h, w("mlp.up_proj.weight"), bias("up_proj"));
    return dense(activate(gate, m_act) * up, w("mlp.down_proj.weight"), bias("down_proj"));
}

// Mixtral's sparse MoE block: router softmax over all experts in float32, the top k kept and
// renormalised; each token's output is the weighted sum of its k experts' SwiGLU outputs. The
// router runs on the block's device; the experts are a part of the step (Step::parts) that the
// source may compute elsewhere (where their weights live), given the hidden states and the routing.
torch::Tensor LlamaFamily::experts(const Step &step, WeightSource &weights, const StepWeights &w,
                                   const torch::Tensor &h) const
{
    const bool v4 = m_layout == TransformersLayout::V4;
    const torch::Tensor flat = h.reshape({-1, m_hidden});
    const torch::Tensor routerLogits = dense(flat, w(v4 ? "block_sparse_moe.gate.weight" : "mlp.gate.weight"));
    const torch::Tensor probs = torch::softmax(routerLogits, -1, torch::kFloat32);
    auto [topWeights, topExperts] = probs.topk(m_topK, -1);
    topWeights = topWeights / topWeights.sum(-1, /*keepdim=*/true);

    // The routing read back once and grouped by expert on the CPU (a counting sort: each
    // expert's tokens ascending, with their routing weights), then sent to the experts' device in
    // one copy each; every expert takes a slice. No search of the routing table per expert
    // (nonzero, selects, advanced indexing): on a GPU each nonzero is a synchronisation, on a CPU
    // those ops cost more than the expert's own matmuls when one token is decoded.
    const std::int64_t tokenCount = flat.size(0);
    const torch::Tensor chosen = topExperts.to(torch::kCPU, torch::kInt64).contiguous();
    const torch::Tensor chosenWeights = topWeights.to(torch::kCPU, torch::kFloat32).contiguous();
    const std::int64_t routings = chosen.numel();
    std::vector<std::int64_t> first(static_cast<std::size_t>(m_experts) + 1, 0); // expert e: [first[e], first[e + 1])
    std::vector<std::int64_t> tokenOf(static_cast<std::size_t>(routings));
    std::vector<float> weightOf(static_cast<std::size_t>(routings));
    {
        const std::int64_t *ids = chosen.data_ptr<std::int64_t>();
        const float *ws = chosenWeights.data_ptr<float>();
        for (std::int64_t i = 0; i < routings; ++i)
            ++first[static_cast<std::size_t>(ids[i]) + 1];
        for (std::size_t e = 1; e < first.size(); ++e)
            first[e] += first[e - 1];
        std::vector<std::int64_t> next(first.begin(), first.end() - 1);
        for (std::int64_t i = 0; i < routings; ++i) { // i = token * topK + slot: tokens ascending
            const auto at = static_cast<std::size_t>(next[static_cast<std::size_t>(ids[i])]++);
            tokenOf[at] = i / m_topK;
            weightOf[at] = ws[i];
        }
    }

    const std::string part = step.module + (v4 ? ".block_sparse_moe.experts" : ".mlp.experts");
    auto compute = [&](c10::Device device, c10::ScalarType dtype) {
        const StepWeights pw(step, weights, device, dtype);
        const torch::Tensor xs0 = flat.to(device, dtype);
        const torch::Tensor allTokens = torch::from_blob(tokenOf.data(), {routings}, torch::kInt64).to(device);
        const torch::Tensor allWeights = torch::from_blob(weightOf.data(), {routings, 1}, torch::kFloat32).to(device);
        torch::Tensor gateUp, down;
        if (!v4) {
            gateUp = pw("mlp.experts.gate_up_proj");
            down = pw("mlp.experts.down_proj");
        }
        torch::Tensor out = torch::zeros_like(xs0);
        for (std::int64_t e = 0; e < m_experts; ++e) {
            const std::int64_t begin = first[static_cast<std::size_t>(e)], n = first[static_cast<std::size_t>(e) + 1] - begin;
            if (n == 0)
                continue;
            const torch::Tensor tokens = allTokens.narrow(0, begin, n);
            // Every token routed here (as when one token is decoded): the hidden states as they are.
            const torch::Tensor xs = n == tokenCount ? xs0 : xs0.index_select(0, tokens);
            torch::Tensor ys;
            if (v4) {
                const std::string expert = "block_sparse_moe.experts." + std::to_string(e) + ".";
                ys = dense(activate(dense(xs, pw(expert + "w1.weight")), m_act) * dense(xs, pw(expert + "w3.weight")),
                           pw(expert + "w2.weight"));
            } else {
                const auto halves = dense(xs, gateUp[e]).chunk(2, -1);
                ys = dense(activate(halves[0], m_act) * halves[1], down[e]);
            }
            out.index_add_(0, tokens, (ys * allWeights.narrow(0, begin, n)).to(out.scalar_type()));
        }
        return out;
    };
    return weights.runPart(part, h.device(), h.scalar_type(), compute).view_as(h);
}

torch::Tensor LlamaFamily::block(const Step &step, const torch::Tensor &x, DecodeState &state,
                                 WeightSource &weights) const
{
    const StepWeights w(step, weights, x);
    const torch::Tensor attended = x + attention(step, w, rmsNorm(x, w("input_layernorm.weight"), m_eps), state);
    const torch::Tensor h = rmsNorm(attended, w("post_attention_layernorm.weight"), m_eps);
    return attended + (m_experts > 0 ? experts(step, weights, w, h) : mlp(w, h));
}

} // namespace

std::unique_ptr<CausalLM> makeLlamaFamily(const ConfigReader &config, const std::string &family,
                                          TransformersLayout layout)
{
    return std::make_unique<LlamaFamily>(config, family, layout);
}

} // namespace mizan::models::torchfwd::detail
