#include "planinput.h"

#include "models/planoptions.h"
#include "planner/error.h"
#include "planner/planfile.h"
#include "planner/validate.h"

#include <filesystem>
#include <map>

namespace mizan::cli {

const std::vector<std::string> kPlanInputOptions = {"--model", "--dtype", "--no-split"};

namespace {

// The checkpoint a plan file names, as written; a relative path that does not exist from here but
// does from the plan file's folder is taken from there (a plan made beside its checkpoint).
std::string modelOfPlan(const std::string &planFile, const std::string &checkpoint)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path path(checkpoint);
    if (path.is_absolute() || fs::exists(path, ec))
        return checkpoint;
    const fs::path beside = fs::path(planFile).parent_path() / path;
    if (!fs::path(planFile).parent_path().empty() && fs::exists(beside, ec))
        return beside.string();
    return checkpoint; // a preset name, or a path that is nowhere (opening it says so)
}

} // namespace

std::vector<PlanInput> readPlanInputs(const Args &args, const std::vector<std::string> &files, bool clusterAllowed)
{
    models::PlanSettings settings;
    if (auto d = args.value("--dtype")) {
        settings.dtype = dtypeFromTorch(*d);
        if (!settings.dtype)
            throw UsageError("unknown dtype \"" + *d + "\" (try float16, bfloat16, float32)");
    }
    if (auto classes = args.value("--no-split"))
        settings.noSplitClasses = splitList(*classes);
    const auto model = args.value("--model");

    std::vector<PlanInput> inputs;
    for (const auto &file : files) {
        PlanInput in;
        in.file = file;
        in.content = planner::readMapOrPlanFile(file, nullptr, clusterAllowed);
        if (in.content.cluster) // its checkpoint and options: the first stage's plan
            in.content.plan = in.content.cluster->stages.front().plan;
        inputs.push_back(std::move(in));
    }
    // A device map is for the model given, else for the one the (first) plan file names.
    std::string planModel;
    for (const auto &in : inputs)
        if (in.content.plan && planModel.empty())
            planModel = in.content.plan->checkpoint.path;
    for (auto &in : inputs) {
        if (model)
            in.modelPath = *model;
        else if (in.content.plan && !in.content.plan->checkpoint.path.empty())
            in.modelPath = modelOfPlan(in.file, in.content.plan->checkpoint.path);
        else if (in.content.plan)
            throw Error(ErrorKind::InvalidHeader, in.file, "the plan names no checkpoint: give --model PATH");
        else if (!planModel.empty())
            in.modelPath = planModel;
        else
            throw UsageError(in.file + " is a device map: give --model PATH (the checkpoint, config.json or preset it is for)");
    }

    std::map<std::string, std::shared_ptr<const models::Source>> opened;
    for (auto &in : inputs) {
        auto &source = opened[in.modelPath];
        if (!source) {
            try {
                source = std::make_shared<const models::Source>(models::openSource(in.modelPath));
            } catch (const Error &e) {
                if (model)
                    throw;
                throw Error(e.kind(), in.file,
                            "cannot open the model the plan was made for (" + std::string(e.what()) +
                                "); give --model PATH");
            }
        }
        in.source = source;
        try {
            in.options = models::planOptionsFor(source->model, settings);
        } catch (const Error &e) {
            throw UsageError(e.message());
        }
        if (in.content.plan) {
            const planner::PlanFile &plan = *in.content.plan;
            planner::checkPlanIdentity(plan, in.file, planner::identityOf(in.tree(), in.modelPath));
            in.options.maxMemory = plan.options.maxMemory;
            if (!settings.noSplitClasses)
                in.options.noSplitClasses = plan.options.noSplitClasses;
            if (!settings.dtype) {
                in.options.dtype = plan.options.dtype;
                in.options.dtypeRule = plan.options.dtypeRule;
                in.options.specialDtypes = plan.options.specialDtypes;
            }
        }
        // What makes a map unusable here: tensors without a device or with two, unknown names,
        // tied weights apart. Budgets, pins and the other warnings are the planner's business.
        planner::PlanOptions coverage = in.options;
        coverage.maxMemory.clear();
        for (const auto &issue : planner::validate(in.tree(), in.content.map, coverage))
            if (issue.severity == planner::Severity::Error)
                throw Error(ErrorKind::InvalidDeviceMap, in.file,
                            issue.message() + " (`mizan-cli validate " + in.modelPath + " " + in.file + "` lists every issue)");
    }
    return inputs;
}

} // namespace mizan::cli
