// The front door of the forward passes: family selection, decode state, whole-model logits,
// token choice and single-device generation.
#include "models/torch/forward.h"
#include "models/torch/forward_p.h"

#include "planner/error.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <utility>

namespace mizan::models::torchfwd {

std::string WeightSource::fileOf(const std::string &) const
{
    return {};
}

torch::Tensor WeightSource::runPart(const std::string &, c10::Device device, c10::ScalarType dtype,
                                    const PartCompute &compute)
{
    return compute(device, dtype).to(device, dtype);
}

void WeightSource::converted(const std::string &, std::int64_t, double) {}

const char *toString(StepKind kind)
{
    switch (kind) {
    case StepKind::Embedding: return "embedding";
    case StepKind::Block: return "block";
    case StepKind::Norm: return "norm";
    case StepKind::Head: return "head";
    }
    return "?";
}

// ---- decode state -----------------------------------------------------------------------------

void DecodeState::advance(std::int64_t tokens)
{
    if (tokens < 0)
        throw Error(ErrorKind::InvalidArgument, {}, "cannot advance a decode state by a negative count");
    position += tokens;
}

void DecodeState::clear()
{
    for (auto &layer : layers)
        layer = LayerCache{};
    position = 0;
}

std::int64_t DecodeState::bytes(int layer) const
{
    if (layer < 0 || static_cast<std::size_t>(layer) >= layers.size())
        return 0;
    const LayerCache &c = layers[static_cast<std::size_t>(layer)];
    return (c.key.defined() ? static_cast<std::int64_t>(c.key.nbytes()) : 0)
        + (c.value.defined() ? static_cast<std::int64_t>(c.value.nbytes()) : 0);
}

std::int64_t DecodeState::bytes() const
{
    std::int64_t total = 0;
    for (std::size_t i = 0; i < layers.size(); ++i)
        total += bytes(static_cast<int>(i));
    return total;
}

// ---- families ---------------------------------------------------------------------------------

namespace {

struct FamilyName {
    const char *modelType;
    const char *architecture;
};
constexpr std::array<FamilyName, 5> kFamilies{{
    {"llama", "LlamaForCausalLM"},
    {"mistral", "MistralForCausalLM"},
    {"qwen2", "Qwen2ForCausalLM"},
    {"mixtral", "MixtralForCausalLM"},
    {"gpt2", "GPT2LMHeadModel"},
}};

std::string supportedList()
{
    std::string out;
    for (const auto &f : kFamilies)
        out += (out.empty() ? "" : ", ") + std::string(f.modelType);
    return out;
}

} // namespace

std::unique_ptr<CausalLM> CausalLM::fromConfig(const nlohmann::json &config, std::string configPath,
                                               TransformersLayout layout)
{
    const detail::ConfigReader reader(config, std::move(configPath));
    std::string architecture;
    if (reader.has("architectures")) {
        const auto &list = config["architectures"];
        if (!list.is_array() || (!list.empty() && !list[0].is_string()))
            reader.invalid("architectures", "must be a list of class names");
        if (!list.empty())
            architecture = list[0].get<std::string>();
    }
    std::string family = reader.string("model_type", "");
    if (family.empty())
        for (const auto &f : kFamilies)
            if (architecture == f.architecture)
                family = f.modelType;
    const FamilyName *known = nullptr;
    for (const auto &f : kFamilies)
        if (family == f.modelType)
            known = &f;
    if (!known)
        throw Error(ErrorKind::UnsupportedFormat, reader.path(),
                    (family.empty() ? "the config names no model_type" + (architecture.empty() ? std::string()
                                                                              : " of a known class (architectures: "
                                                                                    + inQuotes(architecture) + ")")
                                    : "model_type " + inQuotes(family) + " has no forward pass in Mizan")
                        + "; supported: " + supportedList());
    if (!architecture.empty() && architecture != known->architecture)
        reader.refuse("architectures", inQuotes(architecture) + " is not a causal LM Mizan runs (the " + family
                                           + " one is " + inQuotes(known->architecture) + ")");
    if (family == "gpt2")
        return detail::makeGpt2(reader);
    return detail::makeLlamaFamily(reader, family, layout);
}

std::unique_ptr<CausalLM> CausalLM::fromCheckpoint(const loader::Checkpoint &checkpoint)
{
    if (checkpoint.config.is_null())
        throw Error(ErrorKind::NotFound, checkpoint.path, "the checkpoint has no config.json: nothing says which model it is");
    const bool v4 = checkpoint.catalog.find("model.layers.0.block_sparse_moe.gate.weight") >= 0;
    return fromConfig(nlohmann::json(checkpoint.config), checkpoint.configPath.value_or(checkpoint.path),
                      v4 ? TransformersLayout::V4 : TransformersLayout::V5);
}

// ---- whole-model conveniences -----------------------------------------------------------------

torch::Tensor logits(const CausalLM &model, const torch::Tensor &ids, DecodeState &state, WeightSource &weights)
{
    torch::NoGradGuard noGrad;
    torch::Tensor x = ids;
    const auto &steps = model.steps();
    for (std::size_t i = 0; i < steps.size(); ++i)
        x = model.run(i, x, state, weights);
    state.advance(ids.size(1));
    return x;
}

std::int64_t chooseToken(const torch::Tensor &lastLogits, const Sampling &sampling, torch::Generator *generator)
{
    if (!lastLogits.defined() || lastLogits.numel() == 0 || !lastLogits.is_floating_point())
        throw Error(ErrorKind::InvalidArgument, {}, "logits to choose a token from must be a non-empty floating tensor");
    torch::NoGradGuard noGrad;
    const torch::Tensor scores = lastLogits.detach().to(torch::kCPU, torch::kFloat32).reshape({-1});
    if (sampling.temperature <= 0)
        return scores.argmax().item<std::int64_t>();
    torch::Tensor candidates = scores / static_cast<double>(sampling.temperature);
    torch::Tensor ids;
    if (sampling.topK > 0 && sampling.topK < candidates.numel())
        std::tie(candidates, ids) = candidates.topk(sampling.topK);
    const torch::Tensor probs = torch::softmax(candidates, -1);
    torch::Generator own;
    if (!generator) {
        own = at::make_generator<at::CPUGeneratorImpl>(sampling.seed);
        generator = &own;
    }
    const std::int64_t pick = torch::multinomial(probs, 1, false, *generator).item<std::int64_t>();
    return ids.defined() ? ids[pick].item<std::int64_t>() : pick;
}

std::vector<std::int64_t> generate(const CausalLM &model, WeightSource &weights, const std::vector<std::int64_t> &promptIds,
                                   int maxNewTokens, const Sampling &sampling)
{
    if (promptIds.empty())
        throw Error(ErrorKind::InvalidArgument, {}, "generation needs at least one prompt token");
    if (maxNewTokens < 0)
        throw Error(ErrorKind::InvalidArgument, {}, "the number of new tokens must not be negative");
    torch::NoGradGuard noGrad;
    DecodeState state = model.newState();
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(sampling.seed);
    std::vector<std::int64_t> out;
    if (maxNewTokens == 0)
        return out;
    const auto ids = torch::tensor(promptIds, torch::kInt64).unsqueeze(0);
    torch::Tensor last = logits(model, ids, state, weights);
    for (int n = 0; n < maxNewTokens; ++n) {
        const std::int64_t token = chooseToken(last[0][-1], sampling, &generator);
        out.push_back(token);
        if (n + 1 < maxNewTokens)
            last = logits(model, torch::tensor({token}, torch::kInt64).unsqueeze(0), state, weights);
    }
    return out;
}

} // namespace mizan::models::torchfwd
