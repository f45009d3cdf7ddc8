// mizan-cli inspect: the module tree of a checkpoint (or config / preset) with sizes.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "loader/checkpoint.h"
#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "models/planoptions.h"
#include "planner/error.h"
#include "planner/moduletree.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <set>

namespace mizan::cli {

const char *const kInspectUsage =
    "usage: mizan-cli inspect PATH [--dtype DTYPE] [--depth N] [--json]\n"
    "\n"
    "Shows the module tree of a checkpoint with parameter counts and sizes.\n"
    "PATH is a checkpoint folder, a .safetensors file, an .index.json, a config.json,\n"
    "or a preset name (see `mizan-cli presets`).\n"
    "\n"
    "  --dtype DTYPE  size tensors as from_pretrained(torch_dtype=DTYPE) loads them (float16,\n"
    "                 bfloat16, float32, ...): floating weights take DTYPE's size, larger or\n"
    "                 smaller than stored; integer and bool tensors and keep-in-float32 modules\n"
    "                 (T5's wo under float16) keep theirs\n"
    "  --depth N      show modules down to depth N (default 3 for text, all for --json)\n"
    "  --json         print a JSON object (format \"mizan-inspect\", version 1) for scripts\n";

namespace {

using planner::ModuleTree;

// Dtypes present in every module's subtree, as loaded (bit set over DType).
std::vector<std::uint64_t> subtreeDtypes(const ModuleTree &tree, const planner::PlanOptions &loading)
{
    std::vector<std::uint64_t> bits(static_cast<std::size_t>(tree.size()), 0);
    const auto order = tree.preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const auto &m = tree.module(*it);
        std::uint64_t b = 0;
        for (const auto *list : {&m.params, &m.buffers})
            for (const auto &t : *list)
                b |= std::uint64_t(1) << static_cast<int>(planner::loadedDtype(tree, *it, t, loading));
        for (int c : m.children)
            b |= bits[static_cast<std::size_t>(c)];
        bits[static_cast<std::size_t>(*it)] = b;
    }
    return bits;
}

std::string dtypeLabel(std::uint64_t bits)
{
    std::string out;
    for (int d = 0; d < 64; ++d)
        if (bits & (std::uint64_t(1) << d)) {
            if (!out.empty())
                out += "+";
            out += torchName(static_cast<DType>(d));
        }
    return out.empty() ? "-" : out;
}

} // namespace

