// mizan-gpucheck: the runtime's equality checks on a real CUDA GPU (issue 10), for machines that
// have one and may have no Qt (the Qt Test suite never sees a GPU: CI has none). Plain C++ over
// the runtime's Session API and the tests' independent reference (tests/reference), like
// tst_forward and tst_dispatch, with GPU 0 a real CUDA device:
//
//   * every family the runtime runs (LLaMA untied and tied, Qwen2, Mistral, Mixtral in both
//     weight layouts, GPT-2), on a tiny random-weight float32 checkpoint: all on the GPU gives the
//     reference's logits (float64 on the CPU) within 1e-5 and the all-CPU run's ids;
//   * every placement whose compute stays on the GPU (CPU offload and disk offload with prefetch
//     0, 1, 2) gives the all-GPU run's ids and logits within 1e-6; placements that also use a
//     simulated second GPU (GPU 1 of "2 gpus", a split inside a block) within 1e-5;
//   * float16 and bfloat16 checkpoints compute in their own dtype on the GPU, near the reference;
//   * sampling with a seed is deterministic on the GPU.
//
// --simulated runs the same checks with GPU 0 simulated (CPU-only machines: checks the program).
// Without a CUDA GPU and without --simulated it exits 77 (ctest's "skipped").
// --keep DIR keeps the checkpoints there, each with mizan-logits.json (prompt, generated ids, the
// all-GPU logits) for tools/gpucheck/hfcompare.py, which runs transformers on the same files.
// --bench [LAYERS] times decoding on bench_dispatch's LLaMA shape (hidden 1536, 16 layers, float32):
// all on the GPU, blocks in CPU RAM and on disk with prefetch 0/1/2; with --keep it writes
// DIR/bench/mizan-bench.json for hfcompare.py's Accelerate comparison. --bench-prompt N (default
// 8192, 0 skips) then times the prefill of an N-token prompt with the blocks in CPU RAM, prefetch
// 0/1/2: whether prefetch copies run beside the computation.
#include "models/demo.h"
#include "models/resources.h"
#include "planner/error.h"
#include "runtime/backend.h"
#include "runtime/session.h"
#include "tests/placements.h"
#include "tests/reference/reference.h"
#include "tests/tinydemo.h"

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace mizan;
using planner::Device;
using runtime::RunRequest;
using runtime::RunResult;

