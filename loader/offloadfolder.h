#pragma once

// Accelerate's offload folders: one raw `<tensor name>.dat` per tensor (its bytes in C order,
// little-endian, no header; a 0-d tensor is one element) and an `index.json`
// {"<name>": {"dtype": "<numpy dtype name>", "shape": [dims]}} ("bfloat16" is stored as the raw
// 16-bit pattern). What Accelerate writes for disk-offloaded modules when their source cannot be
// mmapped, and reads back with numpy memmaps. Pure C++ (no Qt, no libtorch).

#include "checkpoint.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mizan::loader {

// The numpy dtype name Accelerate records for `dtype` ("float32", "bfloat16", "int64", "bool"),
// or nullptr when numpy (hence an offload folder) has no such dtype (the 8/6/4-bit floats, the
// custom quantised types).
const char *offloadDtypeName(DType dtype);

// The index.json of `folder`, or an empty string when the folder has none.
std::string offloadIndexPath(const std::string &folder);

// Opens an offload folder: validates index.json (JSON syntax, an object of {"dtype", "shape"}
// entries, numpy dtype names, tensor names that are plain file names) and every .dat it lists
// (present, a regular file, exactly numel x dtype size bytes). Throws mizan::Error naming the file
// and the problem: InvalidJson, InvalidHeader, UnknownDtype, BadShape, MissingShard (a .dat
// missing), Truncated (a .dat shorter than its entry says; BadShape when longer).
// The result is a Checkpoint of Format::OffloadFolder (no config) whose catalog lists the folder's
// tensors in the index's order, each in a "shard" of its own (its .dat, header 0 bytes, offset 0):
// tensorBytes() and the torch bridge map them in place as they map safetensors shards.
Checkpoint openOffloadFolder(const std::string &folder);

struct OffloadWriteOptions {
    // Called after each tensor is written (done, total); returning false stops with Error(Cancelled).
    std::function<bool(int done, int total)> progress;
};

struct OffloadWritten {
    std::string indexPath;
    std::int64_t tensors = 0;
    std::int64_t bytes = 0; // sum of the .dat files written
};

// Writes the tensors named `names` of `source` into `folder` (created if missing) as Accelerate
// does: each `<name>.dat` atomically, in the dtype stored in the checkpoint (never converted);
// then index.json, merged with the folder's existing index (whose other entries are kept; its
// entries for these names are replaced) and written last, atomically. Throws mizan::Error: a name
// the checkpoint does not have (NotFound), a dtype numpy cannot hold or a name that is no file
// name (UnsupportedFormat), an existing index.json that is not a JSON object, a failed write (Io).
OffloadWritten writeOffloadFolder(const std::string &folder, const Checkpoint &source, const std::vector<std::string> &names,
                                  const OffloadWriteOptions &options = {});

} // namespace mizan::loader
