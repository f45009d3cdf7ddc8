#include "messagetext.h"

#include "guiformat.h"

#include <QCoreApplication>
#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <utility>

namespace mizan::gui {

namespace {

using planner::MessageId;

const char *const kContext = "MessageText"; // lupdate reads only literal contexts: spelled out where it must see them

// One pattern per planner::MessageId; the arguments are those of planner::argumentKinds().
// The GUI's English may differ from the planner's (sizes in locale units, plainer wording of
// Accelerate's texts); the CLI and JSON keep the planner's text.
const std::pair<MessageId, const char *> kPatterns[] = {
    {MessageId::FitsOn, QT_TRANSLATE_NOOP("MessageText", "fits on %1: needs %2")},
    {MessageId::FitsOnFree, QT_TRANSLATE_NOOP("MessageText", "fits on %1: needs %2, %3 was free")},
    {MessageId::FitsOnReserved, QT_TRANSLATE_NOOP("MessageText", "fits on %1: needs %2 after reserving %3 for the largest layer")},
    {MessageId::FitsOnFreeReserved, QT_TRANSLATE_NOOP("MessageText", "fits on %1: needs %2, %3 was free after reserving %4 for the largest layer")},
    {MessageId::DidNotFitOn, QT_TRANSLATE_NOOP("MessageText", "did not fit on %1: %2 free, needs %3")},
    {MessageId::DidNotFitOnReserved, QT_TRANSLATE_NOOP("MessageText", "did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4")},
    {MessageId::PlacedOn, QT_TRANSLATE_NOOP("MessageText", "placed on %1")},
    {MessageId::ForbiddenEarlier, QT_TRANSLATE_NOOP("MessageText", "forbidden on an earlier device by a pin")},
    {MessageId::PinnedByUser, QT_TRANSLATE_NOOP("MessageText", "pinned to %1 by the user")},
    {MessageId::TiedTo, QT_TRANSLATE_NOOP("MessageText", "tied to \"%1\": placed with it on %2")},
    {MessageId::TiedToPinned, QT_TRANSLATE_NOOP("MessageText", "tied to \"%1\", which is pinned to %2")},
    {MessageId::Merged, QT_TRANSLATE_NOOP("MessageText", "all its parts went to %1: merged into one entry")},
    {MessageId::PartDidNotFitOn, QT_TRANSLATE_NOOP("MessageText", "\"%1\" did not fit on %2: %3 free, needs %4")},
    {MessageId::PartDidNotFitOnReserved,
     QT_TRANSLATE_NOOP("MessageText", "\"%1\" did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5")},
    {MessageId::FallbackFill,
     QT_TRANSLATE_NOOP("MessageText", "fallback allocation: the largest remaining module that fits on %1, which nothing else fitted")},
    {MessageId::PartOf, QT_TRANSLATE_NOOP("MessageText", "part of \"%1\" on %2")},
    {MessageId::PartOfWholeModel, QT_TRANSLATE_NOOP("MessageText", "part of the whole model, which the map puts on %1")},
    {MessageId::SplitIntoChildren, QT_TRANSLATE_NOOP("MessageText", "split into children")},
    {MessageId::SplitForPin, QT_TRANSLATE_NOOP("MessageText", "split into children: it contains a pinned module or one forbidden on %1")},
    {MessageId::SpreadOverDevices, QT_TRANSLATE_NOOP("MessageText", "the model is spread over several devices")},
    {MessageId::PartsOn, QT_TRANSLATE_NOOP("MessageText", "parts on %1")},

    {MessageId::UnknownNoSplitClass, QT_TRANSLATE_NOOP("MessageText", "no-split class \"%1\" does not occur in the model")},
    {MessageId::TiedPinsDiffer, QT_TRANSLATE_NOOP("MessageText", "tied parameters \"%1\" and \"%2\" are pinned to different devices (%3, %4)")},
    {MessageId::HeadroomUnsettled,
     QT_TRANSLATE_NOOP("MessageText", "runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom")},
    {MessageId::BufferWarning,
     QT_TRANSLATE_NOOP("MessageText", "The model needs %1 of buffers for offloaded layers, which does not seem to fit in any GPU's remaining "
                                      "memory. If you run out of memory later, consider offload_buffers=True.")},
    {MessageId::InsufficientMemory,
     QT_TRANSLATE_NOOP("MessageText", "With this allocation, no module could be assigned to the following devices for lack of memory:")},
    {MessageId::InsufficientMemoryDevice, QT_TRANSLATE_NOOP("MessageText", "%1: %2 required")},
    {MessageId::InsufficientMemoryAdvice,
     QT_TRANSLATE_NOOP("MessageText", "These minimums are specific to this allocation and may vary. Consider giving these devices at least "
                                      "that much memory, or adjusting the model config.")},

    {MessageId::KeyTwice, QT_TRANSLATE_NOOP("MessageText", "\"%1\" appears twice in the map (%2 and %3)")},
    {MessageId::KeyInside, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is inside \"%2\", which already has a device")},
    {MessageId::KeyInsideWholeModel, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is inside the whole model, which already has a device")},
    {MessageId::UnknownKey, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is not a module or tensor of this model")},
    {MessageId::UnknownDevice, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is mapped to %2, which the device limits do not list")},
    {MessageId::NotCoveredOne, QT_TRANSLATE_NOOP("MessageText", "no device for 1 tensor: %1")},
    {MessageId::NotCoveredMany, QT_TRANSLATE_NOOP("MessageText", "no device for %1 tensors: %2")},
    {MessageId::NotCoveredMore, QT_TRANSLATE_NOOP("MessageText", "no device for %1 tensors: %2, …")},
    {MessageId::TiedOnDifferentDevices, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is tied to \"%2\" but is on %3 while it is on %4")},
    {MessageId::PinForbids, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is on %2, which a pin forbids for it")},
    {MessageId::PinViolated, QT_TRANSLATE_NOOP("MessageText", "\"%1\" is pinned to %2 but the map puts it on %3")},
    {MessageId::NoSplitBroken, QT_TRANSLATE_NOOP("MessageText", "\"%1\" (class %2, never split) has parts on %3 devices")},
    {MessageId::OverBudget, QT_TRANSLATE_NOOP("MessageText", "%1 is over its limit by %2 bytes (%3 planned, %4 available)")},
    {MessageId::OverBudgetHeadroom,
     QT_TRANSLATE_NOOP("MessageText", "%1 is over its limit by %2 bytes (%3 planned, %4 available after %5 runtime headroom)")},
    {MessageId::DiskWhileCpuHasRoom,
     QT_TRANSLATE_NOOP("MessageText", "\"%1\" is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)")},
    {MessageId::EmptyGpu, QT_TRANSLATE_NOOP("MessageText", "%1 holds nothing while %2 holds modules")},

    {MessageId::FixKeepOneEntry, QT_TRANSLATE_NOOP("MessageText", "keep one entry for \"%1\"")},
    {MessageId::FixRemoveOrCorrect, QT_TRANSLATE_NOOP("MessageText", "remove the entry or correct the name")},
    {MessageId::FixDidYouMean, QT_TRANSLATE_NOOP("MessageText", "did you mean \"%1\"?")},
    {MessageId::FixListedDevice, QT_TRANSLATE_NOOP("MessageText", "move it to a listed device or add a limit for %1")},
    {MessageId::FixRemoveOneOfTwo, QT_TRANSLATE_NOOP("MessageText", "remove one of the two entries")},
    {MessageId::FixGiveDevice, QT_TRANSLATE_NOOP("MessageText", "give their module (or a parent) a device")},
    {MessageId::FixSameDevice, QT_TRANSLATE_NOOP("MessageText", "put both on the same device")},
    {MessageId::FixAnotherDevice, QT_TRANSLATE_NOOP("MessageText", "move it to another device")},
    {MessageId::FixMoveToPinned, QT_TRANSLATE_NOOP("MessageText", "move it to %1 or remove the pin")},
    {MessageId::FixMapAsOneEntry, QT_TRANSLATE_NOOP("MessageText", "map \"%1\" as one entry")},
    {MessageId::FixMoveFrom, QT_TRANSLATE_NOOP("MessageText", "move modules from %1 to a device with room")},
    {MessageId::FixMoveToCpu, QT_TRANSLATE_NOOP("MessageText", "move it to the CPU: disk is much slower")},
    {MessageId::FixMoveFirstModules, QT_TRANSLATE_NOOP("MessageText", "move the first modules to %1")},

    {MessageId::PinUnknownModule, QT_TRANSLATE_NOOP("MessageText", "pin \"%1\": the model has no module or tensor of that name")},
    {MessageId::PinDeviceWithoutBudget, QT_TRANSLATE_NOOP("MessageText", "pin \"%1\" to %2: that device has no limit (the limits list %3)")},
    {MessageId::PinInsideNoSplit,
     QT_TRANSLATE_NOOP("MessageText", "cannot pin \"%1\": it is part of \"%2\" (class %3, never split); pin \"%2\" instead")},
    {MessageId::PinsOverlap, QT_TRANSLATE_NOOP("MessageText", "the pins of \"%1\" and \"%2\" overlap: pin each module once")},
    {MessageId::PinsContradict, QT_TRANSLATE_NOOP("MessageText", "the pins contradict: \"%1\" is pinned to %2 but \"%3\" is forbidden there")},
    {MessageId::PinsOverBudget, QT_TRANSLATE_NOOP("MessageText", "the pins need %1 on %2 but its limit is %3: over by %4 bytes")},
    {MessageId::PinsOverBudgetHeadroom,
     QT_TRANSLATE_NOOP("MessageText", "the pins need %1 on %2 but its limit is %3 (%4 after the runtime headroom): over by %5 bytes")},
    {MessageId::PinnedBytes, QT_TRANSLATE_NOOP("MessageText", "\"%1\" %2")},

    {MessageId::PlacedByPolicy, QT_TRANSLATE_NOOP("MessageText", "placed on %2 by the policy \"%1\"")},
    {MessageId::SplitByPolicy, QT_TRANSLATE_NOOP("MessageText", "split by the policy \"%1\"")},
    {MessageId::RestKeptOn, QT_TRANSLATE_NOOP("MessageText", "the rest kept together on %1")},
    {MessageId::RestOf, QT_TRANSLATE_NOOP("MessageText", "part of the rest of \"%1\", kept together on %2 (a policy placed its other parts)")},
    {MessageId::PolicySyntax,
     QT_TRANSLATE_NOOP("MessageText", "\"%1\" is not a policy: write SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being class:CLASS, "
                                      "name:PATTERN, first:N, experts, experts:N or embeddings, or a built-in name (experts-on-cpu, embeddings-on-cpu)")},
    {MessageId::PolicyBadPattern,
     QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" has a malformed pattern (empty, an unclosed \"{\", or a range other than {A..B} with A <= B)")},
    {MessageId::PolicyBadDevice, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": \"%2\" is not a device (use 0, 1, …, cpu, disk or mps)")},
    {MessageId::PolicyUnknownClass, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": no module of the model has that class; its classes: %2")},
    {MessageId::PolicyMatchesNothing, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" matches no module or tensor of the model")},
    {MessageId::PolicyClosest, QT_TRANSLATE_NOOP("MessageText", "\"%1\" holds %2")},
    {MessageId::PolicyTopLevel, QT_TRANSLATE_NOOP("MessageText", "the model's top-level modules: %1")},
    {MessageId::PolicyNoExperts,
     QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": the model has no mixture-of-experts layers (no module named \"experts\")")},
    {MessageId::PolicyNoEmbeddings, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": the model has no embedding module")},
    {MessageId::PolicyNoBlocks,
     QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": the model has no decoder blocks (no module of a no-split class, no numbered list of modules)")},
    {MessageId::PolicyTooManyBlocks, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" asks for the first %2 blocks but the model has %3")},
    {MessageId::PolicyDeviceWithoutBudget,
     QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" places modules on %2, which has no limit (the limits list %3)")},
    {MessageId::PolicyConflict, QT_TRANSLATE_NOOP("MessageText", "the policies \"%1\" and \"%4\" both place \"%2\": on %3 and on %5")},
    {MessageId::PolicyPinConflict, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" places \"%2\" on %3 but it is pinned to %4")},
    {MessageId::PolicyPlacesForbidden, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" places \"%2\" on %3 but \"%4\" is forbidden there")},
    {MessageId::PolicyForbidsPlaced, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" forbids \"%2\" on %3 but \"%4\" is placed there")},
    {MessageId::PolicyPinnedBytes, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\": %3 in %2 entries")},
    {MessageId::PolicyViolated, QT_TRANSLATE_NOOP("MessageText", "the policy \"%1\" places \"%2\" on %3 but the map puts it on %4")},
    {MessageId::PolicyForbids, QT_TRANSLATE_NOOP("MessageText", "\"%2\" is on %3, which the policy \"%1\" forbids for it")},
    {MessageId::FixMoveToPolicy, QT_TRANSLATE_NOOP("MessageText", "move it to %1 or remove the policy")},
    {MessageId::FixCorrectPolicy, QT_TRANSLATE_NOOP("MessageText", "correct or remove the policy")},
};

