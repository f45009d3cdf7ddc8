// mizan-train-demo: trains the demo model shipped in resources/demo/fortunes-llama/, a small
// LLaMA over a byte-level vocabulary, on the fortune files of Debian's `fortunes` packages, with
// libtorch on the CPU. The forward pass is the project's own (models/torch: CausalLM::run step by
// step over a WeightSource that hands out the trainable tensors), so the model trained is exactly
// the model Mizan runs. Deterministic: the same corpus, options, libtorch and thread count give
// the same bytes. Driven by scripts/train-demo.sh; see the README's "The demo model".
#include "demotext.h"

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "models/torch/forward.h"
#include "planner/atomicfile.h"
#include "planner/error.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numbers>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace fwd = mizan::models::torchfwd;
using mizan::demo::kBeginOfText;
using mizan::demo::kEndOfText;

namespace {

const char *const kUsage =
    "usage: mizan-train-demo --out DIR [options]\n"
    "       mizan-train-demo --metadata-only --out DIR [model options]\n"
    "\n"
    "Trains a small LLaMA (byte-level vocabulary: ids 0-255 are bytes, 256 <|begin_of_text|>,\n"
    "257 <|end_of_text|>) on the fortune files of CORPUS and writes DIR/config.json,\n"
    "generation_config.json, tokenizer.json, tokenizer_config.json and model.safetensors.\n"
    "Every HELDOUT_EVERY-th fortune is held out (never trained on) and written to --heldout FILE.\n"
    "--metadata-only writes the JSON files only (no corpus, no training).\n"
    "\n"
    "  --corpus DIR          fortune files (default /usr/share/games/fortunes)\n"
    "  --heldout FILE        where to write the held-out fortunes (fortune format)\n"
    "  --heldout-every N     default 400\n"
    "  --steps N             optimizer steps (default 1500)\n"
    "  --batch N             sequences per step (default 8)\n"
    "  --context N           positions per sequence (default 256; also max_position_embeddings)\n"
    "  --lr X                peak learning rate (default 3e-3), warmup then cosine to lr/10\n"
    "  --warmup N            warmup steps (default 50)\n"
    "  --hidden N --layers N --heads N --kv-heads N --intermediate N   (default 128 4 4 2 384)\n"
    "  --dtype float16|bfloat16|float32   the stored weights (default float32)\n"
    "  --seed N              default 1234\n"
    "  --threads N           libtorch threads (default 1; the bytes written may depend on it)\n"
    "  --log-every N         default 50\n"
    "  --eval-every N        held-out evaluation every N steps (default 500; 0: at the end only)\n";

struct Options {
    std::string out;
    std::string corpus = "/usr/share/games/fortunes";
    std::string heldout;
    int heldoutEvery = 400;
    int steps = 1500;
    int batch = 8;
    int context = 256;
    double lr = 3e-3;
    int warmup = 50;
    int hidden = 128;
    int layers = 4;
    int heads = 4;
    int kvHeads = 2;
    int intermediate = 384;
    std::string dtype = "float32";
    std::uint64_t seed = 1234;
    int threads = 1;
    int logEvery = 50;
    int evalEvery = 500;
    bool metadataOnly = false;
};

[[noreturn]] void usageError(const std::string &message)
{
    std::cerr << "mizan-train-demo: " << message << "\n\n" << kUsage;
    std::exit(2);
}

Options parse(int argc, char **argv)
{
    Options o;
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc)
            usageError(std::string(argv[i]) + " needs a value");
        return argv[++i];
    };
    auto integer = [&](int &i, int low) {
        const std::string name = argv[i];
        const std::string v = value(i);
        std::size_t used = 0;
        long long n = 0;
        try {
            n = std::stoll(v, &used);
        } catch (...) {
            used = 0;
        }
        if (used != v.size() || v.empty() || n < low || n > 1'000'000'000)
            usageError(name + " needs an integer >= " + std::to_string(low) + ", got \"" + v + "\"");
        return static_cast<int>(n);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            std::exit(0);
        } else if (a == "--out") o.out = value(i);
        else if (a == "--corpus") o.corpus = value(i);
        else if (a == "--heldout") o.heldout = value(i);
        else if (a == "--heldout-every") o.heldoutEvery = integer(i, 2);
        else if (a == "--steps") o.steps = integer(i, 0);
        else if (a == "--batch") o.batch = integer(i, 1);
        else if (a == "--context") o.context = integer(i, 8);
        else if (a == "--warmup") o.warmup = integer(i, 0);
        else if (a == "--hidden") o.hidden = integer(i, 8);
        else if (a == "--layers") o.layers = integer(i, 1);
        else if (a == "--heads") o.heads = integer(i, 1);
        else if (a == "--kv-heads") o.kvHeads = integer(i, 1);
        else if (a == "--intermediate") o.intermediate = integer(i, 1);
        else if (a == "--seed") o.seed = static_cast<std::uint64_t>(integer(i, 0));
        else if (a == "--threads") o.threads = integer(i, 1);
        else if (a == "--log-every") o.logEvery = integer(i, 1);
        else if (a == "--eval-every") o.evalEvery = integer(i, 0);
        else if (a == "--metadata-only") o.metadataOnly = true;
        else if (a == "--dtype") {
            o.dtype = value(i);
            if (o.dtype != "float16" && o.dtype != "bfloat16" && o.dtype != "float32")
                usageError("--dtype takes float16, bfloat16 or float32, got \"" + o.dtype + "\"");
        } else if (a == "--lr") {
            const std::string v = value(i);
            try {
                o.lr = std::stod(v);
            } catch (...) {
                o.lr = 0;
            }
            if (!(o.lr > 0 && o.lr < 1))
                usageError("--lr needs a number between 0 and 1, got \"" + v + "\"");
        } else
            usageError("unknown argument \"" + a + "\"");
    }
    if (o.out.empty())
        usageError("--out DIR is required");
    if (o.hidden % o.heads != 0 || (o.hidden / o.heads) % 2 != 0)
        usageError("--hidden must be a multiple of --heads with an even head size");
    if (o.heads % o.kvHeads != 0)
        usageError("--kv-heads must divide --heads");
    return o;
}

