#include "export.h"

#include "cluster.h"
#include "error.h"
#include "plandiff.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

namespace mizan::planner {

const char *toString(Engine engine)
{
    switch (engine) {
    case Engine::LlamaCpp: return "llamacpp";
    case Engine::Vllm: return "vllm";
    case Engine::MistralRs: return "mistralrs";
    }
    return "?";
}

Engine engineFromString(std::string_view text)
{
    if (text == "llamacpp" || text == "llama.cpp")
        return Engine::LlamaCpp;
    if (text == "vllm")
        return Engine::Vllm;
    if (text == "mistralrs" || text == "mistral.rs")
        return Engine::MistralRs;
    throw Error(ErrorKind::InvalidArgument, {}, "unknown engine " + inQuotes(text) + " (expected llamacpp, vllm or mistralrs)");
}

// ---- the decoder layers ----------------------------------------------------------------------------

namespace {

bool isNumber(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool hasTensors(const ModuleTree &tree, int id)
{
    for (int m : tree.preorder(id))
        if (!tree.module(m).params.empty() || !tree.module(m).buffers.empty())
            return true;
    return false;
}

// Children named "0", "1", ..., in this order.
bool numberedChildren(const ModuleTree &tree, int id)
{
    const auto &children = tree.module(id).children;
    if (children.empty())
        return false;
    for (std::size_t k = 0; k < children.size(); ++k)
        if (tree.module(children[k]).localName != std::to_string(k))
            return false;
    return true;
}

std::vector<int> stacksOf(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses, bool byClass)
{
    std::vector<int> found;
    for (int id : tree.preorder()) {
        if (!numberedChildren(tree, id))
            continue;
        const auto &children = tree.module(id).children;
        const std::string &cls = tree.module(children.front()).className;
        bool ok = true;
        for (int c : children) {
            const std::string &k = tree.module(c).className;
            if (byClass)
                ok = ok && std::find(noSplitClasses.begin(), noSplitClasses.end(), k) != noSplitClasses.end();
            else
                ok = ok && !k.empty() && k == cls && hasTensors(tree, c);
        }
        if (!ok || (!byClass && children.size() < 2))
            continue;
        // Not inside a stack found before (pre-order: an enclosing stack comes first).
        bool nested = false;
        for (int f : found)
            nested = nested || (tree.isWithin(id, f) && id != f);
        if (!nested)
            found.push_back(id);
    }
    return found;
}

} // namespace

LayerStack findLayerStack(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses)
{
    std::vector<int> stacks;
    if (!noSplitClasses.empty())
        stacks = stacksOf(tree, noSplitClasses, true);
    if (stacks.empty())
        stacks = stacksOf(tree, noSplitClasses, false);
    if (stacks.empty())
        throw Error(ErrorKind::NotFound, {},
                    "no decoder layers found: no module of the model has numbered children (layers.0, layers.1, ...) of a no-split class");
    if (stacks.size() > 1) {
        std::string names;
        for (int s : stacks)
            names += (names.empty() ? "" : ", ") + tree.module(s).name;
        throw Error(ErrorKind::InvalidArgument, {},
                    "the model has " + std::to_string(stacks.size()) + " stacks of layers (" + names +
                        "): the engines' layer options describe one stack (decoder-only models)");
    }
    LayerStack out;
    out.prefix = tree.module(stacks.front()).name;
    out.layers = tree.module(stacks.front()).children;
    return out;
}

// ---- text helpers -----------------------------------------------------------------------------------

namespace {

std::string digitClass(int lo, int hi)
{
    if (lo == hi)
        return std::to_string(lo);
    if (lo == 0 && hi == 9)
        return "[0-9]";
    if (hi == lo + 1)
        return "[" + std::to_string(lo) + std::to_string(hi) + "]";
    return "[" + std::to_string(lo) + "-" + std::to_string(hi) + "]";
}

// Same-length decimal strings lo <= hi (leading zeros allowed here): the alternatives matching
// exactly the strings between them.
std::vector<std::string> sameLengthRange(const std::string &lo, const std::string &hi)
{
    if (lo.size() == 1)
        return {digitClass(lo[0] - '0', hi[0] - '0')};
    const std::string loRest = lo.substr(1), hiRest = hi.substr(1);
    if (lo[0] == hi[0]) {
        std::vector<std::string> out;
        for (const auto &r : sameLengthRange(loRest, hiRest))
            out.push_back(std::string(1, lo[0]) + (r.find('|') == std::string::npos ? r : "(" + r + ")"));
        return out;
    }
    const bool loZeros = loRest.find_first_not_of('0') == std::string::npos;
    const bool hiNines = hiRest.find_first_not_of('9') == std::string::npos;
    std::string anyDigits;
    for (std::size_t k = 0; k < loRest.size(); ++k)
        anyDigits += "[0-9]";
    std::vector<std::string> out;
    if (!loZeros)
        for (const auto &r : sameLengthRange(loRest, std::string(loRest.size(), '9')))
            out.push_back(std::string(1, lo[0]) + r);
    const int first = lo[0] - '0' + (loZeros ? 0 : 1), last = hi[0] - '0' - (hiNines ? 0 : 1);
    if (first <= last)
        out.push_back(digitClass(first, last) + anyDigits);
    if (!hiNines)
        for (const auto &r : sameLengthRange(std::string(hiRest.size(), '0'), hiRest))
            out.push_back(std::string(1, hi[0]) + r);
    return out;
}

std::vector<std::string> rangeAlternatives(int lo, int hi)
{
    std::vector<std::string> out;
    while (lo <= hi) {
        const std::string l = std::to_string(lo);
        int top = 9;
        for (std::size_t k = 1; k < l.size(); ++k)
            top = top * 10 + 9;
        const int end = std::min(hi, top);
        for (auto &r : sameLengthRange(l, std::to_string(end)))
            out.push_back(std::move(r));
        if (end == hi)
            break;
        lo = end + 1;
    }
    return out;
}

// [[lo, hi], ...] of sorted, distinct numbers.
std::vector<std::pair<int, int>> runsOf(std::vector<int> numbers)
{
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    std::vector<std::pair<int, int>> runs;
    for (int n : numbers) {
        if (!runs.empty() && runs.back().second + 1 == n)
            runs.back().second = n;
        else
            runs.emplace_back(n, n);
    }
    return runs;
}

// "layer 3", "layers 0-31", "layers 0-3, 7".
std::string layersText(const std::vector<int> &layers)
{
    const auto runs = runsOf(layers);
    std::string text;
    for (const auto &[lo, hi] : runs)
        text += (text.empty() ? "" : ", ") + (lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi));
    return (layers.size() == 1 ? "layer " : "layers ") + text;
}

std::string regexEscape(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos)
            out += '\\';
        out += c;
    }
    return out;
}

