// mizan-cli diff: what moved between two plans (plan files or device maps) of one model.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"
#include "planargs.h"
#include "planinput.h"

#include "models/resources.h"
#include "planner/error.h"
#include "planner/plandiff.h"
#include "planner/planfile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace mizan::cli {

const char *const kDiffUsage =
    "usage: mizan-cli diff A B [--model PATH] [--dtype DTYPE] [--hardware PROFILE] [--json]\n"
    "\n"
    "Compares two plans of one model, each a Mizan plan file or a device_map.json (told apart by\n"
    "the plan file's \"format\"): the modules that moved from one device to another (the largest\n"
    "module that moved as a whole; a map naming a module and one naming its children are compared\n"
    "tensor by tensor, so that is no move), the keys only one map names, and the bytes on every\n"
    "device before (A) and after (B), and the predicted speed of each (see `mizan-cli plan`).\n"
    "\n"
    "  --model PATH           checkpoint, config.json or preset of the plans (default: the one a\n"
    "                         plan file names; required when both are device maps)\n"
    "  --dtype DTYPE          load dtype of the sizes (default: each plan file's; device maps: as stored)\n"
    "  --no-split CLASS,...   no-split classes for the checks (default: the plan's or the model's)\n"
    "  --hardware PROFILE     predict both plans with the profile's speeds (default: this machine's\n"
    "                         calibration, `mizan-cli calibrate`, else assumed speeds)\n"
    "  --prompt-tokens N      prompt length of the predicted prefill (default 32)\n"
    "  --prefetch K           offloaded steps brought in ahead in the prediction (default 1)\n"
    "  --json                 print {\"format\": \"mizan-diff\", \"version\": 1, \"a\", \"b\", \"identical\",\n"
    "                         \"moved_bytes\", \"moves\", \"keys_only_in_a\", \"keys_only_in_b\", \"devices\",\n"
    "                         \"notes\", \"predicted\", \"summary\"}\n"
    "\n"
    "exit codes: 0 compared (identical or not), 1 unreadable or invalid file, or plans of two\n"
    "different models, 2 wrong arguments\n";

namespace {

std::string keyList(const std::vector<std::string> &keys)
{
    std::string text;
    const std::size_t shown = std::min<std::size_t>(keys.size(), 8);
    for (std::size_t k = 0; k < shown; ++k)
        text += (k ? ", " : "") + (keys[k].empty() ? std::string("(whole model)") : printable(keys[k]));
    if (keys.size() > shown)
        text += ", ...";
    return text;
}

std::string seconds(double s)
{
    if (s < 0)
        return "?";
    char text[32];
    std::snprintf(text, sizeof text, s < 1 ? "%.1f ms" : "%.2f s", s < 1 ? s * 1000 : s);
    return text;
}

} // namespace