// ---- the files next to the weights ------------------------------------------------------------

nlohmann::ordered_json configJson(const Options &o)
{
    return {
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"vocab_size", mizan::demo::kVocabSize},
        {"hidden_size", o.hidden},
        {"intermediate_size", o.intermediate},
        {"num_hidden_layers", o.layers},
        {"num_attention_heads", o.heads},
        {"num_key_value_heads", o.kvHeads},
        {"head_dim", o.hidden / o.heads},
        {"hidden_act", "silu"},
        {"max_position_embeddings", o.context},
        {"rms_norm_eps", 1e-5},
        {"rope_theta", 10000.0},
        {"rope_scaling", nullptr},
        {"attention_bias", false},
        {"attention_dropout", 0.0},
        {"mlp_bias", false},
        {"initializer_range", 0.02},
        {"pretraining_tp", 1},
        {"tie_word_embeddings", false},
        {"use_cache", true},
        {"bos_token_id", kBeginOfText},
        {"eos_token_id", kEndOfText},
        {"torch_dtype", o.dtype},
    };
}

nlohmann::ordered_json generationConfigJson(const Options &o)
{
    return {
        {"bos_token_id", kBeginOfText},
        {"eos_token_id", kEndOfText},
        {"do_sample", true},
        {"temperature", 0.8},
        {"top_k", 40},
        {"max_length", o.context},
    };
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the others for the
// code points 256, 257, ... in byte order. Returns the UTF-8 text of byte b's symbol.
std::string byteSymbol(int b)
{
    const auto printable = [](int c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255); };
    int cp = b;
    if (!printable(b)) {
        cp = 256;
        for (int c = 0; c < b; ++c)
            if (!printable(c))
                ++cp;
    }
    std::string s;
    if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
    } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
}

nlohmann::ordered_json addedToken(std::int64_t id, const char *content)
{
    return {{"id", id},         {"content", content}, {"single_word", false}, {"lstrip", false},
            {"rstrip", false},  {"normalized", false}, {"special", true}};
}

