#include "describe.h"
#include "resources.h"
#include "source.h"

#include "registry_p.h"

#include "planner/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace mizan::models {

using detail::Layout;

namespace {


// A note of the description: its English text in `warnings`, the message in `notes`.
void addNote(ModelDescription &d, Note note, bool first = false)
{
    d.warnings.insert(first ? d.warnings.begin() : d.warnings.end(), planner::toEnglish(note));
    d.notes.insert(first ? d.notes.begin() : d.notes.end(), std::move(note));
}

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string dtypeText(DType d)
{
    const char *n = safetensorsName(d);
    return n ? n : torchName(d);
}

std::optional<DType> configDtype(const nlohmann::json &config)
{
    for (const char *key : {"torch_dtype", "dtype"}) {
        auto it = config.find(key);
        if (it != config.end() && it->is_string())
            if (auto d = dtypeFromTorch(it->get<std::string>()))
                return d;
    }
    return std::nullopt;
}

ModelDims dimsFromEnv(const detail::Env &env)
{
    auto get = [&](const char *name) -> std::int64_t {
        auto it = env.find(name);
        return it == env.end() ? 0 : static_cast<std::int64_t>(std::floor(it->second));
    };
    ModelDims d;
    d.hiddenSize = get("H");
    d.numLayers = get("L");
    d.numAttentionHeads = get("NH");
    d.numKeyValueHeads = get("KV");
    d.headDim = get("HD");
    d.intermediateSize = get("I");
    d.vocabSize = get("V");
    d.maxPositions = get("P");
    return d;
}

// Best-effort dims of an architecture the registry does not know, from the common config keys.
ModelDims dimsFromConfig(const nlohmann::json &config)
{
    ModelDims d;
    if (!config.is_object())
        return d;
    auto get = [&](std::initializer_list<const char *> keys) -> std::int64_t {
        for (const char *k : keys) {
            auto it = config.find(k);
            if (it != config.end() && it->is_number_integer())
                return it->get<std::int64_t>();
        }
        return 0;
    };
    d.hiddenSize = get({"hidden_size", "n_embd", "d_model"});
    d.numLayers = get({"num_hidden_layers", "n_layer", "num_layers"});
    d.numAttentionHeads = get({"num_attention_heads", "n_head", "num_heads"});
    d.numKeyValueHeads = get({"num_key_value_heads", "num_kv_heads"});
    if (d.numKeyValueHeads == 0)
        d.numKeyValueHeads = d.numAttentionHeads;
    d.headDim = get({"head_dim", "d_kv"});
    if (d.headDim == 0 && d.numAttentionHeads > 0)
        d.headDim = d.hiddenSize / d.numAttentionHeads;
    d.intermediateSize = get({"intermediate_size", "n_inner", "ffn_dim", "d_ff"});
    d.vocabSize = get({"vocab_size"});
    d.maxPositions = get({"max_position_embeddings", "n_positions"});
    return d;
}

std::string familyBasePrefix(const std::string &family)
{
    // transformers' base_model_prefix of each family: checkpoints of the bare base model (as the
    // original GPT-2 release) name tensors without it.
    static const std::map<std::string, std::string> kPrefix = {
        {"llama", "model"}, {"mistral", "model"}, {"qwen2", "model"}, {"mixtral", "model"},
        {"phi", "model"}, {"opt", "model"}, {"gpt2", "transformer"}, {"gptj", "transformer"},
        {"falcon", "transformer"}, {"bloom", "transformer"}, {"gpt_neox", "gpt_neox"},
    };
    auto it = kPrefix.find(family);
    return it == kPrefix.end() ? std::string() : it->second;
}

ModelDescription fromBuilt(const detail::Family &family, detail::Built built)
{
    ModelDescription d;
    d.tree = std::move(built.tree);
    d.architecture = std::as_const(d.tree).module(planner::ModuleTree::kRoot).className;
    d.family = family.name;
    d.fromRegistry = true;
    d.noSplitClasses = family.noSplitClasses;
    d.tiedGroups = std::move(built.tiedGroups);
    d.keepFp32Tensors = std::move(built.keepFp32Tensors);
    d.dims = dimsFromEnv(built.env);
    return d;
}

struct Signature {
    std::vector<std::string> entries; // "relative.name shape dtype" in pre-order
};

Signature signatureOf(const planner::ModuleTree &tree, int id)
{
    Signature s;
    const std::string &base = tree.module(id).name;
    for (int m : tree.preorder(id)) {
        const auto &mod = tree.module(m);
        const std::string rel = mod.name.size() > base.size() ? mod.name.substr(base.size() + 1) + "." : "";
        for (const auto *list : {&mod.params, &mod.buffers})
            for (const auto &t : *list)
                s.entries.push_back(rel + t.name + " " + shapeText(t.shape) + " " + dtypeText(t.dtype));
    }
    return s;
}

bool isIndex(const std::string &s, std::size_t expected)
{
    return s == std::to_string(expected);
}

// Offers the modules whose children are numbered 0..N-1 (N >= 2) with identical contents as
// the no-split class (the first copy may carry extra tensors, as T5's relative attention bias).
void guessBlocks(ModelDescription &d, const std::string &classPrefix)
{
    const auto &tree = std::as_const(d.tree);
    std::vector<int> containers;
    for (int id : tree.preorder()) {
        const auto &m = tree.module(id);
        if (m.children.size() < 2)
            continue;
        bool numbered = true;
        for (std::size_t k = 0; k < m.children.size() && numbered; ++k)
            numbered = isIndex(tree.module(m.children[k]).localName, k);
        if (!numbered)
            continue;
        bool inside = false;
        for (int c : containers)
            inside = inside || tree.isWithin(id, c);
        if (inside)
            continue;
        const Signature ref = signatureOf(tree, m.children.back());
        if (ref.entries.empty())
            continue;
        bool same = true;
        for (std::size_t k = 0; k < m.children.size() && same; ++k) {
            const Signature s = signatureOf(tree, m.children[k]);
            if (k == 0 && s.entries != ref.entries) {
                std::set<std::string> have(s.entries.begin(), s.entries.end());
                same = std::all_of(ref.entries.begin(), ref.entries.end(),
                                   [&](const std::string &e) { return have.count(e) > 0; });
            } else {
                same = s.entries == ref.entries;
            }
        }
        if (same)
            containers.push_back(id);
    }
    for (int c : containers) {
        const auto &m = tree.module(c);
        const std::string cls = classPrefix.empty() ? "Block(" + m.localName + ")" : classPrefix;
        for (int child : m.children)
            d.tree.setClassName(child, cls);
        if (std::find(d.noSplitClasses.begin(), d.noSplitClasses.end(), cls) == d.noSplitClasses.end())
            d.noSplitClasses.push_back(cls);
    }
    d.noSplitGuessed = true;
    if (containers.empty())
        addNote(d, {NoteId::NoRepeatedBlocks, {}});
    else
        addNote(d, {NoteId::NoSplitClassGuessed, {d.noSplitClasses.front()}});
}

ModelDescription nameDerived(const loader::Checkpoint &checkpoint, const detail::Family *family)
{
    std::vector<std::pair<std::string, planner::Tensor>> tensors;
    tensors.reserve(checkpoint.catalog.tensors.size());
    for (const auto &e : checkpoint.catalog.tensors) {
        planner::Tensor t;
        t.dtype = e.dtype;
        t.shape = e.shape;
        tensors.emplace_back(e.name, std::move(t));
    }
    ModelDescription d;
    d.tree = planner::ModuleTree::fromTensorNames(tensors);
    if (!checkpoint.configInfo.architectures.empty())
        d.architecture = checkpoint.configInfo.architectures.front();
    d.tree.setClassName(planner::ModuleTree::kRoot, d.architecture);
    d.dims = dimsFromConfig(checkpoint.config);
    std::string blockClass;
    if (family && !family->noSplitClasses.empty())
        blockClass = family->noSplitClasses.front();
    guessBlocks(d, blockClass);
    return d;
}

struct Match {
    ModelDescription model;
    std::size_t matched = 0;
    std::size_t problems() const
    {
        return model.missingTensors.size() + model.unexpectedTensors.size() + model.shapeMismatches.size();
    }
};

Match matchCheckpoint(const detail::Family &family, const loader::Checkpoint &checkpoint, Layout layout)
{
    const auto &catalog = checkpoint.catalog;
    // Expected floating dtype: the config's, else the checkpoint's most common floating dtype.
    std::optional<DType> expected = configDtype(checkpoint.config);
    if (!expected) {
        std::map<DType, std::int64_t> bytes;
        for (const auto &e : catalog.tensors)
            if (isFloating(e.dtype))
                bytes[e.dtype] += e.byteSize;
        std::int64_t best = -1;
        for (auto [d, b] : bytes)
            if (b > best) {
                best = b;
                expected = d;
            }
    }
    Match match;
    match.model = fromBuilt(family, detail::build(family, checkpoint.config, expected.value_or(DType::F32), layout));
    ModelDescription &d = match.model;

    std::unordered_map<std::string, int> byName;
    for (std::size_t i = 0; i < catalog.tensors.size(); ++i)
        byName.emplace(catalog.tensors[i].name, static_cast<int>(i));
    // A checkpoint of the bare base model names tensors without the base prefix.
    const std::string prefix = familyBasePrefix(family.name);
    bool bare = false;
    if (!prefix.empty() && !catalog.tensors.empty()) {
        bool anyPrefixed = false;
        for (const auto &e : catalog.tensors)
            anyPrefixed = anyPrefixed || e.name.rfind(prefix + ".", 0) == 0;
        if (!anyPrefixed) {
            bare = true;
            std::unordered_map<std::string, int> prefixed;
            for (const auto &[name, i] : byName)
                prefixed.emplace(prefix + "." + name, i);
            byName = std::move(prefixed);
        }
    }

    std::unordered_set<std::string> keepFp32(d.keepFp32Tensors.begin(), d.keepFp32Tensors.end());
    std::unordered_map<std::string, int> tieOf;
    for (std::size_t g = 0; g < d.tiedGroups.size(); ++g)
        for (const auto &n : d.tiedGroups[g])
            tieOf.emplace(n, static_cast<int>(g));
    std::vector<bool> groupPresent(d.tiedGroups.size(), false);
    for (std::size_t g = 0; g < d.tiedGroups.size(); ++g)
        for (const auto &n : d.tiedGroups[g])
            groupPresent[g] = groupPresent[g] || byName.count(n) > 0;

    std::vector<bool> used(catalog.tensors.size(), false);
    const planner::ModuleTree &tree = d.tree;
    for (int id : tree.preorder()) {
        const auto &mod = tree.module(id);
        const int params = static_cast<int>(mod.params.size());
        for (int slot = 0; slot < params + static_cast<int>(mod.buffers.size()); ++slot) {
            const planner::Tensor &t = tree.tensor({id, slot});
            if (!t.persistent)
                continue;
            const std::string name = d.tree.tensorName(id, t);
            auto it = byName.find(name);
            if (it == byName.end()) {
                auto tie = tieOf.find(name);
                if (tie != tieOf.end() && groupPresent[static_cast<std::size_t>(tie->second)])
                    continue; // a tied alias saved once under another name
                d.missingTensors.push_back(name);
                continue;
            }
            const auto &e = catalog.tensors[static_cast<std::size_t>(it->second)];
            used[static_cast<std::size_t>(it->second)] = true;
            ++match.matched;
            if (e.shape != t.shape)
                d.shapeMismatches.push_back(name + ": expected " + shapeText(t.shape) + ", checkpoint "
                                            + shapeText(e.shape));
            if (e.dtype != t.dtype) {
                const bool keptFp32 = keepFp32.count(name) > 0;
                if (!keptFp32)
                    d.dtypeDifferences.push_back(name + ": expected " + dtypeText(t.dtype) + ", checkpoint "
                                                 + dtypeText(e.dtype));
                // The model holds what the checkpoint stores (keep_in_fp32 tensors stay F32).
                if (!(keptFp32 && isFloating(e.dtype)))
                    d.tree.setDtype({id, slot}, e.dtype);
            }
        }
    }
    // Non-persistent buffers that older releases saved (GPT-2/GPT-J "attn.bias" / "attn.masked_bias"
    // masks, per-layer rotary "inv_freq"): transformers drops them on load
    // (_keys_to_ignore_on_load_unexpected), so they are neither unexpected nor part of the model.
    std::unordered_set<std::string> transient;
    for (int id : d.tree.preorder())
        for (const auto &b : std::as_const(d.tree).module(id).buffers)
            if (!b.persistent)
                transient.insert(d.tree.tensorName(id, b));
    std::size_t ignored = 0;
    for (std::size_t i = 0; i < catalog.tensors.size(); ++i) {
        if (used[i])
            continue;
        const std::string &name = catalog.tensors[i].name;
        const std::string full = bare ? prefix + "." + name : name;
        const bool rotary = name.size() > 9 && name.compare(name.size() - 9, 9, ".inv_freq") == 0;
        if (transient.count(full) || rotary) {
            ++ignored;
            continue;
        }
        d.unexpectedTensors.push_back(name);
    }
    if (ignored)
        addNote(d, {NoteId::IgnoredBuffers, {static_cast<std::int64_t>(ignored)}});
    if (bare)
        addNote(d, {NoteId::BareBaseModel, {prefix, d.architecture}});
    return match;
}

} // namespace

