#pragma once

// What the user asked to open (a checkpoint folder or file, a config.json, or a preset name),
// opened and described in one call: the front door of the CLI, the GUI and the runtime.

#include "loader/checkpoint.h"
#include "loader/tokenizer.h"
#include "models/describe.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::models {

// What the user asked to open: a checkpoint path, a config.json, or a preset name.
struct Source {
    loader::Checkpoint checkpoint; // ConfigOnly for presets and config.json
    ModelDescription model;
    std::string presetName;        // non-empty when a preset was opened
};
// A path that exists is opened with loader::open(); otherwise the name must be a preset
// ("llama-3.1-405b"). Throws mizan::Error(NotFound) naming the presets when neither.
Source openSource(const std::string &pathOrPreset, const loader::OpenOptions &options = {});

// The tokenizer a user names: a tokenizer.json file, a model folder (tokenizer.json, else
// vocab.json + merges.txt), or ORG/NAME in the Hugging Face cache. Throws mizan::Error(NotFound)
// naming the place when it has no tokenizer, and the tokenizer's own errors.
loader::Tokenizer openTokenizer(const std::string &pathOrName);
// The tokenizer beside an opened checkpoint (its folder), nullopt when it has none.
std::optional<loader::Tokenizer> tokenizerOf(const loader::Checkpoint &checkpoint);
// The same for a checkpoint path as the user gave it: a folder, a file in a folder, or ORG/NAME
// in the Hugging Face cache; nullopt when there is no tokenizer there (or no such path).
std::optional<loader::Tokenizer> tokenizerForCheckpoint(const std::string &pathOrName);

// The ids that end generation, as transformers' generate() takes them: generation_config.json's
// eos_token_id (a number or a list) in the checkpoint's folder, else config.json's, else the
// tokenizer's end-of-sequence token; empty when none says. Ids outside [0, 2^31) are ignored.
std::vector<std::int64_t> stopIdsOf(const loader::Checkpoint &checkpoint, const loader::Tokenizer *tokenizer);

} // namespace mizan::models
