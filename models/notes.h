#pragma once

// What the architecture registry notes about a model (ModelDescription::notes): one id per
// sentence shape, with typed arguments, in the planner's generic message mechanism
// (planner/message.h). English via planner::toEnglish(note); the GUI translates every id.

#include "planner/message.h"

namespace mizan::models {

enum class NoteId {
    NoRepeatedBlocks,    // (none)
    NoSplitClassGuessed, // class
    IgnoredBuffers,      // count
    BareBaseModel,       // prefix, architecture
    NoConfigJson,        // (none)
    LayoutNotFollowed,   // family, count (matched), count (tensors)
    ConfigNotOfFamily,   // family, detail (the registry's English error text)
    MixtralV4Layout,     // (none)
    TensorsMissing,      // count
    TensorsUnexpected,   // count
    ShapesDiffer,        // count
    Count                // sentinel, not a note
};
// Throws Error(InvalidArgument) for Count. The name of an id: planner::messageName(id).
const planner::MessageShape &shapeOf(NoteId id);

using Note = planner::BasicMessage<NoteId>;

} // namespace mizan::models
