#pragma once

#include "planner/cost.h"

#include <ostream>
#include <string>
#include <vector>

namespace mizan::cli {

// A sub-command of mizan-cli. `run` gets the arguments after the command name and returns the
// exit code: 0 success, 1 failure (load error, invalid map), 2 usage error (throw UsageError).
struct Command {
    const char *name;
    const char *summary;
    const char *usage; // full help text, printed by `mizan-cli help NAME` / `NAME --help`
    int (*run)(const std::vector<std::string> &args);
    // Runs a model (run, stage, calibrate): its weights of hundreds of MiB, freed in turn, go back
    // to the system as they are freed. Every other command keeps freed memory for reuse while it
    // plans and validates (planner/memory.h: keepFreedMemory).
    bool runsModel;
};

// Each command lives in its own cmd_*.cpp file and is listed in main.cpp.
int runInspect(const std::vector<std::string> &args);
extern const char *const kInspectUsage;
int runPresets(const std::vector<std::string> &args);
extern const char *const kPresetsUsage;
int runMakeDemo(const std::vector<std::string> &args);
extern const char *const kMakeDemoUsage;
int runPlan(const std::vector<std::string> &args);
extern const char *const kPlanUsage;
int runValidate(const std::vector<std::string> &args);
extern const char *const kValidateUsage;
int runEdit(const std::vector<std::string> &args);
extern const char *const kEditUsage;
int runDevices(const std::vector<std::string> &args);
extern const char *const kDevicesUsage;
int runRun(const std::vector<std::string> &args);
extern const char *const kRunUsage;
// mizan-cli stage: `run --distributed` (one host's pipeline stage).
int runStage(const std::vector<std::string> &args);
extern const char *const kStageUsage;
int runOffload(const std::vector<std::string> &args);
extern const char *const kOffloadUsage;
int runList(const std::vector<std::string> &args);
extern const char *const kListUsage;
int runTokenize(const std::vector<std::string> &args);
extern const char *const kTokenizeUsage;
int runCalibrate(const std::vector<std::string> &args);
extern const char *const kCalibrateUsage;
// The calibrate table of a speed model (used by devices too).
void printSpeeds(const planner::SpeedModel &speeds, std::ostream &out);
int runExport(const std::vector<std::string> &args);
extern const char *const kExportUsage;
int runDiff(const std::vector<std::string> &args);
extern const char *const kDiffUsage;

} // namespace mizan::cli
