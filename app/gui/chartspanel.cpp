#include "chartspanel.h"

#include "document.h"
#include "guiformat.h"

#include <qcustomplot.h>

#include <QDragMoveEvent>
#include <QDropEvent>
#include <QEvent>
#include <QMimeData>
#include <QHBoxLayout>
#include <QFontMetrics>
#include <QLabel>
#include <QResizeEvent>
#include <QStackedWidget>
#include <QSplitter>
#include <QToolTip>

#include <algorithm>
#include <map>

namespace mizan::gui {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;

QCustomPlot *makePlot(QWidget *parent)
{
    auto *plot = new QCustomPlot(parent);
    plot->setMinimumHeight(180);
    plot->setNoAntialiasingOnDrag(true);
    plot->setBackground(plot->palette().base());
    plot->legend->setVisible(false);
    // The legend sits in its own row above the axes, so it never hides a bar.
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(0, 0.001);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setWrap(4);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setMargins(QMargins(2, 0, 2, 0));
    plot->axisRect()->setupFullAxesBox(false);
    plot->xAxis2->setVisible(false);
    plot->yAxis2->setVisible(false);
    QObject::connect(plot->yAxis, qOverload<const QCPRange &>(&QCPAxis::rangeChanged), plot->yAxis2,
                     qOverload<const QCPRange &>(&QCPAxis::setRange));
    return plot;
}

QCPScatterStyle limitMarker()
{
    QPainterPath path;
    // Custom scatter paths are scaled by size / 6: this is a 36 px wide line.
    path.moveTo(-3, 0);
    path.lineTo(3, 0);
    QPen pen(QColor(0xc0, 0x20, 0x20), 2.5);
    pen.setCosmetic(true); // not scaled with the path
    QCPScatterStyle style(path, pen, Qt::NoBrush, 36);
    return style;
}

} // namespace

ChartsPanel::ChartsPanel(Document *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_stack = new QStackedWidget(this);
    m_placeholder = new QLabel(m_stack);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setEnabled(false);
    m_placeholder->setWordWrap(true);
    auto *splitter = new QSplitter(Qt::Horizontal, m_stack);
    m_devices = makePlot(splitter);
    m_devices->setObjectName(QStringLiteral("deviceChart"));
    m_layers = makePlot(splitter);
    m_layers->setObjectName(QStringLiteral("layerChart"));
    splitter->addWidget(m_devices);
    splitter->addWidget(m_layers);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({500, 500});
    m_stack->addWidget(m_placeholder);
    m_stack->addWidget(splitter);
    layout->addWidget(m_stack);

    // Rows dragged from the module tree can be dropped on a device's bar.
    m_devices->setAcceptDrops(true);
    m_devices->installEventFilter(this);
    m_layers->setInteraction(QCP::iSelectPlottables, true);
    connect(m_layers, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable *plottable, int dataIndex, QMouseEvent *) {
        auto *bars = qobject_cast<QCPBars *>(plottable);
        if (!bars || dataIndex < 0 || dataIndex >= bars->data()->size())
            return;
        const int key = static_cast<int>(std::lround((bars->data()->begin() + dataIndex)->key));
        if (key >= 0 && key < m_layerKeys.size())
            Q_EMIT moduleActivated(m_layerKeys[key]);
    });
    connect(m_layers, &QCustomPlot::mouseMove, this, &ChartsPanel::showLayerTip);
    connect(m_devices, &QCustomPlot::afterLayout, this, &ChartsPanel::fitDeviceRange);
    connect(m_document, &Document::mapChanged, this, &ChartsPanel::refresh);
    refresh();
}

void ChartsPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange || event->type() == QEvent::LayoutDirectionChange)
        refresh();
    QWidget::changeEvent(event);
}

std::optional<planner::Device> ChartsPanel::deviceAt(const QPoint &pos) const
{
    const long x = std::lround(m_devices->xAxis->pixelToCoord(pos.x()));
    if (x < 1 || x > static_cast<long>(m_barDevices.size()))
        return std::nullopt;
    return m_barDevices[static_cast<std::size_t>(x - 1)];
}