ModelDescription describeConfig(const nlohmann::json &config, std::optional<DType> dtype)
{
    return describeConfig(config, DescribeOptions{dtype, TransformersLayout::V5});
}

ModelDescription describeConfig(const nlohmann::json &config, const DescribeOptions &options)
{
    if (!config.is_object())
        throw Error(ErrorKind::InvalidConfig, {}, "config.json must hold a JSON object");
    const detail::Family *family = detail::findFamily(config);
    if (!family) {
        std::string arch = "(none)";
        if (auto it = config.find("architectures"); it != config.end() && it->is_array() && !it->empty()
            && it->front().is_string())
            arch = it->front().get<std::string>();
        else if (auto mt = config.find("model_type"); mt != config.end() && mt->is_string())
            arch = "model_type " + mt->get<std::string>();
        std::string known;
        for (const auto &a : supportedArchitectures())
            known += (known.empty() ? "" : ", ") + a;
        throw Error(ErrorKind::NotFound, {},
                    "architecture " + arch + " is not in the registry; planning from config.json alone needs one of: "
                        + known);
    }
    const DType d = options.dtype.value_or(configDtype(config).value_or(DType::F32));
    return fromBuilt(*family, detail::build(*family, config, d,
                                            options.layout == TransformersLayout::V4 ? Layout::V4 : Layout::V5));
}

