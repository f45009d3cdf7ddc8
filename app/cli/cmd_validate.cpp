// mizan-cli validate: checks a device map (device_map.json or a *.mizan.json plan) against a model.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"
#include "planargs.h"

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "planner/error.h"
#include "planner/mapedit.h"
#include "planner/mapfile.h"
#include "planner/plan.h"
#include "planner/validate.h"
#include "planner/planfile.h"
#include "planner/usage.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <iostream>

namespace mizan::cli {

const char *const kValidateUsage =
    "usage: mizan-cli validate PATH MAP.json [--max-memory DEVICES | --hardware PROFILE] [options] [--json]\n"
    "\n"
    "Checks a device map against the model of PATH: every parameter covered once, names that\n"
    "exist, tied weights together, known devices, pins and policies (errors); budgets exceeded, disk used\n"
    "while the CPU has room, GPUs left empty, no-split modules cut (warnings). Prints what the map\n"
    "puts on each device (planned bytes in the load dtype, keep-in-float32 modules in float32,\n"
    "runtime headroom), the numbers the budget checks use.\n"
    "MAP.json is a device_map.json as transformers/Accelerate take it ({\"model.embed_tokens\": 0,\n"
    "\"lm_head\": \"cpu\", ...}; \"cuda:1\" style devices accepted) or a Mizan plan file, whose budgets,\n"
    "pins, policies and options are used unless given here.\n"
    "\n"
    "  --max-memory LIST      budgets for the budget checks, e.g. 0=22GiB,cpu=64GiB\n"
    "  --hardware PROFILE     budgets from a hardware profile (its disk entry is not a budget)\n"
    "  --no-split CLASS,...   module classes never split (default: the architecture's)\n"
    "  --dtype DTYPE          load dtype for the sizes, as for plan: what from_pretrained(torch_dtype=\n"
    "                         DTYPE) instantiates (float16 weights as float32: 4 bytes each)\n"
    "  --pin NAME=DEVICE      a pin the map must respect (repeatable; NAME!=DEVICE forbids)\n"
    "  --policy POLICY        a policy the map must respect (repeatable; see `mizan-cli plan --help`)\n"
    "  --json                 print a JSON object (format \"mizan-validate\", version 1)\n"
    "\n"
    "exit codes: 0 valid (warnings allowed), 1 invalid map or unreadable file, 2 wrong arguments\n";

const char *const kEditUsage =
    "usage: mizan-cli edit PATH MAP.json --move NAME=DEVICE [--move ...] [-o OUT.json] [options] [--json]\n"
    "\n"
    "Moves modules of a device map (device_map.json or a Mizan plan file) the way the GUI does:\n"
    "a key for the module changes device; a key above it is split along the path (siblings keep\n"
    "their device); keys below it become one key. The edited map is validated (as `validate`) and\n"
    "written to OUT.json in the input's format (atomically; an invalid result is not written unless\n"
    "--force), or printed as device_map JSON when no -o is given.\n"
    "\n"
    "  --move NAME=DEVICE     move module NAME (\"\" or . = the whole model) to DEVICE, in order\n"
    "  -o FILE                write the edited map or plan file here (may be MAP.json itself)\n"
    "  --force                write even when the edited map has errors\n"
    "  --max-memory, --hardware, --no-split, --dtype, --pin, --policy   as for validate\n"
    "  --json                 print {\"format\": \"mizan-edit\", \"version\": 1, device_map, issues, usage}\n"
    "\n"
    "exit codes: 0 edited and valid, 1 invalid result or unreadable file, 2 wrong arguments\n";

namespace {

// PATH MAP.json plus the planning options (checked before the slow open) and the extras of a command.
struct MapCommand {
    Args args;
    PlanArgs plan;
};
MapCommand mapCommandArgs(const std::vector<std::string> &argv, const std::vector<std::string> &extraValues,
                    const std::vector<std::string> &extraFlags)
{
    std::vector<std::string> values = kPlanValueOptions;
    values.insert(values.end(), extraValues.begin(), extraValues.end());
    std::vector<std::string> flags = kPlanFlags;
    flags.insert(flags.end(), extraFlags.begin(), extraFlags.end());
    Args args(argv, values, flags);
    args.expectPositionals(2, 2);
    PlanArgs plan = planArgsFrom(args, false);
    return {std::move(args), std::move(plan)};
}

// A device map read from MAP.json, with the options to check it under.
struct LoadedMap {
    planner::DeviceMap map;
    planner::PlanOptions options;
    std::optional<planner::PlanFile> planFile; // when MAP.json is a Mizan plan file
};

LoadedMap loadMap(const Args &args, const PlanArgs &plan, const std::string &path, const models::ModelDescription &model, const std::string &mapPath,
                  planner::MapOrPlan file)
{
    LoadedMap out;
    out.options = planOptionsFor(plan, model);
    out.map = std::move(file.map);
    out.planFile = std::move(file.plan);
    if (!out.planFile)
        return out;
    planner::checkPlanIdentity(*out.planFile, mapPath, planner::identityOf(model.tree, path));
    const planner::PlanOptions &saved = out.planFile->options;
    planner::PlanOptions &options = out.options;
    if (options.maxMemory.empty())
        options.maxMemory = saved.maxMemory;
    if (!args.value("--no-split"))
        options.noSplitClasses = saved.noSplitClasses;
    if (!args.value("--dtype")) {
        // The load dtype as the file means it, with the special dtypes that go with it.
        options.dtype = saved.dtype;
        options.dtypeRule = saved.dtypeRule;
        options.specialDtypes = saved.specialDtypes;
    }
    if (options.pins.empty())
        options.pins = saved.pins;
    if (options.policies.empty())
        options.policies = saved.policies;
    options.headroom = saved.headroom;
    return out;
}

nlohmann::ordered_json issuesJson(const std::vector<planner::Issue> &issues)
{
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto &i : issues)
        list.push_back({{"severity", planner::toString(i.severity)}, {"kind", planner::toString(i.kind)},
                        {"module", i.module}, {"message", i.message()}, {"fix", i.suggestedFix()}});
    return list;
}

// What the map puts on each device, counted as the budget checks count it.
void printUsage(std::ostream &out, const std::vector<planner::DeviceUsage> &usage)
{
    TextTable table({"Device", "Budget", "Headroom", "Planned", "Free", "Entries"}, {false, true, true, true, true, true});
    for (const auto &u : usage)
        table.addRow({u.device.label(), u.budgetBytes < 0 ? "-" : humanBytes(static_cast<double>(u.budgetBytes)),
                      humanBytes(static_cast<double>(u.headroomBytes)), humanBytes(u.plannedBytes),
                      u.budgetBytes < 0 ? "-" : (u.freeBytes < 0 ? "-" + humanBytes(-u.freeBytes) : humanBytes(u.freeBytes)),
                      std::to_string(u.moduleCount)});
    out << table.render();
}

// Prints every issue and a one-line verdict; returns the number of errors.
int printIssues(std::ostream &out, const std::vector<planner::Issue> &issues, const std::string &what, std::size_t entries)
{
    int errors = 0, warnings = 0;
    for (const auto &i : issues) {
        (i.severity == planner::Severity::Error ? errors : warnings)++;
        out << planner::toString(i.severity) << " [" << planner::toString(i.kind) << "]: " << printable(i.message()) << "\n"
            << "    fix: " << printable(i.suggestedFix()) << "\n";
    }
    out << printable(what) << ": " << entries << " entries, " << errors << (errors == 1 ? " error, " : " errors, ") << warnings
        << (warnings == 1 ? " warning" : " warnings") << (errors == 0 ? " - valid\n" : " - INVALID\n");
    return errors;
}

} // namespace