// The loader's notes about a checkpoint; those with a count are in kLoaderPluralPatterns.
const std::pair<loader::NoteId, const char *> kLoaderPatterns[] = {
    {loader::NoteId::MetadataNoFormat, QT_TRANSLATE_NOOP("MessageText", "__metadata__ has no \"format\" entry (transformers expects \"pt\")")},
    {loader::NoteId::MetadataFormatNotPt,
     QT_TRANSLATE_NOOP("MessageText", "__metadata__ format is \"%1\", not \"pt\": the tensors may not be in PyTorch layout")},
    {loader::NoteId::MetadataNoFormatInFile, QT_TRANSLATE_NOOP("MessageText", "%1: __metadata__ has no \"format\" entry (transformers expects \"pt\")")},
    {loader::NoteId::MetadataFormatNotPtInFile,
     QT_TRANSLATE_NOOP("MessageText", "%1: __metadata__ format is \"%2\", not \"pt\": the tensors may not be in PyTorch layout")},
};

// The architecture registry's notes about a model; those with a count are in kModelsPluralPatterns.
const std::pair<models::NoteId, const char *> kModelsPatterns[] = {
    {models::NoteId::NoRepeatedBlocks, QT_TRANSLATE_NOOP("MessageText", "no repeated block structure found: no module class is kept whole")},
    {models::NoteId::NoSplitClassGuessed,
     QT_TRANSLATE_NOOP("MessageText", "unknown architecture: the no-split class \"%1\" is a guess from the repeated numbered blocks")},
    {models::NoteId::BareBaseModel,
     QT_TRANSLATE_NOOP("MessageText", "the checkpoint holds the bare base model: tensor names lack the \"%1.\" prefix of %2")},
    {models::NoteId::NoConfigJson, QT_TRANSLATE_NOOP("MessageText", "no config.json: module classes unknown, tree derived from tensor names")},
    {models::NoteId::LayoutNotFollowed,
     QT_TRANSLATE_NOOP("MessageText", "the checkpoint's tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): "
                                      "tree derived from tensor names")},
    {models::NoteId::ConfigNotOfFamily,
     QT_TRANSLATE_NOOP("MessageText", "config.json does not describe a %1 model (%2): tree derived from tensor names")},
    {models::NoteId::MixtralV4Layout,
     QT_TRANSLATE_NOOP("MessageText", "Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it")},
};

