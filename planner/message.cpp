#include "message.h"

#include "error.h"

#include <array>
#include <cmath>
#include <locale>
#include <sstream>

namespace mizan::planner {

namespace {

using K = MessageArgKind;
using S = MessageStyle;

const std::vector<std::pair<MessageId, MessageShape>> &shapes()
{
    using J = MessageJoin;
    using M = MessageId;
    static const std::vector<std::pair<MessageId, MessageShape>> table = {
        {M::FitsOn, {"fits-on", "fits on %1: needs %2", J::Sentence, {K::Device, K::Bytes}}},
        {M::FitsOnFree, {"fits-on-free", "fits on %1: needs %2, %3 was free", J::Sentence, {K::Device, K::Bytes, K::Bytes}}},
        {M::FitsOnReserved, {"fits-on-reserved", "fits on %1: needs %2 after reserving %3 for the largest layer", J::Sentence,
         {K::Device, K::Bytes, K::Bytes}}},
        {M::FitsOnFreeReserved, {"fits-on-free-reserved", "fits on %1: needs %2, %3 was free after reserving %4 for the largest layer",
         J::Sentence, {K::Device, K::Bytes, K::Bytes, K::Bytes}}},
        {M::DidNotFitOn, {"did-not-fit-on", "did not fit on %1: %2 free, needs %3", J::Sentence, {K::Device, K::Bytes, K::Bytes}}},
        {M::DidNotFitOnReserved, {"did-not-fit-on-reserved", "did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4",
         J::Sentence, {K::Device, K::Bytes, K::Bytes, K::Bytes}}},
        {M::PlacedOn, {"placed-on", "placed on %1", J::Sentence, {K::Device}}},
        {M::ForbiddenEarlier, {"forbidden-earlier", "forbidden on an earlier device by a pin", J::Sentence, {}}},
        {M::PinnedByUser, {"pinned-by-user", "pinned to %1 by the user", J::Sentence, {K::Device}}},
        {M::TiedTo, {"tied-to", "tied to \"%1\": placed with it on %2", J::Sentence, {K::Text, K::Device}}},
        {M::TiedToPinned, {"tied-to-pinned", "tied to \"%1\", which is pinned to %2", J::Sentence, {K::Text, K::Device}}},
        {M::Merged, {"merged", "all its parts went to %1: merged into one entry", J::Sentence, {K::Device}}},
        {M::PartDidNotFitOn, {"part-did-not-fit-on", "\"%1\" did not fit on %2: %3 free, needs %4", J::Detail,
         {K::Text, K::Device, K::Bytes, K::Bytes}}},
        {M::PartDidNotFitOnReserved, {"part-did-not-fit-on-reserved",
         "\"%1\" did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5", J::Detail,
         {K::Text, K::Device, K::Bytes, K::Bytes, K::Bytes}}},
        {M::FallbackFill, {"fallback-fill", "fallback allocation: the largest remaining module that fits on %1, which nothing else fitted",
         J::Sentence, {K::Device}}},
        {M::PartOf, {"part-of", "part of \"%1\" on %2", J::Sentence, {K::Text, K::Device}}},
        {M::PartOfWholeModel, {"part-of-whole-model", "part of the whole model, which the map puts on %1", J::Sentence, {K::Device}}},
        {M::SplitIntoChildren, {"split-into-children", "split into children", J::Sentence, {}}},
        {M::SplitForPin, {"split-for-pin", "split into children: it contains a pinned module or one forbidden on %1", J::Sentence,
         {K::Device}}},
        {M::SpreadOverDevices, {"spread-over-devices", "the model is spread over several devices", J::Sentence, {}}},
        {M::PartsOn, {"parts-on", "parts on %1", J::Detail, {K::Devices}}},

        {M::UnknownNoSplitClass, {"unknown-no-split-class", "no-split class \"%1\" does not occur in the model", J::Sentence, {K::Text}}},
        {M::TiedPinsDiffer, {"tied-pins-differ", "tied parameters \"%1\" and \"%2\" are pinned to different devices (%3, %4)", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}}},
        {M::HeadroomUnsettled, {"headroom-unsettled",
         "runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom", J::Sentence, {K::Count}}},
        {M::BufferWarning, {"buffer-warning",
         "Current model requires %1 bytes of buffer for offloaded layers, which seems does not fit any GPU's remaining memory. "
         "If you are experiencing a OOM later, please consider using offload_buffers=True.",
         J::Sentence, {K::Bytes}, S::ExactBytes}},
        {M::InsufficientMemory, {"insufficient-memory",
         "Based on the current allocation process, no modules could be assigned to the following devices due to insufficient memory:",
         J::Sentence, {}}},
        {M::InsufficientMemoryDevice, {"insufficient-memory-device", "%1: %2 bytes required", J::ListItem, {K::Device, K::Bytes},
         S::ExactBytes | S::DeviceKeys}},
        {M::InsufficientMemoryAdvice, {"insufficient-memory-advice",
         "These minimum requirements are specific to this allocation attempt and may vary. Consider increasing the available memory for "
         "these devices to at least the specified minimum, or adjusting the model config.",
         J::Line, {}}},

        {M::KeyTwice, {"key-twice", "\"%1\" appears twice in the map (%2 and %3)", J::Sentence, {K::Text, K::Device, K::Device}}},
        {M::KeyInside, {"key-inside", "\"%1\" is inside \"%2\", which already has a device", J::Sentence, {K::Text, K::Text}}},
        {M::KeyInsideWholeModel, {"key-inside-whole-model", "\"%1\" is inside \"(whole model)\", which already has a device", J::Sentence,
         {K::Text}}},
        {M::UnknownKey, {"unknown-key", "\"%1\" is not a module or tensor of this model", J::Sentence, {K::Text}}},
        {M::UnknownDevice, {"unknown-device", "\"%1\" is mapped to %2, which the device budgets do not list", J::Sentence,
         {K::Text, K::Device}}},
        {M::NotCoveredOne, {"not-covered-one", "no device for 1 tensor: %1", J::Sentence, {K::Text}}},
        {M::NotCoveredMany, {"not-covered-many", "no device for %1 tensors: %2", J::Sentence, {K::Count, K::Texts}}},
        {M::NotCoveredMore, {"not-covered-more", "no device for %1 tensors: %2, ... (%1 in all)", J::Sentence, {K::Count, K::Texts}}},
        {M::TiedOnDifferentDevices, {"tied-on-different-devices", "\"%1\" is tied to \"%2\" but is on %3 while it is on %4", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}}},
        {M::PinForbids, {"pin-forbids", "\"%1\" is on %2, which a pin forbids for it", J::Sentence, {K::Text, K::Device}}},
        {M::PinViolated, {"pin-violated", "\"%1\" is pinned to %2 but the map puts it on %3", J::Sentence,
         {K::Text, K::Device, K::Device}}},
        {M::NoSplitBroken, {"no-split-broken", "\"%1\" (class %2, never split) has parts on %3 devices", J::Sentence,
         {K::Text, K::Text, K::Count}}},
        {M::OverBudget, {"over-budget", "%1 is over its budget by %2 bytes (%3 planned, %4 available)", J::Sentence,
         {K::Device, K::Count, K::Bytes, K::Bytes}}},
        {M::OverBudgetHeadroom, {"over-budget-headroom",
         "%1 is over its budget by %2 bytes (%3 planned, %4 available after %5 runtime headroom)", J::Sentence,
         {K::Device, K::Count, K::Bytes, K::Bytes, K::Bytes}}},
        {M::DiskWhileCpuHasRoom, {"disk-while-cpu-has-room",
         "\"%1\" is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)", J::Sentence,
         {K::Text, K::Bytes, K::Bytes}}},
        {M::EmptyGpu, {"empty-gpu", "%1 holds nothing while %2 holds modules", J::Sentence, {K::Device, K::Device}}},