namespace {

// A checkpoint's tensor names must be names PyTorch modules can have: dotted paths without an
// empty part. "" or "a..b" would name the model itself or nothing, and be counted twice.
void checkTensorNames(const loader::Checkpoint &checkpoint)
{
    for (const auto &e : checkpoint.catalog.tensors) {
        const std::string &n = e.name;
        if (!n.empty() && n.front() != '.' && n.back() != '.' && n.find("..") == std::string::npos)
            continue;
        const auto &shards = checkpoint.catalog.shards;
        const std::string file = e.shard >= 0 && static_cast<std::size_t>(e.shard) < shards.size() ? shards[e.shard].path : checkpoint.path;
        throw Error(ErrorKind::InvalidHeader, file,
                    "tensor name " + inQuotes(n) + (n.empty() ? " is empty" : " has an empty part between dots")
                        + ": no PyTorch module has such a parameter, so it cannot be placed");
    }
}

} // namespace

ModelDescription describe(const loader::Checkpoint &checkpoint)
{
    checkTensorNames(checkpoint);
    if (!checkpoint.hasWeights()) {
        if (checkpoint.config.is_null())
            throw Error(ErrorKind::InvalidConfig, checkpoint.path, "neither weights nor a config.json");
        try {
            return describeConfig(checkpoint.config);
        } catch (Error &e) {
            throw Error(e.kind(), checkpoint.configPath.value_or(checkpoint.path), e.message());
        }
    }
    const detail::Family *family = checkpoint.config.is_object() ? detail::findFamily(checkpoint.config) : nullptr;
    if (!family) {
        ModelDescription d = nameDerived(checkpoint, nullptr);
        if (checkpoint.config.is_null())
            addNote(d, {NoteId::NoConfigJson, {}}, true);
        return d;
    }
    std::optional<Match> best;
    std::string firstError;
    for (Layout layout : {Layout::V5, Layout::V4}) {
        try {
            Match m = matchCheckpoint(*family, checkpoint, layout);
            if (!best || m.problems() < best->problems())
                best = std::move(m);
        } catch (const Error &e) {
            if (firstError.empty())
                firstError = e.message();
        }
    }
    if (!best || best->matched * 2 < checkpoint.catalog.tensors.size()) {
        ModelDescription d = nameDerived(checkpoint, family);
        if (best)
            addNote(d, {NoteId::LayoutNotFollowed, {family->name, static_cast<std::int64_t>(best->matched),
                                                       static_cast<std::int64_t>(checkpoint.catalog.tensors.size())}}, true);
        else
            addNote(d, {NoteId::ConfigNotOfFamily, {family->name, firstError}}, true);
        return d;
    }
    ModelDescription d = std::move(best->model);
    if (d.tree.find("model.layers.0.block_sparse_moe") >= 0)
        addNote(d, {NoteId::MixtralV4Layout, {}});
    if (!d.missingTensors.empty())
        addNote(d, {NoteId::TensorsMissing, {static_cast<std::int64_t>(d.missingTensors.size())}});
    if (!d.unexpectedTensors.empty())
        addNote(d, {NoteId::TensorsUnexpected, {static_cast<std::int64_t>(d.unexpectedTensors.size())}});
    if (!d.shapeMismatches.empty())
        addNote(d, {NoteId::ShapesDiffer, {static_cast<std::int64_t>(d.shapeMismatches.size())}});
    return d;
}

