// Shared pieces of the forward passes: config access, activations, weights of a step, RMSNorm,
// the KV cache, causal attention, and the step dispatch of every family.
#include "models/torch/forward_p.h"

#include "planner/error.h"

#include <torch/torch.h>

#include <chrono>

#include <limits>
#include <sstream>

namespace mizan::models::torchfwd::detail {

std::string shapeText(c10::IntArrayRef shape)
{
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i)
        out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

// ---- config.json ------------------------------------------------------------------------------

ConfigReader::ConfigReader(const nlohmann::json &config, std::string path)
    : m_config(config), m_path(std::move(path))
{
    if (!m_config.is_object())
        throw Error(ErrorKind::InvalidConfig, m_path, "the config is not a JSON object");
}

bool ConfigReader::has(const char *key) const
{
    return m_config.contains(key) && !m_config[key].is_null();
}

std::int64_t ConfigReader::integer(const char *key) const
{
    if (!has(key))
        invalid(key, "is missing");
    const std::int64_t value = integer(key, 0);
    if (value <= 0)
        invalid(key, "must be a positive integer");
    return value;
}

std::int64_t ConfigReader::integer(const char *key, std::int64_t fallback) const
{
    if (!has(key))
        return fallback;
    const auto &v = m_config[key];
    if (v.is_number_integer())
        return v.get<std::int64_t>();
    if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<std::int64_t>(v.get<double>())))
        return static_cast<std::int64_t>(v.get<double>());
    invalid(key, "must be an integer");
}

double ConfigReader::number(const char *key, double fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_config[key].is_number())
        invalid(key, "must be a number");
    return m_config[key].get<double>();
}

bool ConfigReader::boolean(const char *key, bool fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_config[key].is_boolean())
        invalid(key, "must be true or false");
    return m_config[key].get<bool>();
}

std::string ConfigReader::string(const char *key, std::string fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_config[key].is_string())
        invalid(key, "must be a string");
    return m_config[key].get<std::string>();
}

void ConfigReader::refuse(const std::string &key, const std::string &why) const
{
    throw Error(ErrorKind::UnsupportedFormat, m_path, "config key " + inQuotes(key) + ": " + why);
}

void ConfigReader::invalid(const std::string &key, const std::string &why) const
{
    throw Error(ErrorKind::InvalidConfig, m_path, "config key " + inQuotes(key) + " " + why);
}

// ---- activations ------------------------------------------------------------------------------

Activation activationOf(const ConfigReader &config, const char *key, const char *fallback)
{
    const std::string name = config.string(key, fallback);
    if (name == "silu" || name == "swish")
        return Activation::Silu;
    if (name == "gelu")
        return Activation::Gelu;
    // transformers' NewGELUActivation and PytorchGELUTanh: the tanh approximation.
    if (name == "gelu_new" || name == "gelu_pytorch_tanh")
        return Activation::GeluTanh;
    if (name == "relu")
        return Activation::Relu;
    config.refuse(key, "activation " + inQuotes(name)
                           + " is not implemented (silu, swish, gelu, gelu_new, gelu_pytorch_tanh, relu are)");
}

torch::Tensor activate(const torch::Tensor &x, Activation activation)
{
    switch (activation) {
    case Activation::Silu: return torch::silu(x);
    case Activation::Gelu: return torch::gelu(x);
    case Activation::GeluTanh: return torch::gelu(x, "tanh");
    case Activation::Relu: return torch::relu(x);
    }
    return x;
}

// ---- weights of a step ------------------------------------------------------------------------

void need(Step &step, const std::string &suffix, std::vector<std::int64_t> shape)
{
    step.tensors.push_back(step.module + "." + suffix);
    step.shapes.push_back(std::move(shape));
}

StepWeights::StepWeights(const Step &step, WeightSource &source, const torch::Tensor &like)
    : StepWeights(step, source, like.device(), like.scalar_type())
{
}

StepWeights::StepWeights(const Step &step, WeightSource &source, c10::Device device, c10::ScalarType dtype)
    : m_step(step), m_source(source), m_device(device), m_dtype(dtype)
{
}