        {M::FixKeepOneEntry, {"fix-keep-one-entry", "keep one entry for \"%1\"", J::Sentence, {K::Text}}},
        {M::FixRemoveOrCorrect, {"fix-remove-or-correct", "remove the entry or correct the name", J::Sentence, {}}},
        {M::FixDidYouMean, {"fix-did-you-mean", "did you mean \"%1\"?", J::Sentence, {K::Text}}},
        {M::FixListedDevice, {"fix-listed-device", "move it to a listed device or add a budget for %1", J::Sentence, {K::Device}}},
        {M::FixRemoveOneOfTwo, {"fix-remove-one-of-two", "remove one of the two entries", J::Sentence, {}}},
        {M::FixGiveDevice, {"fix-give-device", "give their module (or a parent) a device", J::Sentence, {}}},
        {M::FixSameDevice, {"fix-same-device", "put both on the same device", J::Sentence, {}}},
        {M::FixAnotherDevice, {"fix-another-device", "move it to another device", J::Sentence, {}}},
        {M::FixMoveToPinned, {"fix-move-to-pinned", "move it to %1 or remove the pin", J::Sentence, {K::Device}}},
        {M::FixMapAsOneEntry, {"fix-map-as-one-entry", "map \"%1\" as one entry", J::Sentence, {K::Text}}},
        {M::FixMoveFrom, {"fix-move-from", "move modules from %1 to a device with room", J::Sentence, {K::Device}}},
        {M::FixMoveToCpu, {"fix-move-to-cpu", "move it to the CPU: disk is much slower", J::Sentence, {}}},
        {M::FixMoveFirstModules, {"fix-move-first-modules", "move the first modules to %1", J::Sentence, {K::Device}}},

