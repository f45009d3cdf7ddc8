#include "mapfile.h"

#include "jsonfile.h"

#include <nlohmann/json.hpp>

namespace mizan::planner {

MapOrPlan readMapOrPlanFile(const std::string &path, const CheckpointIdentity *expected, bool clusterAllowed)
{
    const nlohmann::ordered_json json = readJsonFile(path, InputKind::DeviceMap);
    MapOrPlan out;
    const auto format = json.is_object() ? json.find("format") : json.end();
    if (format != json.end() && format->is_string() && format->get<std::string>() == "mizan-plan") {
        out.plan = planFileFromJson(json, path, expected);
        out.map = out.plan->deviceMap;
    } else if (isClusterPlanJson(json) && clusterAllowed) {
        out.cluster = clusterPlanFileFromJson(json, path, expected);
        out.map = out.cluster->localDeviceMap();
    } else if (isClusterPlanJson(json)) {
        // Each host's map is a map of its own stage: check or export those (plan --device-map-out).
        throw Error(ErrorKind::UnsupportedFormat, path,
                    "is a cluster plan (a stage per host): give one host's map instead (`mizan-cli plan --hardware CLUSTER "
                    "--device-map-out FILE` writes FILE.HOST.json), or run it with `mizan-cli run PATH --plan FILE --local-ranks N`");
    } else {
        out.map = deviceMapFromJson(json, path);
    }
    return out;
}

} // namespace mizan::planner