std::string joined(const std::vector<std::string> &items, const std::string &sep)
{
    std::string out;
    for (const auto &i : items)
        out += (out.empty() ? "" : sep) + i;
    return out;
}

} // namespace

std::string integerSetRegex(std::vector<int> numbers)
{
    std::vector<std::string> parts;
    for (const auto &[lo, hi] : runsOf(std::move(numbers)))
        for (auto &r : rangeAlternatives(lo, hi))
            parts.push_back(std::move(r));
    return joined(parts, "|");
}

std::string shellQuote(std::string_view arg)
{
    if (!arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
        }))
        return std::string(arg);
    std::string out = "'";
    for (char c : arg)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string EngineExport::commandLine() const
{
    std::vector<std::string> words;
    for (const auto &[name, value] : env)
        words.push_back(name + "=" + shellQuote(value));
    for (const auto &w : program)
        words.push_back(shellQuote(w));
    for (const auto &a : args)
        words.push_back(shellQuote(a));
    return joined(words, " ");
}

nlohmann::ordered_json exportToJson(const EngineExport &result)
{
    using json = nlohmann::ordered_json;
    json j;
    j["engine"] = toString(result.engine);
    j["command"] = result.commandLine();
    j["program"] = result.program;
    j["args"] = result.args;
    j["env"] = json::object();
    for (const auto &[name, value] : result.env)
        j["env"][name] = value;
    j["files"] = json::object();
    for (const auto &[name, contents] : result.files)
        j["files"][name] = contents;
    j["notes"] = json::array();
    for (const auto &n : result.notes)
        j["notes"].push_back({{"kind", n.kind}, {"message", n.message}});
    j["layers"] = {{"prefix", result.layerPrefix}, {"count", result.layerCount}};
    return j;
}

std::vector<int> llamaCppLayerDevices(int layers, int nGpuLayers, const std::vector<float> &tensorSplit, int mainGpu)
{
    std::vector<int> out(static_cast<std::size_t>(layers) + 1, -1);
    if (nGpuLayers <= 0 || (mainGpu < 0 && tensorSplit.empty()))
        return out;
    // llama_model::load_tensors(): units 0..n_layer-1 are the repeating layers, n_layer the output.
    const int iGpuStart = std::max(layers + 1 - nGpuLayers, 0);
    const int actGpuLayers = std::min(nGpuLayers, layers + 1);
    std::vector<float> splits(tensorSplit.size());
    float sum = 0.0f;
    for (std::size_t i = 0; i < splits.size(); ++i) {
        sum += tensorSplit[i];
        splits[i] = sum;
    }
    for (auto &s : splits)
        s /= sum;
    for (int il = 0; il <= layers; ++il) {
        if (il < iGpuStart || il - iGpuStart >= actGpuLayers)
            continue;
        if (mainGpu >= 0) {
            out[static_cast<std::size_t>(il)] = mainGpu;
            continue;
        }
        const float x = static_cast<float>(il - iGpuStart) / static_cast<float>(actGpuLayers);
        const auto at = std::upper_bound(splits.begin(), splits.end(), x) - splits.begin();
        out[static_cast<std::size_t>(il)] = static_cast<int>(std::min<std::ptrdiff_t>(at, static_cast<std::ptrdiff_t>(splits.size()) - 1));
    }
    return out;
}

// ---- the map seen as layers ---------------------------------------------------------------------------

