#include "mapfile.h"

#include "jsonfile.h"

#include <nlohmann/json.hpp>

namespace mizan::planner {

MapOrPlan readMapOrPlanFile(const std::string &path, const CheckpointIdentity *expected)
{
    const nlohmann::ordered_json json = readJsonFile(path, InputKind::DeviceMap);
    MapOrPlan out;
    const auto format = json.is_object() ? json.find("format") : json.end();
    if (format != json.end() && format->is_string() && format->get<std::string>() == "mizan-plan") {
        out.plan = planFileFromJson(json, path, expected);
        out.map = out.plan->deviceMap;
    } else {
        out.map = deviceMapFromJson(json, path);
    }
    return out;
}

} // namespace mizan::planner
