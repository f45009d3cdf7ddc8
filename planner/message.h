#pragma once

// Structured messages: an id (one per sentence shape) with typed arguments, rendered in English
// here (toEnglish, the text the CLI and JSON show) and by the GUI through its own translations.
// The mechanism is generic: every library has its own enum of ids with a shapeOf() beside it
// (the planner's below: placement reasons, plan warnings, validation issues and fixes, errors of
// plan(); loader/notes.h and models/notes.h: what the loader and the registry note about a
// checkpoint). Pure C++ (std only).

#include "device.h"

#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace mizan::planner {

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

// How a message attaches to the one before it when several form one text:
//   Sentence: "a; b"   Detail: "a (b; c)"   ListItem: "a\n  - b"   Line: "a\nb".
enum class MessageJoin { Sentence, Detail, ListItem, Line };

// How the English text shows some arguments (flags).
enum class MessageStyle : unsigned {
    Plain = 0,
    ExactBytes = 1,   // bytes as Python prints the number (Accelerate's texts)
    DeviceKeys = 2,   // devices as Accelerate's keys ("0", "cpu") instead of labels
    QuotedTexts = 4,  // each name of a list in double quotes (the loader's file lists)
};
constexpr MessageStyle operator|(MessageStyle a, MessageStyle b)
{
    return static_cast<MessageStyle>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool hasStyle(MessageStyle set, MessageStyle flag)
{
    return (static_cast<unsigned>(set) & static_cast<unsigned>(flag)) != 0;
}

// What an id stands for.
struct MessageShape {
    const char *name = "";        // stable lower-case name, unique within its library ("did-not-fit-on")
    const char *english = "";     // the English pattern with %1..%n
    MessageJoin join = MessageJoin::Sentence;
    std::vector<MessageArgKind> args; // the arguments, in order (%1, %2, ...)
    MessageStyle style = MessageStyle::Plain;
};

// A message of any library: an id of its enum with the arguments its shape takes.
template<typename Id>
struct BasicMessage {
    Id id{};
    std::vector<MessageArg> args;
    bool operator==(const BasicMessage &) const = default;
};

// An enum of message ids with `const MessageShape &shapeOf(Id)` beside it (found by ADL).
template<typename Id>
concept MessageIdType = std::is_enum_v<Id> && requires(Id id) {
    { shapeOf(id) } -> std::same_as<const MessageShape &>;
};

// English text of a shape with arguments. Throws Error(InvalidArgument) when the arguments do
// not match the shape's.
std::string renderEnglish(const MessageShape &shape, const std::vector<MessageArg> &args);
// Texts joined by how each attaches to the one before it (the first one's join is ignored).
std::string joinEnglish(const std::vector<std::pair<MessageJoin, std::string>> &parts);
// Throws Error(InvalidArgument): `library` has no shape for id number `id`.
[[noreturn]] void missingMessageShape(const char *library, std::size_t id);
// The shape of `id` in a library's table, which lists every id once in enumerator order.
template<typename Id>
const MessageShape &shapeInTable(const std::vector<std::pair<Id, MessageShape>> &table, Id id, const char *library)
{
    const auto i = static_cast<std::size_t>(id);
    if (i >= table.size() || table[i].first != id)
        missingMessageShape(library, i);
    return table[i].second;
}

template<MessageIdType Id>
std::string toEnglish(const BasicMessage<Id> &message)
{
    return renderEnglish(shapeOf(message.id), message.args);
}
// Several messages joined by their joins (the texts Placement::reason and Plan::warnings hold).
template<MessageIdType Id>
std::string toEnglish(const std::vector<BasicMessage<Id>> &messages)
{
    std::vector<std::pair<MessageJoin, std::string>> parts;
    parts.reserve(messages.size());
    for (const auto &m : messages)
        parts.emplace_back(shapeOf(m.id).join, toEnglish(m));
    return joinEnglish(parts);
}
template<MessageIdType Id>
MessageJoin joinOf(Id id)
{
    return shapeOf(id).join;
}
// The arguments `id` takes, in order (%1, %2, ...).
template<MessageIdType Id>
const std::vector<MessageArgKind> &argumentKinds(Id id)
{
    return shapeOf(id).args;
}
// The id's stable lower-case name ("did-not-fit-on"); "" for the Count sentinel.
template<MessageIdType Id>
const char *messageName(Id id)
{
    return id == Id::Count ? "" : shapeOf(id).name;
}
// The English pattern with %1..%n ("fits on %1: needs %2").
template<MessageIdType Id>
const char *englishPattern(Id id)
{
    return shapeOf(id).english;
}

// ---- the planner's messages -----------------------------------------------------------------------

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
    PartOfWholeModel,         // device (inside the map key "", the whole model)
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
    // ---- errors of plan() (PlanError::messages) ----
    PinUnknownModule,         // module
    PinDeviceWithoutBudget,   // module, device, devices (those with a budget)
    PinInsideNoSplit,         // module, module (the no-split one), class
    PinsOverlap,              // module, module
    PinsContradict,           // module, device, module (the forbidden one)
    PinsOverBudget,           // bytes (pinned), device, bytes (budget), count (bytes over)
    PinsOverBudgetHeadroom,   // bytes (pinned), device, bytes (budget), bytes (after headroom), count (bytes over)
    PinnedBytes,              // module, bytes (detail of PinsOverBudget)
    // ---- policies (issue 14): placement reasons ----
    PlacedByPolicy,           // policy, device
    SplitByPolicy,            // policy
    RestKeptOn,               // device (after SplitByPolicy)
    RestOf,                   // module (the split no-split one), device
    // ---- policies: errors of parsePolicy() and plan() ----
    PolicySyntax,             // text
    PolicyBadPattern,         // policy
    PolicyBadDevice,          // policy, text (the device)
    PolicyUnknownClass,       // policy, texts (the model's classes)
    PolicyMatchesNothing,     // policy
    PolicyClosest,            // module, texts (what it holds) (detail of PolicyMatchesNothing)
    PolicyTopLevel,           // texts (the top-level modules) (detail of PolicyMatchesNothing)
    PolicyNoExperts,          // policy
    PolicyNoEmbeddings,       // policy
    PolicyNoBlocks,           // policy
    PolicyTooManyBlocks,      // policy, count (asked), count (blocks)
    PolicyDeviceWithoutBudget,// policy, device, devices (those with a budget)
    PolicyConflict,           // policy, module, device, policy, device
    PolicyPinConflict,        // policy, module, device (policy's), device (pin's)
    PolicyPlacesForbidden,    // policy, module, device, module (the forbidden one)
    PolicyForbidsPlaced,      // policy, module (forbidden), device, module (the placed one)
    PolicyPinnedBytes,        // policy, count (names), bytes (detail of PinsOverBudget)
    // ---- policies: validation issues and fixes ----
    PolicyViolated,           // policy, module, policy's device, actual device
    PolicyForbids,            // policy, module, device
    FixMoveToPolicy,          // device
    FixCorrectPolicy,         // (none)
    Count                     // sentinel, not a message
};
const MessageShape &shapeOf(MessageId id);   // throws Error(InvalidArgument) for Count
// Stable lower-case name ("did-not-fit-on"); "" for Count.
const char *toString(MessageId id);

using Message = BasicMessage<MessageId>;

} // namespace mizan::planner
