// mizan-cli plan: a device map for a checkpoint under per-device budgets.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"
#include "planargs.h"

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "planner/cluster.h"
#include "planner/cost.h"
#include "runtime/calibrate.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "planner/validate.h"
#include "planner/planfile.h"
#include "planner/usage.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <optional>

namespace mizan::cli {

const char *const kPlanUsage =
    "usage: mizan-cli plan PATH (--max-memory DEVICES | --hardware PROFILE) [options]\n"
    "\n"
    "Computes a device map (module -> GPU index, cpu or disk) exactly as Accelerate's\n"
    "infer_auto_device_map would, plus pins and runtime headroom, and prints it grouped by device.\n"
    "PATH is a checkpoint folder, a .safetensors file, an .index.json, a config.json or a preset.\n"
    "\n"
    "  --max-memory LIST      budgets, e.g. 0=22GiB,1=22GiB,cpu=64GiB (GiB = 2^30, GB = 10^9,\n"
    "                         lowercase b = bits, as Accelerate parses them; integers are bytes);\n"
    "                         auto = this machine's free GPU memory and available RAM, as\n"
    "                         Accelerate's default (auto,cpu=32GiB overrides one device)\n"
    "  --hardware PROFILE     budgets from a hardware profile (see `mizan-cli presets`); a disk\n"
    "                         entry there is the offload folder's size, not a budget (Accelerate\n"
    "                         puts on disk without limit)\n"
    "  --strategy S           auto (default), balanced, balanced_low_0, sequential (Accelerate's),\n"
    "                         or optimal: the least predicted time per token under the same\n"
    "                         budgets (never slower than auto; uses the speeds below)\n"
    "  --no-split CLASS,...   module classes never split (default: the architecture's)\n"
    "  --dtype DTYPE          load dtype as from_pretrained(torch_dtype=DTYPE) means it: the model\n"
    "                         is instantiated in DTYPE, so floating weights take its size, larger\n"
    "                         or smaller than stored (float16 weights as float32: 4 bytes each);\n"
    "                         integer and bool tensors and keep-in-float32 modules (T5's wo under\n"
    "                         float16) keep theirs. float16, bfloat16, float32, float64; int8,\n"
    "                         custom_int4, custom_fp8 size weights as 8-bit/4-bit/fp8 loading does.\n"
    "                         Default: the dtypes the checkpoint (or config) stores\n"
    "  --pin NAME=DEVICE      keep module NAME on DEVICE (repeatable); NAME!=DEVICE forbids it\n"
    "  --policy POLICY        a placement rule over many modules (repeatable): SELECTOR=DEVICE or\n"
    "                         SELECTOR!=DEVICE with the selector class:CLASS, name:PATTERN (* = any\n"
    "                         characters but '.', ** = any, ? = one, {0..3} = a number from 0 to 3,\n"
    "                         {a,b} = one of the words), first:N (the first N decoder blocks),\n"
    "                         experts (every mixture-of-experts block's experts), experts:N (those\n"
    "                         of the first N such blocks, as llama.cpp's --n-cpu-moe N) or embeddings;\n"
    "                         built-in: experts-on-cpu, embeddings-on-cpu. The more specific rule\n"
    "                         wins: first:4=0 with experts-on-cpu keeps blocks 0-3 on GPU 0 but\n"
    "                         their experts on the CPU. A policy may split a no-split block: the\n"
    "                         rest of the block stays together on one device\n"
    "  --offload-buffers      offload buffers with their modules (Accelerate's offload_buffers)\n"
    "  --fallback             Accelerate's fallback_allocation\n"
    "  --no-clean             keep children sharing a device as separate entries\n"
    "  --headroom-tokens N    reserve activations + KV cache for N tokens on every GPU\n"
    "  --batch N              batch size for the headroom (default 1)\n"
    "  -o FILE                write the plan file (*.mizan.json)\n"
    "  --device-map-out FILE  write device_map.json (what transformers/Accelerate take)\n"
    "  --python-out FILE      write a Python snippet loading the model with this map\n"
    "  --prompt-tokens N      prompt length for the predicted prefill time (default 32)\n"
    "  --prefetch K           steps the runtime brings in ahead, for the prediction (default 1)\n"
    "  --json                 print a JSON object (format \"mizan-plan-result\", version 1)\n"
    "  --explain              print why every module landed where it is\n"
    "\n"
    "Clusters: with --hardware naming a cluster profile (\"hosts\", e.g. demo-2host, 2x-8xh100),\n"
    "the decoder blocks are cut into one contiguous pipeline stage per host (the first host also\n"
    "runs the embeddings, the last the final norm and head), chosen for the least predicted time\n"
    "per token including the hidden state's hop between hosts, or as --split A,B,... gives them;\n"
    "each host's stage is then planned on its own devices with the options above. -o writes a\n"
    "cluster plan file (run it with `mizan-cli run PATH --plan FILE --local-ranks N` or on each\n"
    "host with --distributed); --device-map-out FILE writes FILE.HOST.json per host (the host's\n"
    "stage only, its plain device names).\n"
    "\n"
    "The plan comes with a predicted speed (prefill, time per token with and without prefetch,\n"
    "bytes moved per token) from the profile's speeds (--hardware), else this machine's\n"
    "calibration (`mizan-cli calibrate`), else assumed numbers; the notes say which.\n"
    "\n"
    "exit codes: 0 planned, 1 failure (unreadable checkpoint, impossible pins), 2 wrong arguments\n";

namespace {

using namespace planner;

template<typename F>
auto asUsage(F &&f) -> decltype(f())
{
    try {
        return f();
    } catch (const Error &e) {
        if (e.kind() == ErrorKind::InvalidArgument)
            throw UsageError(e.message());
        throw;
    }
}


std::string entriesText(int n)
{
    return std::to_string(n) + (n == 1 ? " entry" : " entries");
}

// The budget table of a plan: one row per device.
void printUsage(const Plan &result)
{
    TextTable usage({"Device", "Budget", "Effective", "Planned", "Reserved", "Headroom", "Free", "Entries"},
                    {false, true, true, true, true, true, true, true});
    for (const auto &u : result.usage)
        usage.addRow({u.device.label(), u.budgetBytes < 0 ? "-" : humanBytes(static_cast<double>(u.budgetBytes)),
                      u.effectiveBudgetBytes < 0 ? "-" : humanBytes(static_cast<double>(u.effectiveBudgetBytes)), humanBytes(u.plannedBytes),
                      humanBytes(static_cast<double>(u.reservedLargestLayerBytes)), humanBytes(static_cast<double>(u.headroomBytes)),
                      u.budgetBytes < 0 ? "-" : (u.freeBytes < 0 ? "-" + humanBytes(-u.freeBytes) : humanBytes(u.freeBytes)),
                      std::to_string(u.moduleCount)});
    std::cout << usage.render() << "\n";
}

// Every device's map entries (runs of numbered siblings on one line unless `explain`).
void printEntries(const ModuleTree &tree, const Plan &result, bool explain)
{
    for (const auto &u : result.usage) {
        if (u.moduleCount == 0)
            continue;
        std::cout << u.device.label() << "  (" << entriesText(u.moduleCount) << ", " << humanBytes(u.plannedBytes) << ")\n";
        std::vector<std::pair<std::string, double>> rows; // this device's entries, in map order
        for (const auto &[name, device] : result.deviceMap) {
            if (device != u.device)
                continue;
            const int id = tree.find(name);
            rows.emplace_back(name, id >= 0 ? result.placements[static_cast<std::size_t>(id)].bytes : -1.0);
        }
        auto printRow = [](const std::string &name, const std::string &size) {
            const std::string label = printable(name);
            std::cout << "  " << label << std::string(label.size() < 48 ? 48 - label.size() : 1, ' ') << size << "\n";
        };
        for (std::size_t r = 0; r < rows.size();) {
            const std::string &name = rows[r].first;
            // Without --explain, runs of numbered siblings (model.layers.3 .. model.layers.9) take one line.
            const auto dot = name.rfind('.');
            std::size_t end = r + 1;
            long first = -1;
            if (!explain && dot != std::string::npos) {
                const std::string prefix = name.substr(0, dot + 1);
                auto number = [&](const std::string &n) -> long {
                    if (n.size() <= prefix.size() || n.compare(0, prefix.size(), prefix) != 0)
                        return -1;
                    long v = 0;
                    auto [ptr, ec] = std::from_chars(n.data() + prefix.size(), n.data() + n.size(), v);
                    return ec == std::errc() && ptr == n.data() + n.size() ? v : -1;
                };
                first = number(name);
                if (first >= 0)
                    while (end < rows.size() && number(rows[end].first) == first + static_cast<long>(end - r))
                        ++end;
            }
            if (end - r >= 3) {
                double total = 0;
                for (std::size_t k = r; k < end; ++k)
                    total += rows[k].second;
                printRow(name.substr(0, dot + 1) + std::to_string(first) + "-" + std::to_string(first + static_cast<long>(end - r) - 1),
                         humanBytes(total) + "  (" + std::to_string(end - r) + " entries)");
                r = end;
                continue;
            }
            printRow(name.empty() ? std::string("(whole model)") : name, rows[r].second < 0 ? std::string() : humanBytes(rows[r].second));
            const int id = tree.find(name);
            if (explain && id >= 0)
                std::cout << "      " << printable(result.placements[static_cast<std::size_t>(id)].reason()) << "\n";
            ++r;
        }
        std::cout << "\n";
    }
}

// Host `host`'s file name for a per-host output: "map.json" -> "map.node0.json".
std::string perHostPath(const std::string &path, const std::string &host)
{
    const auto slash = path.find_last_of('/');
    const auto dot = path.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == (slash == std::string::npos ? 0 : slash + 1))
        return path + "." + host;
    return path.substr(0, dot) + "." + host + path.substr(dot);
}

// `plan --hardware CLUSTER`: pipeline stages over the cluster's hosts, each host planned as usual.
int planOnCluster(const Args &args, const std::string &path, const PlanArgs &planArgs, const Workload &workload)
{
    const models::HardwareProfile &profile = *planArgs.cluster;
    if (args.value("--python-out"))
        throw UsageError("--python-out writes one machine's loading code; a cluster plan has a map per host (--device-map-out)");
    ClusterOptions clusterOptions;
    clusterOptions.workload = workload;
    clusterOptions.blocksPerHost = blockCounts(args);
    if (!clusterOptions.blocksPerHost.empty()) {
        if (clusterOptions.blocksPerHost.size() != profile.hosts.size())
            throw UsageError("--split gives " + std::to_string(clusterOptions.blocksPerHost.size()) + " stage(s) for the " +
                             std::to_string(profile.hosts.size()) + " hosts of " + profile.name);
    }
    std::vector<std::string> outputs;
    if (auto out = args.value("-o"))
        outputs.push_back(*out);
    if (auto out = args.value("--device-map-out"))
        for (const auto &h : profile.hosts)
            outputs.push_back(perHostPath(*out, h.name));
    checkOutputPaths(outputs);

    const models::Source source = models::openSource(path);
    const auto &model = source.model;
    const ModuleTree &tree = model.tree;
    std::vector<std::vector<PlanDevice>> devices;
    const Cluster cluster = asUsage([&] { return models::clusterFor(profile, model, planArgs.settings, &devices); });
    clusterOptions.hiddenBytesPerToken = models::hiddenBytesPerToken(model);
    const ClusterPlan result = asUsage([&] { return planCluster(tree, cluster, clusterOptions); });

    {
        OutputFiles written;
        if (auto out = args.value("-o")) {
            const ClusterPlanFile file = clusterPlanFileOf(result, identityOf(tree, path), profile.name, devices);
            written.write(*out, [&] { writeClusterPlanFile(*out, file, &result); });
        }
        if (auto out = args.value("--device-map-out"))
            for (const auto &stage : result.stages) {
                const std::string file = perHostPath(*out, stage.host);
                written.write(file, [&] { writeDeviceMapFile(file, stage.plan.deviceMap); });
            }
    }

    if (args.flag("--json")) {
        nlohmann::ordered_json j = clusterPlanToJson(result);
        nlohmann::ordered_json out;
        out["format"] = "mizan-cluster-plan-result";
        out["version"] = 1;
        out["path"] = path;
        out["profile"] = profile.name;
        for (auto it = j.begin(); it != j.end(); ++it)
            out[it.key()] = *it;
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    const bool explain = args.flag("--explain");
    const PlanOptions &first = cluster.hosts.front().options;
    std::cout << "Plan        " << printable(path) << "  (" << toString(first.strategy) << ", "
              << (first.dtype ? std::string(torchName(*first.dtype)) : std::string("dtype as stored")) << ", "
              << humanBytes(static_cast<double>(aggregateSizes(tree, first).totalBytes())) << ")\n";
    std::cout << "Cluster     " << printable(profile.name) << ": " << result.stages.size() << (result.stages.size() == 1 ? " host, " : " hosts, ")
              << result.blocks << " decoder blocks " << (result.chosenSplit ? "split for the least time per token" : "split as given (--split")
              << (result.chosenSplit ? "" : ")") << "\n";
    std::cout << "Speed       " << printable(summarize(result)) << "\n";
    for (const auto &n : result.notes)
        std::cout << "            (" << printable(n) << ")\n";
    std::cout << "\n";
    for (std::size_t i = 0; i < result.stages.size(); ++i) {
        const ClusterStage &st = result.stages[i];
        const std::string parts = stageParts(st.firstBlock, st.endBlock, st.embeddings, st.head);
        std::cout << "== Host " << printable(st.host) << (st.address.empty() ? std::string() : " (" + printable(st.address) + ")") << ": stage "
                  << i + 1 << " of " << result.stages.size() << ", " << parts << ", " << humanBytes(static_cast<double>(st.bytes)) << "\n";
        printUsage(st.plan);
        std::cout << "Speed       " << printable(summarize(st.prediction)) << "\n\n";
        printEntries(st.tree, st.plan, explain);
        for (const auto &w : st.plan.warnings)
            std::cout << "warning: " << printable(st.host) << ": " << printable(w) << "\n";
    }
    for (const auto &out : outputs)
        std::cout << "wrote " << printable(out) << "\n";
    return 0;
}

} // namespace

const std::vector<std::string> kPlanValueOptions = {"--max-memory", "--hardware", "--strategy", "--no-split", "--dtype", "--pin",
                                                    "--policy", "--headroom-tokens", "--batch"};
const std::vector<std::string> kPlanFlags = {"--offload-buffers", "--fallback", "--no-clean"};

PlanArgs planArgsFrom(const Args &args, bool budgetsRequired, bool clusterAllowed)
{
    PlanArgs out;
    models::PlanSettings &s = out.settings;
    const auto maxMemory = args.value("--max-memory");
    const auto hardware = args.value("--hardware");
    if (maxMemory && hardware)
        throw UsageError("give --max-memory or --hardware, not both");
    if (maxMemory) {
        s.maxMemory = asUsage([&] { return maxMemoryFromArgument(*maxMemory, &out.devices); });
    } else if (hardware) {
        models::HardwareProfile profile;
        try {
            profile = models::hardwareProfile(*hardware);
        } catch (const Error &e) {
            throw UsageError(e.file().empty() ? e.message() : e.file() + ": " + e.message());
        }
        out.hardware = *hardware;
        if (profile.isCluster()) {
            if (!clusterAllowed)
                throw UsageError("--hardware " + *hardware + " is a cluster of " + std::to_string(profile.hosts.size()) +
                                 " hosts: plan it with `mizan-cli plan PATH --hardware " + *hardware +
                                 " -o FILE`, then run that plan file with --local-ranks or --distributed");
            out.cluster = std::move(profile);
        } else {
            const models::ProfileBudgets budgets = models::budgetsFor(profile);
            s.maxMemory = budgets.maxMemory();
            // A plan file made from a profile is for the machine the profile describes: its GPUs
            // are real there (the GUI shows them as simulated because it would run them here).
            out.devices = budgets.devices;
            for (auto &d : out.devices)
                d.simulated = false;
        }
    } else if (budgetsRequired) {
        throw UsageError("missing --max-memory (for example --max-memory 0=22GiB,cpu=64GiB) or --hardware PROFILE");
    }
    if (auto st = args.value("--strategy"))
        s.strategy = asUsage([&] { return strategyFromString(*st); });
    if (auto n = args.value("--no-split"))
        s.noSplitClasses = splitList(*n);
    if (auto d = args.value("--dtype")) {
        s.dtype = dtypeFromTorch(*d);
        if (!s.dtype)
            throw UsageError("unknown dtype \"" + *d + "\" (try float16, bfloat16, float32)");
    }
    for (const auto &p : args.values("--pin"))
        s.pins.push_back(asUsage([&] { return parsePin(p); }));
    for (const auto &p : args.values("--policy"))
        s.policies.push_back(asUsage([&] { return parsePolicy(p); }));
    s.offloadBuffers = args.flag("--offload-buffers");
    s.fallbackAllocation = args.flag("--fallback");
    s.cleanResult = !args.flag("--no-clean");
    s.headroomTokens = nonNegativeInt(args, "--headroom-tokens", 0);
    s.headroomBatch = nonNegativeInt(args, "--batch", 1);
    return out;
}

SpeedModel speedsFor(const PlanArgs &plan)
{
    if (!plan.hardware.empty())
        return models::speedModelFor(models::hardwareProfile(plan.hardware));
    std::optional<runtime::Calibration> calibration;
    std::string problem;
    try {
        calibration = runtime::loadCalibration();
    } catch (const Error &e) {
        problem = e.what();
    }
    SpeedModel speeds = runtime::speedModelForThisMachine(calibration, {}, 0);
    if (!problem.empty())
        speeds.notes.push_back("the saved calibration cannot be used (" + problem + "): speeds assumed");
    else if (!calibration)
        speeds.notes.push_back("not calibrated: run `mizan-cli calibrate` for this machine's numbers, or plan with --hardware");
    return speeds;
}

Workload workloadFrom(const Args &args)
{
    Workload w;
    w.promptTokens = std::max<std::int64_t>(1, nonNegativeInt(args, "--prompt-tokens", 32));
    w.prefetch = static_cast<int>(std::min<std::int64_t>(64, nonNegativeInt(args, "--prefetch", 1)));
    return w;
}

PlanOptions planOptionsFor(const PlanArgs &plan, const models::ModelDescription &model)
{
    return asUsage([&] { return models::planOptionsFor(model, plan.settings); });
}

int runPlan(const std::vector<std::string> &argv)
{
    std::vector<std::string> values = kPlanValueOptions;
    values.insert(values.end(), {"-o", "--device-map-out", "--python-out", "--prompt-tokens", "--prefetch", "--split"});
    std::vector<std::string> flags = kPlanFlags;
    flags.insert(flags.end(), {"--json", "--explain"});
    Args args(argv, values, flags);
    args.expectPositionals(1, 1);
    const std::string path = args.positional(0, "PATH");
    // Check the arguments before the (possibly slow) open.
    if (!args.value("--max-memory") && !args.value("--hardware"))
        throw UsageError("missing --max-memory (for example --max-memory 0=22GiB,cpu=64GiB) or --hardware PROFILE");
    const PlanArgs planArgs = planArgsFrom(args, true, true);
    const Workload workload = workloadFrom(args);
    if (planArgs.cluster)
        return planOnCluster(args, path, planArgs, workload);
    if (args.value("--split"))
        throw UsageError("--split cuts a model into stages for the hosts of a cluster profile (--hardware CLUSTER)");
    // Every output path is checked before anything is written (a failing plan writes nothing).
    std::vector<std::string> outputs;
    for (const char *option : {"-o", "--device-map-out", "--python-out"})
        if (auto out = args.value(option))
            outputs.push_back(*out);
    checkOutputPaths(outputs);

    const models::Source source = models::openSource(path);
    const auto &model = source.model;
    const ModuleTree &tree = model.tree;
    PlanOptions options = planOptionsFor(planArgs, model);
    const SpeedModel speeds = speedsFor(planArgs);
    options.speeds = speeds;
    options.prefetch = workload.prefetch;
    const Plan result = asUsage([&] { return plan(tree, options); });
    const Prediction prediction = predict(tree, result.deviceMap, options, speeds, workload);
    std::vector<std::string> speedNotes = speeds.notes;
    speedNotes.insert(speedNotes.end(), prediction.notes.begin(), prediction.notes.end());

    {
        OutputFiles written;
        if (auto out = args.value("-o")) {
            const PlanFile file{identityOf(tree, path), options, result.deviceMap, result.usage, planArgs.devices};
            written.write(*out, [&] { writePlanFile(*out, file); });
        }
        if (auto out = args.value("--device-map-out"))
            written.write(*out, [&] { writeDeviceMapFile(*out, result.deviceMap); });
        if (auto out = args.value("--python-out"))
            written.write(*out, [&] {
                writeFileAtomically(*out, pythonSnippet(path, result.deviceMap, options.maxMemory, options.dtype, options.offloadBuffers));
            });
    }

    const bool explain = args.flag("--explain");
    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-plan-result";
        j["version"] = 1;
        j["path"] = path;
        j["strategy"] = toString(options.strategy);
        j["dtype"] = options.dtype ? nlohmann::ordered_json(torchName(*options.dtype)) : nlohmann::ordered_json();
        j["no_split_module_classes"] = options.noSplitClasses;
        j["total_bytes"] = result.totalBytes;
        j["device_map"] = deviceMapToJson(result.deviceMap);
        j["max_memory"] = maxMemoryToJson(options.maxMemory);
        j["effective_max_memory"] = maxMemoryToJson(result.effectiveMaxMemory);
        j["usage"] = usageToJson(result.usage);
        if (!options.policies.empty()) {
            j["policies"] = nlohmann::ordered_json::array();
            for (std::size_t i = 0; i < result.policies.size(); ++i) {
                const auto &e = result.policies[i];
                j["policies"].push_back({{"policy", e.policy}, {"device", options.policies[i].device.toJson()},
                                         {"forbid", options.policies[i].forbid}, {"bytes", e.bytes}, {"names", e.names},
                                         {"split_blocks", e.splitBlocks}});
            }
        }
        j["warnings"] = result.warnings;
        j["prediction"] = predictionToJson(prediction);
        j["prediction"]["notes"] = speedNotes;
        if (explain) {
            j["placements"] = nlohmann::ordered_json::array();
            for (int id : tree.preorder()) {
                const auto &p = result.placements[static_cast<std::size_t>(id)];
                j["placements"].push_back({{"name", tree.module(id).name}, {"device", p.device ? nlohmann::ordered_json(p.device->toJson()) : nlohmann::ordered_json()},
                                           {"bytes", p.bytes}, {"kind", toString(p.kind)}, {"map_key", p.mapKey}, {"reason", p.reason()}});
            }
        }
        std::cout << jsonText(j) << "\n";
        return 0;
    }