// Patterns whose wording follows a number: the message's first Count argument picks the plural form.
const std::pair<loader::NoteId, const char *> kLoaderPluralPatterns[] = {
    {loader::NoteId::MetadataNoFormatInShards,
     QT_TRANSLATE_N_NOOP("MessageText", "%1 shard(s) have no \"format\" in their __metadata__ (transformers expects \"pt\"): %2")},
    {loader::NoteId::MetadataNoFormatInShardsMore,
     QT_TRANSLATE_N_NOOP("MessageText", "%1 shard(s) have no \"format\" in their __metadata__ (transformers expects \"pt\"): %2 and %3 more")},
    {loader::NoteId::MetadataFormatNotPtInShards,
     QT_TRANSLATE_N_NOOP("MessageText", "__metadata__ format is \"%1\", not \"pt\", in %2 shard(s): %3; the tensors may not be in PyTorch layout")},
    {loader::NoteId::MetadataFormatNotPtInShardsMore,
     QT_TRANSLATE_N_NOOP("MessageText",
                         "__metadata__ format is \"%1\", not \"pt\", in %2 shard(s): %3 and %4 more; the tensors may not be in PyTorch layout")},
};

const std::pair<models::NoteId, const char *> kModelsPluralPatterns[] = {
    {models::NoteId::IgnoredBuffers,
     QT_TRANSLATE_N_NOOP("MessageText", "%1 non-persistent buffer(s) saved in the checkpoint (causal masks, rotary inv_freq) are ignored, "
                                        "as transformers does")},
    {models::NoteId::TensorsMissing, QT_TRANSLATE_N_NOOP("MessageText", "%1 tensor(s) of the model are missing from the checkpoint")},
    {models::NoteId::TensorsUnexpected, QT_TRANSLATE_N_NOOP("MessageText", "%1 checkpoint tensor(s) are not part of the model")},
    {models::NoteId::ShapesDiffer, QT_TRANSLATE_N_NOOP("MessageText", "%1 tensor shape(s) differ from config.json")},
};

