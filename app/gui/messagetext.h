#pragma once

// The core's structured messages (the planner's placement reasons, plan warnings, validation
// issues, fixes and pin errors; the loader's and the registry's notes about a checkpoint) in the
// GUI's current language: one translatable pattern per id of each library's enum with
// %1..%n, arguments formatted per QLocale (sizes through formatBytes, devices through the
// caller's translated device label, module names verbatim and isolated left-to-right inside
// right-to-left text). Call again after a language switch: nothing is cached.

#include "loader/notes.h"
#include "models/notes.h"
#include "planner/message.h"

#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

namespace mizan::gui {

using DeviceLabeler = std::function<QString(const planner::Device &)>;

// The translated pattern of `id` ("fits on %1: needs %2"); empty when the GUI has none. Patterns
// that mention a number of things ("%1 tensor(s) ...", the checkpoint notes) have plural forms:
// `count` picks one (messageText passes the message's first Count argument); without it, the
// form for kGeneralCount things.
constexpr std::int64_t kGeneralCount = 100;
QString messagePattern(planner::MessageId id, std::int64_t count = kGeneralCount);
QString messagePattern(loader::NoteId id, std::int64_t count = kGeneralCount);
QString messagePattern(models::NoteId id, std::int64_t count = kGeneralCount);

// One message; `deviceLabel` names devices (Document::deviceLabel).
QString messageText(const planner::Message &message, const DeviceLabeler &deviceLabel);
QString messageText(const loader::Note &note, const DeviceLabeler &deviceLabel);
QString messageText(const models::Note &note, const DeviceLabeler &deviceLabel);
// Several messages as one text, joined like planner::toEnglish (sentences, a parenthesis of
// details, list items, lines) with the current language's punctuation.
QString messageText(const std::vector<planner::Message> &messages, const DeviceLabeler &deviceLabel);

} // namespace mizan::gui
