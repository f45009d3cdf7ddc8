// File formats of plans: device_map.json, max_memory, the Python snippet, *.mizan.json.
#include "planfile.h"

#include "error.h"
#include "jsonfile.h"
#include "usage.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <limits>

namespace mizan::planner {

namespace {

[[noreturn]] void badMap(const std::string &file, const std::string &message)
{
    throw Error(ErrorKind::InvalidDeviceMap, file, message);
}

[[noreturn]] void badPlan(const std::string &file, const std::string &message)
{
    throw Error(ErrorKind::InvalidHeader, file, message);
}

Device mapDevice(const nlohmann::json &value, const std::string &key, const std::string &file)
{
    try {
        return Device::fromJson(value);
    } catch (const Error &) {
        badMap(file, "device_map entry \"" + key + "\": unknown device " + value.dump() +
                         " (use a GPU index such as 0, \"cuda:1\", \"cpu\", \"disk\" or \"mps\")");
    }
}

template<typename Json>
DeviceMap mapFromJson(const Json &json, const std::string &file)
{
    DeviceMap map;
    const Json *object = &json;
    if (json.is_object() && json.size() == 1 && json.contains("device_map") && json["device_map"].is_object())
        object = &json["device_map"];
    if (object->is_object()) {
        for (auto it = object->begin(); it != object->end(); ++it)
            map.emplace_back(it.key(), mapDevice(nlohmann::json(it.value()), it.key(), file));
    } else if (object->is_array()) {
        for (const auto &pair : *object) {
            if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string())
                badMap(file, "device_map list entries must be [\"module name\", device]");
            const std::string key = pair[0].template get<std::string>();
            map.emplace_back(key, mapDevice(nlohmann::json(pair[1]), key, file));
        }
    } else {
        badMap(file, "a device_map must be a JSON object {\"module\": device, ...}");
    }
    return map;
}

// `s` as a Python string literal that parses back to the same str, the way Python's ascii()
// writes one: printable ASCII as is (quotes and backslashes escaped), everything else as \xhh,
// \uhhhh or \Uhhhhhhhh, so the snippet is plain ASCII whatever the names hold (newlines,
// control characters, bidirectional overrides). Bytes that are not UTF-8 become the lone
// surrogates \udc80-\udcff, as Python's os.fsdecode() reads such bytes in a path.
std::string pythonString(const std::string &s)
{
    std::string out = "\"";
    char buf[16];
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = byte(i);
        if (c >= 0x20 && c < 0x7F) {
            if (c == '\\' || c == '"')
                out += '\\';
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Decode one UTF-8 character; n = 0 when the bytes at i are not one.
        std::size_t n = 0;
        char32_t cp = c;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80)
            n = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            n = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, cp = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, cp = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (n > 1 && i + n > s.size())
            n = 0;
        for (std::size_t k = 1; k < n; ++k) {
            const unsigned char x = byte(i + k);
            if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) {
                n = 0;
                break;
            }
            cp = (cp << 6) | (x & 0x3F);
        }
        if (n == 0) {
            std::snprintf(buf, sizeof buf, "\\udc%02x", c);
            ++i;
        } else {
            if (cp == '\n')
                std::snprintf(buf, sizeof buf, "\\n");
            else if (cp == '\t')
                std::snprintf(buf, sizeof buf, "\\t");
            else if (cp == '\r')
                std::snprintf(buf, sizeof buf, "\\r");
            else if (cp < 0x100)
                std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            else if (cp < 0x10000)
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            else
                std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(cp));
            i += n;
        }
        out += buf;
    }
    return out + "\"";
}

std::string pythonDevice(const Device &d)
{
    return d.isGpu() ? std::to_string(d.index) : pythonString(d.toString());
}