        {M::PinUnknownModule, {"pin-unknown-module", "pin \"%1\": the model has no module or tensor of that name", J::Sentence, {K::Text}}},
        {M::PinDeviceWithoutBudget, {"pin-device-without-budget",
         "pin \"%1\" -> %2: that device has no budget (max memory lists %3)", J::Sentence, {K::Text, K::Device, K::Devices}}},
        {M::PinInsideNoSplit, {"pin-inside-no-split",
         "cannot pin \"%1\": it is part of \"%2\" (class %3, never split); pin \"%2\" instead", J::Sentence, {K::Text, K::Text, K::Text}}},
        {M::PinsOverlap, {"pins-overlap", "pins \"%1\" and \"%2\" overlap: pin each module once", J::Sentence, {K::Text, K::Text}}},
        {M::PinsContradict, {"pins-contradict", "pins contradict: \"%1\" is pinned to %2 but \"%3\" is forbidden there", J::Sentence,
         {K::Text, K::Device, K::Text}}},
        {M::PinsOverBudget, {"pins-over-budget", "pins need %1 on %2 but its budget is %3: over by %4 bytes", J::Sentence,
         {K::Bytes, K::Device, K::Bytes, K::Count}}},
        {M::PinsOverBudgetHeadroom, {"pins-over-budget-headroom",
         "pins need %1 on %2 but its budget is %3 (%4 after runtime headroom): over by %5 bytes", J::Sentence,
         {K::Bytes, K::Device, K::Bytes, K::Bytes, K::Count}}},
        {M::PinnedBytes, {"pinned-bytes", "\"%1\" %2", J::Detail, {K::Text, K::Bytes}}},

