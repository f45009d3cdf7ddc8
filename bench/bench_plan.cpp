// bench_plan: planner::plan() on Llama-3.1-405B and Mixtral-8x7B shapes over 8 GPUs + CPU + disk,
// every strategy, and the scaling of plan time with the number of modules (1x, 4x, 16x).
// Trees are built in code from the public model numbers (transformers' module layout).
// Prints times and ratios measured side by side in one run; asserts nothing.
#include "planner/plan.h"
#include "planner/validate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace mizan;
using namespace mizan::planner;

namespace {

Tensor weight(std::vector<std::int64_t> shape, DType dtype = DType::BF16)
{
    Tensor t;
    t.name = "weight";
    t.shape = std::move(shape);
    t.dtype = dtype;
    return t;
}

int linear(ModuleTree &tree, int parent, const std::string &name, std::int64_t in, std::int64_t out)
{
    const int id = tree.addChild(parent, name, "Linear");
    tree.addTensor(id, weight({out, in}));
    return id;
}

int rmsNorm(ModuleTree &tree, int parent, const std::string &name, std::int64_t hidden, const char *cls)
{
    const int id = tree.addChild(parent, name, cls);
    tree.addTensor(id, weight({hidden}));
    return id;
}

struct LlamaShape {
    std::int64_t hidden, intermediate, heads, kvHeads, vocab, layers;
    int experts = 0; // > 0: Mixtral sparse MoE blocks
    const char *prefix;
};

ModuleTree buildDecoder(const LlamaShape &s)
{
    ModuleTree tree;
    const std::string P = s.prefix;
    tree.module(ModuleTree::kRoot).className = P + "ForCausalLM";
    const int model = tree.addChild(ModuleTree::kRoot, "model", P + "Model");
    const int embed = tree.addChild(model, "embed_tokens", "Embedding");
    tree.addTensor(embed, weight({s.vocab, s.hidden}));
    const int layers = tree.addChild(model, "layers", "ModuleList");
    const std::int64_t headDim = s.hidden / s.heads;
    const std::string norm = P + "RMSNorm";
    for (std::int64_t i = 0; i < s.layers; ++i) {
        const int layer = tree.addChild(layers, std::to_string(i), P + "DecoderLayer");
        const int attn = tree.addChild(layer, "self_attn", P + "Attention");
        linear(tree, attn, "q_proj", s.hidden, s.heads * headDim);
        linear(tree, attn, "k_proj", s.hidden, s.kvHeads * headDim);
        linear(tree, attn, "v_proj", s.hidden, s.kvHeads * headDim);
        linear(tree, attn, "o_proj", s.heads * headDim, s.hidden);
        if (s.experts == 0) {
            const int mlp = tree.addChild(layer, "mlp", P + "MLP");
            linear(tree, mlp, "gate_proj", s.hidden, s.intermediate);
            linear(tree, mlp, "up_proj", s.hidden, s.intermediate);
            linear(tree, mlp, "down_proj", s.intermediate, s.hidden);
        } else {
            const int moe = tree.addChild(layer, "block_sparse_moe", P + "SparseMoeBlock");
            linear(tree, moe, "gate", s.hidden, s.experts);
            const int experts = tree.addChild(moe, "experts", "ModuleList");
            for (int e = 0; e < s.experts; ++e) {
                const int ex = tree.addChild(experts, std::to_string(e), P + "BlockSparseTop2MLP");
                linear(tree, ex, "w1", s.hidden, s.intermediate);
                linear(tree, ex, "w2", s.intermediate, s.hidden);
                linear(tree, ex, "w3", s.hidden, s.intermediate);
            }
        }
        rmsNorm(tree, layer, "input_layernorm", s.hidden, norm.c_str());
        rmsNorm(tree, layer, "post_attention_layernorm", s.hidden, norm.c_str());
    }
    rmsNorm(tree, model, "norm", s.hidden, norm.c_str());
    const int rotary = tree.addChild(model, "rotary_emb", P + "RotaryEmbedding");
    Tensor invFreq;
    invFreq.name = "inv_freq";
    invFreq.shape = {headDim / 2};
    invFreq.dtype = DType::F32;
    invFreq.buffer = true;
    invFreq.persistent = false;
    tree.addTensor(rotary, invFreq);
    const int head = tree.addChild(ModuleTree::kRoot, "lm_head", "Linear");
    tree.addTensor(head, weight({s.vocab, s.hidden}));
    return tree;
}

constexpr std::int64_t GiB = std::int64_t(1) << 30;

MaxMemory budgets(std::int64_t gpuBytes, std::int64_t cpuBytes)
{
    MaxMemory m;
    for (int i = 0; i < 8; ++i)
        m.emplace_back(Device::gpu(i), gpuBytes);
    m.emplace_back(Device::cpu(), cpuBytes);
    return m;
}

// Timings of f over `runs` runs, in microseconds: the fastest (least disturbed by other load on
// the machine) and the median. `tree` loses its flat layout before each run (untimed), so that
// every run pays for making it, as the first pass over a tree fresh from its builder does.
struct Timing {
    double minUs = 0, medianUs = 0;
};
template<typename F>
Timing timeUs(int runs, ModuleTree &tree, F &&f)
{
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        tree.dropFlat();
        const auto a = std::chrono::steady_clock::now();
        f();
        const auto b = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::micro>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    return {t.front(), t[t.size() / 2]};
}

std::string where(const Plan &p)
{
    std::string s;
    for (const auto &u : p.usage)
        if (u.moduleCount > 0)
            s += u.device.toString() + ":" + std::to_string(u.moduleCount) + " ";
    return s;
}

} // namespace