int runInspect(const std::vector<std::string> &argv)
{
    Args args(argv, {"--dtype", "--depth"}, {"--json"});
    args.expectPositionals(1, 1);
    const std::string path = args.positional(0, "PATH");
    std::optional<DType> dtype;
    if (auto d = args.value("--dtype")) {
        dtype = dtypeFromTorch(*d);
        if (!dtype)
            throw UsageError("unknown dtype \"" + *d + "\" (try float16, bfloat16, float32)");
    }
    const bool json = args.flag("--json");
    const int depth = args.intValue("--depth", json ? 1 << 20 : 3);
    if (depth < 0)
        throw UsageError("--depth must be >= 0");

    const models::Source source = models::openSource(path);
    const auto &ck = source.checkpoint;
    const auto &model = source.model;
    const ModuleTree &tree = model.tree;
    models::PlanSettings settings;
    settings.dtype = dtype;
    const planner::PlanOptions loading = models::planOptionsFor(model, settings);
    const auto sizes = planner::aggregateSizes(tree, loading);
    const auto dtypes = subtreeDtypes(tree, loading);
    const auto largest = planner::largestLayer(tree, sizes, model.noSplitClasses);
    std::vector<int> shown;
    for (int id : tree.preorder())
        if (tree.module(id).depth <= depth)
            shown.push_back(id);

    if (json) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-inspect";
        j["version"] = 1;
        j["path"] = path;
        j["checkpoint_format"] = loader::toString(ck.format);
        if (!source.presetName.empty())
            j["preset"] = source.presetName;
        j["shards"] = nlohmann::ordered_json::array();
        for (const auto &s : ck.catalog.shards)
            j["shards"].push_back({{"file", s.fileName}, {"bytes", s.fileSize}});
        j["tensor_count"] = ck.hasWeights() ? static_cast<std::int64_t>(ck.catalog.tensors.size()) : tree.tensorCount();
        j["architecture"] = model.architecture;
        j["family"] = model.family;
        j["from_registry"] = model.fromRegistry;
        j["config"] = {{"architectures", ck.configInfo.architectures},
                       {"model_type", ck.configInfo.modelType},
                       {"torch_dtype", ck.configInfo.torchDtype ? nlohmann::ordered_json(torchName(*ck.configInfo.torchDtype)) : nlohmann::ordered_json()},
                       {"tie_word_embeddings", ck.configInfo.tieWordEmbeddings ? nlohmann::ordered_json(*ck.configInfo.tieWordEmbeddings) : nlohmann::ordered_json()}};
        j["dtype"] = dtype ? nlohmann::ordered_json(torchName(*dtype)) : nlohmann::ordered_json();
        j["total_bytes"] = sizes.totalBytes();
        j["total_parameters"] = sizes.parameters[0];
        j["bytes_by_dtype"] = nlohmann::ordered_json::object();
        for (const auto &[d, b] : sizes.bytesByDtype)
            j["bytes_by_dtype"][torchName(d)] = b;
        j["no_split_classes"] = model.noSplitClasses;
        j["no_split_guessed"] = model.noSplitGuessed;
        j["tied_groups"] = model.tiedGroups;
        j["largest_layer"] = {{"bytes", largest.bytes}, {"names", largest.names}};
        j["modules"] = nlohmann::ordered_json::array();
        for (int id : shown) {
            const auto &m = tree.module(id);
            const auto i = static_cast<std::size_t>(id);
            j["modules"].push_back({{"name", m.name}, {"class", m.className}, {"depth", m.depth},
                                    {"parameters", sizes.parameters[i]}, {"bytes", sizes.bytes[i]},
                                    {"dtype", dtypeLabel(dtypes[i])}, {"children", m.children.size()}});
        }
        j["missing_tensors"] = model.missingTensors;
        j["unexpected_tensors"] = model.unexpectedTensors;
        j["shape_mismatches"] = model.shapeMismatches;
        nlohmann::ordered_json warnings = ck.warnings;
        for (const auto &w : model.warnings)
            warnings.push_back(w);
        j["warnings"] = warnings;
        std::cout << jsonText(j) << "\n";
        return 0;
    }

    std::cout << "Checkpoint  " << printable(path) << "  (" << loader::toString(ck.format);
    if (ck.hasWeights())
        std::cout << ", " << ck.catalog.shards.size() << (ck.catalog.shards.size() == 1 ? " file, " : " shards, ")
                  << ck.catalog.tensors.size() << " tensors";
    std::cout << ")\n";
    if (!model.architecture.empty())
        std::cout << "Model       " << printable(model.architecture) << (model.fromRegistry ? "" : "  (tree derived from tensor names)") << "\n";
    std::cout << "Dtype       " << (dtype ? std::string(torchName(*dtype)) + " (override)" : std::string("as stored")) << "\n\n";

    TextTable table({"Module", "Class", "Params", "Size", "Dtype"}, {false, false, true, true, false});
    for (int id : shown) {
        const auto &m = tree.module(id);
        const auto i = static_cast<std::size_t>(id);
        std::string name = std::string(static_cast<std::size_t>(2 * m.depth), ' ') + (id == ModuleTree::kRoot ? "(model)" : m.localName);
        if (m.depth == depth && !m.children.empty())
            name += " (+" + std::to_string(m.children.size()) + ")";
        table.addRow({name, m.className.empty() ? "-" : m.className, humanCount(sizes.parameters[i]),
                      humanBytes(static_cast<double>(sizes.bytes[i])), dtypeLabel(dtypes[i])});
    }
    std::cout << table.render() << "\n";
    std::cout << "Total       " << humanCount(sizes.parameters[0]) << " parameters, " << humanBytes(static_cast<double>(sizes.totalBytes())) << " (";
    bool first = true;
    for (const auto &[d, b] : sizes.bytesByDtype) {
        std::cout << (first ? "" : ", ") << torchName(d) << " " << humanBytes(static_cast<double>(b));
        first = false;
    }
    std::cout << ")\n";
    if (!model.noSplitClasses.empty()) {
        std::cout << "No-split    ";
        for (std::size_t k = 0; k < model.noSplitClasses.size(); ++k)
            std::cout << (k ? ", " : "") << printable(model.noSplitClasses[k]);
        std::cout << (model.noSplitGuessed ? "  (guessed from repeated blocks)" : "") << "\n";
    }
    if (!largest.names.empty()) {
        std::cout << "Largest     " << humanBytes(static_cast<double>(largest.bytes)) << "  " << printable(largest.names.front());
        if (largest.names.size() > 1)
            std::cout << " (and " << largest.names.size() - 1 << " more of the same size)";
        std::cout << "\n";
    }
    for (const auto &w : ck.warnings)
        std::cout << "warning: " << printable(w) << "\n";
    for (const auto &w : model.warnings)
        std::cout << "warning: " << printable(w) << "\n";
    auto listSome = [](const char *what, const std::vector<std::string> &names) {
        if (names.empty())
            return;
        std::cout << what << " (" << names.size() << "): ";
        for (std::size_t k = 0; k < names.size() && k < 5; ++k)
            std::cout << (k ? ", " : "") << printable(names[k]);
        std::cout << (names.size() > 5 ? ", ...\n" : "\n");
    };
    listSome("missing tensors", model.missingTensors);
    listSome("unexpected tensors", model.unexpectedTensors);
    listSome("shape mismatches", model.shapeMismatches);
    return 0;
}

} // namespace mizan::cli