        {M::PlacedByPolicy, {"placed-by-policy", "placed on %2 by policy \"%1\"", J::Sentence, {K::Text, K::Device}}},
        {M::SplitByPolicy, {"split-by-policy", "split by policy \"%1\"", J::Sentence, {K::Text}}},
        {M::RestKeptOn, {"rest-kept-on", "the rest kept together on %1", J::Sentence, {K::Device}}},
        {M::RestOf, {"rest-of", "part of the rest of \"%1\", kept together on %2 (a policy placed its other parts)", J::Sentence,
         {K::Text, K::Device}}},
        {M::PolicySyntax, {"policy-syntax",
         "\"%1\" is not a policy: write SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being class:CLASS, name:PATTERN, "
         "first:N, experts, experts:N or embeddings, or a built-in name (experts-on-cpu, embeddings-on-cpu)", J::Sentence, {K::Text}}},
        {M::PolicyBadPattern, {"policy-bad-pattern",
         "policy \"%1\": the pattern is malformed (an empty one, an unclosed \"{\", or a range other than {A..B} with A <= B)",
         J::Sentence, {K::Text}}},
        {M::PolicyBadDevice, {"policy-bad-device", "policy \"%1\": \"%2\" is not a device (use 0, 1, ..., cpu, disk or mps)",
         J::Sentence, {K::Text, K::Text}}},
        {M::PolicyUnknownClass, {"policy-unknown-class", "policy \"%1\": no module of the model has that class; its classes: %2",
         J::Sentence, {K::Text, K::Texts}}},
        {M::PolicyMatchesNothing, {"policy-matches-nothing", "policy \"%1\" matches no module or tensor of the model", J::Sentence,
         {K::Text}}},
        {M::PolicyClosest, {"policy-closest", "\"%1\" holds %2", J::Detail, {K::Text, K::Texts}}},
        {M::PolicyTopLevel, {"policy-top-level", "the model's top-level modules: %1", J::Detail, {K::Texts}}},
        {M::PolicyNoExperts, {"policy-no-experts",
         "policy \"%1\": the model has no mixture-of-experts layers (no module named \"experts\")", J::Sentence, {K::Text}}},
        {M::PolicyNoEmbeddings, {"policy-no-embeddings", "policy \"%1\": the model has no embedding module", J::Sentence, {K::Text}}},
        {M::PolicyNoBlocks, {"policy-no-blocks",
         "policy \"%1\": the model has no decoder blocks (no module of a no-split class, no numbered list of modules)", J::Sentence,
         {K::Text}}},
        {M::PolicyTooManyBlocks, {"policy-too-many-blocks", "policy \"%1\" asks for the first %2 blocks but the model has %3",
         J::Sentence, {K::Text, K::Count, K::Count}}},
        {M::PolicyDeviceWithoutBudget, {"policy-device-without-budget",
         "policy \"%1\" -> %2: that device has no budget (max memory lists %3)", J::Sentence, {K::Text, K::Device, K::Devices}}},
        {M::PolicyConflict, {"policy-conflict", "policies \"%1\" and \"%4\" both place \"%2\": on %3 and on %5", J::Sentence,
         {K::Text, K::Text, K::Device, K::Text, K::Device}}},
        {M::PolicyPinConflict, {"policy-pin-conflict", "policy \"%1\" places \"%2\" on %3 but it is pinned to %4", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}}},
        {M::PolicyPlacesForbidden, {"policy-places-forbidden",
         "policy \"%1\" places \"%2\" on %3 but \"%4\" is forbidden there", J::Sentence, {K::Text, K::Text, K::Device, K::Text}}},
        {M::PolicyForbidsPlaced, {"policy-forbids-placed",
         "policy \"%1\" forbids \"%2\" on %3 but \"%4\" is placed there", J::Sentence, {K::Text, K::Text, K::Device, K::Text}}},
        {M::PolicyPinnedBytes, {"policy-pinned-bytes", "policy \"%1\": %2 entries, %3", J::Detail, {K::Text, K::Count, K::Bytes}}},
        {M::PolicyViolated, {"policy-violated", "policy \"%1\" places \"%2\" on %3 but the map puts it on %4", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}}},
        {M::PolicyForbids, {"policy-forbids", "\"%2\" is on %3, which policy \"%1\" forbids for it", J::Sentence,
         {K::Text, K::Text, K::Device}}},
        {M::FixMoveToPolicy, {"fix-move-to-policy", "move it to %1 or remove the policy", J::Sentence, {K::Device}}},
        {M::FixCorrectPolicy, {"fix-correct-policy", "correct or remove the policy", J::Sentence, {}}},
    };
    return table;
}

