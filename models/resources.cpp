// Bundled resources: model presets (resources/models/*.json), hardware profiles
// (resources/hardware/*.json), and openSource() which accepts a path or a preset name.

#include "describe.h"
#include "resources.h"

#include "planner/cluster.h"
#include "source.h"
#include "registry_p.h"

#include "loader/hfcache.h"
#include "planner/cluster.h"
#include "planner/device.h"
#include "planner/error.h"
#include "planner/fileio.h"
#include "planner/jsonfile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;

namespace mizan::models {

std::string resourceDir()
{
    if (const char *env = std::getenv("MIZAN_RESOURCES"); env && *env)
        return env;
#ifdef MIZAN_RESOURCE_DIR
    if (std::error_code ec; fs::is_directory(MIZAN_RESOURCE_DIR, ec))
        return MIZAN_RESOURCE_DIR;
#endif
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
        return (exe.parent_path().parent_path() / "share" / "mizan").string();
    return "resources";
}

namespace {

std::vector<fs::path> jsonFiles(const fs::path &dir)
{
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return out;
    for (const auto &entry : fs::directory_iterator(dir, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

fs::path presetPath(const std::string &name)
{
    return fs::path(resourceDir()) / "models" / (name + ".json");
}

fs::path profilePath(const std::string &name)
{
    return fs::path(resourceDir()) / "hardware" / (name + ".json");
}

std::string namesOf(const std::vector<fs::path> &files)
{
    std::string s;
    for (const auto &f : files)
        s += (s.empty() ? "" : ", ") + f.stem().string();
    return s.empty() ? "(none found in " + resourceDir() + ")" : s;
}

bool validName(const std::string &name)
{
    return !name.empty() && name.find('/') == std::string::npos && name.find("..") == std::string::npos;
}

// A bandwidth: a size per second ("2.7TB", "24GB", or bytes as a number); 0 when absent.
double rateField(const nlohmann::json &j, const char *key, const std::string &file, const std::string &where)
{
    const auto it = j.find(key);
    if (it == j.end())
        return 0;
    try {
        if (it->is_number_integer())
            return static_cast<double>(planner::parseSize(it->get<std::int64_t>()));
        if (it->is_string())
            return static_cast<double>(planner::parseSize(it->get<std::string>()));
    } catch (const Error &e) {
        throw Error(ErrorKind::InvalidHeader, file, where + "." + key + ": " + e.message());
    }
    throw Error(ErrorKind::InvalidHeader, file, where + "." + key + " must be bytes per second or a size string such as \"24GB\", found " +
                                                    planner::jsonTypeName(*it));
}

double numberField(const nlohmann::json &j, const char *key, const std::string &file, const std::string &where)
{
    const auto it = j.find(key);
    if (it == j.end())
        return 0;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0 || it->get<double>() > 1e9)
        throw Error(ErrorKind::InvalidHeader, file, where + "." + key + " must be a number between 0 and 1e9, found " +
                                                        (it->is_number() ? it->dump() : planner::jsonTypeName(*it)));
    return it->get<double>();
}

std::vector<HardwareDevice> parseDevices(const nlohmann::json &devices, const std::string &file, const std::string &prefix)
{
    std::vector<HardwareDevice> out;
    for (std::size_t i = 0; i < devices.size(); ++i) {
        const auto &dj = devices[i];
        const std::string where = prefix + "devices[" + std::to_string(i) + "]";
        if (!dj.is_object() || !dj.contains("device") || !dj.contains("capacity"))
            throw Error(ErrorKind::InvalidHeader, file, where + " needs \"device\" and \"capacity\"");
        HardwareDevice d;
        try {
            d.key = planner::Device::fromJson(dj["device"]).toString();
            const auto &cap = dj["capacity"];
            if (cap.is_number_integer())
                d.capacityBytes = planner::parseSize(cap.get<std::int64_t>());
            else if (cap.is_string())
                d.capacityBytes = planner::parseSize(cap.get<std::string>());
            else
                throw Error(ErrorKind::InvalidArgument, {}, "capacity must be bytes or a size string");
            if (d.capacityBytes < 0)
                throw Error(ErrorKind::InvalidArgument, {}, "capacity must not be negative");
        } catch (const Error &e) {
            throw Error(ErrorKind::InvalidHeader, file, where + ": " + e.message());
        }
        if (dj.contains("label") && !dj["label"].is_string())
            throw Error(ErrorKind::InvalidHeader, file, where + ".label must be a string, found " + planner::jsonTypeName(dj["label"]));
        d.label = dj.value("label", std::string());
        d.weightBandwidth = rateField(dj, "weight_bandwidth", file, where);
        d.flops = numberField(dj, "tflops", file, where) * 1e12;
        d.hostLink = rateField(dj, "host_link", file, where);
        d.moduleOverhead = numberField(dj, "module_overhead_us", file, where) * 1e-6;
        for (const auto &earlier : out)
            if (earlier.key == d.key)
                throw Error(ErrorKind::InvalidHeader, file, where + ": device " + d.key + " is listed twice");
        out.push_back(std::move(d));
    }
    return out;
}

std::string stringField(const nlohmann::json &j, const char *key, const std::string &file, const std::string &where)
{
    if (j.contains(key) && !j[key].is_string())
        throw Error(ErrorKind::InvalidHeader, file, where + "\"" + key + "\" must be a string, found " + planner::jsonTypeName(j[key]));
    return j.value(key, std::string());
}

HardwareProfile parseHardware(const fs::path &path, int depth = 0);

// A cluster profile's "hosts": each names a machine profile ("profile": NAME) or lists its own
// "devices" (and "disk_read_bandwidth", "speed_source").
void parseHosts(const nlohmann::json &j, HardwareProfile &p, int depth)
{
    if (!j["hosts"].is_array() || j["hosts"].empty())
        throw Error(ErrorKind::InvalidHeader, p.path, "\"hosts\" must be a non-empty array of hosts");
    if (j.contains("devices"))
        throw Error(ErrorKind::InvalidHeader, p.path, "a profile has \"devices\" (one machine) or \"hosts\" (a cluster), not both");
    for (std::size_t i = 0; i < j["hosts"].size(); ++i) {
        const auto &hj = j["hosts"][i];
        const std::string where = "hosts[" + std::to_string(i) + "]";
        if (!hj.is_object())
            throw Error(ErrorKind::InvalidHeader, p.path, where + " must be an object, found " + planner::jsonTypeName(hj));
        HardwareHost h;
        h.name = stringField(hj, "name", p.path, where + ".");
        if (!planner::isValidHostName(h.name))
            throw Error(ErrorKind::InvalidHeader, p.path,
                        where + ".name \"" + h.name + "\" is not a host name (letters, digits, '-', '_' and '.', at most 64)");
        for (const auto &earlier : p.hosts)
            if (earlier.name == h.name)
                throw Error(ErrorKind::InvalidHeader, p.path, where + ": host " + h.name + " is listed twice");
        h.address = stringField(hj, "address", p.path, where + ".");
        h.profile = stringField(hj, "profile", p.path, where + ".");
        if (!h.profile.empty() == hj.contains("devices"))
            throw Error(ErrorKind::InvalidHeader, p.path, where + " needs \"profile\" (a machine profile's name) or \"devices\", one of them");
        if (!h.profile.empty()) {
            const fs::path machine = profilePath(h.profile);
            std::error_code ec;
            if (!validName(h.profile) || !fs::is_regular_file(machine, ec))
                throw Error(ErrorKind::InvalidHeader, p.path, where + ".profile: no hardware profile \"" + h.profile + "\"");
            if (depth > 0)
                throw Error(ErrorKind::InvalidHeader, p.path, where + ".profile: a cluster's host cannot be a cluster");
            HardwareProfile m = parseHardware(machine, depth + 1);
            if (m.isCluster())
                throw Error(ErrorKind::InvalidHeader, p.path, where + ".profile: \"" + h.profile + "\" is a cluster, not a machine");
            h.devices = std::move(m.devices);
            h.diskReadBandwidth = m.diskReadBandwidth;
            h.speedSource = m.speedSource;
        } else {
            if (!hj["devices"].is_array() || hj["devices"].empty())
                throw Error(ErrorKind::InvalidHeader, p.path, where + ".devices must be a non-empty array");
            h.devices = parseDevices(hj["devices"], p.path, where + ".");
            h.diskReadBandwidth = rateField(hj, "disk_read_bandwidth", p.path, where);
            h.speedSource = stringField(hj, "speed_source", p.path, where + ".");
        }
        p.hosts.push_back(std::move(h));
    }
    p.linkBandwidth = rateField(j, "link_bandwidth", p.path, "profile");
    p.linkLatency = numberField(j, "link_latency_us", p.path, "profile") * 1e-6;
}

HardwareProfile parseHardware(const fs::path &path, int depth)
{
    const nlohmann::json j = planner::readJsonFile(path.string(), InputKind::HardwareProfile);
    HardwareProfile p;
    p.name = path.stem().string();
    p.path = path.string();
    if (j.is_object() && j.contains("hosts")) {
        p.description = stringField(j, "description", p.path, "");
        p.speedSource = stringField(j, "speed_source", p.path, "");
        parseHosts(j, p, depth);
        return p;
    }
    if (!j.is_object() || !j.contains("devices") || !j["devices"].is_array())
        throw Error(ErrorKind::InvalidHeader, p.path, "hardware profile needs a \"devices\" array (or \"hosts\", for a cluster)");
    if (j.contains("description") && !j["description"].is_string())
        throw Error(ErrorKind::InvalidHeader, p.path, "\"description\" must be a string, found " + planner::jsonTypeName(j["description"]));
    p.description = j.value("description", std::string());
    p.diskReadBandwidth = rateField(j, "disk_read_bandwidth", p.path, "profile");
    if (j.contains("speed_source") && !j["speed_source"].is_string())
        throw Error(ErrorKind::InvalidHeader, p.path, "\"speed_source\" must be a string, found " + planner::jsonTypeName(j["speed_source"]));
    p.speedSource = j.value("speed_source", std::string());
    p.devices = parseDevices(j["devices"], p.path, "");
    return p;
}

} // namespace

planner::SpeedModel speedModelFor(const HardwareProfile &profile)
{
    planner::SpeedModel s = planner::assumedSpeedModel();
    s.notes.clear();
    const std::string source = "profile " + profile.name;
    bool assumed = false;
    for (const auto &d : profile.devices) {
        const planner::Device device = planner::Device::fromString(d.key);
        if (device.kind != planner::DeviceKind::Gpu && device.kind != planner::DeviceKind::Cpu)
            continue;
        planner::DeviceSpeed speed = device.isGpu() ? s.assumedGpu : s.cpu;
        speed.device = device;
        const bool given = d.weightBandwidth > 0 || d.flops > 0;
        if (d.weightBandwidth > 0)
            speed.compute.weightBandwidth = d.weightBandwidth;
        if (d.flops > 0)
            speed.compute.flops = d.flops;
        if (d.moduleOverhead > 0)
            speed.compute.moduleOverhead = d.moduleOverhead;
        if (d.hostLink > 0)
            speed.hostLink = d.hostLink;
        speed.source = given ? source : "assumed (profile " + profile.name + " gives no speed)";
        assumed = assumed || !given;
        if (device.isGpu())
            s.gpus.push_back(speed);
        else {
            s.cpu = speed;
            s.pageCacheBytes = d.capacityBytes; // the RAM: what CPU offload leaves of it caches disk weights
        }
    }
    if (profile.diskReadBandwidth > 0)
        s.diskBandwidth = profile.diskReadBandwidth;
    else
        assumed = true;
    s.notes.push_back(profile.speedSource.empty() ? "speeds from profile " + profile.name : source + ": " + profile.speedSource);
    if (assumed)
        s.notes.push_back("some speeds assumed: profile " + profile.name + " does not give them all");
    return s;
}

HardwareProfile hostProfile(const HardwareProfile &cluster, std::size_t host)
{
    const HardwareHost &h = cluster.hosts.at(host);
    HardwareProfile p;
    p.name = cluster.name + "/" + h.name;
    p.description = h.profile.empty() ? h.name + " of " + cluster.name : h.profile + " (" + h.name + " of " + cluster.name + ")";
    p.devices = h.devices;
    p.diskReadBandwidth = h.diskReadBandwidth;
    p.speedSource = h.speedSource.empty() ? cluster.speedSource : h.speedSource;
    p.path = cluster.path;
    return p;
}

nlohmann::json presetConfig(const std::string &name)
{
    const fs::path path = presetPath(name);
    std::error_code ec;
    if (!validName(name) || !fs::is_regular_file(path, ec))
        throw Error(ErrorKind::NotFound, name,
                    "no such file or preset; presets: " + namesOf(jsonFiles(fs::path(resourceDir()) / "models")));
    nlohmann::json config = planner::readJsonFile(path.string(), InputKind::Preset);
    if (!config.is_object())
        throw Error(ErrorKind::InvalidConfig, path.string(), "preset must hold a JSON object");
    config.erase("_mizan");
    return config;
}

std::vector<PresetInfo> listPresets()
{
    std::vector<PresetInfo> out;
    for (const auto &path : jsonFiles(fs::path(resourceDir()) / "models")) {
        PresetInfo p;
        p.name = path.stem().string();
        p.path = path.string();
        try {
            nlohmann::json j = planner::readJsonFile(path.string(), InputKind::Preset);
            if (!j.is_object())
                throw Error(ErrorKind::InvalidConfig, p.path, "preset must hold a JSON object");
            if (j.contains("_mizan") && j["_mizan"].is_object()) {
                p.displayName = j["_mizan"].value("display_name", std::string());
                p.source = j["_mizan"].value("source", std::string());
            }
            if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()
                && j["architectures"][0].is_string())
                p.architecture = j["architectures"][0].get<std::string>();
            j.erase("_mizan");
            // Counted from the registry's dimension formulas, not from a built tree (equal by
            // tst_models); describeConfig gives the error of a config the registry does not know.
            if (const detail::Family *family = detail::findFamily(j))
                p.parameters = detail::countTree(*family, j, detail::Layout::V5).parameters;
            else
                p.parameters = planner::aggregateSizes(describeConfig(j).tree).parameters.front();
        } catch (const Error &e) {
            p.error = e.message();
        } catch (const std::exception &e) {
            p.error = e.what();
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<HardwareProfile> listHardware()
{
    std::vector<HardwareProfile> out;
    for (const auto &path : jsonFiles(fs::path(resourceDir()) / "hardware")) {
        try {
            out.push_back(parseHardware(path));
        } catch (const Error &e) {
            HardwareProfile bad;
            bad.name = path.stem().string();
            bad.path = path.string();
            bad.error = e.message();
            out.push_back(std::move(bad));
        }
    }
    return out;
}

HardwareProfile hardwareProfile(const std::string &name)
{
    const fs::path dir = fs::path(resourceDir()) / "hardware";
    const fs::path path = dir / (name + ".json");
    std::error_code ec;
    if (!validName(name) || !fs::is_regular_file(path, ec))
        throw Error(ErrorKind::NotFound, name, "no such hardware profile; profiles: " + namesOf(jsonFiles(dir)));
    return parseHardware(path);
}

Source openSource(const std::string &pathOrPreset, const loader::OpenOptions &options)
{
    Source s;
    // Anything under that name (even a FIFO or a loop of links) is the user's path, reported as
    // such by loader::open, not looked up as a preset.
    if (pathType(pathOrPreset) != PathType::Missing) {
        s.checkpoint = loader::open(pathOrPreset, options);
        s.model = describe(s.checkpoint);
        return s;
    }
    // "org/name": the newest complete snapshot of the Hugging Face cache (refs/main first).
    if (loader::looksLikeRepoId(pathOrPreset)) {
        std::string why;
        const auto cached = loader::findCachedModel(pathOrPreset, &why);
        if (!cached)
            throw Error(ErrorKind::NotFound, pathOrPreset, why);
        s.checkpoint = loader::open(cached->path, options);
        s.model = describe(s.checkpoint);
        return s;
    }
    nlohmann::json config = presetConfig(pathOrPreset);
    const std::string path = presetPath(pathOrPreset).string();
    s.presetName = pathOrPreset;
    s.checkpoint.path = path;
    s.checkpoint.directory = fs::path(path).parent_path().string();
    s.checkpoint.format = loader::Format::ConfigOnly;
    s.checkpoint.configPath = path;
    s.checkpoint.config = nlohmann::ordered_json(config);
    s.checkpoint.configInfo = loader::readConfigInfo(s.checkpoint.config, path);
    try {
        s.model = describeConfig(config);
    } catch (const Error &e) {
        throw Error(e.kind(), path, e.message());
    }
    return s;
}

loader::Tokenizer openTokenizer(const std::string &pathOrName)
{
    std::string folder = pathOrName;
    const PathType type = pathType(pathOrName);
    if (type == PathType::File)
        return loader::Tokenizer::fromFile(pathOrName);
    if (type == PathType::Missing && loader::looksLikeRepoId(pathOrName)) {
        std::string why;
        const auto cached = loader::findCachedModel(pathOrName, &why);
        if (!cached)
            throw Error(ErrorKind::NotFound, pathOrName, why);
        folder = cached->path;
    } else if (type != PathType::Directory) {
        throw Error(ErrorKind::NotFound, pathOrName,
                    type == PathType::Missing ? "no such file or folder" : std::string("is ") + describePathType(type) + ", not a tokenizer file or a model folder");
    }
    if (auto tokenizer = loader::Tokenizer::forModel(folder))
        return std::move(*tokenizer);
    throw Error(ErrorKind::NotFound, folder, "has no tokenizer (tokenizer.json, or vocab.json + merges.txt)");
}

std::optional<loader::Tokenizer> tokenizerOf(const loader::Checkpoint &checkpoint)
{
    if (checkpoint.directory.empty() || checkpoint.format == loader::Format::ConfigOnly)
        return std::nullopt;
    return loader::Tokenizer::forModel(checkpoint.directory);
}

std::optional<loader::Tokenizer> tokenizerForCheckpoint(const std::string &pathOrName)
{
    const PathType type = pathType(pathOrName);
    if (type == PathType::Directory)
        return loader::Tokenizer::forModel(pathOrName);
    if (type == PathType::File)
        return loader::Tokenizer::forModel(fs::path(pathOrName).parent_path().string());
    if (type == PathType::Missing && loader::looksLikeRepoId(pathOrName))
        if (const auto cached = loader::findCachedModel(pathOrName))
            return loader::Tokenizer::forModel(cached->path);
    return std::nullopt;
}

namespace {

// eos_token_id of a config: a number or a list of numbers; nullopt when absent.
template<typename Json>
std::optional<std::vector<std::int64_t>> eosIdsIn(const Json &config)
{
    if (!config.is_object())
        return std::nullopt;
    const auto it = config.find("eos_token_id");
    if (it == config.end() || it->is_null())
        return std::nullopt;
    std::vector<std::int64_t> ids;
    const auto add = [&](const auto &value) {
        if (const auto id = planner::jsonInteger(value, 0, std::numeric_limits<std::int32_t>::max(), nullptr))
            ids.push_back(*id);
    };
    if (it->is_array())
        for (const auto &item : *it)
            add(item);
    else
        add(*it);
    return ids;
}

} // namespace

std::vector<std::int64_t> stopIdsOf(const loader::Checkpoint &checkpoint, const loader::Tokenizer *tokenizer)
{
    if (!checkpoint.directory.empty()) {
        const std::string path = (fs::path(checkpoint.directory) / "generation_config.json").string();
        if (regularFileExists(path))
            if (auto ids = eosIdsIn(planner::readJsonFile(path, InputKind::GenerationConfig)))
                return *ids;
    }
    if (auto ids = eosIdsIn(checkpoint.config))
        return *ids;
    if (tokenizer && tokenizer->eosId())
        return {*tokenizer->eosId()};
    return {};
}

} // namespace mizan::models
