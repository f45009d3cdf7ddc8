// Weights from an opened checkpoint: zero-copy mmapped tensors when dtype and device already
// match, converted copies otherwise; tied names resolved through the registry's tied groups.
#include "models/torch/forward.h"
#include "models/torch/forward_p.h"

#include "loader/torch/torchtensor.h"
#include "planner/error.h"

#include <torch/torch.h>

#include <chrono>

namespace mizan::models::torchfwd {

CheckpointSource::CheckpointSource(const loader::Checkpoint &checkpoint, c10::ScalarType computeDtype,
                                   c10::Device device)
    : m_checkpoint(checkpoint), m_dtype(computeDtype), m_device(device)
{
}

std::string CheckpointSource::storedName(const std::string &name) const
{
    if (m_checkpoint.catalog.find(name) >= 0)
        return name;
    std::lock_guard lock(m_mutex);
    if (!m_tiesRead) {
        m_tiesRead = true;
        try {
            const ModelDescription model = describe(m_checkpoint);
            for (const auto &group : model.tiedGroups)
                for (const auto &member : group)
                    m_ties[member] = group;
        } catch (const Error &) {
            // An architecture the registry does not know: no ties to follow.
        }
    }
    const auto it = m_ties.find(name);
    if (it != m_ties.end())
        for (const auto &member : it->second)
            if (member != name && m_checkpoint.catalog.find(member) >= 0)
                return member;
    return {};
}

std::string CheckpointSource::fileOf(const std::string &name) const
{
    const std::string stored = storedName(name);
    const int index = stored.empty() ? -1 : m_checkpoint.catalog.find(stored);
    if (index < 0)
        return m_checkpoint.path;
    const int shard = m_checkpoint.catalog.tensors[static_cast<std::size_t>(index)].shard;
    if (shard < 0 || static_cast<std::size_t>(shard) >= m_checkpoint.catalog.shards.size())
        return m_checkpoint.path;
    return m_checkpoint.catalog.shards[static_cast<std::size_t>(shard)].path;
}

torch::Tensor CheckpointSource::get(const std::string &name)
{
    {
        std::lock_guard lock(m_mutex);
        const auto kept = m_kept.find(name);
        if (kept != m_kept.end())
            return kept->second;
    }
    const std::string stored = storedName(name);
    if (stored.empty())
        throw Error(ErrorKind::NotFound, m_checkpoint.path,
                    "tensor " + inQuotes(name) + " is not in the checkpoint"
                        + (m_ties.count(name) ? " (nor any tensor tied to it)" : std::string()));
    const loader::TensorEntry &entry = m_checkpoint.catalog.tensors[static_cast<std::size_t>(m_checkpoint.catalog.find(stored))];
    torch::Tensor t = loader::toTorch(m_checkpoint, entry);
    const c10::ScalarType target = t.is_floating_point() ? m_dtype : t.scalar_type();
    std::lock_guard lock(m_mutex);
    if (t.scalar_type() == target && t.device() == m_device) {
        ++m_stats.inPlace;
    } else {
        const auto start = std::chrono::steady_clock::now();
        t = t.to(m_device, target);
        m_stats.convertSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++m_stats.converted;
        m_stats.convertedBytes += entry.byteSize;
    }
    m_kept[name] = t;
    return t;
}

CheckpointSource::Stats CheckpointSource::stats() const
{
    std::lock_guard lock(m_mutex);
    return m_stats;
}

void CheckpointSource::release()
{
    std::lock_guard lock(m_mutex);
    m_kept.clear();
}

std::unique_ptr<CheckpointSource> checkpointSource(const loader::Checkpoint &checkpoint, c10::ScalarType computeDtype,
                                                   c10::Device device)
{
    return std::make_unique<CheckpointSource>(checkpoint, computeDtype, device);
}

void checkCheckpoint(const CausalLM &model, const loader::Checkpoint &checkpoint)
{
    const CheckpointSource names(checkpoint, torch::kFloat32, torch::kCPU);
    for (const Step &step : model.steps())
        for (std::size_t i = 0; i < step.tensors.size(); ++i) {
            const std::string &name = step.tensors[i];
            const std::string stored = names.storedName(name);
            if (stored.empty())
                throw Error(ErrorKind::NotFound, checkpoint.path,
                            "tensor " + inQuotes(name) + " (of " + inQuotes(step.module)
                                + ") is not in the checkpoint");
            const auto &entry = checkpoint.catalog.tensors[static_cast<std::size_t>(checkpoint.catalog.find(stored))];
            if (entry.shape != step.shapes[i])
                throw Error(ErrorKind::BadShape, names.fileOf(name),
                            "tensor " + inQuotes(stored) + " has shape " + detail::shapeText(entry.shape)
                                + ", the config implies " + detail::shapeText(step.shapes[i]));
        }
}

} // namespace mizan::models::torchfwd
