#pragma once

// Limits on every input Mizan reads, in one place, so that each reader (today's and those later
// issues add) refuses the same things the same way: only regular files, at most a sane size per
// kind of file, JSON nested at most kMaxJsonDepth levels. A file past a limit is an Error naming
// the file and the limit, never a crash, a hang or an unbounded read.

#include <cstdint>

namespace mizan {

// What a file is for; picks its size limit and the words messages use for it.
enum class InputKind {
    Config,            // config.json (a few KB in practice)
    SafetensorsIndex,  // model.safetensors.index.json (about 100 bytes per tensor)
    DeviceMap,         // device_map.json
    PlanFile,          // *.mizan.json
    Preset,            // resources/presets/*.json
    HardwareProfile,   // resources/hardware/*.json
    OffloadIndex,      // an Accelerate offload folder's index.json
    Tokenizer,         // tokenizer.json, tokenizer_config.json, vocab files
    GenerationConfig,  // generation_config.json
    TorchPickle,       // data.pkl of a PyTorch .bin archive (about 150 bytes per tensor)
    Other,             // any other small JSON or text file
};

struct InputLimits {
    const char *what;      // "a device map", for messages
    std::int64_t maxBytes; // larger files are refused before anything is allocated
};

InputLimits inputLimits(InputKind kind);

// The deepest nesting of arrays and objects accepted in any JSON input. Real files are at most
// six or seven levels deep (tokenizer.json); the bound keeps every recursive walk of a parsed
// value (conversions, destructors, dumps) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;

} // namespace mizan
