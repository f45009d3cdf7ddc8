// mizan-cli calibrate: measures this machine for the cost model (memory, page cache and disk
// bandwidth, the CPU's and GPUs' decoding speed) and saves it for `plan` and `run` predictions.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "planner/cost.h"
#include "planner/device.h"
#include "runtime/calibrate.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace mizan::cli {

const char *const kCalibrateUsage =
    "usage: mizan-cli calibrate [--folder DIR] [--no-gpu] [--no-save] [--json]\n"
    "\n"
    "Measures this machine for Mizan's cost model and saves the result (about 10 seconds):\n"
    "memcpy bandwidth; page-cache and cold read bandwidth of the disk that holds DIR; float16 to\n"
    "float32 conversion; and, by running LLaMA demo models through the runtime (hidden sizes 64\n"
    "and 2048, about 1 GB written into DIR and removed after), the CPU's fixed cost per module,\n"
    "its weight bandwidth while decoding and its FLOP/s on a prompt; the same for each CUDA GPU,\n"
    "with its host link.\n"
    "`plan` and `run` then predict speeds from these numbers; `devices` shows them.\n"
    "\n"
    "Saved to $MIZAN_CALIBRATION, else $XDG_CONFIG_HOME/mizan/calibration.json, else\n"
    "~/.config/mizan/calibration.json (written atomically).\n"
    "\n"
    "  --folder DIR  where the test files go: the disk that will hold \"disk\" offload\n"
    "                (default: the temporary folder)\n"
    "  --no-gpu      measure the CPU, memory and disk only\n"
    "  --no-save     print the numbers without saving them\n"
    "  --json        print {\"format\": \"mizan-calibration\", ...}\n";

namespace {

std::string rate(double bytesPerSecond)
{
    return bytesPerSecond > 0 ? humanBytes(bytesPerSecond) + "/s" : "-";
}

std::string flopsText(double flops)
{
    char buf[32];
    if (flops >= 1e12)
        std::snprintf(buf, sizeof buf, "%.2f TFLOP/s", flops / 1e12);
    else
        std::snprintf(buf, sizeof buf, "%.1f GFLOP/s", flops / 1e9);
    return buf;
}

std::string micro(double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f us", seconds * 1e6);
    return buf;
}

} // namespace

void printSpeeds(const planner::SpeedModel &s, std::ostream &out)
{
    TextTable table({"device", "weights (decode)", "matmul", "per module", "host link", "source"}, {false, true, true, true, true, false});
    auto row = [&](const planner::DeviceSpeed &d) {
        table.addRow({d.device.label(), rate(d.compute.weightBandwidth), flopsText(d.compute.flops), micro(d.compute.moduleOverhead),
                      d.device.isGpu() ? rate(d.hostLink) : "-", d.source});
    };
    row(s.cpu);
    for (const auto &g : s.gpus)
        row(g);
    out << table.render();
    out << "memcpy " << rate(s.memcpyBandwidth) << ", page cache " << rate(s.pageCacheBandwidth) << ", disk (cold) "
        << rate(s.diskBandwidth) << ", float16 -> float32 " << rate(s.convertBandwidth) << ", prefetch hand-off "
        << micro(s.prefetchHandoff) << "\n";
}

int runCalibrate(const std::vector<std::string> &argv)
{
    Args args(argv, {"--folder"}, {"--json", "--no-gpu", "--no-save"});
    args.expectPositionals(0, 0);
    runtime::CalibrateOptions options;
    options.folder = args.value("--folder").value_or(std::string());
    options.gpus = !args.flag("--no-gpu");
    const bool json = args.flag("--json");
    options.progress = [](const std::string &what) { std::cerr << what << "...\n"; };
    const runtime::Calibration cal = runtime::calibrate(options);
    std::string savedTo;
    if (!args.flag("--no-save")) {
        savedTo = runtime::calibrationPath();
        runtime::saveCalibration(cal, savedTo);
    }
    if (json) {
        nlohmann::ordered_json out = runtime::calibrationToJson(cal);
        out["saved_to"] = savedTo.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(savedTo);
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    std::cout << "Calibrated " << cal.date << " (" << printable(cal.backend) << "), disk measured in " << printable(cal.folder) << "\n\n";
    printSpeeds(cal.speeds, std::cout);
    for (const auto &n : cal.notes)
        std::cout << "note: " << printable(n) << "\n";
    if (!savedTo.empty())
        std::cout << "saved to " << printable(savedTo) << "\n";
    return 0;
}

} // namespace mizan::cli