nlohmann::ordered_json headroomToJson(const Headroom &h)
{
    return {{"batch_size", h.batchSize}, {"tokens", h.tokens}, {"hidden_size", h.hiddenSize}, {"num_layers", h.numLayers},
            {"num_attention_heads", h.numAttentionHeads}, {"num_key_value_heads", h.numKeyValueHeads}, {"head_dim", h.headDim},
            {"intermediate_size", h.intermediateSize}, {"vocab_size", h.vocabSize}, {"dtype", torchName(h.dtype)}};
}

// Typed fields of a plan file; every error names the field by its path in the file
// ("devices[1].budget_bytes") and what was found instead, never a JSON library's internals.
template<typename Json>
class PlanFields {
public:
    explicit PlanFields(const std::string &file) : m_file(file) {}

    [[noreturn]] void bad(const std::string &where, const std::string &expected, const Json &found) const
    {
        badPlan(m_file, "plan file: \"" + where + "\" must be " + expected + ", found " + jsonTypeName(found));
    }

    const Json &object(const Json &parent, const char *key, const std::string &where) const
    {
        if (!parent.contains(key))
            badPlan(m_file, "plan file: \"" + where + "\" is missing");
        const Json &v = parent[key];
        if (!v.is_object())
            bad(where, "an object", v);
        return v;
    }

    const Json *array(const Json &parent, const char *key, const std::string &where, bool required) const
    {
        if (!parent.contains(key)) {
            if (required)
                badPlan(m_file, "plan file: \"" + where + "\" is missing");
            return nullptr;
        }
        const Json &v = parent[key];
        if (!v.is_array())
            bad(where, "an array", v);
        return &v;
    }

    std::int64_t integer(const Json &parent, const char *key, const std::string &where, std::int64_t fallback,
                         std::int64_t min = 0, std::int64_t max = std::numeric_limits<std::int64_t>::max()) const
    {
        if (!parent.contains(key))
            return fallback;
        std::string why;
        const auto v = jsonInteger(parent[key], min, max, &why);
        if (!v)
            badPlan(m_file, "plan file: \"" + where + "\" must be an integer from " + std::to_string(min) + ", found " + why);
        return *v;
    }

    double number(const Json &parent, const char *key, const std::string &where, double fallback) const
    {
        if (!parent.contains(key))
            return fallback;
        const Json &v = parent[key];
        if (!v.is_number())
            bad(where, "a number", v);
        return v.template get<double>();
    }

    std::string string(const Json &parent, const char *key, const std::string &where) const
    {
        if (!parent.contains(key))
            return {};
        const Json &v = parent[key];
        if (!v.is_string())
            bad(where, "a string", v);
        return v.template get<std::string>();
    }

    bool boolean(const Json &parent, const char *key, const std::string &where, bool fallback) const
    {
        if (!parent.contains(key))
            return fallback;
        const Json &v = parent[key];
        if (!v.is_boolean())
            bad(where, "true or false", v);
        return v.template get<bool>();
    }

    Device device(const Json &parent, const std::string &where) const
    {
        if (!parent.is_object())
            bad(where, "an object", parent);
        if (!parent.contains("device"))
            badPlan(m_file, "plan file: \"" + where + ".device\" is missing");
        try {
            return Device::fromJson(nlohmann::json(parent["device"]));
        } catch (const Error &e) {
            badPlan(m_file, "plan file: \"" + where + ".device\": " + e.message());
        }
    }

    DType dtype(const Json &value, const std::string &where) const
    {
        if (!value.is_string())
            bad(where, "a dtype name such as \"float16\"", value);
        auto d = dtypeFromTorch(value.template get<std::string>());
        if (!d)
            throw Error(ErrorKind::UnknownDtype, m_file, "plan file: \"" + where + "\": unknown dtype " + inQuotes(value.template get<std::string>()));
        return *d;
    }

private:
    const std::string &m_file;
};

} // namespace

nlohmann::ordered_json deviceMapToJson(const DeviceMap &map)
{
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    OrderedObjectIndex members(j);
    for (const auto &[name, device] : map)
        members[name] = device.toJson();
    return j;
}