    std::cout << "Plan        " << printable(path) << "  (" << toString(options.strategy) << ", "
              << (options.dtype ? std::string(torchName(*options.dtype)) : std::string("dtype as stored")) << ", "
              << humanBytes(result.totalBytes) << ")\n";
    if (!options.noSplitClasses.empty()) {
        std::cout << "No-split    ";
        for (std::size_t k = 0; k < options.noSplitClasses.size(); ++k)
            std::cout << (k ? ", " : "") << printable(options.noSplitClasses[k]);
        std::cout << "\n";
    }
    for (std::size_t i = 0; i < result.policies.size(); ++i) {
        const auto &e = result.policies[i];
        const Policy &policy = options.policies[i];
        std::cout << "Policy      " << printable(e.policy) << ": " << e.names.size() << (e.names.size() == 1 ? " entry " : " entries ")
                  << (policy.forbid ? "kept off " : "on ") << policy.device.label() << ", " << humanBytes(e.bytes);
        const std::size_t shown = explain ? e.names.size() : std::min<std::size_t>(e.names.size(), 3);
        std::cout << " (";
        for (std::size_t k = 0; k < shown; ++k)
            std::cout << (k ? ", " : "") << printable(e.names[k]);
        if (shown < e.names.size())
            std::cout << ", ... " << printable(e.names.back()) << ": " << e.names.size() - shown << " more";
        std::cout << ")";
        if (!e.splitBlocks.empty())
            std::cout << "; splits " << e.splitBlocks.size() << " no-split " << (e.splitBlocks.size() == 1 ? "module" : "modules")
                      << ", the rest of each kept on one device";
        std::cout << "\n";
    }
    std::cout << "\n";
    printUsage(result);
    std::cout << "Speed       " << printable(summarize(prediction)) << "\n";
    for (const auto &n : speedNotes)
        std::cout << "            (" << printable(n) << ")\n";
    std::cout << "\n";

    printEntries(tree, result, explain);
    if (explain) {
        std::cout << "Split modules\n";
        for (int id : tree.preorder()) {
            const auto &p = result.placements[static_cast<std::size_t>(id)];
            if (p.mapKey || p.kind == PlacementKind::Inside)
                continue;
            const std::string &name = tree.module(id).name;
            std::cout << "  " << (name.empty() ? std::string("(whole model)") : printable(name)) << ": " << printable(p.reason()) << "\n";
        }
        std::cout << "\n";
    }
    for (const auto &w : result.warnings)
        std::cout << "warning: " << printable(w) << "\n";
    for (const auto &out : outputs)
        std::cout << "wrote " << printable(out) << "\n";
    return 0;
}

} // namespace mizan::cli
