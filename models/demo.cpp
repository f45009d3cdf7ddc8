#include "demo.h"
#include "demo_p.h"

#include "describe.h"
#include "resources.h"
#include "source.h"

#include "loader/safetensorswriter.h"
#include "planner/error.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace fs = std::filesystem;

namespace mizan::models {

namespace detail {

// IEEE 754 binary32 -> binary16, round to nearest even (handles subnormals, inf, NaN).
std::uint16_t toHalf(float value)
{
    const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) // inf or NaN
        return static_cast<std::uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
    if (absx >= 0x477FF000u) // rounds to >= 65520: overflow to inf
        return static_cast<std::uint16_t>(sign | 0x7C00u);
    if (absx < 0x38800000u) { // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u)
            return static_cast<std::uint16_t>(sign);
        const std::uint32_t mant = (absx & 0x007FFFFFu) | 0x00800000u;
        // value = mant * 2^(E-150); a half subnormal counts units of 2^-24: shift by 126 - E (13..24).
        const int shift = 126 - static_cast<int>(absx >> 23);
        std::uint32_t half = mant >> shift;
        const std::uint32_t rem = mant & ((1u << shift) - 1);
        const std::uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = ((absx >> 13) - (112u << 10)); // rebias exponent 127 -> 15
    const std::uint32_t rem = absx & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        ++half;
    return static_cast<std::uint16_t>(sign | half);
}

std::uint16_t toBfloat16(float value)
{
    const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u)
        return static_cast<std::uint16_t>((x >> 16) | 0x40u);
    const std::uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>((x + rounding) >> 16);
}

} // namespace detail

using detail::toBfloat16;
using detail::toHalf;

namespace {

// The small LLaMA-style model `make-demo` writes by default (~1.3 M parameters).
nlohmann::json defaultConfig()
{
    return nlohmann::json{
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"hidden_act", "silu"},
        {"hidden_size", 128},
        {"intermediate_size", 352},
        {"num_attention_heads", 4},
        {"num_key_value_heads", 2},
        {"num_hidden_layers", 4},
        {"max_position_embeddings", 512},
        {"rms_norm_eps", 1e-5},
        {"rope_theta", 10000.0},
        {"tie_word_embeddings", false},
        {"vocab_size", 2048},
        {"bos_token_id", 1},
        {"eos_token_id", 2},
    };
}

void setExisting(nlohmann::json &config, std::initializer_list<const char *> keys, std::int64_t value)
{
    for (const char *k : keys)
        if (config.contains(k) && !config[k].is_null())
            config[k] = value;
}

std::int64_t intOf(const nlohmann::json &config, std::initializer_list<const char *> keys)
{
    for (const char *k : keys)
        if (config.contains(k) && config[k].is_number_integer())
            return config[k].get<std::int64_t>();
    return 0;
}

// The head size of a demo whose hidden size is smaller than the preset's head size (hidden 64 of
// a model with 128-wide heads): the largest power of two that divides `hidden` and leaves at
// least two key/value heads at the preset's ratio of query to key/value heads (so GQA stays
// GQA); the smallest such power of two (2) when none leaves that many.
std::int64_t smallerHeadSize(std::int64_t hidden, std::int64_t headDim, std::int64_t heads, std::int64_t kv)
{
    const std::int64_t ratio = kv > 0 && heads % kv == 0 ? heads / kv : 1;
    std::int64_t best = 0;
    for (std::int64_t d = 2; d <= headDim && d <= hidden; d *= 2)
        if (hidden % d == 0 && (best == 0 || hidden / d >= 2 * ratio))
            best = d;
    if (best == 0)
        throw Error(ErrorKind::InvalidArgument, {},
                    "hidden size " + std::to_string(hidden) + " is smaller than the head size "
                        + std::to_string(headDim) + " and not even");
    return best;
}

