// mizan-cli: every capability of Mizan from the command line, with JSON output for scripts.
#include "args.h"
#include "commands.h"
#include "format.h"
#include "output.h"

#include "planner/atomicfile.h"
#include "planner/error.h"
#include "planner/memory.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>

using namespace mizan::cli;

namespace {

const Command kCommands[] = {
    {"inspect", "show a checkpoint's module tree, sizes and dtypes", kInspectUsage, runInspect, false},
    {"presets", "list the bundled model presets and hardware profiles", kPresetsUsage, runPresets, false},
    {"list", "list the models in the Hugging Face cache (open them as ORG/NAME)", kListUsage, runList, false},
    {"make-demo", "write a demo checkpoint (small LLaMA, a preset, or a sparse giant)", kMakeDemoUsage, runMakeDemo, false},
    {"plan", "compute a device map under per-device budgets (Accelerate-exact)", kPlanUsage, runPlan, false},
    {"validate", "check a device map or plan file against a model", kValidateUsage, runValidate, false},
    {"edit", "move modules of a device map or plan file, validate, save", kEditUsage, runEdit, false},
    {"diff", "compare two plans: modules moved, bytes per device before and after", kDiffUsage, runDiff, false},
    {"export", "a plan as llama.cpp options, vLLM pipeline stages or a mistral.rs topology", kExportUsage, runExport, false},
    {"run", "generate tokens with a checkpoint dispatched by a map (GPUs, simulated GPUs, CPU, disk)", kRunUsage, runRun, true},
    {"stage", "run one host's pipeline stage of a plan (run --distributed --master ADDR:PORT --rank R --world N)", kStageUsage, runStage, true},
    {"offload", "write the tensors a map puts on disk into an Accelerate offload folder", kOffloadUsage, runOffload, false},
    {"devices", "list this machine's GPUs, RAM and offload disk", kDevicesUsage, runDevices, false},
    {"calibrate", "measure this machine's memory, disk and compute speed for predictions", kCalibrateUsage, runCalibrate, true},
    {"tokenize", "text to token ids and back with a model's tokenizer", kTokenizeUsage, runTokenize, false},
};

void printHelp(std::ostream &out)
{
    out << "mizan-cli: plan and run neural-network checkpoints larger than one GPU\n\n"
           "usage: mizan-cli COMMAND [ARGS...]\n"
           "       mizan-cli help COMMAND\n\ncommands:\n";
    for (const auto &c : kCommands)
        out << "  " << c.name << std::string(12 - std::min<std::size_t>(11, std::strlen(c.name)), ' ') << c.summary << "\n";
    out << "\nexit codes: 0 success, 1 failure (bad file, invalid map), 2 wrong arguments\n";
}

const Command *findCommand(const std::string &name)
{
    for (const auto &c : kCommands)
        if (name == c.name)
            return &c;
    return nullptr;
}

// The command's exit code; `name` gets the command's name once it is known.
int dispatch(const std::vector<std::string> &args, std::string &name);

} // namespace

int main(int argc, char **argv)
{
    // A file-size limit (ulimit -f) makes write() fail with EFBIG, reported like a full disk,
    // instead of killing the process with SIGXFSZ halfway through its output.
    std::signal(SIGXFSZ, SIG_IGN);
    installTerminalOutput();
    mizan::removeTempFilesOnSignals();
    if (const char *delay = std::getenv("MIZAN_TEST_COMMIT_DELAY_MS"))
        mizan::setCommitDelayForTesting(std::atoi(delay));

    // Planning and validating keep freed memory for reuse (planner/memory.h); the commands that
    // run a model hand their weights back to the system as they are freed (Command::runsModel).
    const Command *command = argc > 1 ? findCommand(argv[1]) : nullptr;
    if (!command || !command->runsModel)
        mizan::keepFreedMemory();

    std::string name;
    const int code = dispatch(std::vector<std::string>(argv + 1, argv + argc), name);
    // Everything printed must have reached standard output; a failed write is a failure.
    const std::string failure = finishTerminalOutput();
    if (!failure.empty()) {
        std::cerr << "mizan-cli" << (name.empty() ? "" : " " + name) << ": error: " << failure << "\n" << std::flush;
        return 1;
    }
    return code;
}

namespace {

int dispatch(const std::vector<std::string> &args, std::string &name)
{
    if (args.empty()) {
        printHelp(std::cerr);
        return 2;
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        if (args.size() > 1) {
            if (const Command *c = findCommand(args[1])) {
                std::cout << c->usage;
                return 0;
            }
            std::cerr << "mizan-cli: unknown command \"" << printable(args[1]) << "\"\n";
            return 2;
        }
        printHelp(std::cout);
        return 0;
    }
    if (args[0] == "--version") {
        std::cout << "mizan-cli " << MIZAN_VERSION << "\n";
        return 0;
    }
    const Command *command = findCommand(args[0]);
    if (!command) {
        std::cerr << "mizan-cli: unknown command \"" << printable(args[0]) << "\"\n\n";
        printHelp(std::cerr);
        return 2;
    }
    name = command->name;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto &a : rest)
        if (a == "--help" || a == "-h") {
            std::cout << command->usage;
            return 0;
        }
    try {
        return command->run(rest);
    } catch (const UsageError &e) {
        std::cerr << "mizan-cli " << command->name << ": " << printable(e.what()) << "\n\n" << command->usage;
        return 2;
    } catch (const std::exception &e) {
        // mizan::Error too: its what() names the file and the problem. Names and paths in it
        // come from files and arguments: printable() escapes their line breaks and controls.
        std::cerr << "mizan-cli " << command->name << ": error: " << printable(e.what()) << "\n";
        return 1;
    }
}

} // namespace