int runValidate(const std::vector<std::string> &argv)
{
    const MapCommand command = mapCommandArgs(argv, {}, {"--json"});
    const Args &args = command.args;
    const std::string path = args.positional(0, "PATH");
    const std::string mapPath = args.positional(1, "MAP.json");
    planner::MapOrPlan file = planner::readMapOrPlanFile(mapPath); // a bad file fails before the slow open
    const models::Source source = models::openSource(path);
    const LoadedMap loaded = loadMap(args, command.plan, path, source.model, mapPath, std::move(file));

    const auto issues = planner::validate(source.model.tree, loaded.map, loaded.options);
    const auto usage = planner::usageOf(source.model.tree, loaded.map, loaded.options);
    const bool valid = !planner::hasErrors(issues);
    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-validate";
        j["version"] = 1;
        j["path"] = path;
        j["map"] = mapPath;
        j["valid"] = valid;
        j["entries"] = loaded.map.size();
        j["issues"] = issuesJson(issues);
        j["usage"] = planner::usageToJson(usage);
        std::cout << jsonText(j) << "\n";
        return valid ? 0 : 1;
    }
    printUsage(std::cout, usage);
    printIssues(std::cout, issues, mapPath, loaded.map.size());
    return valid ? 0 : 1;
}

int runEdit(const std::vector<std::string> &argv)
{
    const MapCommand command = mapCommandArgs(argv, {"--move", "-o"}, {"--json", "--force"});
    const Args &args = command.args;
    const std::string path = args.positional(0, "PATH");
    const std::string mapPath = args.positional(1, "MAP.json");
    std::vector<planner::Pin> moves;
    for (const auto &text : args.values("--move")) {
        planner::Pin move;
        if (text.find('=') == std::string::npos)
            throw UsageError("--move " + text + ": expected NAME=DEVICE (for example model.layers.0=1 or lm_head=cpu)");
        try {
            move = planner::parsePin(text);
        } catch (const Error &e) {
            throw UsageError("--move " + text + ": " + e.message());
        }
        if (move.forbid)
            throw UsageError("--move " + text + ": a move is NAME=DEVICE (forbidding is a --pin NAME!=DEVICE)");
        if (move.module == ".")
            move.module.clear();
        moves.push_back(std::move(move));
    }
    if (moves.empty())
        throw UsageError("nothing to do: give at least one --move NAME=DEVICE");
    if (auto out = args.value("-o"))
        checkOutputPaths({*out}); // before the slow open

    planner::MapOrPlan file = planner::readMapOrPlanFile(mapPath); // a bad file fails before the slow open
    const models::Source source = models::openSource(path);
    const planner::ModuleTree &tree = source.model.tree;
    LoadedMap loaded = loadMap(args, command.plan, path, source.model, mapPath, std::move(file));
    for (const auto &move : moves) {
        try {
            loaded.map = planner::moveModule(tree, loaded.map, move.module, move.device);
        } catch (const Error &e) {
            if (e.kind() == ErrorKind::InvalidArgument)
                throw Error(ErrorKind::InvalidDeviceMap, mapPath, "--move " + move.module + "=" + move.device.toString() + ": " + e.message());
            throw;
        }
    }
    const auto issues = planner::validate(tree, loaded.map, loaded.options);
    const auto usage = planner::usageOf(tree, loaded.map, loaded.options);
    const bool valid = !planner::hasErrors(issues);
    const auto out = args.value("-o");
    const bool write = out && (valid || args.flag("--force"));
    if (write) {
        if (loaded.planFile) {
            planner::PlanFile file = *loaded.planFile;
            file.deviceMap = loaded.map;
            file.usage = usage; // the edited map's, not the planner's
            planner::writePlanFile(*out, file);
        } else {
            planner::writeDeviceMapFile(*out, loaded.map);
        }
    }
    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-edit";
        j["version"] = 1;
        j["path"] = path;
        j["map"] = mapPath;
        j["valid"] = valid;
        j["written"] = write ? nlohmann::ordered_json(*out) : nlohmann::ordered_json(nullptr);
        j["device_map"] = planner::deviceMapToJson(loaded.map);
        j["issues"] = issuesJson(issues);
        j["usage"] = planner::usageToJson(usage);
        std::cout << jsonText(j) << "\n";
    } else {
        std::ostream &report = out ? std::cout : std::cerr;
        if (!out)
            std::cout << jsonText(planner::deviceMapToJson(loaded.map)) << "\n";
        printUsage(report, usage);
        printIssues(report, issues, out ? *out : std::string("edited map"), loaded.map.size());
        if (out && !write)
            report << "not written: the edited map has errors (--force writes it anyway)\n";
    }
    return valid ? 0 : 1;
}

} // namespace mizan::cli