namespace {

enum class Role { Input, Layer, Output };

// One tensor of the model with what the engines need of it.
struct Placed {
    Role role = Role::Input;
    int layer = -1;        // Role::Layer: its index
    std::string name;      // full tensor name
    std::string module;    // in a layer: module name relative to the layer ("" = the layer itself); else the full module name
    std::string local;     // the tensor's local name
    std::string gguf;      // llama.cpp's tensor name without ".weight"/".bias" (a regex part); "" unknown
    Device device;
    double bytes = 0;
    int tie = -1;
};

struct MapView {
    LayerStack stack;
    std::vector<Placed> tensors;
    double diskBytes = 0;
    double mpsBytes = 0;
    std::vector<std::string> diskModules; // map keys on disk
};

// llama.cpp's tensor names (gguf-py tensor_mapping.py) of the Hugging Face names the registry's
// families use. In a layer: the module (or tensor) path relative to the layer, numbered
// components written "#".
struct NameRule {
    const char *hf;
    const char *gguf;
};
const NameRule kLayerNames[] = {
    {"input_layernorm", "attn_norm"},
    {"ln_1", "attn_norm"},
    {"ln_mlp", "attn_norm"},
    {"ln_attn", "attn_norm_2"},
    {"post_attention_layernorm", "ffn_norm"},
    {"ln_2", "ffn_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.dense", "attn_output"},
    {"attn.q_proj", "attn_q"},
    {"attn.k_proj", "attn_k"},
    {"attn.v_proj", "attn_v"},
    {"attn.out_proj", "attn_output"},
    {"attn.c_attn", "attn_qkv"},
    {"attn.c_proj", "attn_output"},
    {"self_attention.query_key_value", "attn_qkv"},
    {"self_attention.dense", "attn_output"},
    {"attention.query_key_value", "attn_qkv"},
    {"attention.dense", "attn_output"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
    {"mlp.c_fc", "ffn_up"},
    {"mlp.c_proj", "ffn_down"},
    {"mlp.fc_in", "ffn_up"},
    {"mlp.fc_out", "ffn_down"},
    {"mlp.fc1", "ffn_up"},
    {"mlp.fc2", "ffn_down"},
    {"mlp.dense_h_to_4h", "ffn_up"},
    {"mlp.dense_4h_to_h", "ffn_down"},
    {"mlp.gate", "ffn_gate_inp"},
    {"mlp.experts.gate_up_proj", "ffn_(gate_up|gate|up)_exps"},
    {"mlp.experts.down_proj", "ffn_down_exps"},
    {"block_sparse_moe.gate", "ffn_gate_inp"},
    {"block_sparse_moe.experts.#.w1", "ffn_gate_exps"},
    {"block_sparse_moe.experts.#.w2", "ffn_down_exps"},
    {"block_sparse_moe.experts.#.w3", "ffn_up_exps"},
};
struct GlobalRule {
    const char *hf;
    const char *gguf;
    Role role;
};
const GlobalRule kGlobalNames[] = {
    {"model.embed_tokens", "token_embd", Role::Input},
    {"transformer.wte", "token_embd", Role::Input},
    {"transformer.word_embeddings", "token_embd", Role::Input},
    {"gpt_neox.embed_in", "token_embd", Role::Input},
    {"model.decoder.embed_tokens", "token_embd", Role::Input},
    {"model.decoder.embed_positions", "position_embd", Role::Input},
    {"transformer.wpe", "position_embd", Role::Input},
    {"transformer.word_embeddings_layernorm", "token_embd_norm", Role::Input},
    {"lm_head", "output", Role::Output},
    {"embed_out", "output", Role::Output},
    {"model.norm", "output_norm", Role::Output},
    {"transformer.ln_f", "output_norm", Role::Output},
    {"gpt_neox.final_layer_norm", "output_norm", Role::Output},
    {"model.final_layernorm", "output_norm", Role::Output},
    {"model.decoder.final_layer_norm", "output_norm", Role::Output},
};

std::string numbersAsHash(std::string_view path)
{
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto dot = path.find('.', start);
        const std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        out += (out.empty() && start == 0 ? "" : ".") + (isNumber(part) ? std::string("#") : std::string(part));
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return out;
}

std::string layerGguf(const std::string &module, const std::string &local)
{
    const std::string tensorPath = numbersAsHash(module.empty() ? local : module + "." + local);
    const std::string modulePath = numbersAsHash(module);
    for (const auto &r : kLayerNames)
        if (tensorPath == r.hf)
            return r.gguf;
    for (const auto &r : kLayerNames)
        if (modulePath == r.hf)
            return r.gguf;
    return {};
}

MapView viewOf(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options)
{
    MapView view;
    view.stack = findLayerStack(tree, options.noSplitClasses);
    const auto devices = tensorDevices(tree, map);
    const auto bytes = tensorBytes(tree, options);
    const auto order = tree.preorder();
    std::vector<int> layerOf(static_cast<std::size_t>(tree.size()), -1);
    for (std::size_t i = 0; i < view.stack.layers.size(); ++i)
        for (int id : tree.preorder(view.stack.layers[i]))
            layerOf[static_cast<std::size_t>(id)] = static_cast<int>(i);
    bool seenLayer = false;
    for (int id : order) {
        const Module &m = tree.module(id);
        const int layer = layerOf[static_cast<std::size_t>(id)];
        seenLayer = seenLayer || layer >= 0;
        for (std::size_t slot = 0; slot < m.params.size() + m.buffers.size(); ++slot) {
            const Tensor &t = slot < m.params.size() ? m.params[slot] : m.buffers[slot - m.params.size()];
            if (t.buffer && !t.persistent)
                continue; // made by the model at load time: in no checkpoint, in no GGUF
            const auto &device = devices[static_cast<std::size_t>(id)][slot];
            const std::string name = tree.tensorName(id, t);
            if (!device)
                throw Error(ErrorKind::InvalidDeviceMap, {}, "the map gives no device to " + inQuotes(name));
            Placed p;
            p.name = name;
            p.local = t.name;
            p.device = *device;
            p.bytes = bytes[static_cast<std::size_t>(id)][slot];
            p.tie = t.tie;
            if (layer >= 0) {
                p.role = Role::Layer;
                p.layer = layer;
                const std::string &layerName = tree.module(view.stack.layers[static_cast<std::size_t>(layer)]).name;
                p.module = m.name.size() > layerName.size() ? m.name.substr(layerName.size() + 1) : std::string();
                p.gguf = layerGguf(p.module, t.name);
            } else {
                p.module = m.name;
                p.role = seenLayer ? Role::Output : Role::Input;
                for (const auto &r : kGlobalNames)
                    if (m.name == r.hf) {
                        p.gguf = r.gguf;
                        p.role = r.role;
                    }
            }
            if (p.device.kind == DeviceKind::Disk)
                view.diskBytes += p.bytes;
            if (p.device.kind == DeviceKind::Mps)
                view.mpsBytes += p.bytes;
            view.tensors.push_back(std::move(p));
        }
    }
    for (const auto &[key, device] : map)
        if (device.kind == DeviceKind::Disk)
            view.diskModules.push_back(key);
    // A tied output (GPT-2's lm_head = wte): llama.cpp loads token_embd a second time for the output.
    std::set<int> inputTies;
    for (const auto &p : view.tensors)
        if (p.role == Role::Input && p.tie >= 0)
            inputTies.insert(p.tie);
    for (auto &p : view.tensors)
        if (p.role == Role::Output && p.tie >= 0 && inputTies.count(p.tie))
            p.gguf = "token_embd";
    return view;
}

// The device holding most of `weights`' bytes (most tensors when none has bytes; the first in
// Accelerate's order on a tie).
struct Tally {
    std::map<Device, std::pair<double, int>> byDevice;
    void add(const Device &d, double bytes)
    {
        auto &e = byDevice[d];
        e.first += bytes;
        e.second += 1;
    }
    bool empty() const { return byDevice.empty(); }
    bool spread() const { return byDevice.size() > 1; }
    Device main() const
    {
        const std::pair<double, int> *best = nullptr;
        Device out = Device::cpu();
        for (const auto &[d, w] : byDevice)
            if (!best || w.first > best->first || (w.first == best->first && best->first == 0 && w.second > best->second)) {
                best = &w;
                out = d;
            }
        return out;
    }
    double bytesOn(const Device &d) const
    {
        auto it = byDevice.find(d);
        return it == byDevice.end() ? 0 : it->second.first;
    }
};

// The parts of one layer (or of the input/output) on each device, named by the shortest module
// paths whose tensors all share a device: "self_attn, mlp.gate on GPU 0; mlp.experts on CPU".
std::string partsText(const std::vector<const Placed *> &tensors, Device (*deviceOf)(const Device &))
{
    auto parts = [](const std::string &path) {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (true) {
            const auto dot = path.find('.', start);
            out.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos)
                break;
            start = dot + 1;
        }
        return out;
    };
    std::vector<std::pair<Device, std::vector<std::string>>> byDevice;
    for (const Placed *t : tensors) {
        const std::string full = t->module.empty() ? t->local : t->module + "." + t->local;
        const auto comps = parts(full);
        std::string label;
        for (std::size_t depth = 1; depth <= comps.size(); ++depth) {
            std::vector<std::string> prefix(comps.begin(), comps.begin() + static_cast<std::ptrdiff_t>(depth));
            label = joined(prefix, ".");
            bool uniform = true;
            for (const Placed *o : tensors) {
                const std::string ofull = o->module.empty() ? o->local : o->module + "." + o->local;
                if ((ofull == label || ofull.rfind(label + ".", 0) == 0) && deviceOf(o->device) != deviceOf(t->device))
                    uniform = false;
            }
            if (uniform)
                break;
        }
        const Device d = deviceOf(t->device);
        auto it = std::find_if(byDevice.begin(), byDevice.end(), [&](const auto &e) { return e.first == d; });
        if (it == byDevice.end()) {
            byDevice.push_back({d, {}});
            it = byDevice.end() - 1;
        }
        if (std::find(it->second.begin(), it->second.end(), label) == it->second.end())
            it->second.push_back(label);
    }
    std::string text;
    for (const auto &[d, labels] : byDevice)
        text += (text.empty() ? "" : "; ") + joined(labels, ", ") + " on " + d.label();
    return text;
}

Device asIs(const Device &d) { return d; }
Device diskAsCpu(const Device &d) { return d.kind == DeviceKind::Disk ? Device::cpu() : d; }

// Notes gathered per layer and given once for all layers saying the same.
class LayerNotes {
public:
    void add(const std::string &kind, const std::string &text, int layer) { m_items[{kind, text}].push_back(layer); }
    // "layers 0-31: <text>", by first layer.
    void flush(std::vector<ExportNote> &notes)
    {
        std::vector<std::pair<int, std::pair<std::string, std::string>>> ordered;
        for (const auto &[key, layers] : m_items)
            ordered.push_back({*std::min_element(layers.begin(), layers.end()), key});
        std::sort(ordered.begin(), ordered.end());
        for (const auto &[first, key] : ordered)
            notes.push_back({key.first, layersText(m_items[key]) + ": " + key.second});
        m_items.clear();
    }

private:
    std::map<std::pair<std::string, std::string>, std::vector<int>> m_items;
};

std::string gib(double bytes)
{
    return formatBytes(bytes);
}

void noteDisk(const MapView &view, std::vector<ExportNote> &notes, const std::string &how)
{
    if (view.diskModules.empty() && view.diskBytes == 0)
        return;
    std::string keys;
    const std::size_t shown = std::min<std::size_t>(view.diskModules.size(), 3);
    for (std::size_t k = 0; k < shown; ++k)
        keys += (k ? ", " : "") + view.diskModules[k];
    if (view.diskModules.size() > shown)
        keys += ", ... (" + std::to_string(view.diskModules.size()) + " entries)";
    notes.push_back({"disk-as-cpu", "the map offloads " + gib(view.diskBytes) + " to disk (" + keys + "): " + how});
}

// ---- llama.cpp ------------------------------------------------------------------------------------------

Device llamaDevice(const Device &d)
{
    return d.isGpu() ? d : Device::cpu();
}

std::string bufferName(const Device &d)
{
    return d.isGpu() ? "CUDA" + std::to_string(d.index) : "CPU";
}

// One -ot entry: tensors of `layers` (or of the output layer) matching `names` (all of the
// layer's when whole) go to `target`.
struct Override {
    bool output = false;
    bool whole = false;
    std::vector<std::string> names; // GGUF names (regex parts), sorted
    Device target;
    std::vector<int> layers;
};

std::string overridePattern(const Override &o)
{
    const std::string names = o.names.size() == 1 ? o.names.front() : "(" + joined(o.names, "|") + ")";
    if (o.output)
        return "^" + names + "\\.";
    const std::string layers = integerSetRegex(o.layers);
    const std::string prefix = "^blk\\." + (layers.find('|') == std::string::npos ? layers : "(" + layers + ")") + "\\.";
    return o.whole ? prefix : prefix + names + "\\.";
}

EngineExport exportLlamaCpp(const MapView &view)
{
    EngineExport out;
    out.engine = Engine::LlamaCpp;
    out.program = {"llama-server", "-m", "MODEL.gguf"};
    const int n = static_cast<int>(view.stack.layers.size());
    LayerNotes layerNotes;

    // Units 0..n-1: the layers; n: the output layer. Per unit, per llama.cpp tensor: where the map puts it.
    struct Group {
        std::string key;   // GGUF name, or "?" + module for a tensor without one
        std::string gguf;
        std::vector<std::string> modules;
        Tally tally;
    };
    std::vector<std::vector<Group>> units(static_cast<std::size_t>(n) + 1);
    std::vector<std::vector<const Placed *>> unitTensors(static_cast<std::size_t>(n) + 1);
    std::vector<const Placed *> inputOnGpu;
    double inputGpuBytes = 0;
    for (const auto &p : view.tensors) {
        if (p.role == Role::Input) {
            if (p.device.isGpu()) {
                inputOnGpu.push_back(&p);
                inputGpuBytes += p.bytes;
            }
            continue;
        }
        const int u = p.role == Role::Layer ? p.layer : n;
        auto &groups = units[static_cast<std::size_t>(u)];
        const std::string key = p.gguf.empty() ? "?" + (p.module.empty() ? p.local : p.module) : p.gguf;
        auto it = std::find_if(groups.begin(), groups.end(), [&](const Group &g) { return g.key == key; });
        if (it == groups.end()) {
            groups.push_back({key, p.gguf, {}, {}});
            it = groups.end() - 1;
        }
        const std::string label = p.module.empty() ? p.local : p.module;
        if (std::find(it->modules.begin(), it->modules.end(), label) == it->modules.end())
            it->modules.push_back(label);
        it->tally.add(llamaDevice(p.device), p.bytes);
        unitTensors[static_cast<std::size_t>(u)].push_back(&p);
    }

    // Where each GGUF tensor goes (llama.cpp cannot split one), and the GPU of each unit.
    std::vector<std::vector<Device>> chosen(units.size());
    std::vector<std::optional<int>> unitGpu(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) {
        Tally gpus;
        for (auto &g : units[u]) {
            const Device d = g.tally.main();
            chosen[u].push_back(d);
            if (d.isGpu())
                gpus.add(d, g.tally.bytesOn(d));
            if (g.tally.spread() && !g.gguf.empty()) {
                std::string parts;
                for (const auto &[dev, w] : g.tally.byDevice)
                    parts += (parts.empty() ? "" : ", ") + formatBytes(w.first) + " on " + dev.label();
                const std::string text = "the map splits what GGUF stores as one tensor, " + g.gguf + " (" + joined(g.modules, ", ") +
                                         ": " + parts + "); it goes to " + d.label() + ", where most of it is";
                if (u == static_cast<std::size_t>(n))
                    out.notes.push_back({"merged-tensor", "output layer: " + text});
                else
                    layerNotes.add("merged-tensor", text, static_cast<int>(u));
            }
        }
        if (!gpus.empty())
            unitGpu[u] = gpus.main().index;
    }

    // -ngl: every unit from the first one with a GPU part; --tensor-split: each GPU's count, in order.
    int start = -1;
    for (int u = 0; u <= n; ++u)
        if (unitGpu[static_cast<std::size_t>(u)]) {
            start = u;
            break;
        }
    std::vector<int> layerDevice(units.size(), -1); // what -ngl/-ts make of each unit
    std::vector<float> split;
    int mainGpu = -1;
    int ngl = 0;
    std::set<int> gpusUsed; // by the layers and the output layer (llama.cpp keeps the input on the CPU)
    for (const auto &p : view.tensors)
        if (p.device.isGpu() && p.role != Role::Input)
            gpusUsed.insert(p.device.index);
    if (start >= 0) {
        ngl = n + 1 - start;
        for (int u = start; u <= n; ++u) {
            const auto i = static_cast<std::size_t>(u);
            int d = unitGpu[i] ? *unitGpu[i] : layerDevice[i - 1];
            if (u > start)
                d = std::max(d, layerDevice[i - 1]); // --tensor-split gives GPUs consecutive units, in order
            layerDevice[i] = d;
        }
        if (gpusUsed.size() == 1) {
            mainGpu = *gpusUsed.begin();
        } else {
            split.assign(static_cast<std::size_t>(*std::max_element(layerDevice.begin(), layerDevice.end())) + 1, 0.0f);
            for (int u = start; u <= n; ++u)
                split[static_cast<std::size_t>(layerDevice[static_cast<std::size_t>(u)])] += 1.0f;
        }
    }
    out.args = {"-ngl", std::to_string(ngl)};
    if (mainGpu >= 0) {
        out.args.insert(out.args.end(), {"-sm", "none"});
        if (mainGpu != 0)
            out.args.insert(out.args.end(), {"-mg", std::to_string(mainGpu)});
    } else if (!split.empty()) {
        std::string ts;
        for (float s : split)
            ts += (ts.empty() ? "" : ",") + std::to_string(static_cast<int>(s));
        out.args.insert(out.args.end(), {"-ts", ts});
    }

    // What llama.cpp does with these options (its own arithmetic), then overrides where the map differs.
    const std::vector<int> engine = llamaCppLayerDevices(n, ngl, split, mainGpu);
    for (std::size_t u = 0; u < units.size(); ++u)
        if (engine[u] != layerDevice[u])
            out.notes.push_back({"tensor-split-rounding", "llama.cpp's arithmetic puts " +
                                                              (u == static_cast<std::size_t>(n) ? std::string("the output layer")
                                                                                                : "layer " + std::to_string(u)) +
                                                              " on another device than intended"});
    std::vector<Override> overrides;
    auto addOverride = [&](Override o, int unit) {
        for (auto &e : overrides)
            if (e.output == o.output && e.whole == o.whole && e.names == o.names && e.target == o.target) {
                e.layers.push_back(unit);
                return;
            }
        o.layers = {unit};
        overrides.push_back(std::move(o));
    };
    std::vector<std::string> unnamed;
    for (std::size_t u = 0; u < units.size(); ++u) {
        const bool output = u == static_cast<std::size_t>(n);
        const Device expected = engine[u] >= 0 ? Device::gpu(engine[u]) : Device::cpu();
        const auto &groups = units[u];
        if (groups.empty())
            continue;
        bool uniform = true;
        for (const auto &d : chosen[u])
            uniform = uniform && d == chosen[u].front();
        if (uniform && chosen[u].front() == expected)
            continue;
        if (uniform && !output) {
            addOverride({false, true, {}, chosen[u].front(), {}}, static_cast<int>(u));
            continue;
        }
        std::vector<std::string> names;
        std::map<Device, std::vector<std::string>> partial;
        for (std::size_t k = 0; k < groups.size(); ++k) {
            if (chosen[u][k] == expected && !uniform)
                continue;
            if (groups[k].gguf.empty()) {
                unnamed.push_back(joined(groups[k].modules, ", ") + (output ? " (output)" : " (layer " + std::to_string(u) + ")") +
                                  " on " + chosen[u][k].label());
                continue;
            }
            if (uniform)
                names.push_back(groups[k].gguf);
            else
                partial[chosen[u][k]].push_back(groups[k].gguf);
        }
        if (uniform && !names.empty()) {
            std::sort(names.begin(), names.end());
            names.erase(std::unique(names.begin(), names.end()), names.end());
            addOverride({true, false, names, chosen[u].front(), {}}, static_cast<int>(u));
        }
        for (auto &[target, list] : partial) {
            std::sort(list.begin(), list.end());
            list.erase(std::unique(list.begin(), list.end()), list.end());
            addOverride({output, false, list, target, {}}, static_cast<int>(u));
        }
        if (!uniform) {
            const std::string text = "split inside the layer (" + partsText(unitTensors[u], llamaDevice) + ")";
            if (output)
                out.notes.push_back({"split-layer", "output layer: " + text});
            else
                layerNotes.add("split-layer", text, static_cast<int>(u));
        }
    }

    // --n-cpu-moe N / --cpu-moe: the experts of layers 0..N-1 on the CPU, nothing else of them moved.
    std::string moeArg;
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
        if (it->output || it->whole || it->target != Device::cpu())
            continue;
        bool experts = std::all_of(it->names.begin(), it->names.end(), [](const std::string &s) { return s.find("_exps") != std::string::npos; });
        auto layers = it->layers;
        std::sort(layers.begin(), layers.end());
        bool prefix = experts && layers.front() == 0 && layers.back() == static_cast<int>(layers.size()) - 1;
        for (int l : layers) {
            if (!prefix)
                break;
            std::vector<std::string> all; // every expert tensor of the layer
            for (const auto &g : units[static_cast<std::size_t>(l)])
                if (g.gguf.find("_exps") != std::string::npos)
                    all.push_back(g.gguf);
            std::sort(all.begin(), all.end());
            all.erase(std::unique(all.begin(), all.end()), all.end());
            prefix = all == it->names;
        }
        if (!prefix)
            continue;
        const int count = static_cast<int>(layers.size());
        moeArg = count == n ? "--cpu-moe" : "--n-cpu-moe";
        if (count == n)
            out.args.push_back("--cpu-moe");
        else
            out.args.insert(out.args.end(), {"--n-cpu-moe", std::to_string(count)});
        overrides.erase(it);
        break;
    }
    std::stable_sort(overrides.begin(), overrides.end(), [](const Override &a, const Override &b) {
        if (a.target != b.target)
            return a.target.kind == DeviceKind::Cpu ? true : b.target.kind == DeviceKind::Cpu ? false : a.target < b.target;
        return *std::min_element(a.layers.begin(), a.layers.end()) < *std::min_element(b.layers.begin(), b.layers.end());
    });
    bool wholeLayersMoved = false, inputMoved = false, toGpu = false;
    for (const auto &o : overrides) {
        toGpu = toGpu || o.target.isGpu();
        out.args.insert(out.args.end(), {"-ot", overridePattern(o) + "=" + bufferName(o.target)});
        wholeLayersMoved = wholeLayersMoved || o.whole;
        inputMoved = inputMoved || (o.target.isGpu() && std::find(o.names.begin(), o.names.end(), "token_embd") != o.names.end());
    }

