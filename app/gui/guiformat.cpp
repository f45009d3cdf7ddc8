#include "guiformat.h"

#include <QPainter>
#include <QPixmap>

#include <functional>

#include <QCoreApplication>
#include <QLocale>

#include <algorithm>
#include <array>
#include <cmath>

namespace mizan::gui {

QString ltr(const QString &text)
{
    if (QLocale().textDirection() != Qt::RightToLeft || text.isEmpty())
        return text;
    return QChar(0x2066) + text + QChar(0x2069);
}

QString formatBytes(std::int64_t bytes)
{
    const QLocale locale;
    const double b = static_cast<double>(bytes);
    const double a = std::abs(b);
    if (a < 1024.0)
        return QCoreApplication::translate("Format", "%1 B").arg(locale.toString(bytes));
    if (a < 1024.0 * 1024.0)
        return QCoreApplication::translate("Format", "%1 KiB").arg(locale.toString(b / 1024.0, 'f', 1));
    if (a < 1024.0 * 1024.0 * 1024.0)
        return QCoreApplication::translate("Format", "%1 MiB").arg(locale.toString(b / (1024.0 * 1024.0), 'f', 1));
    if (a < 1024.0 * 1024.0 * 1024.0 * 1024.0)
        return QCoreApplication::translate("Format", "%1 GiB").arg(locale.toString(b / (1024.0 * 1024.0 * 1024.0), 'f', 2));
    return QCoreApplication::translate("Format", "%1 TiB").arg(locale.toString(b / (1024.0 * 1024.0 * 1024.0 * 1024.0), 'f', 2));
}

QString formatSeconds(double seconds)
{
    const QLocale locale;
    if (seconds >= 1)
        return QCoreApplication::translate("Format", "%1 s").arg(locale.toString(seconds, 'f', 2));
    if (seconds >= 1e-3)
        return QCoreApplication::translate("Format", "%1 ms").arg(locale.toString(seconds * 1e3, 'f', seconds >= 0.1 ? 0 : 1));
    return QCoreApplication::translate("Format", "%1 us").arg(locale.toString(seconds * 1e6, 'f', 0));
}

QString formatCount(std::int64_t count, bool compact)
{
    const QLocale locale;
    if (!compact || count < 10000)
        return locale.toString(static_cast<qlonglong>(count));
    const double c = static_cast<double>(count);
    if (c < 1e6)
        return QCoreApplication::translate("Format", "%1 K").arg(locale.toString(c / 1e3, 'f', 1));
    if (c < 1e9)
        return QCoreApplication::translate("Format", "%1 M").arg(locale.toString(c / 1e6, 'f', 1));
    return QCoreApplication::translate("Format", "%1 B", "billions of parameters").arg(locale.toString(c / 1e9, 'f', 2));
}

QColor deviceColor(DeviceColorKind kind, int gpuIndex)
{
    // Qualitative palette that stays distinct for eight GPUs and readable with dark text.
    static const std::array<QColor, 8> gpu = {
        QColor(0x4e, 0x79, 0xa7), QColor(0x59, 0xa1, 0x4f), QColor(0xf2, 0x8e, 0x2b), QColor(0xb0, 0x7a, 0xa1),
        QColor(0x76, 0xb7, 0xb2), QColor(0xed, 0xc9, 0x48), QColor(0xe1, 0x57, 0x59), QColor(0xff, 0x9d, 0xa7),
    };
    switch (kind) {
    case DeviceColorKind::Gpu:
        return gpu[static_cast<std::size_t>(std::max(0, gpuIndex)) % gpu.size()];
    case DeviceColorKind::Cpu:
        return QColor(0x9a, 0xa5, 0xb1);
    case DeviceColorKind::Disk:
        return QColor(0x9c, 0x75, 0x5f);
    case DeviceColorKind::Mps:
        return QColor(0xba, 0xb0, 0xac);
    }
    return QColor(Qt::gray);
}

QColor deviceTint(const QColor &color)
{
    QColor c = color;
    c.setAlpha(255);
    return QColor::fromRgbF(0.65f * 1.0f + 0.35f * c.redF(), 0.65f * 1.0f + 0.35f * c.greenF(),
                            0.65f * 1.0f + 0.35f * c.blueF());
}

namespace {

QIcon drawnIcon(const std::function<void(QPainter &)> &draw)
{
    QIcon icon;
    for (int size : {16, 24, 32, 48}) {
        QPixmap pixmap(size, size);
        pixmap.fill(Qt::transparent);
        QPainter p(&pixmap);
        p.setRenderHint(QPainter::Antialiasing);
        p.scale(size / 32.0, size / 32.0);
        draw(p);
        icon.addPixmap(pixmap);
    }
    return icon;
}

} // namespace

QIcon runIcon()
{
    return drawnIcon([](QPainter &p) {
        p.setPen(QPen(QColor(0x1d, 0x5c, 0x39), 1.5));
        p.setBrush(QColor(0x2e, 0x8b, 0x57));
        const QPointF triangle[] = {{9, 5}, {27, 16}, {9, 27}};
        p.drawPolygon(triangle, 3);
    });
}

QIcon stopIcon()
{
    return drawnIcon([](QPainter &p) {
        p.setPen(QPen(QColor(0x7a, 0x1f, 0x1f), 1.5));
        p.setBrush(QColor(0xb0, 0x30, 0x30));
        p.drawRoundedRect(QRectF(8, 8, 16, 16), 2, 2);
    });
}

} // namespace mizan::gui
