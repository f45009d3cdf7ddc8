// mizan-cli make-demo: writes a deterministic demo checkpoint (or a sparse giant one).
#include "args.h"
#include "commands.h"
#include "format.h"

#include "models/demo.h"
#include "planner/device.h"

#include <cstdio>
#include <iostream>

namespace mizan::cli {


const char *const kMakeDemoUsage =
    "usage: mizan-cli make-demo DIR [--preset NAME] [--layers N] [--hidden N] [--seed N]\n"
    "                           [--dtype float16|bfloat16|float32] [--shards N] [--sparse]\n"
    "                           [--layout v5|v4]\n"
    "\n"
    "Writes a sharded safetensors checkpoint with config.json and model.safetensors.index.json\n"
    "into DIR (created when missing), with deterministic random weights from the seed.\n"
    "Default: a small LLaMA-style model (4 layers, hidden 128, about 2.6 MB in float16).\n"
    "\n"
    "  --preset NAME  the model of a preset (see `mizan-cli presets`) instead of the default\n"
    "  --layers N     number of layers (every stack)\n"
    "  --hidden N     hidden size (heads and feed-forward scale with it)\n"
    "  --seed N       random seed (default 0)\n"
    "  --dtype DTYPE  float16 (default), bfloat16 or float32\n"
    "  --shards N     number of shard files, at least 2 (default 2)\n"
    "  --sparse       valid headers, data areas left as holes: giant models use no disk space\n"
    "  --layout L     module layout of a transformers release: v5 (default) or v4 (4.x); differs\n"
    "                 for Mixtral only (v4: block_sparse_moe.experts.N.w1/w2/w3), same weights\n";

int runMakeDemo(const std::vector<std::string> &argv)
{
    Args args(argv, {"--preset", "--layers", "--hidden", "--seed", "--dtype", "--shards", "--layout"}, {"--sparse"});
    args.expectPositionals(1, 1);
    models::DemoOptions options;
    const std::string dir = args.positional(0, "DIR");
    options.preset = args.value("--preset").value_or("");
    options.layers = args.intValue("--layers", 0);
    options.hidden = args.intValue("--hidden", 0);
    const int seed = args.intValue("--seed", 0);
    if ((args.value("--layers") && options.layers < 1) || (args.value("--hidden") && options.hidden < 1))
        throw UsageError("--layers and --hidden must be at least 1 (a model needs a layer and a width)");
    if (seed < 0)
        throw UsageError("--seed must not be negative");
    options.seed = static_cast<std::uint64_t>(seed);
    options.shards = args.intValue("--shards", 2);
    if (options.shards < 2)
        throw UsageError("--shards must be at least 2");
    if (auto d = args.value("--dtype")) {
        auto dtype = dtypeFromTorch(*d);
        if (!dtype || (*dtype != DType::F16 && *dtype != DType::BF16 && *dtype != DType::F32))
            throw UsageError("--dtype must be float16, bfloat16 or float32");
        options.dtype = *dtype;
    }
    if (auto layout = args.value("--layout")) {
        if (*layout == "v4")
            options.layout = models::TransformersLayout::V4;
        else if (*layout != "v5")
            throw UsageError("--layout must be v5 or v4");
    }
    options.sparse = args.flag("--sparse");
    const models::DemoResult r = models::writeDemo(dir, options);
    std::cout << "wrote " << printable(r.directory) << ": " << r.tensorCount << " tensors, " << humanCount(r.parameters)
              << " parameters, " << planner::formatBytes(static_cast<double>(r.totalBytes)) << " in " << r.shardCount
              << " shards" << (options.sparse ? " (sparse)" : "") << "\n";
    return 0;
}

} // namespace mizan::cli