bool ChartsPanel::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != m_devices)
        return QWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::DragEnter:
    case QEvent::DragMove: {
        auto *drag = static_cast<QDragMoveEvent *>(event);
        const bool ok = drag->mimeData()->hasFormat(QString::fromLatin1(ModuleTreeModel::kModulesMime))
            && deviceAt(drag->position().toPoint()).has_value();
        if (ok)
            drag->acceptProposedAction();
        else
            drag->ignore();
        return true;
    }
    case QEvent::Drop: {
        auto *drop = static_cast<QDropEvent *>(event);
        const auto device = deviceAt(drop->position().toPoint());
        const auto ids = ModuleTreeModel::modulesFromMime(drop->mimeData());
        if (device && !ids.empty()) {
            m_document->setModulesDevice(ids, *device);
            drop->acceptProposedAction();
        }
        return true;
    }
    case QEvent::Resize:
        // Labels are chosen for the width: a narrower chart gets shorter ones.
        if (static_cast<QResizeEvent *>(event)->size().width() != static_cast<QResizeEvent *>(event)->oldSize().width()
            && m_stack->currentIndex() == 1)
            refreshDevices();
        return QWidget::eventFilter(watched, event);
    default:
        return QWidget::eventFilter(watched, event);
    }
}

void ChartsPanel::refresh()
{
    m_placeholder->setText(tr("The charts show the plan: memory per device against its limit, and every map entry's size in execution order."));
    const bool planned = !m_document->deviceMap().empty();
    m_stack->setCurrentIndex(planned ? 1 : 0);
    if (!planned)
        return;
    refreshDevices();
    refreshLayers();
}

void ChartsPanel::applyDirection(QCustomPlot *plot)
{
    // Mirrored for right-to-left: categories run from the right, the value axis sits on the
    // right; numbers themselves stay left-to-right.
    const bool rtl = layoutDirection() == Qt::RightToLeft;
    plot->setLocale(QLocale());
    plot->xAxis->setRangeReversed(rtl);
    plot->yAxis->setVisible(!rtl);
    plot->yAxis2->setVisible(rtl);
    plot->yAxis2->setTickLabels(true);
    plot->yAxis2->setLabel(plot->yAxis->label());
    plot->yAxis2->setRange(plot->yAxis->range());
    plot->legend->setFont(font());
}

