#pragma once

// What the loader notes about a checkpoint (Checkpoint::notes): one id per sentence shape, with
// typed arguments, in the planner's generic message mechanism (planner/message.h). English via
// planner::toEnglish(note); the GUI has its own translations of every id.

#include "planner/message.h"

namespace mizan::loader {

enum class NoteId {
    MetadataNoFormat,                 // (none): one safetensors header, no file named
    MetadataFormatNotPt,              // format
    MetadataNoFormatInFile,           // file
    MetadataNoFormatInShards,         // count (shards), files (all of them)
    MetadataNoFormatInShardsMore,     // count (shards), files (the first ones), count (the rest)
    MetadataFormatNotPtInFile,        // file, format
    MetadataFormatNotPtInShards,      // format, count (shards), files (all of them)
    MetadataFormatNotPtInShardsMore,  // format, count (shards), files (the first ones), count (the rest)
    Count                             // sentinel, not a note
};
// Throws Error(InvalidArgument) for Count. The name of an id: planner::messageName(id).
const planner::MessageShape &shapeOf(NoteId id);

using Note = planner::BasicMessage<NoteId>;

} // namespace mizan::loader