std::vector<std::string> supportedArchitectures()
{
    std::vector<std::string> out;
    for (const auto &f : detail::families())
        out.insert(out.end(), f.architectures.begin(), f.architectures.end());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<std::string, DType>> keepFp32SpecialDtypes(const ModelDescription &model)
{
    std::vector<std::pair<std::string, DType>> out;
    out.reserve(model.keepFp32Tensors.size());
    for (const auto &name : model.keepFp32Tensors)
        out.emplace_back(name, DType::F32);
    return out;
}

planner::Headroom headroomFor(const ModelDescription &model, std::int64_t tokens, std::int64_t batchSize, DType dtype)
{
    planner::Headroom h;
    if (tokens <= 0)
        return h;
    const ModelDims &dims = model.dims;
    if (dims.hiddenSize <= 0)
        throw Error(ErrorKind::InvalidArgument, {},
                    "runtime headroom needs the model's hidden size, which this checkpoint's config does not give");
    h.tokens = tokens;
    h.batchSize = std::max<std::int64_t>(1, batchSize);
    h.hiddenSize = dims.hiddenSize;
    h.numLayers = dims.numLayers;
    h.numAttentionHeads = dims.numAttentionHeads;
    h.numKeyValueHeads = dims.numKeyValueHeads;
    h.headDim = dims.headDim;
    h.intermediateSize = dims.intermediateSize;
    h.vocabSize = dims.vocabSize;
    h.dtype = dtype;
    return h;
}

} // namespace mizan::models