    // Notes, from the most to the least consequential.
    if (!inputOnGpu.empty()) {
        std::vector<std::string> modules;
        for (const Placed *p : inputOnGpu)
            if (std::find(modules.begin(), modules.end(), p->module) == modules.end())
                modules.push_back(p->module);
        out.notes.push_back({"input-on-cpu", "the map puts the input embeddings (" + joined(modules, ", ") + ", " + gib(inputGpuBytes) + ") on " +
                                                 inputOnGpu.front()->device.label() +
                                                 "; llama.cpp always keeps its input layer (token_embd) on the CPU, where only the rows "
                                                 "of the prompt's tokens are read"});
    }
    if (view.mpsBytes > 0)
        out.notes.push_back({"mps", "the map puts " + gib(view.mpsBytes) + " on MPS; these options name CUDA devices: exported as CPU"});
    if (inputMoved)
        out.notes.push_back({"tied-output", "the head shares its weights with the input embeddings (GGUF has no output tensor): the "
                                            "token_embd override moves the input layer's copy to the GPU too"});
    noteDisk(view, out.notes,
             "llama.cpp memory-maps the GGUF file, so weights it keeps on the CPU are read from disk by the page cache as they are "
             "used: exported as CPU (do not add --mlock or --no-mmap)");
    if (wholeLayersMoved)
        out.notes.push_back({"layer-order", "-ngl and -ts place layers in llama.cpp's order (the last ones on the GPUs, consecutive "
                                            "ones per GPU); --override-tensor moves the weights of the layers the map puts elsewhere, "
                                            "while their KV cache stays where -ngl and -ts put the layer (--no-kv-offload keeps every "
                                            "KV cache on the CPU)"});
    layerNotes.flush(out.notes);
    if (!moeArg.empty())
        out.notes.push_back({"experts-on-cpu", moeArg + " keeps the experts (ffn_*_exps) of those layers on the CPU, as the map does"});
    for (const auto &u : unnamed)
        out.notes.push_back({"no-gguf-name", "no llama.cpp tensor name is known for " + u +
                                                 ": that placement is not exported (it stays with its layer)"});
    if (ngl > 0 && ngl <= n)
        out.notes.push_back({"ngl-semantics", "-ngl " + std::to_string(ngl) +
                                                  " counts the output layer as the first one offloaded, as llama.cpp does since "
                                                  "December 2025 (pull request 18148); older builds offload the output layer only when "
                                                  "-ngl is above the number of layers (" + std::to_string(n) + ")"});
    if (!split.empty())
        out.notes.push_back({"device-order", "-ts gives layers to llama.cpp's devices in their order (CUDA0, CUDA1, ...: see "
                                             "llama-server --list-devices), counting the output layer on the last one"});
    if (toGpu)
        out.notes.push_back({"buffer-names", "-ot names CUDA buffers (CUDA0, CUDA1, ...); with another backend use the names "
                                             "llama-server --list-devices prints (ROCm0, Vulkan0, ...)"});
    if (ngl > 0)
        out.notes.push_back({"fit", "llama.cpp's --fit (on by default) leaves the given -ngl, -ts and -ot as they are; it may still "
                                    "shrink the context size when -c is not given"});
    return out;
}