int runDiff(const std::vector<std::string> &argv)
{
    std::vector<std::string> values = kPlanInputOptions;
    values.insert(values.end(), {"--hardware", "--prompt-tokens", "--prefetch"});
    Args args(argv, values, {"--json"});
    args.expectPositionals(2, 2);
    const std::string a = args.positional(0, "A"), b = args.positional(1, "B");
    PlanArgs speedArgs;
    if (auto h = args.value("--hardware")) {
        speedArgs.hardware = *h;
        try {
            (void)models::hardwareProfile(*h); // a wrong name is a usage error, before any file is read
        } catch (const Error &e) {
            throw UsageError(e.file().empty() ? e.message() : e.file() + ": " + e.message());
        }
    }
    const planner::Workload workload = workloadFrom(args);
    const std::vector<PlanInput> inputs = readPlanInputs(args, {a, b});
    const PlanInput &in1 = inputs[0], &in2 = inputs[1];
    const std::string fa = planner::treeFingerprint(in1.tree()), fb = planner::treeFingerprint(in2.tree());
    if (fa != fb)
        throw Error(ErrorKind::VersionMismatch, b,
                    "is a plan of another model than " + a + " (" + in2.modelPath + ", fingerprint " + fb + "; " + in1.modelPath +
                        ", fingerprint " + fa + ")");
    planner::PlanDiff diff = planner::diffMaps(in1.tree(), in1.content.map, in1.options, in2.content.map, in2.options);
    // Both plans predicted with one set of speeds, so the difference is the placement's.
    const planner::SpeedModel speeds = speedsFor(speedArgs);
    std::vector<std::string> speedNotes = speeds.notes;
    auto predicted = [&](const PlanInput &in) -> planner::PredictedSpeed {
        const planner::Prediction p = planner::predict(in.tree(), in.content.map, in.options, speeds, workload);
        for (const auto &n : p.notes)
            if (std::find(speedNotes.begin(), speedNotes.end(), n) == speedNotes.end())
                speedNotes.push_back(n);
        return {p.prefillSeconds, p.decodeSeconds};
    };
    diff.speedA = predicted(in1);
    diff.speedB = predicted(in2);

    auto describe = [](const PlanInput &in) {
        return std::string(in.content.isPlan() ? "plan file" : "device map") + ", " + std::to_string(in.content.map.size()) +
               (in.content.map.size() == 1 ? " entry" : " entries");
    };
    if (args.flag("--json")) {
        nlohmann::ordered_json j;
        j["format"] = "mizan-diff";
        j["version"] = 1;
        j["a"] = {{"file", a}, {"kind", in1.content.isPlan() ? "plan" : "device_map"}, {"model", in1.modelPath}};
        j["b"] = {{"file", b}, {"kind", in2.content.isPlan() ? "plan" : "device_map"}, {"model", in2.modelPath}};
        const nlohmann::ordered_json body = planner::planDiffToJson(diff);
        for (const auto &[key, value] : body.items())
            j[key] = value;
        j["predicted"]["source"] = speeds.cpu.source;
        j["predicted"]["notes"] = speedNotes;
        std::cout << jsonText(j) << "\n";
        return 0;
    }

    std::cout << "A  " << printable(a) << "  (" << describe(in1) << ")\n"
              << "B  " << printable(b) << "  (" << describe(in2) << ")\n\n";
    if (!diff.moves.empty()) {
        TextTable moves({"Moved", "From", "To", "Size"}, {false, false, false, true});
        for (const auto &run : planner::moveRuns(diff)) {
            const auto &m = diff.moves[run.first];
            moves.addRow({run.label.empty() ? std::string("(whole model)") : printable(run.label), m.from.label(), m.to.label(),
                          humanBytes(run.bytes)});
        }
        std::cout << moves.render() << "\n";
    }
    TextTable devices({"Device", "Before", "After", "Change"}, {false, true, true, true});
    for (const auto &d : diff.devices)
        devices.addRow({d.device.label(), humanBytes(d.bytesBefore), humanBytes(d.bytesAfter),
                        d.change() == 0 ? std::string("0") : (d.change() < 0 ? "-" : "+") + humanBytes(std::abs(d.change()))});
    std::cout << devices.render() << "\n";
    if (!diff.keysOnlyInA.empty())
        std::cout << "keys only in A (" << diff.keysOnlyInA.size() << "): " << keyList(diff.keysOnlyInA) << "\n";
    if (!diff.keysOnlyInB.empty())
        std::cout << "keys only in B (" << diff.keysOnlyInB.size() << "): " << keyList(diff.keysOnlyInB) << "\n";
    if (diff.speedA || diff.speedB) {
        auto line = [](const char *which, const std::optional<planner::PredictedSpeed> &s) {
            std::cout << "predicted " << which << ": "
                      << (s ? "prefill " + seconds(s->prefillSeconds) + ", decode " + seconds(s->decodeSecondsPerToken) + " per token"
                            : std::string("-"))
                      << "\n";
        };
        line("A", diff.speedA);
        line("B", diff.speedB);
        const double ta = diff.speedA->decodeSecondsPerToken, tb = diff.speedB->decodeSecondsPerToken;
        if (ta > 0 && tb > 0 && std::abs(ta - tb) > 1e-3 * std::max(ta, tb)) {
            char ratio[64];
            std::snprintf(ratio, sizeof ratio, "%.2fx %s", tb < ta ? ta / tb : tb / ta, tb < ta ? "faster" : "slower");
            std::cout << "B decodes about " << ratio << " than A (" << printable(speeds.cpu.source) << ")\n";
        } else {
            std::cout << "A and B decode at about the same speed (" << printable(speeds.cpu.source) << ")\n";
        }
        for (const auto &n : speedNotes)
            std::cout << "note: " << printable(n) << "\n";
    }
    for (const auto &n : diff.notes)
        std::cout << "note: " << printable(n) << "\n";
    std::cout << planner::diffSummary(diff) << "\n";
    return 0;
}

} // namespace mizan::cli