QString translated(const char *source)
{
    return QCoreApplication::translate(kContext, source);
}


// Names (modules, classes, tensors) are left-to-right text: inside a right-to-left sentence they
// are isolated so "model.layers.0" keeps its order and its dots.
QString name(const std::string &text)
{
    return ltr(QString::fromStdString(text));
}

QString listSeparator()
{
    return QCoreApplication::translate("MessageText", ", ", "separates the items of a list of devices or names");
}

QString argText(const planner::MessageArg &arg, const DeviceLabeler &deviceLabel)
{
    auto device = [&](const planner::Device &d) {
        return deviceLabel ? deviceLabel(d) : QString::fromStdString(d.label());
    };
    switch (planner::kindOf(arg)) {
    case planner::MessageArgKind::Text:
        return name(std::get<std::string>(arg));
    case planner::MessageArgKind::Bytes:
        return formatBytes(static_cast<std::int64_t>(std::llround(std::get<planner::ByteCount>(arg).bytes)));
    case planner::MessageArgKind::Device:
        return device(std::get<planner::Device>(arg));
    case planner::MessageArgKind::Count:
        return QLocale().toString(static_cast<qlonglong>(std::get<std::int64_t>(arg)));
    case planner::MessageArgKind::Devices: {
        QStringList parts;
        for (const auto &d : std::get<std::vector<planner::Device>>(arg))
            parts << device(d);
        return parts.join(listSeparator());
    }
    case planner::MessageArgKind::Texts: {
        QStringList parts;
        for (const auto &t : std::get<std::vector<std::string>>(arg))
            parts << name(t);
        return parts.join(listSeparator());
    }
    }
    return {};
}

} // namespace