StepWeights::StepWeights(const Step &step, WeightSource &source)
    : m_step(step), m_source(source), m_device(torch::kCPU), m_dtype(torch::kFloat32), m_convert(false)
{
}

torch::Tensor StepWeights::operator()(const std::string &suffix) const
{
    return full(m_step.module + "." + suffix);
}

bool StepWeights::has(const std::string &suffix) const
{
    const std::string name = m_step.module + "." + suffix;
    for (const auto &t : m_step.tensors)
        if (t == name)
            return true;
    return false;
}

torch::Tensor StepWeights::full(const std::string &name) const
{
    std::size_t i = 0;
    while (i < m_step.tensors.size() && m_step.tensors[i] != name)
        ++i;
    if (i == m_step.tensors.size())
        throw Error(ErrorKind::NotFound, {}, "step " + inQuotes(m_step.module) + " reads no tensor " + inQuotes(name));
    torch::Tensor t = m_source.get(name);
    if (!t.defined())
        throw Error(ErrorKind::NotFound, m_source.fileOf(name), "no tensor " + inQuotes(name) + " was given");
    const auto &expected = m_step.shapes[i];
    if (t.sizes() != c10::IntArrayRef(expected))
        throw Error(ErrorKind::BadShape, m_source.fileOf(name),
                    "tensor " + inQuotes(name) + " has shape " + shapeText(t.sizes()) + ", the config implies "
                        + shapeText(expected));
    const bool converts = t.is_floating_point() && t.scalar_type() != m_dtype;
    if (m_convert && (t.device() != m_device || converts)) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::int64_t bytes = static_cast<std::int64_t>(t.nbytes());
        t = t.to(m_device, t.is_floating_point() ? m_dtype : t.scalar_type());
        if (converts)
            m_source.converted(name, bytes, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return t;
}

// ---- operations -------------------------------------------------------------------------------

torch::Tensor rmsNorm(const torch::Tensor &x, const torch::Tensor &weight, double eps)
{
    const torch::Tensor h = x.to(torch::kFloat32);
    const torch::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
    return weight * (h * torch::rsqrt(variance + eps)).to(x.scalar_type());
}

torch::Tensor dense(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    return torch::linear(x, weight, bias);
}

std::pair<torch::Tensor, torch::Tensor> appendToCache(DecodeState &state, int layer, const torch::Tensor &key,
                                                      const torch::Tensor &value)
{
    if (layer < 0 || static_cast<std::size_t>(layer) >= state.layers.size())
        throw Error(ErrorKind::InvalidArgument, {},
                    "the decode state has no cache for block " + std::to_string(layer) + " (it holds "
                        + std::to_string(state.layers.size()) + "): a state of another model?");
    LayerCache &cache = state.layers[static_cast<std::size_t>(layer)];
    const std::int64_t held = cache.key.defined() ? cache.key.size(2) : 0;
    if (held != state.position)
        throw Error(ErrorKind::InvalidArgument, {},
                    "block " + std::to_string(layer) + " has " + std::to_string(held)
                        + " cached positions but the state is at position " + std::to_string(state.position)
                        + " (call advance() once after every step of a forward)");
    if (!cache.key.defined()) {
        cache.key = key;
        cache.value = value;
    } else {
        if (cache.key.device() != key.device() || cache.key.scalar_type() != key.scalar_type()) {
            cache.key = cache.key.to(key.device(), key.scalar_type());
            cache.value = cache.value.to(value.device(), value.scalar_type());
        }
        cache.key = torch::cat({cache.key, key}, 2);
        cache.value = torch::cat({cache.value, value}, 2);
    }
    return {cache.key, cache.value};
}

namespace {

// [B, kvHeads, S, D] -> [B, kvHeads * groups, S, D], each key/value head repeated for its group.
torch::Tensor repeatHeads(const torch::Tensor &x, std::int64_t groups)
{
    if (groups == 1)
        return x;
    const auto b = x.size(0), kv = x.size(1), s = x.size(2), d = x.size(3);
    return x.unsqueeze(2).expand({b, kv, groups, s, d}).reshape({b, kv * groups, s, d});
}

} // namespace

torch::Tensor causalAttention(const torch::Tensor &query, const torch::Tensor &key, const torch::Tensor &value,
                              double scale, std::int64_t offset, std::int64_t window)
{
    const auto b = query.size(0), heads = query.size(1), t = query.size(2), d = query.size(3);
    const auto s = key.size(2);
    const std::int64_t groups = heads / key.size(1);
    const torch::Tensor k = repeatHeads(key, groups);
    const torch::Tensor v = repeatHeads(value, groups);
    torch::Tensor scores = torch::matmul(query, k.transpose(2, 3)) * scale;
    const bool everySeen = t == 1 && (window <= 0 || s <= window);
    if (!everySeen) {
        const auto options = torch::TensorOptions().dtype(torch::kInt64).device(query.device());
        const torch::Tensor queryPos = torch::arange(offset, offset + t, options).unsqueeze(1);
        const torch::Tensor keyPos = torch::arange(s, options).unsqueeze(0);
        torch::Tensor hidden = keyPos > queryPos;
        if (window > 0)
            hidden = hidden.logical_or(queryPos - keyPos >= window);
        scores = scores.masked_fill(hidden, -std::numeric_limits<double>::infinity());
    }
    const torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(query.scalar_type());
    return torch::matmul(probs, v).transpose(1, 2).reshape({b, t, heads * d});
}

torch::Tensor checkedIds(const torch::Tensor &ids, std::int64_t vocab, c10::Device device)
{
    if (!ids.defined() || ids.dim() != 2 || ids.size(1) == 0)
        throw Error(ErrorKind::InvalidArgument, {}, "token ids must be a [batch, positions] tensor with positions > 0");
    if (ids.is_floating_point() || ids.is_complex() || ids.scalar_type() == torch::kBool)
        throw Error(ErrorKind::InvalidArgument, {}, "token ids must be integers");
    torch::Tensor out = ids.to(device, torch::kInt64);
    const std::int64_t low = out.min().item<std::int64_t>();
    const std::int64_t high = out.max().item<std::int64_t>();
    if (low < 0 || high >= vocab)
        throw Error(ErrorKind::InvalidArgument, {},
                    "token id " + std::to_string(low < 0 ? low : high) + " is outside the vocabulary [0, "
                        + std::to_string(vocab) + ")");
    return out;
}

// ---- the base model ---------------------------------------------------------------------------

DecodeState Model::newState() const
{
    DecodeState state;
    state.layers.resize(static_cast<std::size_t>(m_layers));
    return state;
}

torch::Tensor Model::head(const Step &step, const torch::Tensor &x, WeightSource &weights) const
{
    const StepWeights w(step, weights, x);
    return dense(x, w("weight"));
}

torch::Tensor Model::run(std::size_t i, const torch::Tensor &x, DecodeState &state, WeightSource &weights) const
{
    if (i >= m_steps.size())
        throw Error(ErrorKind::InvalidArgument, {},
                    "step " + std::to_string(i) + " does not exist (the model has " + std::to_string(m_steps.size())
                        + ")");
    const Step &step = m_steps[i];
    if (step.kind != StepKind::Embedding) {
        if (!x.defined() || x.dim() != 3 || x.size(2) != m_hidden || !x.is_floating_point())
            throw Error(ErrorKind::InvalidArgument, {},
                        "step " + inQuotes(step.module) + " expects a floating hidden state [batch, positions, "
                            + std::to_string(m_hidden) + "]"
                            + (x.defined() ? ", got " + shapeText(x.sizes()) : std::string()));
    }
    switch (step.kind) {
    case StepKind::Embedding: return embed(step, x, state, weights);
    case StepKind::Block: return block(step, x, state, weights);
    case StepKind::Norm: return norm(step, x, weights);
    case StepKind::Head: return head(step, x, weights);
    }
    return {};
}

} // namespace mizan::models::torchfwd::detail