// ---- vLLM -----------------------------------------------------------------------------------------------

EngineExport exportVllm(const MapView &view)
{
    EngineExport out;
    out.engine = Engine::Vllm;
    out.program = {"vllm", "serve", "MODEL"};
    const int n = static_cast<int>(view.stack.layers.size());
    LayerNotes layerNotes;

    std::vector<Tally> layerGpus(static_cast<std::size_t>(n)), layerAll(static_cast<std::size_t>(n));
    std::vector<std::vector<const Placed *>> layerTensors(static_cast<std::size_t>(n));
    std::vector<double> layerOffloaded(static_cast<std::size_t>(n), 0.0);
    Tally input, output;
    bool anyGpu = false;
    for (const auto &p : view.tensors) {
        anyGpu = anyGpu || p.device.isGpu();
        if (p.role == Role::Layer) {
            const auto l = static_cast<std::size_t>(p.layer);
            layerAll[l].add(p.device, p.bytes);
            layerTensors[l].push_back(&p);
            if (p.device.isGpu())
                layerGpus[l].add(p.device, p.bytes);
            else
                layerOffloaded[l] += p.bytes;
        } else {
            (p.role == Role::Input ? input : output).add(p.device, p.bytes);
        }
    }
    if (!anyGpu)
        throw Error(ErrorKind::InvalidArgument, {}, "the map puts nothing on a GPU: vLLM runs its pipeline stages on GPUs");

    // Each layer's stage: its GPU; a layer wholly offloaded belongs to the stage before it (after, at the start).
    std::vector<int> stageGpu(static_cast<std::size_t>(n), -1);
    for (int l = 0; l < n; ++l) {
        const auto i = static_cast<std::size_t>(l);
        if (!layerGpus[i].empty())
            stageGpu[i] = layerGpus[i].main().index;
        else if (l > 0)
            stageGpu[i] = stageGpu[i - 1];
    }
    int firstGpu = -1;
    for (int g : stageGpu)
        if (g >= 0) {
            firstGpu = g;
            break;
        }
    if (firstGpu < 0) // every layer offloaded: the GPU of the embeddings or the head holds the stage
        firstGpu = !input.empty() && input.main().isGpu() ? input.main().index : output.main().index;
    for (auto &g : stageGpu)
        if (g < 0)
            g = firstGpu;
        else
            break;
    std::vector<int> order;
    std::vector<int> runs;
    for (int l = 0; l < n; ++l) {
        const int g = stageGpu[static_cast<std::size_t>(l)];
        if (std::find(order.begin(), order.end(), g) == order.end())
            order.push_back(g);
        if (runs.empty() || runs.back() != g)
            runs.push_back(g);
    }
    if (runs.size() != order.size()) {
        std::string seq;
        for (int g : runs)
            seq += (seq.empty() ? "" : ", ") + Device::gpu(g).label();
        out.notes.push_back({"not-contiguous", "the map's layers go to " + seq +
                                                   " in turn; a vLLM stage holds one contiguous range of layers, so each GPU gets as many "
                                                   "layers as in the map, in the order of their first appearance"});
    }
    std::vector<int> partition(order.size(), 0);
    std::vector<double> offloaded(order.size(), 0.0);
    for (int l = 0; l < n; ++l) {
        const auto stage = static_cast<std::size_t>(std::find(order.begin(), order.end(), stageGpu[static_cast<std::size_t>(l)]) - order.begin());
        partition[stage] += 1;
        offloaded[stage] += layerOffloaded[static_cast<std::size_t>(l)];
        if (layerAll[static_cast<std::size_t>(l)].spread() && !layerGpus[static_cast<std::size_t>(l)].empty())
            layerNotes.add("split-layer",
                           "split inside the layer (" + partsText(layerTensors[static_cast<std::size_t>(l)], asIs) +
                               "); vLLM places whole layers: it runs on " + Device::gpu(stageGpu[static_cast<std::size_t>(l)]).label() +
                               (layerOffloaded[static_cast<std::size_t>(l)] > 0 ? ", its offloaded part counted in --cpu-offload-gb" : ""),
                           l);
    }
    const int stages = static_cast<int>(order.size());
    std::string partitionText;
    for (int c : partition)
        partitionText += (partitionText.empty() ? "" : ",") + std::to_string(c);
    bool identityOrder = true;
    for (int s = 0; s < stages; ++s)
        identityOrder = identityOrder && order[static_cast<std::size_t>(s)] == s;
    if (!identityOrder) {
        std::string visible;
        for (int g : order)
            visible += (visible.empty() ? "" : ",") + std::to_string(g);
        out.env.emplace_back("CUDA_VISIBLE_DEVICES", visible);
    }
    if (stages > 1) {
        out.env.emplace_back("VLLM_PP_LAYER_PARTITION", partitionText);
        out.args = {"--pipeline-parallel-size", std::to_string(stages)};
    }
    for (int s = 0; s < stages; ++s)
        if (partition[static_cast<std::size_t>(s)] == 0)
            out.notes.push_back({"empty-stage", "stage " + std::to_string(s) + " (" + Device::gpu(order[static_cast<std::size_t>(s)]).label() +
                                                    ") holds no layer"});

    const double maxOffloaded = *std::max_element(offloaded.begin(), offloaded.end());
    if (maxOffloaded > 0) {
        const double gb = std::ceil(maxOffloaded / double(1LL << 30) * 100.0) / 100.0;
        char text[32];
        std::snprintf(text, sizeof text, "%.2f", gb);
        out.args.insert(out.args.end(), {"--cpu-offload-gb", text});
        std::vector<int> layers;
        double totalOffloaded = 0;
        for (int l = 0; l < n; ++l)
            if (layerOffloaded[static_cast<std::size_t>(l)] > 0) {
                layers.push_back(l);
                totalOffloaded += layerOffloaded[static_cast<std::size_t>(l)];
            }
        out.notes.push_back({"cpu-offload", "the map offloads " + layersText(layers) + " (" +
                                                gib(totalOffloaded) + ") to the CPU; vLLM's --cpu-offload-gb " + text +
                                                " instead keeps up to that much of every stage's first layers in CPU memory and "
                                                "streams them to the GPU at every step"});
    }
    noteDisk(view, out.notes, "vLLM has no disk offload: those weights are counted in --cpu-offload-gb and held in CPU memory");
    if (view.mpsBytes > 0)
        out.notes.push_back({"mps", "the map puts " + gib(view.mpsBytes) + " on MPS, which vLLM does not use: counted as offloaded to the CPU"});

    auto roleNote = [&](const Tally &t, const char *what, int gpu, const char *stage) {
        if (t.empty())
            return;
        for (const auto &[d, w] : t.byDevice)
            if (!(d.isGpu() && d.index == gpu)) {
                out.notes.push_back({std::string(what) == "input embeddings" ? "input-placement" : "output-placement",
                                     std::string("the map puts the ") + what + " on " + d.label() + "; vLLM keeps them on the " + stage +
                                         " stage (" + Device::gpu(gpu).label() + ")"});
                return;
            }
    };
    roleNote(input, "input embeddings", order.front(), "first");
    roleNote(output, "final norm and head", order.back(), "last");
    layerNotes.flush(out.notes);
    if (stages > 1)
        out.notes.push_back({"stage-order", "stage i runs on the i-th visible GPU" +
                                                std::string(identityOrder ? "" : " (CUDA_VISIBLE_DEVICES lists the map's GPUs in stage order)") +
                                                "; across machines, start one vLLM node per stage in this order"});
    return out;
}

