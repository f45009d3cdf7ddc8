#pragma once

// Export of a device map to the inference engines users run past one machine (`mizan-cli
// export`): llama.cpp options (-ngl, --tensor-split, --override-tensor, --n-cpu-moe), vLLM
// pipeline stages (--pipeline-parallel-size, VLLM_PP_LAYER_PARTITION, --cpu-offload-gb) and a
// mistral.rs topology file. The decoder layers are found in the module tree (the numbered children
// of one module, of a no-split class), never assumed per model. Whatever the map says that an
// engine cannot express is reported as a note: the closest options are exported, nothing is
// changed silently. Pure C++ (std + nlohmann_json).

#include "plan.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::planner {

enum class Engine { LlamaCpp, Vllm, MistralRs };
const char *toString(Engine engine);             // "llamacpp", "vllm", "mistralrs"
Engine engineFromString(std::string_view text);  // throws Error(InvalidArgument) naming the three

// The decoder layers of a model as the engines count them: the children "0", "1", ... of one
// module, every one of a no-split class (without no-split classes: all of one class), not nested
// in another such stack. Throws Error(NotFound) when the tree has none, Error(InvalidArgument)
// when it has several (an encoder-decoder model: the engines' layer options mean one stack).
struct LayerStack {
    std::string prefix;      // "model.layers", "transformer.h"
    std::vector<int> layers; // module ids of prefix.0, prefix.1, ... in order
};
LayerStack findLayerStack(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses);

// Something of the map that the engine's options do not say exactly.
struct ExportNote {
    std::string kind;    // stable id, e.g. "input-on-cpu", "disk-as-cpu", "split-layer"
    std::string message; // for people
    bool operator==(const ExportNote &) const = default;
};

struct ExportRequest {
    Engine engine = Engine::LlamaCpp;
    std::string topologyFile = "topology.yaml"; // mistral.rs: the file the command line names
};

struct EngineExport {
    Engine engine = Engine::LlamaCpp;
    // What comes before the options on the command line, with a placeholder for the model:
    // {"llama-server", "-m", "MODEL.gguf"}, {"vllm", "serve", "MODEL"}, {"mistralrs", "serve", "-m", "MODEL"}.
    std::vector<std::string> program;
    std::vector<std::string> args;                           // the placement options, in order
    std::vector<std::pair<std::string, std::string>> env;    // environment variables, in order
    std::vector<std::pair<std::string, std::string>> files;  // file name -> contents (mistral.rs topology)
    std::vector<ExportNote> notes;
    std::string layerPrefix;                                 // LayerStack::prefix
    int layerCount = 0;
    // env, program and args as one shell command line (arguments quoted where a shell needs it).
    std::string commandLine() const;
};

// The options of `request.engine` for `map` on `tree`. `options` gives the no-split classes (the
// layers) and the load dtype (the bytes in notes and --cpu-offload-gb). Throws Error(InvalidDeviceMap)
// when the map leaves a tensor without a device, Error(InvalidArgument) when the engine cannot run the
// map at all (vLLM without a GPU), and findLayerStack's errors.
EngineExport exportMap(const ModuleTree &tree, const DeviceMap &map, const PlanOptions &options, const ExportRequest &request);

// A cluster plan (cluster.h) for engines that run past one machine. Every host's GPUs are numbered
// in host order (host 0's first) and the stages' maps exported as one map over them:
//  - llama.cpp: the last host runs llama-server (its GPUs are the local ones, after the RPC
//    devices, and it holds the output layer); the other hosts run rpc-server (one per host,
//    exposing all its GPUs) and are named by --rpc in host order, which is llama.cpp's device
//    order (RPC devices first, in --rpc order), so --tensor-split counts over all the GPUs;
//  - vLLM: pipeline stages over the nodes' GPUs in host order (a Ray cluster over the hosts).
// mistral.rs (one machine's topology) is refused with Error(InvalidArgument). Layers a host keeps
// on its CPU or disk are noted: the engines run CPU layers on the CPU of the host that starts them.
// `rpcPort`: the port rpc-server listens on each host.
struct ClusterPlanFile;
EngineExport exportCluster(const ModuleTree &tree, const ClusterPlanFile &plan, const PlanOptions &options,
                           const ExportRequest &request, int rpcPort = 50052);
// {"engine", "command", "program", "args", "env": {...}, "files": {name: contents}, "notes": [{"kind", "message"}],
//  "layers": {"prefix", "count"}}
nlohmann::ordered_json exportToJson(const EngineExport &result);

// ---- llama.cpp's arithmetic and the text helpers, public for the tests ----

// The device llama.cpp's load_tensors() gives each repeating layer 0..layers-1 and the output
// layer (index `layers`) for `-ngl nGpuLayers` (builds since December 2025: the output layer is
// offloaded first) and `--tensor-split` over GPUs 0..tensorSplit.size()-1 (split mode layer), or
// everything offloaded on `mainGpu` alone when mainGpu >= 0 (split mode none). -1 = the CPU.
// The split points are computed in float, as llama.cpp does.
std::vector<int> llamaCppLayerDevices(int layers, int nGpuLayers, const std::vector<float> &tensorSplit, int mainGpu = -1);

// A regular expression matching exactly the decimal numbers of `numbers` (no leading zeros),
// e.g. {20..31} -> "2\d|3[01]" (without anchors or group).
std::string integerSetRegex(std::vector<int> numbers);

// `arg` as a POSIX shell word: unchanged when it holds only safe characters, else in single quotes.
std::string shellQuote(std::string_view arg);

} // namespace mizan::planner
