// mizan-cli run: generates tokens with a checkpoint dispatched as a device map says (a plan file, a
// device_map.json, or planning flags), on this machine's GPUs, simulated GPUs, the CPU and disk.
// The work is done by a runtime::Session of the libtorch backend module (loaded only here).
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"
#include "planargs.h"
#include "stage.h"

#include "models/describe.h"
#include "models/source.h"
#include "planner/cluster.h"
#include "planner/device.h"
#include "planner/error.h"
#include "planner/mapfile.h"
#include "planner/plan.h"
#include "planner/planfile.h"
#include "planner/usage.h"
#include "runtime/backend.h"
#include "runtime/session.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string_view>
#include <sstream>
#include <thread>

namespace mizan::cli {

const char *const kRunUsage =
    "usage: mizan-cli run PATH (--plan FILE | --device-map FILE | --max-memory DEVICES | --hardware PROFILE)\n"
    "                      (--prompt TEXT | --prompt-ids 1,2,3) [options] [--json]\n"
    "\n"
    "Generates tokens with the checkpoint at PATH dispatched as a device map says, the way\n"
    "Accelerate's big-model inference runs it: modules mapped to a GPU stay there; \"cpu\" modules\n"
    "live in RAM and are brought to the execution device (the map's first GPU, else the CPU) for\n"
    "their forward; \"disk\" modules are read from the mmapped safetensors when needed. While a\n"
    "step computes, the offloaded weights of the next steps are brought in on another thread.\n"
    "Prints the tokens as they come, then what each device did: time computing, time moving\n"
    "weights, bytes moved, peak memory against the plan; prefill and decode speed.\n"
    "\n"
    "GPUs the map uses that this machine does not have are simulated: a memory arena in RAM with\n"
    "the device's capacity (from the plan file, else its --max-memory budget), enforced on every\n"
    "allocation (weights, KV cache, activations), computing on the CPU. Going past it is an\n"
    "out-of-memory error naming the GPU, where a real card would fail.\n"
    "\n"
    "The map:\n"
    "  --plan FILE            a Mizan plan file (*.mizan.json; `mizan-cli plan -o`); a plan made\n"
    "                         for another checkpoint is refused. A cluster plan (`plan --hardware\n"
    "                         CLUSTER -o`) runs as its stages: --local-ranks N here, or\n"
    "                         --distributed --rank R --world N on each host (rank R runs the\n"
    "                         R-th host's stage on that host's devices)\n"
    "  --device-map FILE      a device_map.json ({\"model.embed_tokens\": 0, \"lm_head\": \"cpu\", ...});\n"
    "                         either option also takes the other format\n"
    "  --max-memory, --hardware, --strategy, --no-split, --dtype, --pin, --policy,\n"
    "  --offload-buffers, --fallback, --no-clean, --headroom-tokens, --batch\n"
    "                         plan here, as `mizan-cli plan` does (see its help). With a map\n"
    "                         file, --max-memory/--hardware give the simulated GPUs' capacity and\n"
    "                         --dtype the load dtype the planned sizes are counted in\n"
    "\n"
    "The run:\n"
    "  --prompt TEXT          the prompt, encoded with the checkpoint's tokenizer (tokenizer.json,\n"
    "                         or vocab.json + merges.txt, in its folder) with its special tokens\n"
    "                         (a BOS where the tokenizer adds one); the new tokens are printed as\n"
    "                         text as they come. Generation stops at the end-of-sequence token\n"
    "                         (generation_config.json's eos_token_id, else config.json's, else\n"
    "                         the tokenizer's) unless --ignore-eos\n"
    "  --prompt-ids LIST      the prompt's token ids, e.g. 1,2,3; exactly --max-new-tokens tokens\n"
    "                         are generated (the text is shown too when there is a tokenizer)\n"
    "  --tokenizer PATH       another tokenizer: a tokenizer.json, a model folder, or ORG/NAME\n"
    "  --ignore-eos           with --prompt: generate --max-new-tokens tokens whatever they are\n"
    "  --max-new-tokens N     tokens to generate (default 16)\n"
    "  --prefetch K           offloaded steps brought in ahead (default 1; 0: none); a step whose\n"
    "                         weights find no room yet is brought in at its turn instead\n"
    "  --offload-folder DIR   read the \"disk\" modules from Accelerate's offload folder DIR\n"
    "                         (index.json + one .dat per tensor, mmapped); a folder without\n"
    "                         index.json is written first from the checkpoint, as Accelerate does\n"
    "  --simulated-bandwidth B  host-to-GPU bandwidth of simulated GPUs in bytes/s, e.g. 2GB or\n"
    "                         16GiB (an optional /s is accepted); default: as fast as a copy\n"
    "  --cpu-dtype DTYPE      what the CPU and simulated GPUs compute in: float32 (default) or\n"
    "                         bfloat16 (float16 weights are converted when brought in)\n"
    "  --temperature T        sample with temperature T (default 0: greedy)\n"
    "  --top-k K              sample among the K most likely tokens only\n"
    "  --seed S               the sampling seed (default 0; the same seed gives the same tokens)\n"
    "  --json                 print one object {\"format\": \"mizan-run-result\", \"version\": 1, ...}\n"
    "\n"
    "Pipeline stages (libtorch's c10d: ProcessGroupGloo over TCP, a TCPStore on rank 0):\n"
    "  --local-ranks N        run the plan as N pipeline stages, N processes on 127.0.0.1 started\n"
    "                         here (a free port is chosen): the decoder blocks are split into N\n"
    "                         contiguous stages balanced by bytes; prints the tokens once and what\n"
    "                         each stage did; a failing rank fails the run with every rank's error.\n"
    "                         With --offload-folder DIR, rank R uses DIR/rank-R\n"
    "  --distributed          this process is one rank of such a pipeline (one per host), with:\n"
    "  --master ADDR:PORT     where rank 0 serves the rendezvous (rank 0 listens there)\n"
    "  --rank R --world N     this rank and the number of ranks\n"
    "  --host NAME            instead of --rank and --world, with a cluster plan: run host NAME's\n"
    "                         stage (its rank is its place in the plan)\n"
    "  --split A,B,...        decoder blocks per stage (default: balanced by bytes)\n"
    "  --timeout SECONDS      how long a rank waits for another (joining, a hidden state, a\n"
    "                         token) before failing (default 30)\n"
    "Every rank needs the same checkpoint, map and arguments except --rank (and its devices):\n"
    "fingerprints of the checkpoint, the plan, the split and the generation settings are compared\n"
    "at the rendezvous, before any weights load. Each rank runs the map restricted to its stage's\n"
    "modules on its own devices (GPUs, simulated GPUs, CPU, disk).\n"
    "\n"
    "Ctrl-C stops the run before its next step (exit 130).\n"
    "The run needs the libtorch backend, libmizan_torch_backend.so (see `mizan-cli help devices`).\n"
    "\n"
    "exit codes: 0 generated, 1 failure (unreadable checkpoint or map, map not covering the model,\n"
    "out of memory, missing shard, token id outside the vocabulary), 2 wrong arguments,\n"
    "130 cancelled\n";

namespace {

using planner::Device;


std::string trimmed(const std::string &s)
{
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::int64_t> promptIdsFrom(const std::string &text)
{
    std::vector<std::int64_t> ids;
    std::size_t start = 0;
    for (;;) {
        const auto comma = text.find(',', start);
        const std::string item = trimmed(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        std::int64_t id = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0)
            throw UsageError("--prompt-ids needs token ids separated by commas (e.g. 1,2,3), got \"" + text + "\"");
        ids.push_back(id);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return ids;
}

// "2GB", "16GiB/s", "1000000": bytes per second.
double bandwidthFrom(const std::string &text)
{
    std::string t = trimmed(text);
    if (t.size() > 2 && t.compare(t.size() - 2, 2, "/s") == 0)
        t = t.substr(0, t.size() - 2);
    std::int64_t bytes = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), bytes);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
        try {
            bytes = planner::parseSize(t);
        } catch (const Error &) {
            bytes = -1;
        }
    }
    if (bytes <= 0)
        throw UsageError("--simulated-bandwidth needs a positive size per second (e.g. 2GB or 16GiB/s), got \"" + text + "\"");
    // A bare "2" is 2 bytes/s: a run that would sleep for years on its first weight. No link is
    // that slow; the unit was forgotten.
    if (bytes < 1000000)
        throw UsageError("--simulated-bandwidth \"" + text + "\" is " + std::to_string(bytes) +
                         " bytes/s, under 1 MB/s: give a unit, e.g. 2GB for 2 GB/s");
    return static_cast<double>(bytes);
}

double milliseconds(double seconds)
{
    return seconds * 1000.0;
}

std::string ms(double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", milliseconds(seconds));
    return buf;
}

std::string perSecond(double count, double seconds)
{
    if (seconds <= 0)
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", count / seconds);
    return buf;
}

nlohmann::ordered_json orNull(std::int64_t v)
{
    return v < 0 ? nlohmann::ordered_json() : nlohmann::ordered_json(v);
}

// Ctrl-C while the session runs: the handler writes a byte to a pipe (async-signal-safe); a thread
// reading it calls Session::cancel(). The previous handler is back when this object goes.
int g_sigintPipe = -1;

extern "C" void onSigint(int)
{
    const char c = 'c';
    if (g_sigintPipe >= 0) {
        const ssize_t n = ::write(g_sigintPipe, &c, 1);
        (void)n;
    }
}

class CancelOnSigint {
public:
    explicit CancelOnSigint(runtime::Session &session)
    {
        if (::pipe2(m_pipe, O_CLOEXEC) != 0) {
            m_pipe[0] = m_pipe[1] = -1;
            return; // Ctrl-C then ends the process as usual
        }
        m_thread = std::thread([this, &session] {
            for (;;) {
                char c = 0;
                const ssize_t n = ::read(m_pipe[0], &c, 1);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n != 1 || c != 'c')
                    return;
                m_cancelled.store(true);
                session.cancel();
            }
        });
        g_sigintPipe = m_pipe[1];
        struct sigaction action = {};
        action.sa_handler = onSigint;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        m_installed = ::sigaction(SIGINT, &action, &m_previous) == 0;
    }
    ~CancelOnSigint()
    {
        if (m_pipe[1] < 0)
            return;
        if (m_installed)
            ::sigaction(SIGINT, &m_previous, nullptr);
        g_sigintPipe = -1;
        const char quit = 'q';
        const ssize_t n = ::write(m_pipe[1], &quit, 1);
        (void)n;
        m_thread.join();
        ::close(m_pipe[0]);
        ::close(m_pipe[1]);
    }
    CancelOnSigint(const CancelOnSigint &) = delete;
    CancelOnSigint &operator=(const CancelOnSigint &) = delete;

private:
    int m_pipe[2] = {-1, -1};
    bool m_installed = false;
    struct sigaction m_previous = {};
    std::atomic<bool> m_cancelled{false};
    std::thread m_thread;
};

