#pragma once

// Small presentation helpers shared by the GUI's views: sizes and counts in the user's locale,
// one stable colour per device.

#include <QColor>
#include <QIcon>
#include <QString>

#include <cstdint>

namespace mizan::gui {

// "1.5 GiB" in the current default locale (Arabic digits and unit names in Arabic).
QString formatBytes(std::int64_t bytes);
// "31.0 ms", "2.40 s", "850 us" in the current default locale.
QString formatSeconds(double seconds);
// "8,030,261,248" or "8.03 B" (compact) in the current default locale.
QString formatCount(std::int64_t count, bool compact = false);

// Left-to-right text (a path, a module name, an English detail) set inside a translated sentence:
// wrapped in LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE when the UI is right-to-left, so that
// "/models/x.json" keeps its slashes and order inside Arabic; unchanged in English.
QString ltr(const QString &text);

// Colours for device slots: GPUs in a qualitative palette, CPU grey-blue, disk brown.
enum class DeviceColorKind { Gpu, Cpu, Disk, Mps };
QColor deviceColor(DeviceColorKind kind, int gpuIndex);
// A lighter tint of a device colour for table backgrounds.
QColor deviceTint(const QColor &color);

// Drawn icons: a "play" triangle (run) and a "stop" square (cancel a run), mirrored by nothing.
QIcon runIcon();
QIcon stopIcon();

} // namespace mizan::gui