// Python's repr of a float/int as Accelerate prints byte counts.
std::string pyNumber(double v)
{
    if (std::floor(v) == v && std::fabs(v) < 9.0e15)
        return std::to_string(static_cast<long long>(v));
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(17);
    out << v;
    return out.str();
}

std::string argText(const MessageArg &arg, MessageStyle style)
{
    auto device = [&](const Device &d) { return hasStyle(style, S::DeviceKeys) ? d.toString() : d.label(); };
    switch (kindOf(arg)) {
    case K::Text:
        return std::get<std::string>(arg);
    case K::Bytes: {
        const double b = std::get<ByteCount>(arg).bytes;
        return hasStyle(style, S::ExactBytes) ? pyNumber(b) : formatBytes(b);
    }
    case K::Device:
        return device(std::get<Device>(arg));
    case K::Count:
        return std::to_string(std::get<std::int64_t>(arg));
    case K::Devices: {
        std::string s;
        for (const auto &d : std::get<std::vector<Device>>(arg))
            s += (s.empty() ? "" : ", ") + device(d);
        return s;
    }
    case K::Texts: {
        std::string s;
        bool first = true;
        for (const auto &t : std::get<std::vector<std::string>>(arg)) {
            s += (first ? "" : ", ") + (hasStyle(style, S::QuotedTexts) ? inQuotes(t) : t);
            first = false;
        }
        return s;
    }
    }
    return {};
}

} // namespace

void missingMessageShape(const char *library, std::size_t id)
{
    throw Error(ErrorKind::InvalidArgument, {}, std::string(library) + " message id " + std::to_string(id) + " has no text");
}

const MessageShape &shapeOf(MessageId id)
{
    return shapeInTable(shapes(), id, "planner");
}

const char *toString(MessageId id)
{
    return messageName(id);
}

MessageArgKind kindOf(const MessageArg &arg)
{
    return static_cast<MessageArgKind>(arg.index());
}

std::string renderEnglish(const MessageShape &shape, const std::vector<MessageArg> &args)
{
    bool matches = args.size() == shape.args.size();
    for (std::size_t i = 0; matches && i < args.size(); ++i)
        matches = kindOf(args[i]) == shape.args[i];
    if (!matches)
        throw Error(ErrorKind::InvalidArgument, {}, std::string("message \"") + shape.name + "\" takes " +
                    std::to_string(shape.args.size()) + " arguments of other kinds than given");
    std::string out;
    for (const char *p = shape.english; *p; ++p) {
        if (*p == '%' && p[1] >= '1' && p[1] <= '9') {
            const auto i = static_cast<std::size_t>(p[1] - '1');
            if (i < args.size()) {
                out += argText(args[i], shape.style);
                ++p;
                continue;
            }
        }
        out += *p;
    }
    return out;
}

std::string joinEnglish(const std::vector<std::pair<MessageJoin, std::string>> &parts)
{
    std::string out;
    bool inDetail = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const MessageJoin join = parts[i].first;
        if (i > 0) {
            if (join == MessageJoin::Detail) {
                out += inDetail ? "; " : " (";
                inDetail = true;
            } else {
                if (inDetail)
                    out += ")";
                inDetail = false;
                out += join == MessageJoin::ListItem ? "\n  - " : join == MessageJoin::Line ? "\n" : "; ";
            }
        }
        out += parts[i].second;
    }
    if (inDetail)
        out += ")";
    return out;
}

} // namespace mizan::planner