nlohmann::ordered_json tokenizerJson()
{
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (int b = 0; b < 256; ++b)
        vocab[byteSymbol(b)] = b;
    const nlohmann::ordered_json bos = {{"SpecialToken", {{"id", mizan::demo::kBeginOfTextToken}, {"type_id", 0}}}};
    auto sequence = [](const char *id, int typeId) { return nlohmann::ordered_json{{"Sequence", {{"id", id}, {"type_id", typeId}}}}; };
    const nlohmann::ordered_json bosPair = {{"SpecialToken", {{"id", mizan::demo::kBeginOfTextToken}, {"type_id", 1}}}};
    return {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens",
         {addedToken(kBeginOfText, mizan::demo::kBeginOfTextToken), addedToken(kEndOfText, mizan::demo::kEndOfTextToken)}},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        // As Llama 3: <|begin_of_text|> before each sequence.
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {bos, sequence("A", 0)}},
          {"pair", {bos, sequence("A", 0), bosPair, sequence("B", 1)}},
          {"special_tokens",
           {{mizan::demo::kBeginOfTextToken,
             {{"id", mizan::demo::kBeginOfTextToken}, {"ids", {kBeginOfText}}, {"tokens", {mizan::demo::kBeginOfTextToken}}}}}}}},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", false},
          {"vocab", vocab},
          {"merges", nlohmann::ordered_json::array()}}},
    };
}

nlohmann::ordered_json tokenizerConfigJson(const Options &o)
{
    nlohmann::ordered_json decoder = nlohmann::ordered_json::object();
    for (const auto &[id, content] : {std::pair{kBeginOfText, mizan::demo::kBeginOfTextToken}, {kEndOfText, mizan::demo::kEndOfTextToken}}) {
        nlohmann::ordered_json t = addedToken(id, content);
        t.erase("id");
        decoder[std::to_string(id)] = t;
    }
    return {
        {"added_tokens_decoder", decoder},
        {"bos_token", mizan::demo::kBeginOfTextToken},
        {"eos_token", mizan::demo::kEndOfTextToken},
        {"clean_up_tokenization_spaces", false},
        {"model_input_names", {"input_ids", "attention_mask"}},
        {"model_max_length", o.context},
        {"tokenizer_class", "PreTrainedTokenizerFast"},
    };
}

void writeJson(const fs::path &path, const nlohmann::ordered_json &json)
{
    mizan::writeFileAtomically(path.string(), json.dump(2) + "\n");
}

void writeMetadata(const Options &o)
{
    const fs::path dir(o.out);
    writeJson(dir / "config.json", configJson(o));
    writeJson(dir / "generation_config.json", generationConfigJson(o));
    writeJson(dir / "tokenizer.json", tokenizerJson());
    writeJson(dir / "tokenizer_config.json", tokenizerConfigJson(o));
}

// ---- the corpus -------------------------------------------------------------------------------

struct Corpus {
    std::vector<std::string> files;     // the fortune files read, in order
    std::vector<std::string> train;     // shuffled
    std::vector<std::string> heldout;   // in corpus order
    std::int64_t dropped = 0;           // fortunes with control characters (overstrike, escapes)
    std::int64_t duplicatesOfHeldout = 0;
};

// Fortune files hold text; these two hold pictures.
const std::set<std::string> kPictureFiles = {"art", "ascii-art"};

bool plainText(const std::string &fortune)
{
    for (const char c : fortune) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

Corpus readCorpus(const Options &o)
{
    Corpus corpus;
    std::vector<fs::path> paths;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(o.corpus, ec)) {
        const fs::path p = entry.path();
        // The *.u8 names are symlinks to the same files; *.dat are strfile's indexes.
        if (entry.is_symlink() || !entry.is_regular_file() || p.extension() == ".dat"
            || kPictureFiles.count(p.filename().string()))
            continue;
        paths.push_back(p);
    }
    if (ec)
        throw mizan::Error(mizan::ErrorKind::Io, o.corpus, "cannot list the corpus folder: " + ec.message());
    std::sort(paths.begin(), paths.end());
    std::vector<std::string> all;
    for (const auto &p : paths) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        if (!in && !in.eof())
            throw mizan::Error(mizan::ErrorKind::Io, p.string(), "cannot read");
        corpus.files.push_back(p.filename().string());
        for (auto &f : mizan::demo::splitFortunes(text.str())) {
            if (plainText(f))
                all.push_back(std::move(f));
            else
                ++corpus.dropped;
        }
    }
    if (all.size() < 100)
        throw mizan::Error(mizan::ErrorKind::NotFound, o.corpus,
                           "fewer than 100 fortunes found (install the fortunes package: scripts/train-demo.sh does)");
    std::set<std::string> held;
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (i % static_cast<std::size_t>(o.heldoutEvery) == static_cast<std::size_t>(o.heldoutEvery / 2)) {
            corpus.heldout.push_back(all[i]);
            held.insert(all[i]);
        } else
            rest.push_back(all[i]);
    }
    for (auto &f : rest) {
        if (held.count(f))
            ++corpus.duplicatesOfHeldout; // the same fortune in two files: never trained on either
        else
            corpus.train.push_back(std::move(f));
    }
    // Fisher-Yates with the seeded mt19937_64 (its output is fixed by the standard, unlike
    // std::shuffle's use of it).
    std::mt19937_64 rng(o.seed);
    for (std::size_t i = corpus.train.size(); i > 1; --i)
        std::swap(corpus.train[i - 1], corpus.train[static_cast<std::size_t>(rng() % i)]);
    return corpus;
}