namespace {

// A library's patterns by id without a search (the GUI renders one explanation per module on every
// edit): plain ones, and those with plural forms picked by `count`.
template<typename Id>
QString patternOf(Id id, std::int64_t count, std::span<const std::pair<Id, const char *>> plain,
                  std::span<const std::pair<Id, const char *>> plural = {})
{
    struct Source {
        const char *text = nullptr;
        bool plural = false;
    };
    static const auto sources = [&] {
        std::array<Source, static_cast<std::size_t>(Id::Count)> table{};
        for (const auto &[key, source] : plain)
            table[static_cast<std::size_t>(key)] = {source, false};
        for (const auto &[key, source] : plural)
            table[static_cast<std::size_t>(key)] = {source, true};
        return table;
    }();
    const auto i = static_cast<std::size_t>(id);
    if (i >= sources.size() || !sources[i].text)
        return {};
    if (!sources[i].plural)
        return translated(sources[i].text);
    const int n = static_cast<int>(std::clamp<std::int64_t>(count, 0, std::numeric_limits<int>::max()));
    return QCoreApplication::translate(kContext, sources[i].text, nullptr, n);
}

// The first count of a message decides the plural form of the patterns that have them.
std::int64_t firstCount(const std::vector<planner::MessageArg> &args)
{
    for (const auto &arg : args)
        if (planner::kindOf(arg) == planner::MessageArgKind::Count)
            return std::get<std::int64_t>(arg);
    return kGeneralCount;
}

// The pattern with its arguments, in one pass, so a name that contains "%2" is never substituted again.
QString fill(const QString &pattern, const std::vector<planner::MessageArg> &args, const DeviceLabeler &deviceLabel)
{
    QString out;
    out.reserve(pattern.size() + 32);
    for (qsizetype i = 0; i < pattern.size(); ++i) {
        const QChar c = pattern.at(i);
        if (c == QLatin1Char('%') && i + 1 < pattern.size() && pattern.at(i + 1) >= QLatin1Char('1') && pattern.at(i + 1) <= QLatin1Char('9')) {
            const auto n = static_cast<std::size_t>(pattern.at(i + 1).unicode() - '1');
            if (n < args.size()) {
                out += argText(args[n], deviceLabel);
                ++i;
                continue;
            }
        }
        out += c;
    }
    return out;
}

} // namespace

