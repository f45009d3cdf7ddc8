// mizan-cli export: a plan as llama.cpp options, vLLM pipeline stages or a mistral.rs topology.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"
#include "planinput.h"

#include "planner/atomicfile.h"
#include "planner/error.h"
#include "planner/export.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace mizan::cli {

const char *const kExportUsage =
    "usage: mizan-cli export PLAN --to ENGINE [--model PATH] [-o FILE] [--json]\n"
    "\n"
    "Translates a plan (a *.mizan.json plan file, or a device_map.json with --model) into the\n"
    "placement options of another inference engine, and says what does not translate:\n"
    "  llamacpp   llama-server options: -ngl (layers on GPUs, the output layer counted first),\n"
    "             -sm none or -ts (layers per GPU, in device order), -ot (layers and tensors the\n"
    "             map puts elsewhere, by GGUF tensor name), --n-cpu-moe/--cpu-moe (experts on CPU)\n"
    "  vllm       pipeline stages: --pipeline-parallel-size and VLLM_PP_LAYER_PARTITION (layers\n"
    "             per stage, in order), CUDA_VISIBLE_DEVICES, --cpu-offload-gb for offloaded layers\n"
    "  mistralrs  a topology file: decoder layer ranges to cuda[N] or cpu\n"
    "The decoder layers are found in the model's module tree. MODEL in the command stands for the\n"
    "model the engine loads (a GGUF file for llama.cpp).\n"
    "A cluster plan (`mizan-cli plan --hardware CLUSTER -o`) numbers every host's GPUs in host\n"
    "order: llamacpp adds --rpc with the other hosts' rpc-servers (run it on the last host:\n"
    "llama.cpp puts RPC devices first, in --rpc order); vllm gives pipeline stages over the\n"
    "hosts' GPUs (a Ray cluster). mistralrs topologies are one machine's.\n"
    "\n"
    "  --to ENGINE            llamacpp, vllm or mistralrs\n"
    "  --model PATH           checkpoint, config.json or preset of the plan (required for a\n"
    "                         device_map.json; default for a plan file: the checkpoint it names)\n"
    "  --dtype DTYPE          load dtype of the sizes (default: the plan's)\n"
    "  --no-split CLASS,...   module classes of the decoder layers (default: the plan's)\n"
    "  -o FILE                write the topology file (mistralrs; the command names it), or a shell\n"
    "                         script running the command (llamacpp, vllm)\n"
    "  --json                 print {\"format\": \"mizan-export\", \"version\": 1, \"engine\", \"command\",\n"
    "                         \"program\", \"args\", \"env\", \"files\", \"notes\", \"layers\", ...}\n"
    "\n"
    "exit codes: 0 exported (with notes on what does not translate), 1 unreadable or invalid plan or\n"
    "one the engine cannot run, 2 wrong arguments\n";

int runExport(const std::vector<std::string> &argv)
{
    std::vector<std::string> values = kPlanInputOptions;
    values.insert(values.end(), {"--to", "-o"});
    Args args(argv, values, {"--json"});
    args.expectPositionals(1, 1);
    const std::string planPath = args.positional(0, "PLAN");
    const auto to = args.value("--to");
    if (!to)
        throw UsageError("missing --to ENGINE (llamacpp, vllm or mistralrs)");
    planner::ExportRequest request;
    try {
        request.engine = planner::engineFromString(*to);
    } catch (const Error &e) {
        throw UsageError(e.message());
    }
    const auto out = args.value("-o");
    if (out) {
        checkOutputPaths({*out}); // before the slow open
        if (request.engine == planner::Engine::MistralRs)
            request.topologyFile = *out;
    }

    const std::vector<PlanInput> inputs = readPlanInputs(args, {planPath}, true);
    const PlanInput &input = inputs.front();
    planner::EngineExport result;
    try {
        result = input.content.cluster ? planner::exportCluster(input.tree(), *input.content.cluster, input.options, request)
                               : planner::exportMap(input.tree(), input.content.map, input.options, request);
    } catch (const Error &e) {
        throw Error(e.kind(), planPath, e.message());
    }

    if (out) {
        std::string text;
        if (request.engine == planner::Engine::MistralRs) {
            text = result.files.front().second;
        } else {
            text = "#!/bin/sh\n# written by mizan-cli export --to " + std::string(planner::toString(request.engine)) + " from " +
                   printable(planPath) + "; MODEL stands for the model the engine loads\n";
            for (const auto &n : result.notes)
                text += "# note: " + printable(n.message) + "\n";
            text += result.commandLine() + "\n";
        }
        writeFileAtomically(*out, text);
    }

    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-export";
        j["version"] = 1;
        j["plan"] = planPath;
        j["model"] = input.modelPath;
        const nlohmann::ordered_json body = planner::exportToJson(result);
        for (const auto &[key, value] : body.items())
            j[key] = value;
        j["written"] = out ? nlohmann::ordered_json(*out) : nlohmann::ordered_json(nullptr);
        std::cout << jsonText(j) << "\n";
        return 0;
    }

    std::cout << result.commandLine() << "\n";
    if (!out)
        for (const auto &[name, contents] : result.files)
            std::cout << "\n" << printable(name) << ":\n" << contents;
    if (!result.notes.empty())
        std::cout << "\n";
    for (const auto &n : result.notes)
        std::cout << "note [" << n.kind << "]: " << printable(n.message) << "\n";
    if (out)
        std::cout << "wrote " << printable(*out) << "\n";
    return 0;
}

} // namespace mizan::cli