// ---- the model's tensors ----------------------------------------------------------------------

// Hands the trainable tensors to the project's forward pass.
class ParameterSource final : public fwd::WeightSource {
public:
    explicit ParameterSource(std::map<std::string, torch::Tensor> &params) : m_params(params) {}
    torch::Tensor get(const std::string &name) override
    {
        const auto it = m_params.find(name);
        if (it == m_params.end())
            throw mizan::Error(mizan::ErrorKind::NotFound, {}, "the trainer has no tensor \"" + name + "\"");
        return it->second;
    }

private:
    std::map<std::string, torch::Tensor> &m_params;
};

// Every tensor the steps read, initialised as transformers' LlamaPreTrainedModel does
// (normal(0, initializer_range), norms 1), with the residual projections (o_proj, down_proj)
// scaled by 1/sqrt(2 * layers) as GPT-2 does, from a generator seeded with `seed`.
std::map<std::string, torch::Tensor> initialParameters(const fwd::CausalLM &model, std::uint64_t seed, int layers)
{
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::map<std::string, torch::Tensor> params;
    const double std = 0.02;
    for (const auto &step : model.steps())
        for (std::size_t i = 0; i < step.tensors.size(); ++i) {
            const std::string &name = step.tensors[i];
            const auto &shape = step.shapes[i];
            if (params.count(name))
                continue;
            torch::Tensor t;
            if (shape.size() == 1) {
                t = torch::ones(shape, torch::kFloat32);
            } else {
                const bool residual = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
                t = torch::randn(shape, generator, torch::kFloat32) * (residual ? std / std::sqrt(2.0 * layers) : std);
            }
            params[name] = t.set_requires_grad(true);
        }
    return params;
}

// ---- evaluation -------------------------------------------------------------------------------

// Bits per byte of `stream` (tokens): the stream is cut into consecutive windows of `context`
// tokens, each scored on its own (a token is predicted from the tokens before it in its window);
// the mean of -log2 p over the targets that are bytes (the special tokens are not counted).
double bitsPerByte(const fwd::CausalLM &model, fwd::WeightSource &weights, const std::vector<std::int64_t> &stream,
                   int context)
{
    torch::NoGradGuard noGrad;
    double nats = 0;
    std::int64_t bytes = 0;
    for (std::size_t start = 0; start + 1 < stream.size(); start += static_cast<std::size_t>(context)) {
        const std::size_t end = std::min(stream.size(), start + static_cast<std::size_t>(context));
        const std::vector<std::int64_t> window(stream.begin() + static_cast<std::ptrdiff_t>(start),
                                               stream.begin() + static_cast<std::ptrdiff_t>(end));
        if (window.size() < 2)
            break;
        fwd::DecodeState state = model.newState();
        const torch::Tensor ids = torch::tensor(window, torch::kInt64).unsqueeze(0);
        const torch::Tensor logits = fwd::logits(model, ids, state, weights)[0].to(torch::kFloat32);
        const torch::Tensor logProbs = torch::log_softmax(logits.slice(0, 0, -1), -1);
        const torch::Tensor targets = ids[0].slice(0, 1);
        const torch::Tensor picked = logProbs.gather(1, targets.unsqueeze(1)).squeeze(1);
        const torch::Tensor isByte = targets < mizan::demo::kByteTokens;
        nats -= picked.masked_select(isByte).sum().item<double>();
        bytes += isByte.sum().item<std::int64_t>();
    }
    return bytes ? nats / static_cast<double>(bytes) / std::numbers::ln2 : 0;
}

mizan::DType storedDtype(const std::string &name)
{
    return name == "float32" ? mizan::DType::F32 : name == "bfloat16" ? mizan::DType::BF16 : mizan::DType::F16;
}