// SplitMix64: small, fast, and the same on every platform.
struct Rng {
    std::uint64_t state;
    std::uint64_t next()
    {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // Moves the stream `n` draws ahead (SplitMix64's state only counts).
    void skip(std::uint64_t n) { state += n * 0x9E3779B97F4A7C15ULL; }
    // Uniform in [-1, 1).
    float uniform() { return static_cast<float>(static_cast<double>(next() >> 11) * 0x1.0p-53 * 2.0 - 1.0); }
};

std::uint64_t hashName(const std::string &s)
{
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

// Where the random stream of a tensor comes from: its own name, or for the 4.x Mixtral layout
// the fused v5 tensor it is a slice of (name, first element), so that both layouts of one seed
// hold the same model.
struct StreamOrigin {
    std::string name;
    std::uint64_t firstElement = 0;
};

StreamOrigin streamOrigin(const std::string &name, const std::vector<std::int64_t> &shape, TransformersLayout layout)
{
    static const std::string moe = "block_sparse_moe.";
    const auto at = name.find(moe);
    if (layout != TransformersLayout::V4 || at == std::string::npos || shape.size() != 2)
        return {name, 0};
    const std::string prefix = name.substr(0, at) + "mlp.";
    const std::string rest = name.substr(at + moe.size());
    if (rest == "gate.weight")
        return {prefix + "gate.weight", 0};
    // experts.K.wN.weight: w1/w3 [I, H] are rows [0, I) / [I, 2I) of gate_up_proj[K] ([2I, H]),
    // w2 [H, I] is down_proj[K].
    static const std::string experts = "experts.";
    if (rest.compare(0, experts.size(), experts) != 0)
        return {name, 0};
    const auto dot = rest.find('.', experts.size());
    if (dot == std::string::npos)
        return {name, 0};
    const std::uint64_t k = std::stoull(rest.substr(experts.size(), dot - experts.size()));
    const std::string which = rest.substr(dot + 1);
    const auto numel = static_cast<std::uint64_t>(shape[0] * shape[1]);
    if (which == "w1.weight")
        return {prefix + "experts.gate_up_proj", k * 2 * numel};
    if (which == "w3.weight")
        return {prefix + "experts.gate_up_proj", k * 2 * numel + numel};
    if (which == "w2.weight")
        return {prefix + "experts.down_proj", k * numel};
    return {name, 0};
}

enum class Fill { Random, Ones, Zeros };

// Norm weights are ones and biases of norms zeros, so that forward passes stay well-scaled;
// everything else is uniform in +-0.02*sqrt(3) (std 0.02, as transformers initialises).
Fill fillOf(const std::string &className, const std::string &tensorName)
{
    const bool norm = className.find("Norm") != std::string::npos;
    if (norm && tensorName == "weight")
        return Fill::Ones;
    if (norm && tensorName == "bias")
        return Fill::Zeros;
    return Fill::Random;
}

void writeTextAtomically(const std::string &path, const std::string &text)
{
    const std::string tmp = path + ".tmp-mizan";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw Error(ErrorKind::Io, tmp, "cannot open for writing");
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.flush();
        if (!out)
            throw Error(ErrorKind::Io, tmp, "write failed");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(ErrorKind::Io, path, "cannot rename the temporary file into place");
    }
}

} // namespace

nlohmann::json demoConfig(const DemoOptions &options)
{
    nlohmann::json config;
    if (!options.preset.empty())
        config = presetConfig(options.preset);
    else if (!options.config.is_null())
        config = options.config;
    else
        config = defaultConfig();
    if (!config.is_object())
        throw Error(ErrorKind::InvalidArgument, {}, "demo config must be a JSON object");
    config.erase("_mizan");
    if (options.layers < 0 || options.hidden < 0)
        throw Error(ErrorKind::InvalidArgument, {}, "layers and hidden size must be positive");
    if (options.layers > 0)
        setExisting(config, {"num_hidden_layers", "n_layer", "num_layers", "num_decoder_layers"}, options.layers);
    if (options.hidden > 0) {
        const std::int64_t oldHidden = intOf(config, {"hidden_size", "n_embd", "d_model"});
        const std::int64_t heads = intOf(config, {"num_attention_heads", "n_head", "num_heads"});
        if (oldHidden <= 0 || heads <= 0)
            throw Error(ErrorKind::InvalidArgument, {}, "the config names no hidden size / head count to override");
        std::int64_t headDim = intOf(config, {"head_dim", "d_kv"});
        if (headDim == 0)
            headDim = oldHidden / heads;
        const std::int64_t kv = intOf(config, {"num_key_value_heads", "num_kv_heads"});
        if (options.hidden < headDim)
            headDim = smallerHeadSize(options.hidden, headDim, heads, kv);
        if (options.hidden % headDim != 0)
            throw Error(ErrorKind::InvalidArgument, {},
                        "hidden size " + std::to_string(options.hidden) + " must be a multiple of the head size "
                            + std::to_string(headDim));
        const std::int64_t newHeads = options.hidden / headDim;
        setExisting(config, {"head_dim", "d_kv"}, headDim);
        setExisting(config, {"hidden_size", "n_embd", "d_model"}, options.hidden);
        setExisting(config, {"num_attention_heads", "n_head", "num_heads"}, newHeads);
        if (kv > 0) {
            std::int64_t newKv = std::max<std::int64_t>(1, kv * newHeads / heads);
            while (newHeads % newKv != 0)
                --newKv;
            setExisting(config, {"num_key_value_heads", "num_kv_heads"}, newKv);
        }
        for (const char *k : {"intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size"})
            if (config.contains(k) && config[k].is_number_integer())
                config[k] = std::max<std::int64_t>(1, config[k].get<std::int64_t>() * options.hidden / oldHidden);
        if (config.contains("word_embed_proj_dim") && config["word_embed_proj_dim"].get<std::int64_t>() == oldHidden)
            config["word_embed_proj_dim"] = options.hidden;
    }
    if (options.dtype != DType::F16 && options.dtype != DType::BF16 && options.dtype != DType::F32)
        throw Error(ErrorKind::InvalidArgument, {}, "demo dtype must be float16, bfloat16 or float32");
    config["torch_dtype"] = torchName(options.dtype);
    return config;
}

