// mizan-cli validate: checks a device map (device_map.json or a *.mizan.json plan) against a model.
#include "args.h"
#include "commands.h"
#include "planargs.h"

#include "models/describe.h"
#include "planner/error.h"
#include "planner/plan.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace mizan::cli {

const char *const kValidateUsage =
    "usage: mizan-cli validate PATH MAP.json [--max-memory DEVICES | --hardware PROFILE] [options] [--json]\n"
    "\n"
    "Checks a device map against the model of PATH: every parameter covered once, names that\n"
    "exist, tied weights together, known devices, pins (errors); budgets exceeded, disk used\n"
    "while the CPU has room, GPUs left empty, no-split modules cut (warnings).\n"
    "MAP.json is a device_map.json as transformers/Accelerate take it ({\"model.embed_tokens\": 0,\n"
    "\"lm_head\": \"cpu\", ...}; \"cuda:1\" style devices accepted) or a Mizan plan file, whose budgets,\n"
    "pins and options are used unless given here.\n"
    "\n"
    "  --max-memory LIST      budgets for the budget checks, e.g. 0=22GiB,cpu=64GiB\n"
    "  --hardware PROFILE     budgets from a hardware profile\n"
    "  --no-split CLASS,...   module classes never split (default: the architecture's)\n"
    "  --dtype DTYPE          load dtype for the sizes\n"
    "  --pin NAME=DEVICE      a pin the map must respect (repeatable; NAME!=DEVICE forbids)\n"
    "  --json                 print a JSON object (format \"mizan-validate\", version 1)\n"
    "\n"
    "exit codes: 0 valid (warnings allowed), 1 invalid map or unreadable file, 2 wrong arguments\n";

int runValidate(const std::vector<std::string> &argv)
{
    std::vector<std::string> flags = kPlanFlags;
    flags.push_back("--json");
    Args args(argv, kPlanValueOptions, flags);
    args.expectPositionals(2, 2);
    const std::string path = args.positional(0, "PATH");
    const std::string mapPath = args.positional(1, "MAP.json");
    {
        models::ModelDescription none;
        planOptionsFromArgs(args, none, false, true);
    }

    std::ifstream in(mapPath, std::ios::binary);
    if (!in)
        throw Error(ErrorKind::Io, mapPath, "cannot open the file for reading");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::ordered_json json;
    try {
        json = nlohmann::ordered_json::parse(text.str());
    } catch (const nlohmann::json::parse_error &e) {
        throw Error(ErrorKind::InvalidJson, mapPath, std::string("invalid JSON: ") + e.what());
    }

    const models::Source source = models::openSource(path);
    const auto &model = source.model;
    planner::PlanOptions options = planOptionsFromArgs(args, model, false);
    planner::DeviceMap map;
    const bool planFile = json.is_object() && json.contains("format") && json["format"] == "mizan-plan";
    if (planFile) {
        const planner::CheckpointIdentity identity = planner::identityOf(model.tree, path);
        const planner::PlanFile file = planner::readPlanFile(mapPath, &identity);
        map = file.deviceMap;
        if (options.maxMemory.empty())
            options.maxMemory = file.options.maxMemory;
        if (!args.value("--no-split"))
            options.noSplitClasses = file.options.noSplitClasses;
        if (!args.value("--dtype"))
            options.dtype = file.options.dtype;
        if (options.pins.empty())
            options.pins = file.options.pins;
        options.headroom = file.options.headroom;
        options.specialDtypes = file.options.specialDtypes;
    } else {
        map = planner::deviceMapFromJson(json, mapPath);
    }

    const auto issues = planner::validate(model.tree, map, options);
    const bool valid = !planner::hasErrors(issues);
    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-validate";
        j["version"] = 1;
        j["path"] = path;
        j["map"] = mapPath;
        j["valid"] = valid;
        j["entries"] = map.size();
        j["issues"] = nlohmann::ordered_json::array();
        for (const auto &i : issues)
            j["issues"].push_back({{"severity", planner::toString(i.severity)}, {"kind", planner::toString(i.kind)},
                                   {"module", i.module}, {"message", i.message}, {"fix", i.suggestedFix}});
        std::cout << j.dump(2) << "\n";
        return valid ? 0 : 1;
    }
    int errors = 0, warnings = 0;
    for (const auto &i : issues) {
        (i.severity == planner::Severity::Error ? errors : warnings)++;
        std::cout << planner::toString(i.severity) << " [" << planner::toString(i.kind) << "]: " << i.message << "\n"
                  << "    fix: " << i.suggestedFix << "\n";
    }
    std::cout << mapPath << ": " << map.size() << " entries, " << errors << (errors == 1 ? " error, " : " errors, ") << warnings
              << (warnings == 1 ? " warning" : " warnings") << (valid ? " - valid\n" : " - INVALID\n");
    return valid ? 0 : 1;
}

} // namespace mizan::cli
