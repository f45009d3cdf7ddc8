#pragma once

// The model of bench_dispatch and bench_load (issue 10): a LLaMA-shaped float32 demo with hidden
// 1536, intermediate 4096, 16 layers, 12 heads (no GQA), vocab 32000, untied head: 551 M
// parameters, 2.2 GB, the shape Accelerate was measured on. `small` is the same 16 layers 4x
// smaller (hidden 768, intermediate 2048, 6 heads, vocab 16000: 138 M parameters) for quick runs.
// Written once into a cache folder ($MIZAN_BENCH_DIR, else /tmp/mizan-bench) and reused while its
// config and shards are intact. Also: the device maps and the small helpers both benchmarks share.

#include "loader/checkpoint.h"
#include "models/demo.h"
#include "planner/device.h"
#include "planner/plan.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace mizan::bench {

inline constexpr int kLayers = 16;

inline nlohmann::json benchConfig(bool small)
{
    return nlohmann::json{
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"hidden_act", "silu"},
        {"hidden_size", small ? 768 : 1536},
        {"intermediate_size", small ? 2048 : 4096},
        {"num_attention_heads", small ? 6 : 12},
        {"num_key_value_heads", small ? 6 : 12},
        {"num_hidden_layers", kLayers},
        {"max_position_embeddings", 2048},
        {"rms_norm_eps", 1e-5},
        {"rope_theta", 10000.0},
        {"tie_word_embeddings", false},
        {"vocab_size", small ? 16000 : 32000},
        {"bos_token_id", 1},
        {"eos_token_id", 2},
    };
}

struct BenchModel {
    std::string directory;
    std::int64_t parameters = 0;
    std::int64_t bytes = 0;
    std::int64_t blockBytes = 0; // the decoder blocks' ("model.layers.") share of `bytes`
    bool written = false; // written by this run (else reused)
    double writeSeconds = 0;
};

inline std::string cacheRoot()
{
    const char *env = std::getenv("MIZAN_BENCH_DIR");
    return env && *env ? env : "/tmp/mizan-bench";
}

inline void count(const loader::Checkpoint &c, BenchModel &model)
{
    for (const auto &t : c.catalog.tensors) {
        model.parameters += t.numel();
        model.bytes += t.byteSize;
        if (t.name.rfind("model.layers.", 0) == 0)
            model.blockBytes += t.byteSize;
    }
}

// The demo of `small`'s shape in the cache folder, written when missing or damaged.
inline BenchModel ensureBenchModel(bool small)
{
    models::DemoOptions options;
    options.config = benchConfig(small);
    options.dtype = DType::F32;
    options.shards = 4;
    options.seed = 10;
    BenchModel model;
    model.directory = (std::filesystem::path(cacheRoot()) / (small ? "llama-138m-f32" : "llama-551m-f32")).string();
    const nlohmann::json expected = models::demoConfig(options);
    try {
        const loader::Checkpoint c = loader::open(model.directory);
        bool intact = c.hasWeights() && nlohmann::json::parse(c.config.dump()) == expected;
        for (const auto &s : c.catalog.shards) {
            std::error_code ec;
            intact = intact && std::filesystem::file_size(s.path, ec) == static_cast<std::uintmax_t>(s.fileSize) && !ec;
        }
        if (intact) {
            count(c, model);
            return model;
        }
    } catch (const std::exception &) {
        // missing or damaged: written below
    }
    std::printf("writing the benchmark model to %s ...\n", model.directory.c_str());
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    models::writeDemo(model.directory, options);
    model.writeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    model.written = true;
    count(loader::open(model.directory), model);
    return model;
}

// A device map of the model's steps: `where(module, layer)` for "model.embed_tokens" (layer -1),
// "model.layers.N" (N), "model.norm" and "lm_head" (-1), in execution order.
inline planner::DeviceMap benchMap(const std::function<planner::Device(const std::string &, int)> &where)
{
    planner::DeviceMap map;
    map.emplace_back("model.embed_tokens", where("model.embed_tokens", -1));
    for (int i = 0; i < kLayers; ++i) {
        const std::string name = "model.layers." + std::to_string(i);
        map.emplace_back(name, where(name, i));
    }
    map.emplace_back("model.norm", where("model.norm", -1));
    map.emplace_back("lm_head", where("lm_head", -1));
    return map;
}

inline std::string loadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

inline double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

} // namespace mizan::bench