// What the map, the plan and the arguments say about the run before it starts.
struct Prepared {
    planner::DeviceMap map;
    planner::PlanOptions options;
    std::vector<planner::DeviceUsage> usage;
    std::vector<planner::PlanDevice> devices; // what the plan file / the budget arguments know of each device
    std::vector<std::string> notes;
};

std::string joined(const std::vector<std::string> &items, const char *sep)
{
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? sep : "") + items[i];
    return out;
}

std::string stageSummary(const runtime::StageReport &s, std::size_t tokens)
{
    std::string text = "rank " + std::to_string(s.rank) + " of " + std::to_string(s.world) + ": blocks " + std::to_string(s.firstBlock) + "-" +
                       std::to_string(s.endBlock - 1) + (s.embeddings ? " with the embeddings" : "") +
                       (s.head ? std::string(s.embeddings ? " and" : " with") + " the norm and head" : "") + "; sent " +
                       humanBytes(static_cast<double>(s.bytesSent)) + " (" +
                       humanBytes(tokens ? static_cast<double>(s.bytesSent) / static_cast<double>(tokens) : 0.0) + "/token), waited " +
                       ms(s.waitSeconds) + " for the other stages";
    return text;
}

nlohmann::ordered_json stageJson(const runtime::StageReport &s, std::size_t tokens)
{
    nlohmann::ordered_json split = nlohmann::ordered_json::array();
    for (const auto &[first, end] : s.split)
        split.push_back({first, end});
    return {{"rank", s.rank},
            {"world", s.world},
            {"blocks", {s.firstBlock, s.endBlock}},
            {"embeddings", s.embeddings},
            {"head", s.head},
            {"split", split},
            {"seconds", s.seconds},
            {"bytes_sent", s.bytesSent},
            {"bytes_received", s.bytesReceived},
            {"bytes_sent_per_token", tokens ? static_cast<double>(s.bytesSent) / static_cast<double>(tokens) : 0.0},
            {"wait_ms", milliseconds(s.waitSeconds)},
            {"checkpoint_fingerprint", s.fingerprint.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.fingerprint)}};
}

} // namespace