DemoResult writeDemo(const std::string &directory, const DemoOptions &options)
{
    if (options.shards < 2)
        throw Error(ErrorKind::InvalidArgument, {}, "a demo checkpoint needs at least 2 shards");
    const nlohmann::json config = demoConfig(options);
    const ModelDescription model = describeConfig(config, DescribeOptions{options.dtype, options.layout});

    std::error_code ec;
    fs::create_directories(directory, ec);
    if (!fs::is_directory(directory, ec))
        throw Error(ErrorKind::Io, directory, "cannot create the directory");

    std::vector<loader::WriteTensor> tensors;
    std::vector<bool> tieWritten;
    std::int64_t parameters = 0;
    const auto &tree = model.tree;
    for (int id : tree.preorder()) {
        const auto &mod = tree.module(id);
        for (const auto *list : {&mod.params, &mod.buffers})
            for (const auto &t : *list) {
                if (!t.persistent)
                    continue;
                if (t.tie >= 0) {
                    if (static_cast<std::size_t>(t.tie) >= tieWritten.size())
                        tieWritten.resize(static_cast<std::size_t>(t.tie) + 1, false);
                    if (tieWritten[static_cast<std::size_t>(t.tie)])
                        continue; // saved once, under the first name (as save_pretrained does)
                    tieWritten[static_cast<std::size_t>(t.tie)] = true;
                }
                loader::WriteTensor w;
                w.name = tree.tensorName(id, t);
                w.dtype = t.dtype;
                w.shape = t.shape;
                if (!t.buffer)
                    parameters += t.numel();
                if (!options.sparse) {
                    const Fill fill = fillOf(mod.className, t.name);
                    const DType dtype = t.dtype;
                    const StreamOrigin origin = streamOrigin(w.name, w.shape, options.layout);
                    auto rng = std::make_shared<Rng>(Rng{options.seed * 0x9E3779B97F4A7C15ULL ^ hashName(origin.name)});
                    rng->skip(origin.firstElement);
                    const float scale = 0.02f * std::sqrt(3.0f);
                    w.filler = [fill, dtype, rng, scale](std::int64_t, std::span<std::byte> chunk) {
                        const int size = dtype == DType::F32 ? 4 : 2;
                        for (std::size_t i = 0; i + static_cast<std::size_t>(size) <= chunk.size();
                             i += static_cast<std::size_t>(size)) {
                            const float v = fill == Fill::Ones ? 1.0f
                                            : fill == Fill::Zeros ? 0.0f
                                                                  : rng->uniform() * scale;
                            if (dtype == DType::F32) {
                                std::memcpy(chunk.data() + i, &v, 4);
                            } else {
                                const std::uint16_t h = dtype == DType::BF16 ? toBfloat16(v) : toHalf(v);
                                std::memcpy(chunk.data() + i, &h, 2);
                            }
                        }
                    };
                }
                tensors.push_back(std::move(w));
            }
    }
    for (const auto &w : tensors)
        if (!options.sparse && w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16)
            throw Error(ErrorKind::InvalidArgument, w.name,
                        std::string("demo writer cannot fill dtype ") + torchName(w.dtype));

    loader::ShardOptions shardOptions;
    shardOptions.shardCount = options.shards;
    shardOptions.write.sparse = options.sparse;
    const loader::WrittenCheckpoint written = loader::writeShardedSafetensors(directory, tensors, shardOptions);

    DemoResult r;
    r.directory = directory;
    r.configPath = (fs::path(directory) / "config.json").string();
    writeTextAtomically(r.configPath, config.dump(2) + "\n");
    r.indexPath = written.indexPath;
    r.shardCount = static_cast<int>(written.shards.size());
    r.tensorCount = static_cast<std::int64_t>(tensors.size());
    r.parameters = parameters;
    r.totalBytes = written.totalBytes;
    return r;
}

} // namespace mizan::models
