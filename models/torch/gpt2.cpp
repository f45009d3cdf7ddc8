// GPT-2 (modeling_gpt2.py of transformers): learned absolute positions, pre-norm blocks with
// LayerNorm, Conv1D projections (weight [in, out], y = x W + b), gelu_new MLP, head tied to wte.
#include "models/torch/forward_p.h"

#include "planner/error.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace mizan::models::torchfwd::detail {

namespace {

// transformers' Conv1D: y = b + x W with W [in, out].
torch::Tensor conv1d(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    std::vector<std::int64_t> sizes = x.sizes().vec();
    sizes.back() = weight.size(1);
    return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(sizes);
}

// The first of `keys` the config sets (GPT-2 configs use n_embd, n_head, ...; attribute_map
// makes hidden_size & co. their aliases).
const char *firstKey(const ConfigReader &config, std::initializer_list<const char *> keys)
{
    for (const char *k : keys)
        if (config.has(k))
            return k;
    return *keys.begin();
}

class Gpt2 final : public Model {
public:
    explicit Gpt2(const ConfigReader &config);
    std::string family() const override { return "gpt2"; }

protected:
    torch::Tensor embed(const Step &step, const torch::Tensor &ids, const DecodeState &state,
                        WeightSource &weights) const override;
    torch::Tensor block(const Step &step, const torch::Tensor &x, DecodeState &state,
                        WeightSource &weights) const override;
    torch::Tensor norm(const Step &step, const torch::Tensor &x, WeightSource &weights) const override;

private:
    std::int64_t m_heads = 0;
    std::int64_t m_positions = 0;
    double m_eps = 1e-5;
    bool m_scaleByHeadSize = true;
    bool m_scaleByLayer = false;
    Activation m_act = Activation::GeluTanh;
};

Gpt2::Gpt2(const ConfigReader &config)
{
    m_hidden = config.integer(firstKey(config, {"n_embd", "hidden_size"}));
    m_heads = config.integer(firstKey(config, {"n_head", "num_attention_heads"}));
    m_layers = static_cast<int>(config.integer(firstKey(config, {"n_layer", "num_hidden_layers"})));
    m_positions = config.integer(firstKey(config, {"n_positions", "max_position_embeddings"}));
    m_vocab = config.integer("vocab_size");
    if (m_hidden % m_heads != 0)
        config.invalid("n_head", "must divide n_embd");
    const std::int64_t inner = config.integer("n_inner", 4 * m_hidden);
    m_eps = config.number("layer_norm_epsilon", 1e-5);
    m_act = activationOf(config, "activation_function", "gelu_new");
    m_scaleByHeadSize = config.boolean("scale_attn_weights", true);
    m_scaleByLayer = config.boolean("scale_attn_by_inverse_layer_idx", false);
    if (config.boolean("add_cross_attention", false))
        config.refuse("add_cross_attention", "cross-attention needs an encoder; only the causal LM runs");

    const std::int64_t h = m_hidden;
    Step embedding{StepKind::Embedding, "transformer.wte", -1, {}, {}, {}};
    need(embedding, "weight", {m_vocab, h});
    embedding.tensors.push_back("transformer.wpe.weight");
    embedding.shapes.push_back({m_positions, h});
    m_steps.push_back(std::move(embedding));
    for (int i = 0; i < m_layers; ++i) {
        Step s{StepKind::Block, "transformer.h." + std::to_string(i), i, {}, {}, {}};
        need(s, "ln_1.weight", {h});
        need(s, "ln_1.bias", {h});
        need(s, "attn.c_attn.weight", {h, 3 * h});
        need(s, "attn.c_attn.bias", {3 * h});
        need(s, "attn.c_proj.weight", {h, h});
        need(s, "attn.c_proj.bias", {h});
        need(s, "ln_2.weight", {h});
        need(s, "ln_2.bias", {h});
        need(s, "mlp.c_fc.weight", {h, inner});
        need(s, "mlp.c_fc.bias", {inner});
        need(s, "mlp.c_proj.weight", {inner, h});
        need(s, "mlp.c_proj.bias", {h});
        m_steps.push_back(std::move(s));
    }
    Step final{StepKind::Norm, "transformer.ln_f", -1, {}, {}, {}};
    need(final, "weight", {h});
    need(final, "bias", {h});
    m_steps.push_back(std::move(final));
    Step head{StepKind::Head, "lm_head", -1, {}, {}, {}};
    need(head, "weight", {m_vocab, h});
    m_steps.push_back(std::move(head));
}

torch::Tensor Gpt2::embed(const Step &step, const torch::Tensor &ids, const DecodeState &state,
                          WeightSource &weights) const
{
    const StepWeights raw(step, weights);
    const torch::Tensor tokens = raw("weight");
    const torch::Tensor positions = StepWeights(step, weights, tokens).full("transformer.wpe.weight");
    const torch::Tensor checked = checkedIds(ids, m_vocab, tokens.device());
    const std::int64_t t = checked.size(1);
    if (state.position + t > m_positions)
        throw Error(ErrorKind::InvalidArgument, {},
                    "positions up to " + std::to_string(state.position + t) + " exceed the model's n_positions "
                        + std::to_string(m_positions));
    const torch::Tensor index = torch::arange(state.position, state.position + t,
                                              torch::TensorOptions().dtype(torch::kInt64).device(tokens.device()));
    return torch::embedding(tokens, checked) + torch::embedding(positions, index).unsqueeze(0);
}

torch::Tensor Gpt2::norm(const Step &step, const torch::Tensor &x, WeightSource &weights) const
{
    const StepWeights w(step, weights, x);
    return torch::layer_norm(x, {m_hidden}, w("weight"), w("bias"), m_eps);
}

torch::Tensor Gpt2::block(const Step &step, const torch::Tensor &x, DecodeState &state, WeightSource &weights) const
{
    const StepWeights w(step, weights, x);
    const auto b = x.size(0), t = x.size(1), d = m_hidden / m_heads;

    const torch::Tensor h = torch::layer_norm(x, {m_hidden}, w("ln_1.weight"), w("ln_1.bias"), m_eps);
    const auto qkv = conv1d(h, w("attn.c_attn.weight"), w("attn.c_attn.bias")).split(m_hidden, -1);
    auto heads = [&](const torch::Tensor &y) { return y.view({b, t, m_heads, d}).transpose(1, 2); };
    const auto [keys, values] = appendToCache(state, step.layer, heads(qkv[1]), heads(qkv[2]));
    double scale = 1.0;
    if (m_scaleByHeadSize)
        scale /= std::sqrt(static_cast<double>(d));
    if (m_scaleByLayer)
        scale /= static_cast<double>(step.layer + 1);
    const torch::Tensor attended = causalAttention(heads(qkv[0]), keys, values, scale, state.position, 0);
    const torch::Tensor x1 = x + conv1d(attended, w("attn.c_proj.weight"), w("attn.c_proj.bias"));

    const torch::Tensor h2 = torch::layer_norm(x1, {m_hidden}, w("ln_2.weight"), w("ln_2.bias"), m_eps);
    const torch::Tensor inner = activate(conv1d(h2, w("mlp.c_fc.weight"), w("mlp.c_fc.bias")), m_act);
    return x1 + conv1d(inner, w("mlp.c_proj.weight"), w("mlp.c_proj.bias"));
}

} // namespace

std::unique_ptr<CausalLM> makeGpt2(const ConfigReader &config)
{
    return std::make_unique<Gpt2>(config);
}

} // namespace mizan::models::torchfwd::detail
