#pragma once

// Pipeline stages in mizan-cli run (cmd_run.cpp, cmd_stage.cpp).

#include "args.h"

#include "runtime/session.h"

#include <string>
#include <vector>

namespace mizan::cli {

// The pipeline options of `run` (--distributed, --master, --rank, --world, --split, --timeout,
// --local-ranks); a single-process run (world 1) when none is given. Throws UsageError.
runtime::PipelineSpec pipelineFrom(const Args &args);

// `run --local-ranks N`: starts N ranks of this executable on 127.0.0.1 (`run ... --distributed`),
// waits for them, prints rank 0's tokens and every stage's report, or every failed rank's error.
int runLocalRanks(const std::vector<std::string> &argv, const Args &args, const runtime::PipelineSpec &spec);

} // namespace mizan::cli