int main()
{
    const LlamaShape llama405{16384, 53248, 128, 8, 128256, 126, 0, "Llama"};
    const LlamaShape mixtral{4096, 14336, 32, 8, 32000, 32, 8, "Mixtral"};
    struct Case {
        const char *name;
        ModuleTree tree;
        PlanOptions options;
    };
    std::vector<Case> cases;
    {
        PlanOptions o;
        o.maxMemory = budgets(70 * GiB, 100 * GiB); // 8 x 70 GiB + 100 GiB RAM: ~756 GiB model, disk gets the rest
        o.noSplitClasses = {"LlamaDecoderLayer"};
        cases.push_back({"Llama-3.1-405B bf16", buildDecoder(llama405), o});
    }
    {
        PlanOptions o;
        o.maxMemory = budgets(10 * GiB, 6 * GiB); // ~87 GiB model
        o.noSplitClasses = {"MixtralDecoderLayer"};
        cases.push_back({"Mixtral-8x7B bf16", buildDecoder(mixtral), o});
    }

    std::printf("bench_plan: planner::plan() over 8 GPUs + CPU + disk, 31 runs each: fastest / median\n\n");
    std::printf("%-20s %7s %10s %-15s %16s %16s  %s\n", "model", "modules", "total", "strategy", "plan ms", "validate ms", "entries per device");
    for (auto &c : cases) {
        for (Strategy s : {Strategy::Auto, Strategy::Balanced, Strategy::BalancedLow0, Strategy::Sequential}) {
            c.options.strategy = s;
            Plan p;
            const Timing t = timeUs(31, c.tree, [&] { p = plan(c.tree, c.options); });
            const Timing v = timeUs(31, c.tree, [&] { (void)validate(c.tree, p.deviceMap, c.options); });
            std::printf("%-20s %7d %10s %-15s %7.3f / %6.3f %7.3f / %6.3f  %s\n", c.name, c.tree.size(), formatBytes(p.totalBytes).c_str(), toString(s),
                        t.minUs / 1000.0, t.medianUs / 1000.0, v.minUs / 1000.0, v.medianUs / 1000.0, where(p).c_str());
        }
    }

    std::printf("\nscaling with the module count (Llama-3.1-405B layers repeated, budgets scaled alike, strategy auto)\n");
    std::printf("%-8s %8s %16s %14s %14s\n", "scale", "modules", "plan ms", "ratio (fastest)", "ideal (linear)");
    double base = 0;
    int baseModules = 0;
    for (int scale : {1, 4, 16}) {
        LlamaShape shape = llama405;
        shape.layers *= scale;
        ModuleTree tree = buildDecoder(shape);
        PlanOptions o;
        o.maxMemory = budgets(70 * GiB * scale, 100 * GiB * scale);
        o.noSplitClasses = {"LlamaDecoderLayer"};
        const Timing t = timeUs(scale == 16 ? 9 : 21, tree, [&] { (void)plan(tree, o); });
        if (scale == 1) {
            base = t.minUs;
            baseModules = tree.size();
        }
        std::printf("%-8s %8d %7.3f / %6.3f %14.2f %14.2f\n", (std::to_string(scale) + "x").c_str(), tree.size(), t.minUs / 1000.0,
                    t.medianUs / 1000.0, t.minUs / base, static_cast<double>(tree.size()) / baseModules);
    }
    return 0;
}
