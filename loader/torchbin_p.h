#pragma once

// Internal: PyTorch .bin checkpoints as torch.save writes them since PyTorch 1.6 (a zip archive of
// <stem>/data.pkl, <stem>/data/<storage key>, <stem>/version, <stem>/byteorder). The pickle is read
// by the restricted unpickler (torchpickle_p.h), never executed; tensors are the stored entries'
// bytes in place, as safetensors tensors are.

#include "checkpoint.h"

#include <string>

namespace mizan::loader::detail {

// Reads the tensor list of the open .bin file `fd` (named `path` in errors) in the shape the
// safetensors reader gives (tensors with absolute offsets into the file, shard info).
SafetensorsHeader readTorchBinHeader(int fd, const std::string &path);

} // namespace mizan::loader::detail