runtime::PipelineSpec pipelineFrom(const Args &args)
{
    runtime::PipelineSpec spec;
    const bool distributed = args.flag("--distributed");
    const auto local = args.value("--local-ranks");
    if (distributed && local)
        throw UsageError("give --distributed (one rank of a pipeline) or --local-ranks N (all ranks here), not both");
    const bool byHost = args.value("--host").has_value();
    if (byHost && !distributed)
        throw UsageError("--host goes with --distributed (this host's stage of a cluster plan)");
    if (byHost && (args.value("--rank") || args.value("--world")))
        throw UsageError("give --host NAME (the cluster plan gives its rank and the world) or --rank R --world N, not both");
    for (const char *option : {"--master", "--rank", "--world"}) {
        if (distributed && !args.value(option) && !(byHost && std::string_view(option) != "--master"))
            throw UsageError(std::string("--distributed needs ") + option + " (--master ADDR:PORT --rank R --world N)");
        if (!distributed && args.value(option))
            throw UsageError(std::string(option) + " goes with --distributed" + (local ? " (--local-ranks chooses ranks and port itself)" : ""));
    }
    if (!distributed && !local)
        for (const char *option : {"--split", "--timeout"})
            if (args.value(option))
                throw UsageError(std::string(option) + " goes with --distributed or --local-ranks");
    if (auto t = args.value("--timeout")) {
        double v = -1;
        auto [ptr, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
        if (ec != std::errc() || ptr != t->data() + t->size() || !std::isfinite(v) || v <= 0 || v > 86400)
            throw UsageError("--timeout needs a number of seconds > 0 (at most 86400), got \"" + *t + "\"");
        spec.timeoutSeconds = v;
    }
    spec.blocksPerStage = blockCounts(args);
    if (local) {
        const std::int64_t n = nonNegativeInt(args, "--local-ranks", 1);
        if (n < 1 || n > 64)
            throw UsageError("--local-ranks needs a number of ranks from 1 to 64, got \"" + *local + "\"");
        spec.world = static_cast<int>(n);
    }
    if (distributed) {
        const std::string master = *args.value("--master");
        const auto colon = master.rfind(':');
        int port = 0;
        const std::string portText = colon == std::string::npos ? std::string() : master.substr(colon + 1);
        auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
        if (colon == std::string::npos || colon == 0 || ec != std::errc() || ptr != portText.data() + portText.size() || port < 1 || port > 65535)
            throw UsageError("--master needs ADDR:PORT (e.g. 10.0.0.1:29500), got \"" + master + "\"");
        spec.masterAddress = master.substr(0, colon);
        spec.masterPort = port;
        // With --host, the cluster plan gives both (runRun).
        const std::int64_t world = nonNegativeInt(args, "--world", 1);
        const std::int64_t rank = nonNegativeInt(args, "--rank", 0);
        if (world < 1 || world > 1024)
            throw UsageError("--world needs a number of ranks from 1 to 1024");
        if (rank >= world)
            throw UsageError("--rank must be below --world (ranks are 0.." + std::to_string(world - 1) + ")");
        spec.world = static_cast<int>(world);
        spec.rank = static_cast<int>(rank);
    }
    if (!spec.blocksPerStage.empty() && static_cast<int>(spec.blocksPerStage.size()) != spec.world)
        throw UsageError("--split gives " + std::to_string(spec.blocksPerStage.size()) + " stage(s) for " + std::to_string(spec.world) +
                         " rank(s)");
    return spec;
}

int runStage(const std::vector<std::string> &argv)
{
    std::vector<std::string> all = argv;
    if (std::find(all.begin(), all.end(), "--distributed") == all.end())
        all.push_back("--distributed");
    return runRun(all);
}

int runRun(const std::vector<std::string> &argv)
{
    std::vector<std::string> values = kPlanValueOptions;
    values.insert(values.end(), {"--plan", "--device-map", "--prompt", "--prompt-ids", "--tokenizer", "--max-new-tokens", "--prefetch", "--simulated-bandwidth",
                                 "--offload-folder", "--cpu-dtype", "--temperature", "--top-k", "--seed", "--master", "--rank", "--world",
                                 "--split", "--timeout", "--local-ranks", "--host"});
    std::vector<std::string> flags = kPlanFlags;
    flags.push_back("--json");
    flags.push_back("--ignore-eos");
    flags.push_back("--distributed");
    const Args args(argv, values, flags);
    args.expectPositionals(1, 1);
    const std::string path = args.positional(0, "PATH");
    runtime::PipelineSpec pipeline = pipelineFrom(args);
    // A cluster plan (`plan --hardware CLUSTER -o FILE`) gives the stages: one per host, rank R
    // running the R-th host's.
    // The --plan file, read once here (before anything slow, and before --local-ranks starts the
    // ranks, which read it themselves).
    std::optional<planner::MapOrPlan> planFile;
    if (const auto plan = args.value("--plan"))
        planFile = planner::readMapOrPlanFile(*plan, nullptr, true);
    const planner::ClusterPlanFile *cluster = planFile && planFile->cluster ? &*planFile->cluster : nullptr;
    if (const auto host = args.value("--host")) {
        if (!cluster)
            throw UsageError("--host names a host of a cluster plan: give the plan with --plan FILE (`mizan-cli plan --hardware CLUSTER -o FILE`)");
        std::string hosts;
        pipeline.rank = -1;
        for (std::size_t i = 0; i < cluster->stages.size(); ++i) {
            hosts += (i ? ", " : "") + cluster->stages[i].host;
            if (cluster->stages[i].host == *host)
                pipeline.rank = static_cast<int>(i);
        }
        if (pipeline.rank < 0)
            throw UsageError("--host " + *host + " is not a host of " + *args.value("--plan") + " (its hosts: " + hosts + ")");
        pipeline.world = static_cast<int>(cluster->stages.size());
    }
    if (cluster) {
        const int stages = static_cast<int>(cluster->stages.size());
        if (args.value("--split"))
            throw UsageError("--split does not apply to a cluster plan: " + *args.value("--plan") + " gives each host's blocks");
        if (pipeline.world != stages) {
            std::string hosts;
            for (const auto &st : cluster->stages)
                hosts += (hosts.empty() ? "" : ", ") + st.host;
            throw UsageError(*args.value("--plan") + " is a cluster plan of " + std::to_string(stages) + " stages (hosts " + hosts +
                             "): run it with --local-ranks " + std::to_string(stages) + " here, or on each host with --distributed --rank R --world " +
                             std::to_string(stages) + " (rank R runs the R-th host's stage)");
        }
        pipeline.blocksPerStage = cluster->blocksPerStage();
    }
    if (args.value("--local-ranks"))
        return runLocalRanks(argv, args, pipeline);

    // Every argument is checked before the (slow) open and the backend's load.
    const auto planPath = args.value("--plan");
    const auto mapPathArg = args.value("--device-map");
    if (planPath && mapPathArg)
        throw UsageError("give --plan or --device-map, not both");
    const std::optional<std::string> mapPath = planPath ? planPath : mapPathArg;
    if (mapPath) {
        for (const char *planningOnly : {"--strategy", "--pin", "--policy", "--headroom-tokens", "--batch"})
            if (args.value(planningOnly))
                throw UsageError(std::string(planningOnly) + " is for planning here; it does not apply to a map given with " +
                                 (planPath ? "--plan" : "--device-map"));
        for (const char *planningOnly : {"--fallback", "--no-clean"})
            if (args.flag(planningOnly))
                throw UsageError(std::string(planningOnly) + " is for planning here; it does not apply to a map given with " +
                                 (planPath ? "--plan" : "--device-map"));
    } else if (!args.value("--max-memory") && !args.value("--hardware")) {
        throw UsageError("missing the map: --plan FILE, --device-map FILE, or budgets to plan with (--max-memory 0=2GiB,cpu=8GiB or "
                         "--hardware PROFILE)");
    }
    const auto promptIdsText = args.value("--prompt-ids");
    const auto promptText = args.value("--prompt");
    if (promptIdsText && promptText)
        throw UsageError("give --prompt or --prompt-ids, not both");
    if (!promptIdsText && !promptText)
        throw UsageError("missing the prompt: --prompt TEXT (with the checkpoint's tokenizer) or --prompt-ids 1,2,3");
    if (promptText && promptText->empty())
        throw UsageError("--prompt needs some text");
    if (args.flag("--ignore-eos") && !promptText)
        throw UsageError("--ignore-eos goes with --prompt (--prompt-ids always generates --max-new-tokens tokens)");

    runtime::RunRequest request;
    request.checkpointPath = path;
    request.pipeline = pipeline;
    if (promptIdsText)
        request.promptIds = promptIdsFrom(*promptIdsText);
    const std::int64_t maxNew = nonNegativeInt(args, "--max-new-tokens", 16);
    const std::int64_t prefetch = nonNegativeInt(args, "--prefetch", 1);
    if (maxNew > 1000000 || prefetch > 1000000)
        throw UsageError("--max-new-tokens and --prefetch must be at most 1000000");
    request.maxNewTokens = static_cast<int>(maxNew);
    request.prefetch = static_cast<int>(prefetch);
    if (auto b = args.value("--simulated-bandwidth"))
        request.simulatedBandwidth = bandwidthFrom(*b);
    if (auto f = args.value("--offload-folder")) {
        if (f->empty())
            throw UsageError("--offload-folder needs a folder");
        request.offloadFolder = *f;
    }
    if (auto d = args.value("--cpu-dtype")) {
        if (*d != "float32" && *d != "bfloat16")
            throw UsageError("--cpu-dtype must be float32 or bfloat16 (libtorch cannot multiply float16 matrices on the CPU), got \"" + *d +
                             "\"");
        request.cpuDtype = *d;
    }
    if (auto t = args.value("--temperature")) {
        double v = -1;
        auto [ptr, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
        if (ec != std::errc() || ptr != t->data() + t->size() || !std::isfinite(v) || v < 0)
            throw UsageError("--temperature needs a number >= 0, got \"" + *t + "\"");
        request.temperature = static_cast<float>(v);
    }
    const std::int64_t topK = nonNegativeInt(args, "--top-k", 0);
    if (topK > 100000000)
        throw UsageError("--top-k is too large");
    request.topK = static_cast<int>(topK);
    if (auto s = args.value("--seed")) {
        std::uint64_t seed = 0;
        auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), seed);
        if (ec != std::errc() || ptr != s->data() + s->size())
            throw UsageError("--seed needs a non-negative integer, got \"" + *s + "\"");
        request.seed = seed;
    }
    const PlanArgs planArgs = planArgsFrom(args, !mapPath);
    const bool json = args.flag("--json");

    // The map: a file read before the slow open, or a plan made here.
    std::optional<planner::MapOrPlan> file;
    if (cluster) // every stage's map (each rank keeps its own stage's keys), this rank's host's plan
        file = planner::MapOrPlan{cluster->localDeviceMap(), cluster->stages[static_cast<std::size_t>(pipeline.rank)].plan, std::nullopt};
    else if (planFile)
        file = std::move(planFile);
    else if (mapPath)
        file = planner::readMapOrPlanFile(*mapPath);
    const models::Source source = models::openSource(path);
    const models::ModelDescription &model = source.model;
    if (!source.checkpoint.hasWeights())
        throw Error(ErrorKind::InvalidArgument, path, "has no weights to run (a config.json or a preset describes a model, it cannot run)");

    // The tokenizer: given, else the checkpoint's (needed for --prompt, used to show text).
    std::optional<loader::Tokenizer> tokenizer;
    if (const auto t = args.value("--tokenizer"))
        tokenizer = models::openTokenizer(*t);
    else
        tokenizer = models::tokenizerOf(source.checkpoint);
    if (promptText) {
        if (!tokenizer)
            throw Error(ErrorKind::NotFound, source.checkpoint.directory.empty() ? path : source.checkpoint.directory,
                        "has no tokenizer (tokenizer.json, or vocab.json + merges.txt) to encode --prompt: give --tokenizer PATH "
                        "or the ids with --prompt-ids");
        request.promptIds = tokenizer->encode(*promptText, true).ids;
        if (request.promptIds.empty())
            throw Error(ErrorKind::InvalidArgument, tokenizer->path(), "encodes the prompt to no tokens at all");
        const std::int64_t vocab = model.dims.vocabSize;
        for (const auto id : request.promptIds)
            if (vocab > 0 && id >= vocab)
                throw Error(ErrorKind::InvalidArgument, tokenizer->path(),
                            "does not fit this model: it encodes the prompt with token " + std::to_string(id) + ", beyond the model's "
                                + std::to_string(vocab) + " embeddings (" + tokenizer->describe() + ")");
        if (!args.flag("--ignore-eos"))
            request.stopIds = models::stopIdsOf(source.checkpoint, &*tokenizer);
    }

    Prepared prepared;
    prepared.options = planOptionsFor(planArgs, model);
    prepared.devices = planArgs.devices;
    if (file) {
        prepared.map = file->map;
        if (file->plan) {
            const planner::PlanFile &plan = *file->plan;
            planner::checkPlanIdentity(plan, *mapPath, planner::identityOf(model.tree, path));
            planner::PlanOptions &options = prepared.options;
            if (options.maxMemory.empty()) {
                options.maxMemory = plan.options.maxMemory;
                prepared.devices = plan.devices;
            }
            if (!args.value("--dtype")) {
                options.dtype = plan.options.dtype;
                options.dtypeRule = plan.options.dtypeRule;
                options.specialDtypes = plan.options.specialDtypes;
            }
            if (!args.value("--no-split"))
                options.noSplitClasses = plan.options.noSplitClasses;
            options.headroom = plan.options.headroom;
            // The plan's own numbers unless the sizes are asked for in another dtype.
            if (!args.value("--dtype"))
                prepared.usage = plan.usage;
            // Budgets given here: their own capacities (a profile's) or none (then the budget is the
            // capacity); the plan file's labels still name the devices.
            for (auto &d : prepared.devices)
                if (const planner::PlanDevice *known = plan.deviceInfo(d.device); known && d.label.empty())
                    d.label = known->label;
        }
        if (prepared.usage.empty())
            prepared.usage = planner::usageOf(model.tree, prepared.map, prepared.options);
    } else {
        planner::Plan result;
        try {
            result = planner::plan(model.tree, prepared.options);
        } catch (const Error &e) {
            if (e.kind() == ErrorKind::InvalidArgument)
                throw UsageError(e.message());
            throw;
        }
        prepared.map = result.deviceMap;
        prepared.usage = result.usage;
        for (const auto &w : result.warnings)
            prepared.notes.push_back("plan: " + w);
    }
    runtime::setPlan(request, prepared.map, prepared.usage, prepared.options.dtype);

    // The backend, and this machine's GPUs: those of the map beyond them are simulated.
    const runtime::BackendLoad &load = runtime::loadBackend();
    if (!load.backend)
        throw Error(ErrorKind::Io, load.path, "cannot run without the libtorch backend: " + load.error);
    std::vector<std::string> gpuNotes;
    const std::vector<runtime::GpuInfo> gpus = load.backend->probeGpus(gpuNotes);
    for (const auto &n : gpuNotes)
        prepared.notes.push_back(n);
    std::vector<std::string> simulatedNames;
    // A cluster plan's map holds every host's devices: this rank's are those of its own stage.
    request.devices = runtime::runDevicesFor(cluster ? file->plan->deviceMap : prepared.map, gpus, prepared.devices,
                                             prepared.options.maxMemory);
    for (const runtime::RunDevice &rd : request.devices) {
        if (!rd.simulated)
            continue;
        const std::string name = runtime::deviceName(rd.device, false);
        if (rd.capacityBytes >= 0) {
            simulatedNames.push_back(name + " (" + humanBytes(static_cast<double>(rd.capacityBytes)) + ")");
        } else {
            simulatedNames.push_back(name + " (unlimited)");
            prepared.notes.push_back(name + " (simulated) has no known capacity (no budget for it in the plan or --max-memory): its arena is "
                                            "not limited");
        }
    }

    // Run, streaming the tokens.
    std::unique_ptr<runtime::Session> session = load.backend->createSession(request);
    if (!session)
        throw Error(ErrorKind::Io, load.path, "the libtorch backend made no session");
    if (!json) {
        std::cout << "Run         " << printable(path) << "  (" << (file ? printable(*mapPath) : std::string("planned here")) << ", " << prepared.map.size()
                  << (prepared.map.size() == 1 ? " entry" : " entries") << ")\n";
        if (!simulatedNames.empty())
            std::cout << "Simulated   " << joined(simulatedNames, ", ") << "\n";
        if (tokenizer)
            std::cout << "Tokenizer   " << printable(tokenizer->path()) << " (" << tokenizer->describe() << ")\n";
        if (promptText)
            std::cout << "Prompt      " << printable(jsonText(nlohmann::ordered_json(*promptText))) << " = ";
        else
            std::cout << "Prompt      ";
        for (std::size_t i = 0; i < request.promptIds.size(); ++i)
            std::cout << (i ? " " : "") << request.promptIds[i];
        // With a tokenizer the new tokens are printed as text as they come (ids after the run).
        std::cout << (tokenizer ? "\nText        " : "\nTokens      ") << std::flush;
    }
    std::optional<loader::TextStream> stream;
    if (tokenizer)
        stream.emplace(*tokenizer);
    runtime::RunResult result;
    {
        const CancelOnSigint cancelOnSigint(*session);
        result = session->run([json, &session, &stream](const std::vector<runtime::RunEvent> &events) {
            if (json)
                return;
            bool printed = false;
            for (const auto &e : events)
                if (e.kind == runtime::RunEventKind::Token) {
                    if (stream)
                        std::cout << printable(stream->push(e.token), true);
                    else
                        std::cout << (e.index > 0 ? " " : "") << e.token;
                    printed = true;
                }
            if (printed)
                std::cout << std::flush;
            if (standardOutputFailed())
                session->cancel(); // nobody sees the tokens: stop; main() reports the failed write
        });
    }
    if (standardOutputFailed())
        return 1;
    if (!json && stream) {
        std::cout << printable(stream->finish(), true) << "\nTokens      ";
        for (std::size_t i = 0; i < result.generatedIds.size(); ++i)
            std::cout << (i ? " " : "") << result.generatedIds[i];
        if (result.stoppedAtStopId)
            std::cout << "  (stopped at the end-of-sequence token)";
    }
    if (!json)
        std::cout << "\n" << std::flush;
    if (result.cancelled) {
        std::cerr << "mizan-cli run: cancelled after " << result.generatedIds.size() << " token(s)\n";
        return 130;
    }
    if (result.error) {
        const runtime::RunError &e = *result.error;
        std::cerr << "mizan-cli run: error (" << toString(e.kind) << "): " << printable((e.file.empty() ? std::string() : e.file + ": ") + e.message)
                  << "\n";
        return 1;
    }

    std::vector<std::string> notes = prepared.notes;
    notes.insert(notes.end(), result.notes.begin(), result.notes.end());
    if (!simulatedNames.empty())
        notes.push_back("simulated: " + joined(simulatedNames, ", ") +
                        (simulatedNames.size() == 1 ? " is" : " are") +
                        " not on this machine; each is an arena of host memory with that capacity, enforced on every allocation "
                        "(weights, KV cache, activations), computing on the CPU in " +
                        result.cpuDtype + (request.simulatedBandwidth > 0 ? ", weights coming in at most at the --simulated-bandwidth" : "") +
                        "; their times are this CPU's");
    const std::size_t decoded = result.generatedIds.size() > 1 ? result.generatedIds.size() - 1 : 0;
    const double tokensPerSecond = result.decodeSecondsPerToken > 0 ? 1.0 / result.decodeSecondsPerToken : 0;

    if (json) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-run-result";
        j["version"] = 1;
        j["path"] = path;
        j["map"] = file ? nlohmann::ordered_json(*mapPath) : nlohmann::ordered_json();
        j["device_map"] = planner::deviceMapToJson(prepared.map);
        j["prompt"] = promptText ? nlohmann::ordered_json(*promptText) : nlohmann::ordered_json();
        j["prompt_ids"] = result.promptIds;
        j["generated_ids"] = result.generatedIds;
        j["text"] = tokenizer ? nlohmann::ordered_json(tokenizer->decode(result.generatedIds)) : nlohmann::ordered_json();
        j["tokenizer"] = tokenizer ? nlohmann::ordered_json(tokenizer->path()) : nlohmann::ordered_json();
        j["stopped_at_eos"] = result.stoppedAtStopId;
        j["devices"] = nlohmann::ordered_json::array();
        for (const auto &d : result.devices)
            j["devices"].push_back({{"device", d.device.toJson()},
                                    {"label", d.label},
                                    {"simulated", d.simulated},
                                    {"compute_ms", milliseconds(d.computeSeconds)},
                                    {"transfer_ms", milliseconds(d.transferSeconds)},
                                    {"bytes_moved", d.bytesMoved},
                                    {"resident_bytes", d.residentBytes},
                                    {"peak_bytes", d.peakBytes},
                                    {"planned_bytes", orNull(d.plannedBytes)},
                                    {"capacity_bytes", orNull(d.capacityBytes)}});
        j["prefill_ms"] = milliseconds(result.prefillSeconds);
        j["prefill_tokens_per_second"] =
            result.prefillSeconds > 0 ? nlohmann::ordered_json(static_cast<double>(result.promptIds.size()) / result.prefillSeconds) : nlohmann::ordered_json();
        j["decode_ms_per_token"] = decoded > 0 ? nlohmann::ordered_json(milliseconds(result.decodeSecondsPerToken)) : nlohmann::ordered_json();
        j["tokens_per_second"] = decoded > 0 && tokensPerSecond > 0 ? nlohmann::ordered_json(tokensPerSecond) : nlohmann::ordered_json();
        j["load_ms"] = milliseconds(result.loadSeconds);
        j["prefetch"] = request.prefetch;
        j["offload_folder"] = request.offloadFolder.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(request.offloadFolder);
        j["simulated_bandwidth"] = request.simulatedBandwidth > 0 ? nlohmann::ordered_json(request.simulatedBandwidth) : nlohmann::ordered_json();
        j["cpu_dtype"] = result.cpuDtype;
        j["gpu_dtype"] = result.gpuDtype;
        j["converted_tensors"] = result.convertedTensors;
        j["converted_bytes"] = result.convertedBytes;
        j["convert_ms"] = milliseconds(result.convertSeconds);
        j["in_place_tensors"] = result.inPlaceTensors;
        j["page_locked_bytes"] = result.pageLockedBytes;
        j["stage"] = stageJson(result.stage, result.generatedIds.size());
        j["notes"] = notes;
        std::cout << jsonText(j) << "\n";
        return 0;
    }

    std::cout << "\n";
    TextTable table({"Device", "Compute", "Transfer", "Moved", "Peak", "Planned", "Capacity"}, {false, true, true, true, true, true, true});
    for (const auto &d : result.devices)
        table.addRow({d.label, ms(d.computeSeconds), ms(d.transferSeconds), humanBytes(static_cast<double>(d.bytesMoved)),
                      humanBytes(static_cast<double>(d.peakBytes)), d.plannedBytes < 0 ? "-" : humanBytes(static_cast<double>(d.plannedBytes)),
                      d.capacityBytes < 0 ? "-" : humanBytes(static_cast<double>(d.capacityBytes))});
    std::cout << table.render() << "\n";
    std::cout << "Prefill     " << result.promptIds.size() << (result.promptIds.size() == 1 ? " token" : " tokens") << " in "
              << ms(result.prefillSeconds) << " (" << perSecond(static_cast<double>(result.promptIds.size()), result.prefillSeconds)
              << " tokens/s)\n";
    if (decoded > 0)
        std::cout << "Decode      " << decoded << (decoded == 1 ? " token, " : " tokens, ") << ms(result.decodeSecondsPerToken) << "/token ("
                  << perSecond(1.0, result.decodeSecondsPerToken) << " tokens/s)\n";
    std::cout << "Load        " << ms(result.loadSeconds) << "\n";
    if (result.pageLockedBytes > 0)
        std::cout << "Page-locked " << humanBytes(static_cast<double>(result.pageLockedBytes)) << " of CPU RAM, for the GPUs' copies\n";
    if (result.stage.world > 1)
        std::cout << "Stage       " << stageSummary(result.stage, result.generatedIds.size()) << "\n";
    std::vector<std::string> realGpus;
    for (const runtime::RunDevice &rd : request.devices)
        if (!rd.simulated)
            realGpus.push_back(runtime::deviceName(rd.device, false));
    std::cout << "Compute     ";
    if (!realGpus.empty())
        std::cout << result.gpuDtype << " on " << joined(realGpus, ", ") << ", ";
    std::cout << result.cpuDtype << " on the CPU" << (simulatedNames.empty() ? "" : " and the simulated GPUs");
    if (result.convertedTensors > 0)
        std::cout << "; " << result.convertedTensors << " weight conversion(s) (" << humanBytes(static_cast<double>(result.convertedBytes))
                  << " read, " << ms(result.convertSeconds) << ")";
    else
        std::cout << "; nothing converted";
    if (result.inPlaceTensors > 0)
        std::cout << "; " << result.inPlaceTensors << " tensor(s) used in place from the mmapped file";
    std::cout << "\n";
    for (const auto &n : notes)
        std::cout << "note: " << printable(n) << "\n";
    return 0;
}

} // namespace mizan::cli