void ChartsPanel::refreshDevices()
{
    QCustomPlot *plot = m_devices;
    plot->clearPlottables();
    plot->clearItems();
    plot->legend->clearItems();
    m_barDevices.clear();
    const auto usage = m_document->currentUsage();
    const planner::Plan *plan = m_document->plan();
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    QCPGraph *limits = nullptr;
    // GiB on the axis, or MiB when every bar and limit is under 1 GiB (small simulated devices).
    double maxBytes = 0;
    for (const auto &u : usage) {
        double stacked = u.plannedBytes + static_cast<double>(u.headroomBytes);
        if (plan)
            if (const auto *planned = plan->usageOf(u.device))
                stacked += static_cast<double>(planned->reservedLargestLayerBytes);
        maxBytes = std::max(maxBytes, stacked);
    }
    for (const auto &d : m_document->devices())
        maxBytes = std::max(maxBytes, static_cast<double>(d.limitBytes));
    const double unit = maxBytes >= kGiB ? kGiB : kMiB;
    double top = 1.0;
    bool legendPlanned = false;
    // How much room a bar has: the full labels ("GPU 0 (simulated)", "21.08 GiB of 24.00 GiB")
    // when they fit, the short ones when the chart is narrow or the devices many.
    int bars = 0;
    for (const auto &u : usage)
        bars += u.device.kind == planner::DeviceKind::Disk && u.moduleCount == 0 ? 0 : 1;
    // The axis rect of the last layout, or an estimate before the first one; 90% of a bar's share.
    const int axisWidth = plot->axisRect()->width() > 50 ? plot->axisRect()->width() : plot->width() - 70;
    const double slot = 0.9 * std::max(1, axisWidth) / static_cast<double>(std::max(1, bars));
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.8);
    const QFontMetrics tickMetrics(font()), labelMetrics(small);
    bool ticksTooWide = false;
    auto widest = [](const QFontMetrics &metrics, const QString &text) {
        int w = 0;
        for (const QString &line : text.split(QLatin1Char('\n')))
            w = std::max(w, metrics.horizontalAdvance(line));
        return w;
    };
    // Words moved to new lines so that no line is wider than the slot ("معالج\nرسوميات ٠").
    auto wrapped = [&](const QFontMetrics &metrics, const QString &text) {
        QStringList lines;
        for (const QString &word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
            if (!lines.isEmpty() && metrics.horizontalAdvance(lines.back() + QLatin1Char(' ') + word) < 0.8 * slot)
                lines.back() += QLatin1Char(' ') + word;
            else
                lines << word;
        }
        return lines.join(QLatin1Char('\n'));
    };
    int x = 0;
    for (const auto &u : usage) {
        const planner::Device &device = u.device;
        const double planned = u.plannedBytes;
        const std::int64_t limit = u.budgetBytes;
        if (device.kind == planner::DeviceKind::Disk && u.moduleCount == 0)
            continue; // disk shown only when used
        ++x;
        m_barDevices.push_back(device);
        const QString fullTick = m_document->deviceLabel(device).replace(QStringLiteral(" ("), QStringLiteral("\n("));
        const QString tick = widest(tickMetrics, fullTick) < slot ? fullTick : wrapped(tickMetrics, m_document->deviceLabel(device));
        ticker->addTick(x, tick);
        ticksTooWide = ticksTooWide || widest(tickMetrics, tick) >= slot; // a word such as "(simulated)" wider than a bar's room
        // The headroom of this map (as validation checks it); the largest-layer reserve is the plan's.
        const std::int64_t headroom = u.headroomBytes;
        std::int64_t reserve = 0;
        if (plan)
            if (const auto *planned = plan->usageOf(device))
                reserve = planned->reservedLargestLayerBytes;
        auto *p = new QCPBars(plot->xAxis, plot->yAxis);
        p->setWidth(0.6);
        p->setPen(QPen(m_document->deviceColor(device).darker(140)));
        p->setBrush(m_document->deviceColor(device));
        p->addData(x, planned / unit);
        p->setName(tr("planned weights"));
        if (legendPlanned)
            p->removeFromLegend();
        legendPlanned = true;
        auto *r = new QCPBars(plot->xAxis, plot->yAxis);
        r->setWidth(0.6);
        r->setPen(QPen(QColor(0x60, 0x60, 0x60)));
        r->setBrush(QBrush(QColor(0x60, 0x60, 0x60), Qt::BDiagPattern));
        r->moveAbove(p);
        r->addData(x, static_cast<double>(reserve) / unit);
        r->setName(tr("largest-layer reserve"));
        auto *h = new QCPBars(plot->xAxis, plot->yAxis);
        h->setWidth(0.6);
        h->setPen(QPen(QColor(0xd0, 0x90, 0x30)));
        h->setBrush(QColor(0xf6, 0xd8, 0xa8));
        h->moveAbove(r);
        h->addData(x, static_cast<double>(headroom) / unit);
        h->setName(tr("runtime headroom"));
        if (x > 1) {
            r->removeFromLegend();
            h->removeFromLegend();
        }
        double stack = (planned + static_cast<double>(reserve + headroom)) / unit;
        top = std::max(top, stack);
        // "21.3 / 24.0 GiB" above the bar: planned against the limit in numbers.
        auto *label = new QCPItemText(plot);
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(x, std::max(stack, limit >= 0 ? static_cast<double>(limit) / unit : 0.0));
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->setPadding(QMargins(0, 0, 0, 4));
        label->setFont(small);
        const QString fullLabel = limit >= 0 ? tr("%1\nof %2").arg(formatBytes(static_cast<std::int64_t>(planned)), formatBytes(limit)) : formatBytes(static_cast<std::int64_t>(planned));
        label->setText(widest(labelMetrics, fullLabel) < slot ? fullLabel
                       : widest(labelMetrics, formatBytes(static_cast<std::int64_t>(planned))) < slot ? formatBytes(static_cast<std::int64_t>(planned)) : QString());
        if (limit >= 0) {
            if (!limits) {
                limits = plot->addGraph(plot->xAxis, plot->yAxis);
                limits->setLineStyle(QCPGraph::lsNone);
                limits->setScatterStyle(limitMarker());
                limits->setName(tr("limit"));
            }
            limits->addData(x, static_cast<double>(limit) / unit);
            top = std::max(top, static_cast<double>(limit) / unit);
        }
    }
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setTickLabelFont(ticksTooWide ? small : font()); // neighbours' labels never run together
    plot->xAxis->setSubTicks(false);
    plot->xAxis->setTickLength(0, 3);
    plot->xAxis->grid()->setVisible(false);
    plot->xAxis->setRange(0.4, x + 0.6);
    plot->xAxis->setLabel(QString());
    plot->yAxis->setLabel(unit == kGiB ? tr("GiB") : tr("MiB"));
    m_deviceTop = top;
    m_labelPixels = 2 * labelMetrics.height() + 8;
    fitDeviceRange();
    plot->legend->setWrap(2); // two rows of two: readable in a narrow dock
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    plot->legend->setVisible(x > 0);
        applyDirection(plot);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

