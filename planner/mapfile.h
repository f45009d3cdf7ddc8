#pragma once

// A file the user hands over as "a device map": either a device_map.json as transformers and
// Accelerate take it, or a Mizan plan file (*.mizan.json, whatever its name), told apart by the
// plan file's "format". The CLI's validate/edit and the GUI's import read it through here.

#include "cluster.h"
#include "planfile.h"

#include <optional>
#include <string>

namespace mizan::planner {

struct MapOrPlan {
    DeviceMap map;                 // the device map (a plan file's "device_map"; a cluster plan's stages' maps together)
    std::optional<PlanFile> plan;  // the whole plan file, when the file is one
    std::optional<ClusterPlanFile> cluster; // the whole cluster plan, when the file is one (clusterAllowed)
    bool isPlan() const { return plan.has_value(); }
};

// Reads and parses `path` once. Throws Error naming the file: Io (unreadable), InvalidJson
// (syntax), a plan file's errors (VersionMismatch for a newer format, InvalidHeader, ...; with
// `expected`, VersionMismatch when it was made for another checkpoint), InvalidDeviceMap for a
// map that is not {"module": device, ...} or a list of [name, device] pairs.
// A cluster plan file (cluster.h) is refused with Error(UnsupportedFormat) saying what to give
// instead, unless `clusterAllowed`.
MapOrPlan readMapOrPlanFile(const std::string &path, const CheckpointIdentity *expected = nullptr, bool clusterAllowed = false);

} // namespace mizan::planner