c10::ScalarType scalarType(mizan::DType dtype)
{
    return dtype == mizan::DType::F32 ? torch::kFloat32 : dtype == mizan::DType::BF16 ? torch::kBFloat16 : torch::kFloat16;
}

void writeWeights(const Options &o, const std::map<std::string, torch::Tensor> &params)
{
    const mizan::DType dtype = storedDtype(o.dtype);
    std::vector<mizan::loader::WriteTensor> tensors;
    for (const auto &[name, value] : params) { // std::map: sorted by name, as transformers writes them
        const torch::Tensor t = value.detach().to(scalarType(dtype)).contiguous();
        mizan::loader::WriteTensor w;
        w.name = name;
        w.dtype = dtype;
        w.shape.assign(t.sizes().begin(), t.sizes().end());
        w.data.resize(static_cast<std::size_t>(t.numel() * t.element_size()));
        std::memcpy(w.data.data(), t.data_ptr(), w.data.size());
        tensors.push_back(std::move(w));
    }
    mizan::loader::writeSafetensors((fs::path(o.out) / "model.safetensors").string(), tensors);
}

double secondsSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string printable(const std::string &text)
{
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n' || c == '\t' || (u >= 0x20 && u != 0x7f))
            out.push_back(c);
        else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        }
    }
    return out;
}

