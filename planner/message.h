#pragma once

// Structured planner messages: why a module is where it is, plan warnings, validation issues and
// their fixes, as an id (one per sentence shape) with typed arguments. The planner renders them
// in English (toEnglish, the text the CLI and JSON show); the GUI renders the same ids through
// its own translations. Pure C++ (std only).

#include "device.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace mizan::planner {

enum class MessageId {
    // ---- placement reasons (Placement::explanation) ----
    FitsOn,                   // device, needs
    FitsOnFree,               // device, needs, free
    FitsOnReserved,           // device, needs, reserved
    FitsOnFreeReserved,       // device, needs, free, reserved
    DidNotFitOn,              // device, free, needs
    DidNotFitOnReserved,      // device, free, reserved, needs
    PlacedOn,                 // device
    ForbiddenEarlier,         // (none)
    PinnedByUser,             // device
    TiedTo,                   // module, device
    TiedToPinned,             // module, device
    Merged,                   // device
    PartDidNotFitOn,          // module, device, free, needs (detail of Merged)
    PartDidNotFitOnReserved,  // module, device, free, reserved, needs (detail of Merged)
    FallbackFill,             // device
    PartOf,                   // module, device
    SplitIntoChildren,        // (none)
    SplitForPin,              // device
    SpreadOverDevices,        // (none)
    PartsOn,                  // devices (detail)
    // ---- plan warnings (Plan::warningMessages) ----
    UnknownNoSplitClass,      // class
    TiedPinsDiffer,           // module, module, device, device
    HeadroomUnsettled,        // count (re-plans)
    BufferWarning,            // bytes (Accelerate's text, exact byte count)
    InsufficientMemory,       // (none): Accelerate's header line
    InsufficientMemoryDevice, // device (Accelerate's key), bytes (exact)
    InsufficientMemoryAdvice, // (none): Accelerate's closing line
    // ---- validation issues (Issue::what) ----
    KeyTwice,                 // key, device, device
    KeyInside,                // key, outer key
    KeyInsideWholeModel,      // key
    UnknownKey,               // key
    UnknownDevice,            // key, device
    NotCoveredOne,            // tensor
    NotCoveredMany,           // count, tensors (all of them)
    NotCoveredMore,           // count, tensors (a sample)
    TiedOnDifferentDevices,   // tensor, tensor, device, device
    PinForbids,               // module, device
    PinViolated,              // module, pinned device, actual device
    NoSplitBroken,            // module, class, count
    OverBudget,               // device, over (count of bytes), planned, available
    OverBudgetHeadroom,       // device, over (count of bytes), planned, available, headroom
    DiskWhileCpuHasRoom,      // key, free, needs
    EmptyGpu,                 // device, device
    // ---- suggested fixes (Issue::fix) ----
    FixKeepOneEntry,          // key
    FixRemoveOrCorrect,       // (none)
    FixDidYouMean,            // module
    FixListedDevice,          // device
    FixRemoveOneOfTwo,        // (none)
    FixGiveDevice,            // (none)
    FixSameDevice,            // (none)
    FixAnotherDevice,         // (none)
    FixMoveToPinned,          // device
    FixMapAsOneEntry,         // module
    FixMoveFrom,              // device
    FixMoveToCpu,             // (none)
    FixMoveFirstModules,      // device
    // ---- checkpoint notes (loader::Checkpoint::notes, models::ModelDescription::notes) ----
    // One message per note; the English is the note's text in `warnings`.
    MetadataNoFormat,                 // (none): one safetensors header, no file named
    MetadataFormatNotPt,              // format
    MetadataNoFormatInFile,           // file
    MetadataNoFormatInShards,         // count (shards), files (all of them)
    MetadataNoFormatInShardsMore,     // count (shards), files (the first ones), count (the rest)
    MetadataFormatNotPtInFile,        // file, format
    MetadataFormatNotPtInShards,      // format, count (shards), files (all of them)
    MetadataFormatNotPtInShardsMore,  // format, count (shards), files (the first ones), count (the rest)
    BinWeightsNotRead,                // folder
    NoRepeatedBlocks,                 // (none)
    NoSplitClassGuessed,              // class
    IgnoredBuffers,                   // count
    BareBaseModel,                    // prefix, architecture
    NoConfigJson,                     // (none)
    LayoutNotFollowed,                // family, count (matched), count (tensors)
    ConfigNotOfFamily,                // family, detail (the registry's English error text)
    MixtralV4Layout,                  // (none)
    TensorsMissing,                   // count
    TensorsUnexpected,                // count
    ShapesDiffer,                     // count
    Count                     // sentinel, not a message
};
// Stable lower-case name ("did-not-fit-on"); "" for Count.
const char *toString(MessageId id);

// Bytes as Accelerate counts them (may be fractional with bool tensors).
struct ByteCount {
    double bytes = 0;
    bool operator==(const ByteCount &) const = default;
};

// An argument: module/class/tensor name (verbatim text), bytes, a device, a count, a list of
// devices, a list of names.
using MessageArg = std::variant<std::string, ByteCount, Device, std::int64_t, std::vector<Device>, std::vector<std::string>>;

enum class MessageArgKind { Text, Bytes, Device, Count, Devices, Texts };
MessageArgKind kindOf(const MessageArg &arg);

struct Message {
    MessageId id = MessageId::PlacedOn;
    std::vector<MessageArg> args;
    bool operator==(const Message &) const = default;
};

// How a message attaches to the one before it when several form one text:
//   Sentence: "a; b"   Detail: "a (b; c)"   ListItem: "a\n  - b"   Line: "a\nb".
enum class MessageJoin { Sentence, Detail, ListItem, Line };
MessageJoin joinOf(MessageId id);

// The arguments `id` takes, in order (%1, %2, ...).
std::vector<MessageArgKind> argumentKinds(MessageId id);
// The English pattern with %1..%n ("fits on %1: needs %2").
const char *englishPattern(MessageId id);

// English text. Throws Error(InvalidArgument) when the arguments do not match argumentKinds().
std::string toEnglish(const Message &message);
// Several messages joined by joinOf() (the texts Placement::reason and Plan::warnings hold).
std::string toEnglish(const std::vector<Message> &messages);

} // namespace mizan::planner
