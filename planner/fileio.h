#pragma once

// Reading files with POSIX calls, every failure a mizan::Error naming the file (writing:
// atomicfile.h). Shared by every core library (the planner is the bottom one).

#include "atomicfile.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace mizan {

// Opens `path` read-only; throws Error(Io) naming the file and errno's text.
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

} // namespace mizan