DeviceMap deviceMapFromJson(const nlohmann::json &json, const std::string &file)
{
    return mapFromJson(json, file);
}

DeviceMap deviceMapFromJson(const nlohmann::ordered_json &json, const std::string &file)
{
    return mapFromJson(json, file);
}

DeviceMap readDeviceMapFile(const std::string &path)
{
    return mapFromJson(readJsonFile(path, InputKind::DeviceMap), path);
}

void writeDeviceMapFile(const std::string &path, const DeviceMap &map)
{
    writeFileAtomically(path, deviceMapToJson(map).dump(2) + "\n");
}

std::string pythonSnippet(const std::string &modelPath, const DeviceMap &map, const MaxMemory &maxMemory,
                          std::optional<DType> dtype, bool offloadBuffers)
{
    std::string s;
    s += "import torch\n";
    s += "from transformers import AutoModelForCausalLM\n\n";
    s += "device_map = {\n";
    for (const auto &[name, device] : map)
        s += "    " + pythonString(name) + ": " + pythonDevice(device) + ",\n";
    s += "}\n";
    s += "max_memory = {";
    bool first = true;
    for (const auto &[device, bytes] : maxMemory) {
        if (device.kind == DeviceKind::Disk)
            continue;
        s += (first ? "" : ", ") + pythonDevice(device) + ": " + std::to_string(bytes);
        first = false;
    }
    s += "}\n\n";
    bool disk = false;
    for (const auto &[name, device] : map)
        disk = disk || device.kind == DeviceKind::Disk;
    s += "model = AutoModelForCausalLM.from_pretrained(\n";
    s += "    " + pythonString(modelPath) + ",\n";
    s += "    device_map=device_map,\n";
    s += "    max_memory=max_memory,\n";
    if (dtype)
        s += std::string("    torch_dtype=torch.") + torchName(*dtype) + ",\n";
    if (disk)
        s += "    offload_folder=\"offload\",\n";
    if (offloadBuffers)
        s += "    offload_buffers=True,\n";
    s += ")\n";
    return s;
}