// ---- mistral.rs ---------------------------------------------------------------------------------------

std::string mistralDevice(const Device &d)
{
    switch (d.kind) {
    case DeviceKind::Gpu: return "cuda[" + std::to_string(d.index) + "]";
    case DeviceKind::Mps: return "metal[0]";
    default: return "cpu";
    }
}

std::string yamlQuoted(const std::string &text)
{
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

EngineExport exportMistralRs(const MapView &view, const ExportRequest &request)
{
    EngineExport out;
    out.engine = Engine::MistralRs;
    out.program = {"mistralrs", "serve", "-m", "MODEL"};
    const int n = static_cast<int>(view.stack.layers.size());
    LayerNotes layerNotes;

    auto engineDevice = diskAsCpu;
    std::vector<Tally> layers(static_cast<std::size_t>(n));
    std::vector<std::vector<const Placed *>> layerTensors(static_cast<std::size_t>(n));
    std::vector<std::pair<std::string, Tally>> others; // modules outside the layers, in tree order
    bool anyGpu = false;
    for (const auto &p : view.tensors) {
        anyGpu = anyGpu || p.device.isGpu();
        if (p.role == Role::Layer) {
            layers[static_cast<std::size_t>(p.layer)].add(engineDevice(p.device), p.bytes);
            layerTensors[static_cast<std::size_t>(p.layer)].push_back(&p);
            continue;
        }
        auto it = std::find_if(others.begin(), others.end(), [&](const auto &e) { return e.first == p.module; });
        if (it == others.end()) {
            others.push_back({p.module, {}});
            it = others.end() - 1;
        }
        it->second.add(engineDevice(p.device), p.bytes);
    }
    // The main device (what mistral.rs puts everything else on): the first GPU, or the CPU with --cpu.
    const Device main = anyGpu ? Device::gpu(0) : Device::cpu();

    std::string yaml = "# mistral.rs topology written by mizan-cli export: decoder layers START-END (END excluded) to a device\n";
    for (int l = 0; l < n;) {
        const Device d = layers[static_cast<std::size_t>(l)].main();
        int end = l + 1;
        while (end < n && layers[static_cast<std::size_t>(end)].main() == d)
            ++end;
        yaml += (end == l + 1 ? std::to_string(l) : std::to_string(l) + "-" + std::to_string(end)) + ":\n  device: " + mistralDevice(d) + "\n";
        for (int k = l; k < end; ++k)
            if (layers[static_cast<std::size_t>(k)].spread())
                layerNotes.add("split-layer",
                               "split inside the layer (" + partsText(layerTensors[static_cast<std::size_t>(k)], diskAsCpu) +
                                   "); a topology places whole layers: it goes to " + mistralDevice(d) + ", where most of it is",
                               k);
        l = end;
    }
    std::vector<std::string> selectors;
    for (const auto &[module, tally] : others) {
        const Device d = tally.main();
        if (d == main)
            continue;
        yaml += yamlQuoted("/^" + regexEscape(module) + "\\./") + ":\n  device: " + mistralDevice(d) + "\n";
        selectors.push_back(module + " on " + mistralDevice(d));
        if (tally.spread())
            out.notes.push_back({"split-module", module + " is split between devices; it goes to " + mistralDevice(d)});
    }
    out.files.emplace_back(request.topologyFile, yaml);
    out.args = {"--topology", request.topologyFile};
    if (!anyGpu)
        out.args.push_back("--cpu");

    if (!selectors.empty())
        out.notes.push_back({"regex-selectors", "weights outside the layers go to mistral.rs's main device (" + mistralDevice(main) +
                                                    "); the map's other placements (" + joined(selectors, ", ") +
                                                    ") are regex selectors, which need mistral.rs 0.7.0 or later"});
    noteDisk(view, out.notes, "mistral.rs has no disk offload: exported as cpu");
    layerNotes.flush(out.notes);
    if (anyGpu)
        out.notes.push_back({"device-order", "cuda[N] is CUDA device N as mistral.rs numbers them (CUDA_VISIBLE_DEVICES order)"});
    return out;
}

} // namespace

