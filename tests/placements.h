#pragma once

// The named placements of the runtime's equality tables (tst_dispatch, and mizan-gpucheck on a
// real GPU) for a demo model of three or more decoder blocks, and the comparison of two runs'
// logits. Plain C++ (no Qt): tools/gpucheck uses it on machines without Qt.

#include "planner/device.h"
#include "planner/plan.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace mizan::test {

// Module names of a family's model ("gpt2", else the LLaMA-style ones).
struct FamilyNames {
    std::vector<std::string> embedding;
    std::string block, norm, head;
    std::string attention, mlp;  // children of a block (for a split inside it)
    std::string norm1, norm2;    // the block's own norms, which go with neither child key
};

inline FamilyNames familyNames(const std::string &family)
{
    if (family == "gpt2")
        return {{"transformer.wte", "transformer.wpe"}, "transformer.h.", "transformer.ln_f", "lm_head", "attn", "mlp", "ln_1", "ln_2"};
    return {{"model.embed_tokens"}, "model.layers.", "model.norm", "lm_head", "self_attn", "mlp", "input_layernorm",
            "post_attention_layernorm"};
}

// The map of placement `name` of a `family` model with `layers` blocks:
//   "all cpu", "one gpu"; "2 gpus", "3 gpus" (blocks spread, no offload); "cpu offload" (blocks 1-2
//   and the head in RAM, computed on GPU 0); "disk offload" (blocks 0 and 2 on disk, the norm in
//   RAM); "disk, no gpu" (the CPU computes, blocks 0 and 2 and the norm on disk); "split inside a
//   block" (block 0's attention, MLP and norms on GPU 0, GPU 1 and the CPU; block 2 on disk);
//   "blocks in cpu ram", "blocks on disk" (every block offloaded, the rest on GPU 0).
// Throws std::invalid_argument for another name.
// `n`: the model's names (familyNames, or a variant such as Transformers 4's Mixtral, whose
// block's MoE child is "block_sparse_moe").
inline planner::DeviceMap placementMap(const std::string &name, const FamilyNames &n, int layers)
{
    using planner::Device;
    auto block = [&](int i) { return n.block + std::to_string(i); };
    const Device g0 = Device::gpu(0), g1 = Device::gpu(1), g2 = Device::gpu(2);
    if (name == "all cpu")
        return {{"", Device::cpu()}};
    if (name == "one gpu")
        return {{"", g0}};
    // Blocks 0-2, the final norm and the head each on its device, the embeddings on theirs.
    struct Spread {
        const char *name;
        Device embedding, block0, block1, block2, norm, head;
    };
    const Device cpu = Device::cpu(), disk = Device::disk();
    const Spread spreads[] = {
        {"disk, no gpu", cpu, disk, cpu, disk, disk, cpu},
        {"2 gpus", g0, g0, g1, g1, g1, g1},
        {"3 gpus", g0, g0, g1, g2, g2, g0},
        {"cpu offload", g0, g0, cpu, cpu, g0, cpu},
        {"disk offload", g0, disk, g0, disk, cpu, g0},
    };
    planner::DeviceMap map;
    for (const Spread &s : spreads) {
        if (name != s.name)
            continue;
        for (const auto &e : n.embedding)
            map.emplace_back(e, s.embedding);
        map.emplace_back(block(0), s.block0);
        map.emplace_back(block(1), s.block1);
        map.emplace_back(block(2), s.block2);
        map.emplace_back(n.norm, s.norm);
        map.emplace_back(n.head, s.head);
        return map;
    }
    for (const auto &e : n.embedding)
        map.emplace_back(e, g0);
    if (name == "blocks in cpu ram" || name == "blocks on disk") {
        for (int i = 0; i < layers; ++i)
            map.emplace_back(block(i), name == "blocks in cpu ram" ? cpu : disk);
        map.emplace_back(n.norm, g0);
        map.emplace_back(n.head, g0);
    } else if (name == "split inside a block") {
        map.emplace_back(block(0) + "." + n.attention, g0);
        map.emplace_back(block(0) + "." + n.mlp, g1);
        map.emplace_back(block(0) + "." + n.norm1, g1);
        map.emplace_back(block(0) + "." + n.norm2, cpu);
        map.emplace_back(block(1), g1);
        map.emplace_back(block(2), disk);
        map.emplace_back(n.norm, g1);
        map.emplace_back(n.head, g0);
    } else {
        throw std::invalid_argument("unknown placement " + name);
    }
    return map;
}

inline planner::DeviceMap placementMap(const std::string &name, const std::string &family, int layers)
{
    return placementMap(name, familyNames(family), layers);
}

// The largest absolute difference between two runs' logits (one row per forward); infinity when
// their shapes differ.
inline double maxLogitDiff(const std::vector<std::vector<float>> &a, const std::vector<std::vector<float>> &b)
{
    if (a.size() != b.size())
        return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].size() != b[i].size())
            return INFINITY;
        for (std::size_t j = 0; j < a[i].size(); ++j)
            worst = std::max(worst, std::fabs(double(a[i][j]) - double(b[i][j])));
    }
    return worst;
}

} // namespace mizan::test
