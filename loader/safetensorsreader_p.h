#pragma once

// Internal: the safetensors header reader on an already open file.

#include "checkpoint.h"

#include <string>

namespace mizan::loader::detail {

// Reads and validates the header of the open file `fd` (named `path` in errors).
SafetensorsHeader readSafetensorsHeader(int fd, const std::string &path);

} // namespace mizan::loader::detail