QString messagePattern(MessageId id, std::int64_t count)
{
    return patternOf<MessageId>(id, count, kPatterns);
}

QString messagePattern(loader::NoteId id, std::int64_t count)
{
    return patternOf<loader::NoteId>(id, count, kLoaderPatterns, kLoaderPluralPatterns);
}

QString messagePattern(models::NoteId id, std::int64_t count)
{
    return patternOf<models::NoteId>(id, count, kModelsPatterns, kModelsPluralPatterns);
}

QString messageText(const planner::Message &message, const DeviceLabeler &deviceLabel)
{
    return fill(messagePattern(message.id, firstCount(message.args)), message.args, deviceLabel);
}

QString messageText(const loader::Note &note, const DeviceLabeler &deviceLabel)
{
    return fill(messagePattern(note.id, firstCount(note.args)), note.args, deviceLabel);
}

QString messageText(const models::Note &note, const DeviceLabeler &deviceLabel)
{
    return fill(messagePattern(note.id, firstCount(note.args)), note.args, deviceLabel);
}

QString messageText(const std::vector<planner::Message> &messages, const DeviceLabeler &deviceLabel)
{
    const QString sentenceSeparator = QCoreApplication::translate("MessageText", "; ", "separates the sentences of one explanation");
    QString out;
    QStringList details;
    auto closeDetails = [&] {
        if (details.isEmpty())
            return;
        out = QCoreApplication::translate("MessageText", "%1 (%2)", "an explanation followed by its details")
                  .arg(out, details.join(sentenceSeparator));
        details.clear();
    };
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const QString text = messageText(messages[i], deviceLabel);
        if (i == 0) {
            out = text;
            continue;
        }
        switch (planner::joinOf(messages[i].id)) {
        case planner::MessageJoin::Detail:
            details << text;
            break;
        case planner::MessageJoin::Sentence:
            closeDetails();
            out += sentenceSeparator + text;
            break;
        case planner::MessageJoin::ListItem:
            closeDetails();
            out += QStringLiteral("\n  • ") + text;
            break;
        case planner::MessageJoin::Line:
            closeDetails();
            out += QLatin1Char('\n') + text;
            break;
        }
    }
    closeDetails();
    return out;
}

} // namespace mizan::gui
