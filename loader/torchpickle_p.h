#pragma once

// Internal: a restricted unpickler for the data.pkl of a torch.save archive. It understands only
// what a state dict is made of (dicts and ordered dicts of tensors and parameters, their storages
// and the bookkeeping torch adds) and never calls anything: a global other than the handful a
// state dict names (collections.OrderedDict, torch._utils' rebuild functions, torch's storage
// types) is refused by name, as is every opcode a state dict does not use. Values live in one
// arena addressed by index, so memo references and cycles cannot leak or recurse.

#include "planner/dtype.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mizan::loader::detail {

struct PickledTensor {
    std::string name;             // the state dict key
    std::string storageKey;       // "0": the archive entry <stem>/data/0
    DType dtype = DType::F32;     // from the storage type (torch.HalfStorage: float16)
    std::int64_t storageNumel = 0;
    std::int64_t offset = 0;      // in elements, into the storage
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> stride;
};

// The tensors of the state dict pickled in `pickle` (read from `path`), in pickle order. A state
// dict nested under one key ({"state_dict": {...}} or {"model": {...}}) is accepted.
std::vector<PickledTensor> readStateDictPickle(std::string_view pickle, const std::string &path);

} // namespace mizan::loader::detail
