// mizan-cli offload: writes the tensors a device map puts on "disk" into an Accelerate offload folder
// (loader/offloadfolder.h), for `mizan-cli run --offload-folder` or Accelerate itself.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "loader/checkpoint.h"
#include "loader/offloadfolder.h"
#include "planner/device.h"
#include "planner/error.h"
#include "planner/mapfile.h"

#include <iostream>
#include <unordered_map>

namespace mizan::cli {

const char *const kOffloadUsage =
    "usage: mizan-cli offload PATH --device-map FILE --folder DIR\n"
    "\n"
    "Writes the tensors of the checkpoint at PATH that the map puts on \"disk\" into DIR as an\n"
    "Accelerate offload folder: one raw <tensor name>.dat per tensor (C order, little-endian, no\n"
    "header) in the dtype the checkpoint stores, and index.json ({name: {\"dtype\", \"shape\"}},\n"
    "merged with an index already there). Each file is written atomically, index.json last.\n"
    "`mizan-cli run PATH --offload-folder DIR` then reads the disk modules from it.\n"
    "\n"
    "  --device-map FILE      a device_map.json or a Mizan plan file\n"
    "  --folder DIR           the offload folder (created if missing)\n"
    "\n"
    "exit codes: 0 written, 1 failure (unreadable checkpoint or map, nothing on disk, a write\n"
    "error), 2 wrong arguments\n";

int runOffload(const std::vector<std::string> &argv)
{
    const Args args(argv, {"--device-map", "--folder"}, {});
    args.expectPositionals(1, 1);
    const std::string path = args.positional(0, "PATH");
    const auto mapPath = args.value("--device-map");
    const auto folder = args.value("--folder");
    if (!mapPath)
        throw UsageError("missing --device-map FILE (the map that says which modules are on disk)");
    if (!folder || folder->empty())
        throw UsageError("missing --folder DIR (the offload folder to write)");

    const planner::MapOrPlan file = planner::readMapOrPlanFile(*mapPath);
    const loader::Checkpoint checkpoint = loader::open(path);
    if (!checkpoint.hasWeights())
        throw Error(ErrorKind::InvalidArgument, path, "has no weights to offload (a config.json alone)");
    std::unordered_map<std::string, planner::Device> keys;
    for (const auto &[key, device] : file.map)
        keys[key] = device;
    // A tensor's device: the longest key of the map that is its name or one of its prefixes.
    std::vector<std::string> disk;
    for (const auto &t : checkpoint.catalog.tensors) {
        std::string prefix = t.name;
        for (;;) {
            if (auto it = keys.find(prefix); it != keys.end()) {
                if (it->second.kind == planner::DeviceKind::Disk)
                    disk.push_back(t.name);
                break;
            }
            if (prefix.empty())
                break;
            const auto dot = prefix.rfind('.');
            prefix = dot == std::string::npos ? std::string() : prefix.substr(0, dot);
        }
    }
    if (disk.empty())
        throw Error(ErrorKind::InvalidDeviceMap, *mapPath, "puts no tensor of " + path + " on disk: there is nothing to offload");
    const loader::OffloadWritten written = loader::writeOffloadFolder(*folder, checkpoint, disk);
    std::cout << "Wrote " << written.tensors << " tensor(s), " << humanBytes(static_cast<double>(written.bytes)) << ", of the disk modules to "
              << printable(*folder) << " (" << printable(written.indexPath) << ")\n";
    return 0;
}

} // namespace mizan::cli
