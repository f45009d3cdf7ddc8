#include "settings.h"

#include <QSettings>

#include <exception>

namespace mizan::gui {

QString encodeDevice(const DeviceSetting &d)
{
    return QStringList{QString::fromStdString(d.device.toString()), QString::number(d.limitBytes),
                       QString::number(d.simulated ? 1 : 0), d.label, QString::number(d.capacityBytes)}
        .join(QLatin1Char('|'));
}

DeviceSetting decodeDevice(const QString &entry)
{
    const QStringList f = entry.split(QLatin1Char('|'));
    if (f.size() < 3)
        throw std::invalid_argument("too few fields");
    return {planner::Device::fromString(f[0].toStdString()), f[1].toLongLong(), f[2] == QLatin1String("1"),
            f.size() > 3 ? f[3] : QString(), f.size() > 4 ? f[4].toLongLong() : -1};
}

SavedSettings loadSavedSettings()
{
    QSettings s;
    SavedSettings out;
    out.recentFiles = s.value(QStringLiteral("recentFiles")).toStringList();
    for (const QString &entry : s.value(QStringLiteral("devices")).toStringList()) {
        try {
            out.devices.push_back(decodeDevice(entry));
        } catch (const std::exception &) {
            qWarning("mizan: ignoring saved device %s", qPrintable(entry));
        }
    }
    out.headroomTokens = s.value(QStringLiteral("headroomTokens"), 0).toLongLong();
    out.headroomBatch = s.value(QStringLiteral("headroomBatch"), 1).toLongLong();
    out.language = s.value(QStringLiteral("language"), QStringLiteral("en")).toString();
    return out;
}

void saveSettings(const SavedSettings &settings)
{
    QSettings s;
    s.setValue(QStringLiteral("recentFiles"), settings.recentFiles);
    QStringList devices;
    for (const auto &d : settings.devices)
        devices << encodeDevice(d);
    s.setValue(QStringLiteral("devices"), devices);
    s.setValue(QStringLiteral("headroomTokens"), settings.headroomTokens);
    s.setValue(QStringLiteral("headroomBatch"), settings.headroomBatch);
}

} // namespace mizan::gui
