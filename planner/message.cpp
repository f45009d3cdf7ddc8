#include "message.h"

#include "error.h"

#include <array>
#include <cmath>
#include <locale>
#include <sstream>

namespace mizan::planner {

namespace {

using K = MessageArgKind;

// How the English text shows bytes and devices for one id.
enum Style : unsigned {
    Plain = 0,
    ExactBytes = 1,   // bytes as Python prints the number (Accelerate's texts)
    DeviceKeys = 2,   // devices as Accelerate's keys ("0", "cpu") instead of labels
    QuotedTexts = 4,  // each name of a list in double quotes (the loader's file lists)
};

struct Shape {
    MessageId id;
    const char *name;
    const char *english;
    MessageJoin join;
    std::vector<MessageArgKind> args;
    unsigned style = Plain;
};

const std::vector<Shape> &shapes()
{
    using J = MessageJoin;
    static const std::vector<Shape> table = {
        {MessageId::FitsOn, "fits-on", "fits on %1: needs %2", J::Sentence, {K::Device, K::Bytes}},
        {MessageId::FitsOnFree, "fits-on-free", "fits on %1: needs %2, %3 was free", J::Sentence, {K::Device, K::Bytes, K::Bytes}},
        {MessageId::FitsOnReserved, "fits-on-reserved", "fits on %1: needs %2 after reserving %3 for the largest layer", J::Sentence,
         {K::Device, K::Bytes, K::Bytes}},
        {MessageId::FitsOnFreeReserved, "fits-on-free-reserved", "fits on %1: needs %2, %3 was free after reserving %4 for the largest layer",
         J::Sentence, {K::Device, K::Bytes, K::Bytes, K::Bytes}},
        {MessageId::DidNotFitOn, "did-not-fit-on", "did not fit on %1: %2 free, needs %3", J::Sentence, {K::Device, K::Bytes, K::Bytes}},
        {MessageId::DidNotFitOnReserved, "did-not-fit-on-reserved", "did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4",
         J::Sentence, {K::Device, K::Bytes, K::Bytes, K::Bytes}},
        {MessageId::PlacedOn, "placed-on", "placed on %1", J::Sentence, {K::Device}},
        {MessageId::ForbiddenEarlier, "forbidden-earlier", "forbidden on an earlier device by a pin", J::Sentence, {}},
        {MessageId::PinnedByUser, "pinned-by-user", "pinned to %1 by the user", J::Sentence, {K::Device}},
        {MessageId::TiedTo, "tied-to", "tied to \"%1\": placed with it on %2", J::Sentence, {K::Text, K::Device}},
        {MessageId::TiedToPinned, "tied-to-pinned", "tied to \"%1\", which is pinned to %2", J::Sentence, {K::Text, K::Device}},
        {MessageId::Merged, "merged", "all its parts went to %1: merged into one entry", J::Sentence, {K::Device}},
        {MessageId::PartDidNotFitOn, "part-did-not-fit-on", "\"%1\" did not fit on %2: %3 free, needs %4", J::Detail,
         {K::Text, K::Device, K::Bytes, K::Bytes}},
        {MessageId::PartDidNotFitOnReserved, "part-did-not-fit-on-reserved",
         "\"%1\" did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5", J::Detail,
         {K::Text, K::Device, K::Bytes, K::Bytes, K::Bytes}},
        {MessageId::FallbackFill, "fallback-fill", "fallback allocation: the largest remaining module that fits on %1, which nothing else fitted",
         J::Sentence, {K::Device}},
        {MessageId::PartOf, "part-of", "part of \"%1\" on %2", J::Sentence, {K::Text, K::Device}},
        {MessageId::SplitIntoChildren, "split-into-children", "split into children", J::Sentence, {}},
        {MessageId::SplitForPin, "split-for-pin", "split into children: it contains a pinned module or one forbidden on %1", J::Sentence,
         {K::Device}},
        {MessageId::SpreadOverDevices, "spread-over-devices", "the model is spread over several devices", J::Sentence, {}},
        {MessageId::PartsOn, "parts-on", "parts on %1", J::Detail, {K::Devices}},

        {MessageId::UnknownNoSplitClass, "unknown-no-split-class", "no-split class \"%1\" does not occur in the model", J::Sentence, {K::Text}},
        {MessageId::TiedPinsDiffer, "tied-pins-differ", "tied parameters \"%1\" and \"%2\" are pinned to different devices (%3, %4)", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}},
        {MessageId::HeadroomUnsettled, "headroom-unsettled",
         "runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom", J::Sentence, {K::Count}},
        {MessageId::BufferWarning, "buffer-warning",
         "Current model requires %1 bytes of buffer for offloaded layers, which seems does not fit any GPU's remaining memory. "
         "If you are experiencing a OOM later, please consider using offload_buffers=True.",
         J::Sentence, {K::Bytes}, ExactBytes},
        {MessageId::InsufficientMemory, "insufficient-memory",
         "Based on the current allocation process, no modules could be assigned to the following devices due to insufficient memory:",
         J::Sentence, {}},
        {MessageId::InsufficientMemoryDevice, "insufficient-memory-device", "%1: %2 bytes required", J::ListItem, {K::Device, K::Bytes},
         ExactBytes | DeviceKeys},
        {MessageId::InsufficientMemoryAdvice, "insufficient-memory-advice",
         "These minimum requirements are specific to this allocation attempt and may vary. Consider increasing the available memory for "
         "these devices to at least the specified minimum, or adjusting the model config.",
         J::Line, {}},

        {MessageId::KeyTwice, "key-twice", "\"%1\" appears twice in the map (%2 and %3)", J::Sentence, {K::Text, K::Device, K::Device}},
        {MessageId::KeyInside, "key-inside", "\"%1\" is inside \"%2\", which already has a device", J::Sentence, {K::Text, K::Text}},
        {MessageId::KeyInsideWholeModel, "key-inside-whole-model", "\"%1\" is inside \"(whole model)\", which already has a device", J::Sentence,
         {K::Text}},
        {MessageId::UnknownKey, "unknown-key", "\"%1\" is not a module or tensor of this model", J::Sentence, {K::Text}},
        {MessageId::UnknownDevice, "unknown-device", "\"%1\" is mapped to %2, which the device budgets do not list", J::Sentence,
         {K::Text, K::Device}},
        {MessageId::NotCoveredOne, "not-covered-one", "no device for 1 tensor: %1", J::Sentence, {K::Text}},
        {MessageId::NotCoveredMany, "not-covered-many", "no device for %1 tensors: %2", J::Sentence, {K::Count, K::Texts}},
        {MessageId::NotCoveredMore, "not-covered-more", "no device for %1 tensors: %2, ... (%1 in all)", J::Sentence, {K::Count, K::Texts}},
        {MessageId::TiedOnDifferentDevices, "tied-on-different-devices", "\"%1\" is tied to \"%2\" but is on %3 while it is on %4", J::Sentence,
         {K::Text, K::Text, K::Device, K::Device}},
        {MessageId::PinForbids, "pin-forbids", "\"%1\" is on %2, which a pin forbids for it", J::Sentence, {K::Text, K::Device}},
        {MessageId::PinViolated, "pin-violated", "\"%1\" is pinned to %2 but the map puts it on %3", J::Sentence,
         {K::Text, K::Device, K::Device}},
        {MessageId::NoSplitBroken, "no-split-broken", "\"%1\" (class %2, never split) has parts on %3 devices", J::Sentence,
         {K::Text, K::Text, K::Count}},
        {MessageId::OverBudget, "over-budget", "%1 is over its budget by %2 bytes (%3 planned, %4 available)", J::Sentence,
         {K::Device, K::Count, K::Bytes, K::Bytes}},
        {MessageId::OverBudgetHeadroom, "over-budget-headroom",
         "%1 is over its budget by %2 bytes (%3 planned, %4 available after %5 runtime headroom)", J::Sentence,
         {K::Device, K::Count, K::Bytes, K::Bytes, K::Bytes}},
        {MessageId::DiskWhileCpuHasRoom, "disk-while-cpu-has-room",
         "\"%1\" is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)", J::Sentence,
         {K::Text, K::Bytes, K::Bytes}},
        {MessageId::EmptyGpu, "empty-gpu", "%1 holds nothing while %2 holds modules", J::Sentence, {K::Device, K::Device}},

        {MessageId::FixKeepOneEntry, "fix-keep-one-entry", "keep one entry for \"%1\"", J::Sentence, {K::Text}},
        {MessageId::FixRemoveOrCorrect, "fix-remove-or-correct", "remove the entry or correct the name", J::Sentence, {}},
        {MessageId::FixDidYouMean, "fix-did-you-mean", "did you mean \"%1\"?", J::Sentence, {K::Text}},
        {MessageId::FixListedDevice, "fix-listed-device", "move it to a listed device or add a budget for %1", J::Sentence, {K::Device}},
        {MessageId::FixRemoveOneOfTwo, "fix-remove-one-of-two", "remove one of the two entries", J::Sentence, {}},
        {MessageId::FixGiveDevice, "fix-give-device", "give their module (or a parent) a device", J::Sentence, {}},
        {MessageId::FixSameDevice, "fix-same-device", "put both on the same device", J::Sentence, {}},
        {MessageId::FixAnotherDevice, "fix-another-device", "move it to another device", J::Sentence, {}},
        {MessageId::FixMoveToPinned, "fix-move-to-pinned", "move it to %1 or remove the pin", J::Sentence, {K::Device}},
        {MessageId::FixMapAsOneEntry, "fix-map-as-one-entry", "map \"%1\" as one entry", J::Sentence, {K::Text}},
        {MessageId::FixMoveFrom, "fix-move-from", "move modules from %1 to a device with room", J::Sentence, {K::Device}},
        {MessageId::FixMoveToCpu, "fix-move-to-cpu", "move it to the CPU: disk is much slower", J::Sentence, {}},
        {MessageId::FixMoveFirstModules, "fix-move-first-modules", "move the first modules to %1", J::Sentence, {K::Device}},

        {MessageId::MetadataNoFormat, "metadata-no-format", "__metadata__ has no \"format\" (transformers expects \"pt\")", J::Sentence, {}},
        {MessageId::MetadataFormatNotPt, "metadata-format-not-pt",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts", J::Sentence, {K::Text}},
        {MessageId::MetadataNoFormatInFile, "metadata-no-format-in-file", "%1: __metadata__ has no \"format\" (transformers expects \"pt\")",
         J::Sentence, {K::Text}},
        {MessageId::MetadataNoFormatInShards, "metadata-no-format-in-shards",
         "__metadata__ has no \"format\" (transformers expects \"pt\") (in %1 shards: %2)", J::Sentence, {K::Count, K::Texts}, QuotedTexts},
        {MessageId::MetadataNoFormatInShardsMore, "metadata-no-format-in-shards-more",
         "__metadata__ has no \"format\" (transformers expects \"pt\") (in %1 shards: %2 and %3 more)", J::Sentence,
         {K::Count, K::Texts, K::Count}, QuotedTexts},
        {MessageId::MetadataFormatNotPtInFile, "metadata-format-not-pt-in-file",
         "%1: __metadata__ format is \"%2\", not \"pt\"; the tensors may not be PyTorch layouts", J::Sentence, {K::Text, K::Text}},
        {MessageId::MetadataFormatNotPtInShards, "metadata-format-not-pt-in-shards",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts (in %2 shards: %3)", J::Sentence,
         {K::Text, K::Count, K::Texts}, QuotedTexts},
        {MessageId::MetadataFormatNotPtInShardsMore, "metadata-format-not-pt-in-shards-more",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts (in %2 shards: %3 and %4 more)", J::Sentence,
         {K::Text, K::Count, K::Texts, K::Count}, QuotedTexts},
        {MessageId::BinWeightsNotRead, "bin-weights-not-read", "%1: PyTorch .bin weights are not read; only config.json was opened", J::Sentence,
         {K::Text}},
        {MessageId::NoRepeatedBlocks, "no-repeated-blocks", "no repeated block structure found: no module class is kept whole", J::Sentence, {}},
        {MessageId::NoSplitClassGuessed, "no-split-class-guessed",
         "unknown architecture: the no-split class \"%1\" is a structural guess (repeated numbered blocks)", J::Sentence, {K::Text}},
        {MessageId::IgnoredBuffers, "ignored-buffers",
         "%1 non-persistent buffer(s) saved in the checkpoint (causal masks, rotary inv_freq) are ignored, as transformers does", J::Sentence,
         {K::Count}},
        {MessageId::BareBaseModel, "bare-base-model", "the checkpoint holds the bare base model: tensor names lack the \"%1.\" prefix of %2",
         J::Sentence, {K::Text, K::Text}},
        {MessageId::NoConfigJson, "no-config-json", "no config.json: module classes unknown, tree derived from tensor names", J::Sentence, {}},
        {MessageId::LayoutNotFollowed, "layout-not-followed",
         "the checkpoint's tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): tree derived from tensor names",
         J::Sentence, {K::Text, K::Count, K::Count}},
        {MessageId::ConfigNotOfFamily, "config-not-of-family", "config.json does not describe a %1 model (%2): tree derived from tensor names",
         J::Sentence, {K::Text, K::Text}},
        {MessageId::MixtralV4Layout, "mixtral-v4-layout",
         "Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it", J::Sentence, {}},
        {MessageId::TensorsMissing, "tensors-missing", "%1 tensor(s) of the model are missing from the checkpoint", J::Sentence, {K::Count}},
        {MessageId::TensorsUnexpected, "tensors-unexpected", "%1 checkpoint tensor(s) are not part of the model", J::Sentence, {K::Count}},
        {MessageId::ShapesDiffer, "shapes-differ", "%1 tensor shape(s) differ from config.json", J::Sentence, {K::Count}},
    };
    return table;
}

const Shape &shapeOf(MessageId id)
{
    const auto &table = shapes();
    const auto i = static_cast<std::size_t>(id);
    if (i >= table.size() || table[i].id != id)
        throw Error(ErrorKind::InvalidArgument, {}, "message id " + std::to_string(i) + " has no text");
    return table[i];
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

std::string argText(const MessageArg &arg, unsigned style)
{
    auto device = [&](const Device &d) { return (style & DeviceKeys) ? d.toString() : d.label(); };
    switch (kindOf(arg)) {
    case K::Text:
        return std::get<std::string>(arg);
    case K::Bytes: {
        const double b = std::get<ByteCount>(arg).bytes;
        return (style & ExactBytes) ? pyNumber(b) : formatBytes(b);
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
            s += (first ? "" : ", ") + ((style & QuotedTexts) ? "\"" + t + "\"" : t);
            first = false;
        }
        return s;
    }
    }
    return {};
}

} // namespace

const char *toString(MessageId id)
{
    if (id == MessageId::Count)
        return "";
    return shapeOf(id).name;
}

MessageArgKind kindOf(const MessageArg &arg)
{
    return static_cast<MessageArgKind>(arg.index());
}

MessageJoin joinOf(MessageId id)
{
    return shapeOf(id).join;
}

std::vector<MessageArgKind> argumentKinds(MessageId id)
{
    return shapeOf(id).args;
}

const char *englishPattern(MessageId id)
{
    return shapeOf(id).english;
}

std::string toEnglish(const Message &message)
{
    const Shape &shape = shapeOf(message.id);
    bool matches = message.args.size() == shape.args.size();
    for (std::size_t i = 0; matches && i < message.args.size(); ++i)
        matches = kindOf(message.args[i]) == shape.args[i];
    if (!matches)
        throw Error(ErrorKind::InvalidArgument, {}, std::string("message \"") + shape.name + "\" takes " +
                    std::to_string(shape.args.size()) + " arguments of other kinds than given");
    std::string out;
    for (const char *p = shape.english; *p; ++p) {
        if (*p == '%' && p[1] >= '1' && p[1] <= '9') {
            const auto i = static_cast<std::size_t>(p[1] - '1');
            if (i < message.args.size()) {
                out += argText(message.args[i], shape.style);
                ++p;
                continue;
            }
        }
        out += *p;
    }
    return out;
}

std::string toEnglish(const std::vector<Message> &messages)
{
    std::string out;
    bool inDetail = false;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const MessageJoin join = joinOf(messages[i].id);
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
        out += toEnglish(messages[i]);
    }
    if (inDetail)
        out += ")";
    return out;
}

} // namespace mizan::planner
