#include "device.h"

#include "accelerate.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace mizan::planner {

namespace {

[[noreturn]] void invalid(const std::string &message)
{
    throw Error(ErrorKind::InvalidArgument, {}, message);
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return std::string(s);
}

std::optional<int> smallInt(std::string_view s)
{
    if (s.empty() || s.size() > 6)
        return std::nullopt;
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < 0)
        return std::nullopt;
    return v;
}

} // namespace

const char *toString(DeviceKind kind)
{
    switch (kind) {
    case DeviceKind::Gpu: return "gpu";
    case DeviceKind::Mps: return "mps";
    case DeviceKind::Cpu: return "cpu";
    case DeviceKind::Disk: return "disk";
    }
    return "cpu";
}

std::string Device::toString() const
{
    return kind == DeviceKind::Gpu ? std::to_string(index) : std::string(planner::toString(kind));
}

std::string Device::label() const
{
    switch (kind) {
    case DeviceKind::Gpu: return "GPU " + std::to_string(index);
    case DeviceKind::Mps: return "MPS";
    case DeviceKind::Cpu: return "CPU";
    case DeviceKind::Disk: return "disk";
    }
    return "CPU";
}

Device Device::fromString(std::string_view text)
{
    const std::string t = lower(trim(text));
    if (t == "cpu")
        return cpu();
    if (t == "disk")
        return disk();
    if (t == "mps")
        return mps();
    std::string_view digits = t;
    for (std::string_view prefix : {"cuda:", "gpu:", "gpu", "xpu:"})
        if (digits.starts_with(prefix)) {
            digits.remove_prefix(prefix.size());
            break;
        }
    if (auto n = smallInt(digits))
        return gpu(*n);
    invalid("unknown device \"" + std::string(text) + "\": use a GPU index (0, 1, ...), cuda:N, cpu, disk or mps");
}

nlohmann::json Device::toJson() const
{
    if (kind == DeviceKind::Gpu)
        return index;
    return planner::toString(kind);
}

Device Device::fromJson(const nlohmann::json &json)
{
    if (json.is_number_integer()) {
        const auto v = json.get<std::int64_t>();
        if (v < 0 || v > 1000000)
            invalid("unknown device " + json.dump() + ": GPU indices are non-negative integers");
        return gpu(static_cast<int>(v));
    }
    if (json.is_string())
        return fromString(json.get<std::string>());
    invalid("unknown device " + json.dump() + ": expected an integer or a string such as \"cpu\"");
}

std::int64_t parseSize(std::string_view text)
{
    return accel::convertFileSizeToInt(text);
}

std::int64_t parseSize(std::int64_t bytes)
{
    return accel::convertFileSizeToInt(bytes);
}

std::string formatBytes(double bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    const bool negative = bytes < 0;
    double v = negative ? -bytes : bytes;
    int u = 0;
    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        ++u;
    }
    char buf[64];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%s%.0f B", negative ? "-" : "", v);
    else
        std::snprintf(buf, sizeof buf, "%s%.2f %s", negative ? "-" : "", v, units[u]);
    return buf;
}

MaxMemory parseMaxMemory(std::string_view text)
{
    MaxMemory out;
    std::size_t start = 0;
    const std::string s(text);
    while (start <= s.size()) {
        auto end = s.find(',', start);
        if (end == std::string::npos)
            end = s.size();
        const std::string item = trim(std::string_view(s).substr(start, end - start));
        start = end + 1;
        if (item.empty())
            continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos)
            invalid("max memory entry \"" + item + "\" is not DEVICE=SIZE (for example 0=22GiB,cpu=64GiB)");
        const Device device = Device::fromString(item.substr(0, eq));
        const std::string size = trim(std::string_view(item).substr(eq + 1));
        std::int64_t bytes = 0;
        if (!size.empty() && std::all_of(size.begin(), size.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), bytes);
            if (ec != std::errc())
                invalid("size \"" + size + "\" for " + device.label() + " is too large");
        } else {
            bytes = parseSize(size);
        }
        if (budgetOf(out, device) >= 0)
            invalid("device " + device.toString() + " is listed twice in the max memory");
        out.emplace_back(device, bytes);
    }
    if (out.empty())
        invalid("max memory is empty: give at least one DEVICE=SIZE");
    return out;
}

nlohmann::ordered_json maxMemoryToJson(const MaxMemory &memory)
{
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto &[d, b] : memory)
        j[d.toString()] = b;
    return j;
}

MaxMemory maxMemoryFromJson(const nlohmann::json &json)
{
    return accel::toMaxMemory(accel::readMaxMemoryJson(json, accel::MaxMemoryRules::Mizan));
}

std::int64_t budgetOf(const MaxMemory &memory, const Device &device)
{
    for (const auto &[d, b] : memory)
        if (d == device)
            return b;
    return -1;
}

} // namespace mizan::planner