namespace {

struct Options {
    bool simulated = false;
    std::string keep;
    int benchLayers = 0;
    int benchTokens = 16;
    int benchPrompt = 8192; // the long-prompt prefill rows' prompt length; 0 skips them
};

int g_failures = 0;
int g_checks = 0;

void check(bool ok, const std::string &what, const std::string &detail)
{
    ++g_checks;
    g_failures += !ok;
    std::printf("%s  %-58s %s\n", ok ? "PASS" : "FAIL", what.c_str(), detail.c_str());
    std::fflush(stdout);
}

std::string num(double v)
{
    char b[32];
    std::snprintf(b, sizeof b, "%.3g", v);
    return b;
}

// The names of a preset's model; Transformers 4's Mixtral calls the block's MoE "block_sparse_moe".
test::FamilyNames namesOf(const std::string &preset, models::TransformersLayout layout)
{
    test::FamilyNames n = test::familyNames(preset == "gpt2" ? "gpt2" : "llama");
    if (layout == models::TransformersLayout::V4)
        n.mlp = "block_sparse_moe";
    return n;
}

runtime::Backend *backend()
{
    return runtime::loadBackend().backend;
}

RunResult runOnce(const RunRequest &request)
{
    auto session = backend()->createSession(request);
    return session->run([](const std::vector<runtime::RunEvent> &) {});
}

std::string failure(const RunResult &r)
{
    return r.error ? std::string(toString(r.error->kind)) + ": " + r.error->file + " " + r.error->message : std::string();
}

// GPU 0 real (or simulated with --simulated), GPU 1 simulated when the map uses it; none for a map
// of "cpu" alone (the CPU computes).
std::vector<runtime::RunDevice> devicesFor(const planner::DeviceMap &map, const Options &o)
{
    if (std::all_of(map.begin(), map.end(), [](const auto &e) { return e.second == Device::cpu(); }))
        return {};
    std::vector<runtime::RunDevice> out{{Device::gpu(0), o.simulated, -1, o.simulated ? "simulated GPU 0" : "CUDA GPU 0"}};
    if (std::any_of(map.begin(), map.end(), [](const auto &e) { return e.second == Device::gpu(1); }))
        out.push_back({Device::gpu(1), true, -1, "simulated GPU 1"});
    return out;
}

RunRequest requestFor(const std::string &dir, const test::FamilyNames &names, int layers, const std::string &place, int prefetch,
                      const Options &o)
{
    RunRequest r;
    r.checkpointPath = dir;
    r.map = test::placementMap(place, names, layers);
    r.devices = devicesFor(r.map, o);
    r.promptIds = {5, 17, 99, 3, 150, 42};
    r.maxNewTokens = 6;
    r.prefetch = prefetch;
    r.keepLogits = true;
    return r;
}


double maxAbs(const std::vector<std::vector<float>> &a)
{
    double m = 0;
    for (const auto &row : a)
        for (float v : row)
            m = std::max(m, std::fabs(double(v)));
    return m;
}

// The reference's logits for each forward of `run`: the last prompt position, then one row per
// generated token but the last.
std::vector<std::vector<float>> referenceRows(const std::string &dir, const RunResult &run)
{
    std::vector<std::int64_t> ids = run.promptIds;
    if (!run.generatedIds.empty())
        ids.insert(ids.end(), run.generatedIds.begin(), run.generatedIds.end() - 1);
    const torch::Tensor logits = testref::referenceLogits(dir, ids).to(torch::kFloat32).contiguous();
    std::vector<std::vector<float>> rows;
    for (std::int64_t t = static_cast<std::int64_t>(run.promptIds.size()) - 1; t < logits.size(0); ++t) {
        const float *p = logits[t].data_ptr<float>();
        rows.emplace_back(p, p + logits.size(1));
    }
    return rows;
}

struct Family {
    std::string preset;
    std::string label;
    bool tied = false;
    models::TransformersLayout layout = models::TransformersLayout::V5;
};

std::string slug(std::string s)
{
    for (char &c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '-';
    return s;
}

std::string scratch(const Options &o, const std::string &name)
{
    const fs::path root = o.keep.empty() ? fs::temp_directory_path() / ("mizan-gpucheck-" + std::to_string(::getpid())) : fs::path(o.keep);
    const fs::path dir = root / slug(name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

void checkFamily(const Family &f, const Options &o)
{
    const int layers = 3;
    models::DemoOptions d = test::tinyDemoOptions(f.preset, layers, 200, 11);
    if (f.tied)
        d.config["tie_word_embeddings"] = true;
    d.layout = f.layout;
    const std::string dir = scratch(o, f.label);
    models::writeDemo(dir, d);

    const test::FamilyNames names = namesOf(f.preset, f.layout);
    auto request = [&](const std::string &place, int prefetch) { return requestFor(dir, names, layers, place, prefetch, o); };
    const RunResult gpu = runOnce(request("one gpu", 1));
    check(!gpu.error && gpu.generatedIds.size() == 6, f.label + ": all on GPU 0 runs", failure(gpu));
    if (gpu.error)
        return;
    const double toReference = test::maxLogitDiff(gpu.logits, referenceRows(dir, gpu));
    check(toReference <= 1e-5, f.label + ": all on GPU 0 = reference (float64)", "max diff " + num(toReference) + " (<= 1e-5)");

    const RunResult cpu = runOnce(request("all cpu", 1));
    const double cpuDiff = test::maxLogitDiff(cpu.logits, gpu.logits);
    check(!cpu.error && cpu.generatedIds == gpu.generatedIds && cpuDiff <= 1e-5, f.label + ": all on CPU = all on GPU 0",
          cpu.error ? failure(cpu) : "same ids " + std::to_string(cpu.generatedIds == gpu.generatedIds) + ", max diff " + num(cpuDiff));

    struct Place {
        const char *name;
        int prefetch;
        double tolerance;
    };
    for (const Place p : {Place{"cpu offload", 0, 1e-6}, Place{"cpu offload", 1, 1e-6}, Place{"cpu offload", 2, 1e-6},
                          Place{"disk offload", 0, 1e-6}, Place{"disk offload", 2, 1e-6}, Place{"2 gpus", 1, 1e-5},
                          Place{"split inside a block", 1, 1e-5}}) {
        const RunResult r = runOnce(request(p.name, p.prefetch));
        const double diff = test::maxLogitDiff(r.logits, gpu.logits);
        const bool same = r.generatedIds == gpu.generatedIds;
        check(!r.error && same && diff <= p.tolerance,
              f.label + ": " + p.name + ", prefetch " + std::to_string(p.prefetch),
              r.error ? failure(r) : "same ids " + std::to_string(same) + ", max diff " + num(diff) + " (<= " + num(p.tolerance) + ")");
    }

    if (!o.keep.empty()) {
        nlohmann::json j = {{"preset", f.preset},
                            {"prompt", gpu.promptIds},
                            {"generated", gpu.generatedIds},
                            {"logits", gpu.logits},
                            {"gpu_dtype", gpu.gpuDtype}};
        std::ofstream(fs::path(dir) / "mizan-logits.json") << j.dump();
    }
}

// float16 / bfloat16 checkpoints: real GPUs compute in the checkpoint's dtype.
void checkHalf(DType dtype, const Options &o)
{
    const std::string name = std::string("llama ") + torchName(dtype);
    models::DemoOptions d = test::tinyDemoOptions("llama-3.1-8b", 3, 200, 11);
    d.dtype = dtype;
    const std::string dir = scratch(o, name);
    models::writeDemo(dir, d);
    const RunResult gpu = runOnce(requestFor(dir, test::familyNames("llama"), 3, "one gpu", 1, o));
    check(!gpu.error, name + ": all on GPU 0 runs", gpu.error ? failure(gpu) : "computed in " + gpu.gpuDtype);
    if (gpu.error)
        return;
    // The prefill's logits only: later positions follow ids that may differ from float64's.
    const auto ref = referenceRows(dir, gpu);
    const double rel = test::maxLogitDiff({gpu.logits.front()}, {ref.front()}) / std::max(1e-12, maxAbs({ref.front()}));
    const double bound = dtype == DType::BF16 ? 5e-2 : 1e-2;
    check(rel <= bound, name + ": prefill near the reference", "max diff / max |logit| " + num(rel) + " (<= " + num(bound) + ")");
    if (!o.simulated)
        check(gpu.gpuDtype == torchName(dtype), name + ": computed in the checkpoint's dtype", gpu.gpuDtype);
    if (!o.keep.empty())
        std::ofstream(fs::path(dir) / "mizan-logits.json")
            << nlohmann::json{{"preset", "llama-3.1-8b"}, {"prompt", gpu.promptIds}, {"generated", gpu.generatedIds},
                              {"logits", gpu.logits}, {"gpu_dtype", gpu.gpuDtype}}
                   .dump();
    const RunResult off = runOnce(requestFor(dir, test::familyNames("llama"), 3, "cpu offload", 1, o));
    const double diff = test::maxLogitDiff(off.logits, gpu.logits);
    check(!off.error && off.generatedIds == gpu.generatedIds && diff <= 1e-6, name + ": cpu offload, prefetch 1 = all on GPU 0",
          off.error ? failure(off) : "max diff " + num(diff));
}

void checkSampling(const Options &o)
{
    models::DemoOptions d = test::tinyDemoOptions("llama-3.1-8b", 3, 200, 11);
    const std::string dir = scratch(o, "sampling");
    models::writeDemo(dir, d);
    RunRequest r = requestFor(dir, test::familyNames("llama"), 3, "cpu offload", 1, o);
    r.temperature = 0.9f;
    r.topK = 50;
    r.seed = 1234;
    r.maxNewTokens = 12;
    const RunResult a = runOnce(r), b = runOnce(r);
    r.seed = 99;
    const RunResult c = runOnce(r);
    check(!a.error && !b.error && a.generatedIds == b.generatedIds && a.generatedIds.size() == 12,
          "sampling on GPU 0: the same seed gives the same ids", a.error ? failure(a) : failure(b));
    check(!c.error && c.generatedIds != a.generatedIds, "sampling on GPU 0: another seed gives other ids", failure(c));
}

// A run's compute and transfer seconds and bytes moved, summed over its devices.
struct Totals {
    double compute = 0, transfer = 0;
    std::int64_t moved = 0;
};
Totals totalsOf(const RunResult &res)
{
    Totals t;
    for (const auto &dev : res.devices) {
        t.compute += dev.computeSeconds;
        t.transfer += dev.transferSeconds;
        t.moved += dev.bytesMoved;
    }
    return t;
}

// A long prompt's prefill with the blocks in CPU RAM: the one case on a GPU where computing a
// block takes about as long as bringing it in over the host link, so that whether the copies of the
// steps ahead run beside the computation (their own CUDA streams) shows: with prefetch the total
// should come near max(compute, transfer), without it near their sum.
void benchLongPrompt(const Options &o, const std::string &dir)
{
    std::vector<std::int64_t> prompt(static_cast<std::size_t>(o.benchPrompt));
    for (std::size_t i = 0; i < prompt.size(); ++i)
        prompt[i] = static_cast<std::int64_t>((i * 7919 + 11) % 32000);
    std::printf("\nprefill of a %d-token prompt (copies: on streams of their own, or on the default stream with the kernels)\n"
                "%-24s %8s %8s %10s %10s %10s %12s %14s\n",
                o.benchPrompt, "placement", "prefetch", "copies", "prefill ms", "compute s", "transfer s", "/ max(c, t)", "/ max(c0, t0)");
    double compute0 = 0, transfer0 = 0;
    std::vector<std::int64_t> firstIds;
    struct Row {
        const char *place;
        int prefetch;
        bool copyStreams;
    };
    for (const auto &[place, prefetch, copyStreams] : {Row{"one gpu", 0, true}, Row{"blocks in cpu ram", 0, true}, Row{"blocks in cpu ram", 1, true},
                                                       Row{"blocks in cpu ram", 1, false}, Row{"blocks in cpu ram", 2, true},
                                                       Row{"blocks in cpu ram", 2, false}}) {
        RunRequest r;
        r.copyStreams = copyStreams;
        r.checkpointPath = dir;
        r.map = test::placementMap(place, "llama", o.benchLayers);
        r.devices = devicesFor(r.map, o);
        r.promptIds = prompt;
        r.maxNewTokens = 1;
        r.prefetch = prefetch;
        const RunResult res = runOnce(r);
        if (res.error) {
            check(false, std::string("long prompt: ") + place, failure(res));
            continue;
        }
        const auto [compute, transfer, moved] = totalsOf(res);
        const double total = res.prefillSeconds;
        const bool offloaded = std::string(place) != "one gpu";
        if (offloaded && prefetch == 0) {
            compute0 = compute;
            transfer0 = transfer;
        }
        std::printf("%-24s %8d %8s %10.1f %10.3f %10.3f %11.2fx %13.2fx\n", place, prefetch, copyStreams ? "own" : "default",
                    total * 1e3, compute, transfer,
                    total / std::max({compute, transfer, 1e-9}), offloaded ? total / std::max({compute0, transfer0, 1e-9}) : 0.0);
        if (firstIds.empty())
            firstIds = res.generatedIds;
        else
            check(res.generatedIds == firstIds,
                  std::string("long prompt: ") + place + ", prefetch " + std::to_string(prefetch) + (copyStreams ? "" : ", default stream") + " = one gpu",
                  "the same next token");
    }
    std::fflush(stdout);
}

// Decode time on bench_dispatch's LLaMA shape.
void bench(const Options &o)
{
    models::DemoOptions d;
    d.config = models::presetConfig("llama-3.1-8b");
    d.config["hidden_size"] = 1536;
    d.config["intermediate_size"] = 4096;
    d.config["num_attention_heads"] = 12;
    d.config["num_key_value_heads"] = 12;
    d.config["head_dim"] = 128;
    d.config["vocab_size"] = 32000;
    d.config["tie_word_embeddings"] = false;
    d.layers = o.benchLayers;
    d.dtype = DType::F32;
    d.seed = 3;
    const std::string dir = scratch(o, "bench");
    const auto t0 = std::chrono::steady_clock::now();
    const auto written = models::writeDemo(dir, d);
    std::printf("\nbench: %d layers, %.2f GB float32 written in %.1f s\n", o.benchLayers, written.totalBytes / 1e9,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

    struct Case {
        const char *place;
        int prefetch;
    };
    nlohmann::json rows = nlohmann::json::array();
    double allGpu = 0;
    std::printf("%-24s %8s %7s %10s %10s %10s %10s %9s %8s\n", "placement", "prefetch", "load s", "prefill ms", "decode ms", "compute s",
                "transfer s", "GB/token", "vs GPU");
    for (const Case c : {Case{"one gpu", 0}, Case{"blocks in cpu ram", 0}, Case{"blocks in cpu ram", 1}, Case{"blocks in cpu ram", 2},
                         Case{"blocks on disk", 0}, Case{"blocks on disk", 1}, Case{"blocks on disk", 2}, Case{"all cpu", 0}}) {
        RunRequest r;
        r.checkpointPath = dir;
        r.map = test::placementMap(c.place, "llama", o.benchLayers);
        r.devices = devicesFor(r.map, o);
        r.promptIds = {1, 2, 3, 4, 5, 6, 7, 8};
        r.maxNewTokens = o.benchTokens;
        r.prefetch = c.prefetch;
        const RunResult res = runOnce(r);
        if (res.error) {
            check(false, std::string("bench: ") + c.place, failure(res));
            continue;
        }
        const auto [compute, transfer, moved] = totalsOf(res);
        const double decode = res.decodeSecondsPerToken * 1e3;
        if (std::string(c.place) == "blocks in cpu ram" && c.prefetch == 0 && !o.simulated)
            check(res.pageLockedBytes >= moved / o.benchTokens,
                  "bench: the blocks in CPU RAM are page-locked for the GPU's copies",
                  std::to_string(res.pageLockedBytes) + " bytes locked, " + std::to_string(moved / o.benchTokens) + " moved per token" +
                      (res.notes.empty() ? std::string() : "; " + res.notes.front()));
        // From the mapped file the copies come through two page-locked 16 MiB slots per copy stream.
        if (std::string(c.place) == "blocks on disk" && !o.simulated)
            check(res.pageLockedBytes == (c.prefetch + 1) * (std::int64_t(32) << 20),
                  "bench: the blocks on disk come through page-locked slots, prefetch " + std::to_string(c.prefetch),
                  std::to_string(res.pageLockedBytes) + " bytes locked" + (res.notes.empty() ? std::string() : "; " + res.notes.front()));
        if (std::string(c.place) == "one gpu")
            allGpu = decode;
        const double perToken = moved / double(o.benchTokens) / 1e9;
        std::printf("%-24s %8d %7.2f %10.1f %10.2f %10.3f %10.3f %9.2f %7.1fx\n", c.place, c.prefetch, res.loadSeconds, res.prefillSeconds * 1e3, decode,
                    compute, transfer, perToken, allGpu > 0 ? decode / allGpu : 0.0);
        rows.push_back({{"placement", c.place},
                        {"prefetch", c.prefetch},
                        {"prefill_ms", res.prefillSeconds * 1e3},
                        {"decode_ms_per_token", decode},
                        {"compute_s", compute},
                        {"transfer_s", transfer},
                        {"bytes_moved", moved},
                        {"generated", res.generatedIds}});
    }
    std::fflush(stdout);
    if (o.benchPrompt > 0)
        benchLongPrompt(o, dir);
    if (!o.keep.empty())
        std::ofstream(fs::path(dir) / "mizan-bench.json") << nlohmann::json{{"layers", o.benchLayers}, {"tokens", o.benchTokens}, {"rows", rows}}.dump(1);
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--simulated")
            o.simulated = true;
        else if (a == "--keep" && i + 1 < argc)
            o.keep = argv[++i];
        else if (a == "--bench") {
            o.benchLayers = 16;
            if (i + 1 < argc && std::isdigit(static_cast<unsigned char>(argv[i + 1][0])))
                o.benchLayers = std::atoi(argv[++i]);
        } else if (a == "--bench-tokens" && i + 1 < argc)
            o.benchTokens = std::max(2, std::atoi(argv[++i]));
        else if (a == "--bench-prompt" && i + 1 < argc)
            o.benchPrompt = std::max(0, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: mizan-gpucheck [--simulated] [--keep DIR] [--bench [LAYERS]] [--bench-tokens N] [--bench-prompt N]\n");
            return 2;
        }
    }
    const auto &load = runtime::loadBackend();
    if (!load.backend) {
        std::fprintf(stderr, "mizan-gpucheck: %s\n", load.error.c_str());
        return 1;
    }
    std::vector<std::string> notes;
    const auto gpus = load.backend->probeGpus(notes);
    std::printf("%s\n", load.backend->description().c_str());
    for (const auto &g : gpus)
        std::printf("GPU %d: %s, %.1f GiB (%.1f free), compute %d.%d\n", g.index, g.name.c_str(), g.totalBytes / 1073741824.0,
                    g.freeBytes / 1073741824.0, g.computeMajor, g.computeMinor);
    for (const auto &n : notes)
        std::printf("note: %s\n", n.c_str());
    if (gpus.empty() && !o.simulated) {
        std::printf("no CUDA GPU visible: skipped (--simulated runs the checks with a simulated GPU 0)\n");
        return 77;
    }
    try {
        for (const Family &f : {Family{"llama-3.1-8b", "llama"}, Family{"llama-3.1-8b", "llama tied", true},
                                Family{"qwen2-7b", "qwen2"}, Family{"mistral-7b", "mistral"}, Family{"mixtral-8x7b", "mixtral"},
                                Family{"mixtral-8x7b", "mixtral v4 layout", false, models::TransformersLayout::V4},
                                Family{"gpt2", "gpt2"}})
            checkFamily(f, o);
        checkHalf(DType::F16, o);
        checkHalf(DType::BF16, o);
        checkSampling(o);
        if (o.benchLayers > 0)
            bench(o);
    } catch (const std::exception &e) {
        check(false, "unexpected exception", e.what());
    }
    if (o.keep.empty())
        fs::remove_all(fs::temp_directory_path() / ("mizan-gpucheck-" + std::to_string(::getpid())));
    std::printf("\n%d of %d checks passed%s\n", g_checks - g_failures, g_checks, o.simulated ? " (GPU 0 simulated)" : "");
    return g_failures ? 1 : 0;
}
