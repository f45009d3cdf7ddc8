#pragma once

// Internal: the loader's file helpers are the planner's (planner/fileio.h, planner/atomicfile.h),
// named in `detail` where the loader calls them.

#include "planner/atomicfile.h"
#include "planner/fileio.h"

namespace mizan::loader::detail {

using mizan::AtomicFile;
using mizan::errnoText;
using mizan::FileDescriptor;
using mizan::fileSize;
using mizan::openReadOnly;
using mizan::openReadOnlyIfExists;
using mizan::readExact;
using mizan::readInputFile;
using mizan::readSmallFile;
using mizan::writeFileAtomically;

} // namespace mizan::loader::detail