int train(const Options &o)
{
    const auto t0 = std::chrono::steady_clock::now();
    torch::set_num_threads(o.threads);
    torch::manual_seed(o.seed);
    fs::create_directories(o.out);
    if (o.metadataOnly) {
        writeMetadata(o);
        return 0;
    }

    const Corpus corpus = readCorpus(o);
    const std::vector<std::int64_t> stream = mizan::demo::tokenStream(corpus.train);
    const std::vector<std::int64_t> heldoutStream = mizan::demo::tokenStream(corpus.heldout);
    std::printf("corpus: %zu files in %s, %zu fortunes trained on (%zu tokens), %zu held out (%zu bytes),"
                " %lld dropped (control characters), %lld duplicates of held-out ones left out\n",
                corpus.files.size(), o.corpus.c_str(), corpus.train.size(), stream.size(), corpus.heldout.size(),
                mizan::demo::joinFortunes(corpus.heldout).size(), static_cast<long long>(corpus.dropped),
                static_cast<long long>(corpus.duplicatesOfHeldout));
    if (!o.heldout.empty())
        mizan::writeFileAtomically(o.heldout, mizan::demo::joinFortunes(corpus.heldout));

    const nlohmann::json config = configJson(o);
    const auto model = fwd::CausalLM::fromConfig(config, (fs::path(o.out) / "config.json").string());
    std::map<std::string, torch::Tensor> params = initialParameters(*model, o.seed, o.layers);
    std::int64_t count = 0;
    std::vector<torch::Tensor> decay, noDecay;
    for (const auto &[name, t] : params) {
        count += t.numel();
        (t.dim() >= 2 ? decay : noDecay).push_back(t);
    }
    std::printf("model: llama, %d layers, hidden %d, %d heads (%d key/value), MLP %d, vocabulary %lld, %.2f M parameters\n",
                o.layers, o.hidden, o.heads, o.kvHeads, o.intermediate, static_cast<long long>(mizan::demo::kVocabSize),
                static_cast<double>(count) / 1e6);
    std::printf("training: %d steps of %d x %d tokens, AdamW lr %g (warmup %d, cosine to %g), %d threads, seed %llu\n",
                o.steps, o.batch, o.context, o.lr, o.warmup, o.lr / 10, o.threads, static_cast<unsigned long long>(o.seed));
    std::fflush(stdout);

    using torch::optim::AdamWOptions;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<AdamWOptions>(AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.1)));
    groups.emplace_back(noDecay, std::make_unique<AdamWOptions>(AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
    torch::optim::AdamW optimizer(std::move(groups), AdamWOptions(o.lr));
    std::vector<torch::Tensor> all = decay;
    all.insert(all.end(), noDecay.begin(), noDecay.end());

    ParameterSource source(params);
    std::mt19937_64 rng(o.seed + 1);
    const std::size_t span = static_cast<std::size_t>(o.context) + 1;
    if (stream.size() <= span)
        throw mizan::Error(mizan::ErrorKind::InvalidArgument, o.corpus, "the corpus is shorter than one sequence");
    std::vector<std::int64_t> batch(static_cast<std::size_t>(o.batch) * span);
    double smoothed = 0;
    const auto trainStart = std::chrono::steady_clock::now();
    for (int step = 1; step <= o.steps; ++step) {
        const double lr = step <= o.warmup
                              ? o.lr * step / std::max(1, o.warmup)
                              : o.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * (step - o.warmup)
                                                                         / std::max(1, o.steps - o.warmup))));
        for (auto &group : optimizer.param_groups())
            static_cast<AdamWOptions &>(group.options()).lr(lr);
        for (int b = 0; b < o.batch; ++b) {
            const std::size_t start = static_cast<std::size_t>(rng() % (stream.size() - span));
            std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(start), span, batch.begin() + static_cast<std::ptrdiff_t>(b * span));
        }
        const torch::Tensor tokens = torch::tensor(batch, torch::kInt64).view({o.batch, static_cast<std::int64_t>(span)});
        const torch::Tensor inputs = tokens.slice(1, 0, o.context);
        const torch::Tensor targets = tokens.slice(1, 1);

        // One prefill of the project's forward, step by step, with a fresh state per batch.
        fwd::DecodeState state = model->newState();
        torch::Tensor x = inputs;
        for (std::size_t i = 0; i < model->steps().size(); ++i)
            x = model->run(i, x, state, source);
        const torch::Tensor loss = torch::nn::functional::cross_entropy(x.reshape({-1, x.size(-1)}), targets.reshape({-1}));
        optimizer.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(all, 1.0);
        optimizer.step();

        const double value = loss.item<double>();
        smoothed = step == 1 ? value : 0.95 * smoothed + 0.05 * value;
        if (step % o.logEvery == 0 || step == 1 || step == o.steps) {
            const double elapsed = secondsSince(trainStart);
            std::printf("step %5d/%d  loss %.4f (smoothed %.4f, %.3f bits/token)  lr %.2e  %.0f tokens/s  %.0f s elapsed, %.0f s left\n",
                        step, o.steps, value, smoothed, smoothed / std::numbers::ln2, lr,
                        static_cast<double>(step) * o.batch * o.context / elapsed, elapsed,
                        elapsed / step * (o.steps - step));
            std::fflush(stdout);
        }
        if (o.evalEvery > 0 && step % o.evalEvery == 0 && step != o.steps) {
            std::printf("step %5d  held-out: %.4f bits per byte\n", step, bitsPerByte(*model, source, heldoutStream, o.context));
            std::fflush(stdout);
        }
    }
    const double trainSeconds = secondsSince(trainStart);
    const double bppTrained = bitsPerByte(*model, source, heldoutStream, o.context);

    // Only now the folder changes (each file atomically): a failed run leaves the old model whole.
    writeMetadata(o);
    writeWeights(o, params);

    // What was written, read back as Mizan reads any checkpoint.
    const mizan::loader::Checkpoint written = mizan::loader::open(o.out);
    const auto reread = fwd::CausalLM::fromCheckpoint(written);
    const auto weights = fwd::checkpointSource(written, torch::kFloat32, torch::kCPU);
    const double bppWritten = bitsPerByte(*reread, *weights, heldoutStream, o.context);
    std::printf("trained in %.0f s; held-out: %.4f bits per byte (float32 weights), %.4f bits per byte as written (%s)\n",
                trainSeconds, bppTrained, bppWritten, o.dtype.c_str());
    for (const char *prompt : {"The ", "A computer ", "Love is "}) {
        const auto ids = fwd::generate(*reread, *weights, mizan::demo::encode(prompt), 120);
        std::printf("greedy  \"%s\" -> %s\n", prompt, printable(mizan::demo::decode(ids)).c_str());
        fwd::Sampling sampling;
        sampling.temperature = 0.8f;
        sampling.topK = 40;
        sampling.seed = 1;
        const auto sampled = fwd::generate(*reread, *weights, mizan::demo::encode(prompt), 120, sampling);
        std::printf("sampled \"%s\" -> %s\n", prompt, printable(mizan::demo::decode(sampled)).c_str());
    }
    std::printf("wrote %s in %.0f s\n", o.out.c_str(), secondsSince(t0));
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    const Options options = parse(argc, argv);
    try {
        return train(options);
    } catch (const mizan::Error &e) {
        std::cerr << "mizan-train-demo: error: " << e.what() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "mizan-train-demo: error: " << e.what() << "\n";
    }
    return 1;
}
