// loadCheckpoint: a checkpoint's config and tensors for the reference, through the loader.

#include "reference.h"

#include "loader/checkpoint.h"
#include "loader/torch/torchtensor.h"

namespace mizan::testref {

ReferenceCheckpoint loadCheckpoint(const std::string &path)
{
    const loader::Checkpoint checkpoint = loader::open(path);
    ReferenceCheckpoint r;
    r.config = nlohmann::json::parse(checkpoint.config.dump());
    for (const loader::TensorEntry &entry : checkpoint.catalog.tensors)
        r.weights.emplace(entry.name, loader::toTorch(checkpoint, entry)); // keeps the mapping alive
    return r;
}

torch::Tensor referenceLogits(const std::string &path, const std::vector<std::int64_t> &ids)
{
    const ReferenceCheckpoint checkpoint = loadCheckpoint(path);
    return referenceLogits(checkpoint.config, checkpoint.weights, ids);
}

} // namespace mizan::testref
