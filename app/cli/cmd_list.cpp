// mizan-cli list: the models in the Hugging Face cache.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "loader/hfcache.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace mizan::cli {

const char *const kListUsage =
    "usage: mizan-cli list [--json]\n"
    "\n"
    "Lists the models in the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub,\n"
    "~/.cache/huggingface/hub): one row per snapshot with its revision, the branches naming it,\n"
    "its size on disk, the formats it holds and whether it is complete (a download in progress,\n"
    "a link to a missing blob or a missing shard is named). Any command taking a checkpoint PATH\n"
    "also takes ORG/NAME: the complete snapshot refs/main names, else the newest complete one.\n"
    "\n"
    "  --json  print {\"format\": \"mizan-cache\", \"version\": 1, \"roots\": [...], \"models\": [...]}\n";

int runList(const std::vector<std::string> &argv)
{
    Args args(argv, {}, {"--json"});
    args.expectPositionals(0, 0);
    const auto roots = loader::hfCacheRoots();
    const auto models = loader::listCachedModels();
    if (args.flag("--json")) {
        nlohmann::ordered_json out;
        out["format"] = "mizan-cache";
        out["version"] = 1;
        out["roots"] = roots;
        out["models"] = nlohmann::ordered_json::array();
        for (const auto &m : models)
            out["models"].push_back({{"repo_id", m.repoId}, {"revision", m.revision}, {"refs", m.refs}, {"path", m.path},
                                     {"bytes_on_disk", m.bytesOnDisk}, {"formats", m.formats}, {"complete", m.complete},
                                     {"problem", m.problem.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(m.problem)}});
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    if (roots.empty()) {
        std::cout << "No Hugging Face cache folder here ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub).\n";
        return 0;
    }
    std::cout << "Cache       " << printable(roots.front()) << (roots.size() > 1 ? " (+" + std::to_string(roots.size() - 1) + " more)" : "") << "\n\n";
    if (models.empty()) {
        std::cout << "No models in the cache.\n";
        return 0;
    }
    TextTable table({"Model", "Revision", "Refs", "Size", "Formats", "Complete"}, {false, false, false, true, false, false});
    for (const auto &m : models) {
        std::string refs, formats;
        for (const auto &r : m.refs)
            refs += (refs.empty() ? "" : ",") + r;
        for (const auto &f : m.formats)
            formats += (formats.empty() ? "" : ",") + f;
        table.addRow({m.repoId, m.revision.substr(0, 12), refs.empty() ? "-" : refs, humanBytes(double(m.bytesOnDisk)),
                      formats.empty() ? "-" : formats, m.complete ? "yes" : "no: " + m.problem});
    }
    std::cout << table.render();
    return 0;
}

} // namespace mizan::cli