std::string treeFingerprint(const ModuleTree &tree)
{
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&](std::string_view bytes) {
        for (unsigned char c : bytes) {
            h ^= c;
            h *= 1099511628211ULL;
        }
        h ^= 0xff;
        h *= 1099511628211ULL;
    };
    for (int id : tree.preorder()) {
        const Module &m = tree.module(id);
        for (const auto *list : {&m.params, &m.buffers})
            for (const auto &t : *list) {
                mix(tree.tensorName(id, t));
                mix(torchName(t.dtype));
                for (auto d : t.shape)
                    mix(std::to_string(d));
            }
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

CheckpointIdentity identityOf(const ModuleTree &tree, const std::string &path)
{
    CheckpointIdentity id;
    id.path = path;
    id.fingerprint = treeFingerprint(tree);
    id.totalBytes = aggregateSizes(tree).totalBytes();
    id.tensorCount = tree.tensorCount();
    return id;
}

const PlanDevice *PlanFile::deviceInfo(const Device &device) const
{
    for (const auto &d : devices)
        if (d.device == device)
            return &d;
    return nullptr;
}

nlohmann::ordered_json planFileToJson(const PlanFile &file)
{
    nlohmann::ordered_json j;
    j["format"] = "mizan-plan";
    j["version"] = PlanFile::kVersion;
    j["checkpoint"] = {{"path", file.checkpoint.path}, {"fingerprint", file.checkpoint.fingerprint},
                       {"total_bytes", file.checkpoint.totalBytes}, {"tensor_count", file.checkpoint.tensorCount}};
    j["devices"] = nlohmann::ordered_json::array();
    for (const auto &[d, b] : file.options.maxMemory) {
        nlohmann::ordered_json entry = {{"device", nlohmann::ordered_json(d.toJson())}, {"budget_bytes", b}};
        if (const PlanDevice *info = file.deviceInfo(d)) {
            entry["label"] = info->label;
            if (info->capacityBytes >= 0)
                entry["capacity_bytes"] = info->capacityBytes;
            entry["simulated"] = info->simulated;
        }
        j["devices"].push_back(std::move(entry));
    }
    const PlanOptions &o = file.options;
    nlohmann::ordered_json options;
    options["strategy"] = toString(o.strategy);
    options["dtype"] = o.dtype ? nlohmann::ordered_json(torchName(*o.dtype)) : nlohmann::ordered_json();
    options["dtype_rule"] = toString(o.dtypeRule);
    options["no_split_module_classes"] = o.noSplitClasses;
    options["special_dtypes"] = nlohmann::ordered_json::object();
    for (const auto &[n, d] : o.specialDtypes)
        options["special_dtypes"][n] = torchName(d);
    options["offload_buffers"] = o.offloadBuffers;
    options["fallback_allocation"] = o.fallbackAllocation;
    options["clean_result"] = o.cleanResult;
    options["headroom"] = headroomToJson(o.headroom);
    j["options"] = options;
    j["pins"] = nlohmann::ordered_json::array();
    for (const auto &p : o.pins)
        j["pins"].push_back({{"module", p.module}, {"device", p.device.toJson()}, {"forbid", p.forbid}});
    if (!o.policies.empty()) { // added by issue 14; absent = none
        j["policies"] = nlohmann::ordered_json::array();
        for (const auto &p : o.policies)
            j["policies"].push_back(toString(p));
    }
    j["device_map"] = nlohmann::ordered_json::array();
    for (const auto &[name, device] : file.deviceMap)
        j["device_map"].push_back({name, device.toJson()});
    j["usage"] = usageToJson(file.usage);
    return j;
}

namespace {

template<typename Json>
PlanFile planFromJson(const Json &j, const std::string &file)
{
    if (!j.is_object() || !j.contains("format") || j["format"] != "mizan-plan")
        throw Error(ErrorKind::VersionMismatch, file, "not a Mizan plan file (\"format\" is not \"mizan-plan\")");
    const PlanFields<Json> f(file);
    const std::int64_t version = f.integer(j, "version", "version", 0, 1);
    if (version > PlanFile::kVersion)
        throw Error(ErrorKind::VersionMismatch, file, "this plan file was written by a newer Mizan (plan format version " + std::to_string(version) +
                    "; this version reads up to " + std::to_string(PlanFile::kVersion) + "): update Mizan to open it");
    if (version < 1)
        badPlan(file, "plan file: \"version\" is missing");
    constexpr std::int64_t kAny = std::numeric_limits<std::int64_t>::min();
    PlanFile out;
    try {
        const Json &c = f.object(j, "checkpoint", "checkpoint");
        out.checkpoint.path = f.string(c, "path", "checkpoint.path");
        out.checkpoint.fingerprint = f.string(c, "fingerprint", "checkpoint.fingerprint");
        out.checkpoint.totalBytes = f.integer(c, "total_bytes", "checkpoint.total_bytes", 0);
        out.checkpoint.tensorCount = f.integer(c, "tensor_count", "checkpoint.tensor_count", 0);
        const Json &devices = *f.array(j, "devices", "devices", true);
        for (std::size_t i = 0; i < devices.size(); ++i) {
            const Json &d = devices[i];
            const std::string where = "devices[" + std::to_string(i) + "]";
            const Device device = f.device(d, where);
            out.options.maxMemory.emplace_back(device, f.integer(d, "budget_bytes", where + ".budget_bytes", 0));
            if (d.contains("label") || d.contains("capacity_bytes") || d.contains("simulated")) {
                PlanDevice info;
                info.device = device;
                info.label = f.string(d, "label", where + ".label");
                info.capacityBytes = f.integer(d, "capacity_bytes", where + ".capacity_bytes", -1);
                info.simulated = f.boolean(d, "simulated", where + ".simulated", false);
                out.devices.push_back(std::move(info));
            }
        }
        const Json &o = f.object(j, "options", "options");
        out.options.strategy = strategyFromString(o.contains("strategy") ? f.string(o, "strategy", "options.strategy") : std::string("auto"));
        if (o.contains("dtype") && !o["dtype"].is_null())
            out.options.dtype = f.dtype(o["dtype"], "options.dtype");
        // Files written before the rule was recorded meant the load dtype as transformers does.
        if (o.contains("dtype_rule")) {
            const auto rule = o["dtype_rule"].is_string() ? dtypeRuleFromString(o["dtype_rule"].template get<std::string>()) : std::nullopt;
            if (!rule)
                badPlan(file, "plan file: \"options.dtype_rule\" must be \"transformers\" or \"accelerate\"");
            out.options.dtypeRule = *rule;
        }
        if (const Json *classes = f.array(o, "no_split_module_classes", "options.no_split_module_classes", false))
            for (std::size_t i = 0; i < classes->size(); ++i) {
                if (!(*classes)[i].is_string())
                    f.bad("options.no_split_module_classes[" + std::to_string(i) + "]", "a class name", (*classes)[i]);
                out.options.noSplitClasses.push_back((*classes)[i].template get<std::string>());
            }
        if (o.contains("special_dtypes")) {
            const Json &special = f.object(o, "special_dtypes", "options.special_dtypes");
            for (auto it = special.begin(); it != special.end(); ++it)
                out.options.specialDtypes.emplace_back(it.key(), f.dtype(it.value(), "options.special_dtypes." + it.key()));
        }
        out.options.offloadBuffers = f.boolean(o, "offload_buffers", "options.offload_buffers", false);
        out.options.fallbackAllocation = f.boolean(o, "fallback_allocation", "options.fallback_allocation", false);
        out.options.cleanResult = f.boolean(o, "clean_result", "options.clean_result", true);
        if (o.contains("headroom")) {
            const Json &h = f.object(o, "headroom", "options.headroom");
            Headroom &r = out.options.headroom;
            r.batchSize = f.integer(h, "batch_size", "options.headroom.batch_size", 1);
            r.tokens = f.integer(h, "tokens", "options.headroom.tokens", 0);
            r.hiddenSize = f.integer(h, "hidden_size", "options.headroom.hidden_size", 0);
            r.numLayers = f.integer(h, "num_layers", "options.headroom.num_layers", 0);
            r.numAttentionHeads = f.integer(h, "num_attention_heads", "options.headroom.num_attention_heads", 0);
            r.numKeyValueHeads = f.integer(h, "num_key_value_heads", "options.headroom.num_key_value_heads", 0);
            r.headDim = f.integer(h, "head_dim", "options.headroom.head_dim", 0);
            r.intermediateSize = f.integer(h, "intermediate_size", "options.headroom.intermediate_size", 0);
            r.vocabSize = f.integer(h, "vocab_size", "options.headroom.vocab_size", 0);
            if (h.contains("dtype"))
                r.dtype = f.dtype(h["dtype"], "options.headroom.dtype");
        }
        if (const Json *pins = f.array(j, "pins", "pins", false))
            for (std::size_t i = 0; i < pins->size(); ++i) {
                const Json &p = (*pins)[i];
                const std::string where = "pins[" + std::to_string(i) + "]";
                const Device device = f.device(p, where);
                if (!p.contains("module") || !p["module"].is_string())
                    f.bad(where + ".module", "a module name", p.contains("module") ? p["module"] : Json());
                out.options.pins.push_back({p["module"].template get<std::string>(), device, f.boolean(p, "forbid", where + ".forbid", false)});
            }
        if (const Json *policies = f.array(j, "policies", "policies", false))
            for (std::size_t i = 0; i < policies->size(); ++i) {
                const Json &p = (*policies)[i];
                const std::string where = "policies[" + std::to_string(i) + "]";
                if (!p.is_string())
                    f.bad(where, "a policy such as \"experts-on-cpu\"", p);
                try {
                    out.options.policies.push_back(parsePolicy(p.template get<std::string>()));
                } catch (const Error &e) {
                    badPlan(file, "plan file: " + where + ": " + e.message());
                }
            }
        if (!j.contains("device_map"))
            badPlan(file, "plan file: \"device_map\" is missing");
        out.deviceMap = mapFromJson(j["device_map"], file);
        if (const Json *usage = f.array(j, "usage", "usage", false))
            for (std::size_t i = 0; i < usage->size(); ++i) {
                const Json &u = (*usage)[i];
                const std::string where = "usage[" + std::to_string(i) + "]";
                DeviceUsage du;
                du.device = f.device(u, where);
                du.budgetBytes = f.integer(u, "budget_bytes", where + ".budget_bytes", -1, kAny);
                du.effectiveBudgetBytes = f.integer(u, "effective_budget_bytes", where + ".effective_budget_bytes", -1, kAny);
                du.plannedBytes = f.number(u, "planned_bytes", where + ".planned_bytes", 0.0);
                du.reservedLargestLayerBytes = f.integer(u, "reserved_largest_layer_bytes", where + ".reserved_largest_layer_bytes", 0, kAny);
                du.headroomBytes = f.integer(u, "headroom_bytes", where + ".headroom_bytes", 0, kAny);
                du.freeBytes = f.number(u, "free_bytes", where + ".free_bytes", 0.0);
                du.moduleCount = static_cast<int>(f.integer(u, "module_count", where + ".module_count", 0, 0, std::numeric_limits<int>::max()));
                out.usage.push_back(du);
            }
    } catch (const nlohmann::json::exception &e) {
        // Not reached by the checks above; kept so that a structure they miss is still an error
        // naming the file rather than a crash.
        badPlan(file, std::string("plan file is malformed: ") + e.what());
    } catch (const Error &e) {
        if (e.kind() == ErrorKind::InvalidArgument)
            badPlan(file, "plan file: " + e.message());
        throw;
    }
    return out;
}

} // namespace

void checkPlanIdentity(const PlanFile &plan, const std::string &file, const CheckpointIdentity &expected)
{
    if (!plan.checkpoint.fingerprint.empty() && plan.checkpoint.fingerprint != expected.fingerprint)
        throw Error(ErrorKind::VersionMismatch, file, "this plan was made for another checkpoint (\"" + plan.checkpoint.path + "\", fingerprint " +
                    plan.checkpoint.fingerprint + ", " + std::to_string(plan.checkpoint.tensorCount) + " tensors), not for \"" + expected.path +
                    "\" (fingerprint " + expected.fingerprint + ", " + std::to_string(expected.tensorCount) + " tensors)");
}

PlanFile planFileFromJson(const nlohmann::json &json, const std::string &file, const CheckpointIdentity *expected)
{
    PlanFile plan = planFromJson(json, file);
    if (expected)
        checkPlanIdentity(plan, file, *expected);
    return plan;
}

PlanFile planFileFromJson(const nlohmann::ordered_json &json, const std::string &file, const CheckpointIdentity *expected)
{
    PlanFile plan = planFromJson(json, file);
    if (expected)
        checkPlanIdentity(plan, file, *expected);
    return plan;
}

void writePlanFile(const std::string &path, const PlanFile &file)
{
    writeFileAtomically(path, planFileToJson(file).dump(2, ' ', false, nlohmann::detail::error_handler_t::replace) + "\n");
}

PlanFile readPlanFile(const std::string &path, const CheckpointIdentity *expected)
{
    return planFileFromJson(readJsonFile(path, InputKind::PlanFile), path, expected);
}

} // namespace mizan::planner
