#pragma once

// Reading files with POSIX calls, every failure a mizan::Error naming the file (writing:
// atomicfile.h). Shared by every core library (the planner is the bottom one).

#include "atomicfile.h"
#include "limits.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace mizan {

// What a path names, following symbolic links (stat).
enum class PathType { Missing, SymlinkLoop, NoAccess, File, Directory, Fifo, CharDevice, BlockDevice, Socket, Other };
PathType pathType(const std::string &path);
// "a named pipe (FIFO)", "a folder", ... for messages.
const char *describePathType(PathType type);

// Whether a regular file is at `path`: false when nothing is, Error(Io) naming what is there
// instead (a FIFO, a folder, a loop of links), so that "missing" is never said of those.
bool regularFileExists(const std::string &path);

// Opens the regular file `path` read-only; throws Error(Io) naming the file and the problem:
// missing, a symbolic link loop, no permission, or not a regular file (a FIFO, a device, a
// socket, a folder). The type is checked before opening and again on the descriptor, and the
// open never blocks, so a FIFO put in place of a file is refused instead of waiting for a writer.
FileDescriptor openReadOnly(const std::string &path);
// The same, but a missing file gives an invalid descriptor instead of an error.
FileDescriptor openReadOnlyIfExists(const std::string &path);

// Size of an open file (fstat); throws Error(Io). Refuses directories and special files.
std::int64_t fileSize(int fd, const std::string &path);

// Reads exactly `size` bytes at `offset` into `out` (pread loop). Throws Error(Truncated) when
// the file ends early and Error(Io) on read errors.
void readExact(int fd, const std::string &path, std::int64_t offset, void *out, std::size_t size);

// Reads a whole small file (config.json, an index, a plan) into a string, refusing files larger
// than `maxBytes` with Error(HeaderTooLarge) before allocating anything.
std::string readSmallFile(const std::string &path, std::int64_t maxBytes);
// The same with the limit of `kind` (limits.h), the message naming what the file is for.
std::string readInputFile(const std::string &path, InputKind kind);

} // namespace mizan