EngineExport exportMap(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options, const ExportRequest &request)
{
    const MapView view = viewOf(tree, map, options);
    EngineExport out;
    switch (request.engine) {
    case Engine::LlamaCpp: out = exportLlamaCpp(view); break;
    case Engine::Vllm: out = exportVllm(view); break;
    case Engine::MistralRs: out = exportMistralRs(view, request); break;
    }
    out.layerPrefix = view.stack.prefix;
    out.layerCount = static_cast<int>(view.stack.layers.size());
    return out;
}

EngineExport exportCluster(const ModuleTree &tree, const ClusterPlanFile &plan, const PlanOptions &options,
                           const ExportRequest &request, int rpcPort)
{
    if (request.engine == Engine::MistralRs)
        throw Error(ErrorKind::InvalidArgument, {},
                    "a mistral.rs topology places layers on one machine's devices; a cluster plan needs llamacpp (--rpc) or vllm");
    // Every host's GPUs in host order: host h's GPU g is offset[h] + g.
    DeviceMap global;
    std::vector<int> offset, gpus;
    int total = 0;
    std::vector<std::string> offHost; // hosts keeping layers on their CPU or disk
    for (const auto &stage : plan.stages) {
        int count = 0;
        for (const auto &[device, bytes] : stage.plan.options.maxMemory)
            if (device.isGpu())
                count = std::max(count, device.index + 1);
        for (const auto &[key, device] : stage.plan.deviceMap)
            if (device.isGpu())
                count = std::max(count, device.index + 1);
        offset.push_back(total);
        gpus.push_back(count);
        total += count;
        bool off = false;
        for (const auto &[key, device] : stage.plan.deviceMap) {
            global.emplace_back(key, device.isGpu() ? Device::gpu(offset.back() + device.index) : device);
            off = off || !device.isGpu();
        }
        if (off)
            offHost.push_back(stage.host);
    }
    EngineExport out = exportMap(tree, global, options, request);
    std::string hosts;
    for (std::size_t h = 0; h < plan.stages.size(); ++h)
        hosts += (h ? ", " : "") + plan.stages[h].host + " GPU " + (gpus[h] == 0 ? std::string("none") :
                 std::to_string(offset[h]) + (gpus[h] > 1 ? "-" + std::to_string(offset[h] + gpus[h] - 1) : std::string()));
    const std::string &mainHost = plan.stages.back().host;
    if (request.engine == Engine::LlamaCpp) {
        std::string rpc;
        std::string servers;
        for (std::size_t h = 0; h + 1 < plan.stages.size(); ++h) {
            const auto &st = plan.stages[h];
            const std::string address = (st.address.empty() ? st.host : st.address) + ":" + std::to_string(rpcPort);
            rpc += (rpc.empty() ? "" : ",") + address;
            servers += (servers.empty() ? "" : "; ") + st.host + ": rpc-server -H 0.0.0.0 -p " + std::to_string(rpcPort);
        }
        if (!rpc.empty())
            out.args.insert(out.args.begin(), {"--rpc", rpc});
        out.notes.push_back({"cluster-hosts", "run this on " + mainHost + " (the last stage: its GPUs are the local ones and it holds the "
                                              "output layer); first start " + servers + " (rpc-server exposes every GPU of its host). "
                                              "Devices in llama.cpp's order: " + hosts});
        for (std::size_t h = 0; h + 1 < plan.stages.size(); ++h)
            if (gpus[h] == 0)
                out.notes.push_back({"cluster-cpu-host", plan.stages[h].host + " has no GPU: its rpc-server exposes its CPU, which "
                                                         "--tensor-split does not count; its layers go to the other devices"});
    } else {
        out.notes.push_back({"cluster-hosts", "vLLM places the pipeline stages over the nodes of a Ray cluster: start `ray start --head` on " +
                                              plan.stages.front().host + " and `ray start --address " +
                                              (plan.stages.front().address.empty() ? plan.stages.front().host : plan.stages.front().address) +
                                              ":6379` on the others, then run this on " + plan.stages.front().host +
                                              "; stages are GPUs in host order: " + hosts});
    }
    if (!offHost.empty()) {
        std::string names;
        for (const auto &n : offHost)
            names += (names.empty() ? "" : ", ") + n;
        out.notes.push_back({"cluster-offload", names + " keep" + (offHost.size() == 1 ? "s" : "") +
                                                    " layers on CPU or disk: the engine runs CPU layers on the CPU of the host that "
                                                    "starts it, not on theirs"});
    }
    return out;
}

} // namespace mizan::planner