// Room above the tallest bar for its label (two lines of the small font and its padding) at the
// chart's height in pixels, set again after every layout: a fixed share of the range clipped the
// label in a short dock.
void ChartsPanel::fitDeviceRange()
{
    const double height = m_devices->axisRect()->height();
    const double share = height > 0 ? std::clamp(m_labelPixels / height, 0.23, 0.6) : 0.23;
    m_devices->yAxis->setRange(0, m_deviceTop / (1 - share));
}

void ChartsPanel::refreshLayers()
{
    QCustomPlot *plot = m_layers;
    plot->clearPlottables();
    plot->legend->clearItems();
    m_layerKeys.clear();
    const auto &map = m_document->deviceMap();
    // Every key's bytes as validation counts them (tensor keys included).
    std::vector<double> bytes = m_document->keyBytes();
    bytes.resize(map.size(), 0.0);
    double maxBytes = 0;
    for (std::size_t i = 0; i < map.size(); ++i) {
        m_layerKeys << QString::fromStdString(map[i].first);
        maxBytes = std::max(maxBytes, bytes[i]);
    }
    m_layerUnit = maxBytes >= kGiB ? kGiB : kMiB;
    std::map<planner::Device, QCPBars *> barsOf;
    for (std::size_t i = 0; i < map.size(); ++i) {
        const auto &device = map[i].second;
        QCPBars *&bars = barsOf[device];
        if (!bars) {
            bars = new QCPBars(plot->xAxis, plot->yAxis);
            bars->setWidth(0.8);
            bars->setPen(Qt::NoPen);
            bars->setBrush(m_document->deviceColor(device));
            bars->setName(m_document->shortDeviceLabel(device));
            bars->setSelectable(QCP::stSingleData);
        }
        bars->addData(static_cast<double>(i), bytes[i] / m_layerUnit);
    }
    auto fixed = QSharedPointer<QCPAxisTickerFixed>::create();
    fixed->setTickStep(1.0);
    fixed->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(fixed);
    plot->xAxis->setLabel(tr("map entries in execution order"));
    plot->yAxis->setLabel(m_layerUnit == kGiB ? tr("GiB") : tr("MiB"));
    plot->xAxis->setRange(-1, std::max<double>(1.0, static_cast<double>(map.size())));
    plot->yAxis->setRange(0, std::max(1e-3, maxBytes / m_layerUnit * 1.1));
    // One legend entry per device, two a row, so that long (Arabic) device names fit a narrow dock.
    plot->legend->setWrap(2);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    plot->legend->setVisible(!map.empty());
    applyDirection(plot);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

void ChartsPanel::showLayerTip(QMouseEvent *event)
{
    const double x = m_layers->xAxis->pixelToCoord(event->position().x());
    const int key = static_cast<int>(std::lround(x));
    if (key < 0 || key >= m_layerKeys.size()) {
        QToolTip::hideText();
        return;
    }
    const auto &map = m_document->deviceMap();
    const QString device = m_document->deviceLabel(map[static_cast<std::size_t>(key)].second);
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1 on %2").arg(m_layerKeys[key], device), m_layers);
}

} // namespace mizan::gui
