#include "liveview.h"

#include "guiformat.h"

#include <qcustomplot.h>

#include <QCoreApplication>
#include <QEvent>
#include <QFontMetricsF>
#include <QHelpEvent>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QScrollArea>
#include <QTransform>
#include <QSplitter>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace mizan::gui {

namespace {

constexpr double kPad = 6.0;
constexpr double kLaneGap = 6.0;

QColor colorOf(const planner::Device &d)
{
    switch (d.kind) {
    case planner::DeviceKind::Gpu:
        return deviceColor(DeviceColorKind::Gpu, d.index);
    case planner::DeviceKind::Cpu:
        return deviceColor(DeviceColorKind::Cpu, 0);
    case planner::DeviceKind::Disk:
        return deviceColor(DeviceColorKind::Disk, 0);
    case planner::DeviceKind::Mps:
        return deviceColor(DeviceColorKind::Mps, 0);
    }
    return QColor(Qt::gray);
}

QColor mix(const QColor &a, const QColor &b, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromRgbF(static_cast<float>(a.redF() + (b.redF() - a.redF()) * t),
                            static_cast<float>(a.greenF() + (b.greenF() - a.greenF()) * t),
                            static_cast<float>(a.blueF() + (b.blueF() - a.blueF()) * t),
                            static_cast<float>(a.alphaF() + (b.alphaF() - a.alphaF()) * t));
}

double easeInOut(double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return t < 0.5 ? 2 * t * t : 1 - std::pow(-2 * t + 2, 2) / 2;
}

QFont smallFont(const QFont &font)
{
    QFont f = font;
    f.setPointSizeF(std::max(6.0, f.pointSizeF() * 0.82));
    return f;
}

// A trailing run of digits after a dot: "model.layers.20" -> ("model.layers", 20).
bool splitNumbered(const QString &name, QString &stem, int &number)
{
    const int dot = static_cast<int>(name.lastIndexOf(QLatin1Char('.')));
    if (dot <= 0 || dot + 1 >= name.size())
        return false;
    bool ok = false;
    const int n = name.mid(dot + 1).toInt(&ok);
    if (!ok || n < 0 || name.at(dot + 1) == QLatin1Char('+'))
        return false;
    stem = name.left(dot);
    number = n;
    return true;
}

// How many trailing components of a dotted name fit `room` (0: not even the last).
int fittingKeep(const std::string &name, const QFontMetricsF &metrics, double room)
{
    const QStringList parts = QString::fromStdString(name).split(QLatin1Char('.'));
    for (int keep = static_cast<int>(parts.size()); keep >= 1; --keep)
        if (metrics.horizontalAdvance(parts.mid(parts.size() - keep).join(QLatin1Char('.'))) <= room)
            return keep;
    return 0;
}

// The name as it fits `room`: "model.layers.20", "layers.20", "20", or nothing.
QString fittingName(const std::string &name, const QFontMetricsF &metrics, double room)
{
    const int keep = fittingKeep(name, metrics, room);
    if (keep == 0)
        return {};
    const QStringList parts = QString::fromStdString(name).split(QLatin1Char('.'));
    return parts.mid(parts.size() - keep).join(QLatin1Char('.'));
}

} // namespace

// The painted part: lanes, blocks, gauges, flights. The view owns the state and paints it.
class LaneCanvas : public QWidget {
public:
    explicit LaneCanvas(LiveView *view)
        : QWidget(view)
        , m_view(view)
    {
        setAttribute(Qt::WA_OpaquePaintEvent);
        setMouseTracking(false);
    }
    QSize sizeHint() const override { return {720, minimumHeight()}; }

protected:
    void paintEvent(QPaintEvent *) override;
    void resizeEvent(QResizeEvent *event) override
    {
        QWidget::resizeEvent(event);
        m_view->relayout();
    }
    void changeEvent(QEvent *event) override
    {
        if (event->type() == QEvent::LayoutDirectionChange || event->type() == QEvent::FontChange
            || event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange)
            m_view->relayout();
        QWidget::changeEvent(event);
    }
    bool event(QEvent *event) override
    {
        if (event->type() == QEvent::ToolTip) {
            auto *help = static_cast<QHelpEvent *>(event);
            const QString tip = m_view->toolTipAt(help->pos());
            if (tip.isEmpty())
                QToolTip::hideText();
            else
                QToolTip::showText(help->globalPos(), tip, this);
            return true;
        }
        return QWidget::event(event);
    }

private:
    LiveView *m_view;
};

// ---- construction ------------------------------------------------------------------------------

LiveView::LiveView(QWidget *parent)
    : QWidget(parent)
{
    m_clock.start();
    m_timer = new QTimer(this);
    m_timer->setInterval(25); // 40 Hz; stops when nothing moves
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &LiveView::tick);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    m_scroll = new QScrollArea(splitter);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_canvas = new LaneCanvas(this);
    m_canvas->setObjectName(QStringLiteral("liveLanes"));
    m_scroll->setWidget(m_canvas);

    auto *bottom = new QWidget(splitter);
    auto *bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(bottom);
    m_plot->setObjectName(QStringLiteral("liveTimeline"));
    m_plot->setMinimumHeight(150);
    m_plot->setBackground(palette().base());
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(0, 0.001);
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_plot->legend->setWrap(4);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setMargins(QMargins(2, 0, 2, 0));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->setupFullAxesBox(false);
    m_plot->xAxis2->setVisible(false);
    m_plot->yAxis2->setVisible(false);
    m_summary = new QLabel(bottom);
    m_summary->setObjectName(QStringLiteral("liveSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setContentsMargins(6, 2, 6, 4);
    m_summary->hide();
    bottomLayout->addWidget(m_plot, 1);
    bottomLayout->addWidget(m_summary, 0);
    splitter->addWidget(m_scroll);
    splitter->addWidget(bottom);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({600, 400});
    layout->addWidget(splitter);

    setLanes({});
}

LiveView::~LiveView() = default;

QWidget *LiveView::canvas() const
{
    return m_canvas;
}

// ---- names and matching -------------------------------------------------------------------------

bool LiveView::concerns(std::string_view item, std::string_view eventModule)
{
    if (item.empty() || eventModule.empty() || item == eventModule)
        return true;
    if (item.size() < eventModule.size())
        return eventModule.substr(0, item.size()) == item && eventModule[item.size()] == '.';
    return item.substr(0, eventModule.size()) == eventModule && item[eventModule.size()] == '.';
}

QString LiveView::compactNames(const QStringList &names)
{
    // Consecutive numbered names with one stem become "stem.first–last".
    QStringList groups;
    QString stem, previousStem;
    int first = -1, last = -1, number = 0;
    auto flush = [&]() {
        if (first < 0)
            return;
        const QLocale c = QLocale::c();
        groups << (first == last ? QStringLiteral("%1.%2").arg(previousStem, c.toString(first))
                                 : QStringLiteral("%1.%2\u2013%3").arg(previousStem, c.toString(first), c.toString(last)));
        first = last = -1;
    };
    for (const QString &name : names) {
        if (splitNumbered(name, stem, number)) {
            if (first >= 0 && stem == previousStem && number == last + 1) {
                last = number;
                continue;
            }
            flush();
            previousStem = stem;
            first = last = number;
            continue;
        }
        flush();
        groups << name;
    }
    flush();
    constexpr int kMaxGroups = 4;
    const bool more = groups.size() > kMaxGroups;
    if (more)
        groups = groups.mid(0, kMaxGroups);
    for (QString &g : groups)
        g = ltr(g);
    QString out = groups.join(QCoreApplication::translate("MessageText", ", ", "separates the items of a list of devices or names"));
    if (more)
        out += QCoreApplication::translate("MessageText", ", ", "separates the items of a list of devices or names") + QStringLiteral("\u2026");
    return out;
}

int LiveView::intern(const std::string &name)
{
    auto it = m_ids.find(name);
    if (it != m_ids.end())
        return it->second;
    const int id = static_cast<int>(m_names.size());
    m_ids.emplace(name, id);
    m_names.push_back(name);
    m_concerned.emplace_back();
    m_concernedKnown.push_back(0);
    return id;
}

const std::vector<int> &LiveView::blocksConcerned(int moduleId)
{
    auto &known = m_concernedKnown[static_cast<std::size_t>(moduleId)];
    auto &list = m_concerned[static_cast<std::size_t>(moduleId)];
    if (!known) {
        const std::string &name = m_names[static_cast<std::size_t>(moduleId)];
        for (std::size_t b = 0; b < m_blocks.size(); ++b)
            if (concerns(m_names[static_cast<std::size_t>(m_blocks[b].moduleId)], name))
                list.push_back(static_cast<int>(b));
        known = 1;
    }
    return list;
}

QStringList LiveView::itemsConcerned(const QString &eventModule) const
{
    QStringList out;
    const std::string name = eventModule.toStdString();
    for (const Block &b : m_blocks) {
        const std::string &item = m_names[static_cast<std::size_t>(b.moduleId)];
        if (concerns(item, name))
            out << QString::fromStdString(item);
    }
    return out;
}

int LiveView::laneOf(const planner::Device &d, int group) const
{
    for (std::size_t i = 0; i < m_lanes.size(); ++i)
        if (m_lanes[i].setup.device == d && (group < 0 || m_lanes[i].setup.group == group))
            return static_cast<int>(i);
    return -1;
}

QString LiveView::laneName(int lane) const
{
    if (lane < 0 || lane >= static_cast<int>(m_lanes.size()))
        return tr("another device");
    const Lane &l = m_lanes[static_cast<std::size_t>(lane)];
    const QString name = l.setup.simulated ? tr("%1 (simulated)", "a simulated GPU").arg(l.label) : l.label;
    const int g = l.setup.group;
    if (g < 0 || g >= static_cast<int>(m_groups.size()) || m_groups[static_cast<std::size_t>(g)].name.isEmpty())
        return name;
    return tr("%1: %2", "a host and one of its devices").arg(m_groups[static_cast<std::size_t>(g)].name, name);
}

QString LiveView::groupTitle(int group) const
{
    return group >= 0 && group < groupCount() ? m_groups[static_cast<std::size_t>(group)].title : QString();
}

QRectF LiveView::groupHeaderRect(int group) const
{
    return group >= 0 && group < static_cast<int>(m_groupHeaders.size()) ? m_groupHeaders[static_cast<std::size_t>(group)] : QRectF();
}

int LiveView::laneGroup(int lane) const
{
    return lane >= 0 && lane < laneCount() ? m_lanes[static_cast<std::size_t>(lane)].setup.group : -1;
}

planner::Device LiveView::laneDevice(int lane) const
{
    return lane >= 0 && lane < laneCount() ? m_lanes[static_cast<std::size_t>(lane)].setup.device : planner::Device::cpu();
}

QStringList LiveView::laneModules(int lane) const
{
    QStringList out;
    if (lane < 0 || lane >= laneCount())
        return out;
    const Lane &l = m_lanes[static_cast<std::size_t>(lane)];
    for (int i = 0; i < l.blockCount; ++i)
        out << QString::fromStdString(m_names[static_cast<std::size_t>(m_blocks[static_cast<std::size_t>(l.firstBlock + i)].moduleId)]);
    return out;
}

int LiveView::blockRuns(int lane, int block) const
{
    if (lane < 0 || lane >= laneCount())
        return 0;
    const Lane &l = m_lanes[static_cast<std::size_t>(lane)];
    return block >= 0 && block < l.blockCount ? m_blocks[static_cast<std::size_t>(l.firstBlock + block)].runs : 0;
}

int LiveView::laneCount() const
{
    return static_cast<int>(m_lanes.size());
}

QRectF LiveView::blockRect(int lane, int block) const
{
    if (lane < 0 || lane >= laneCount())
        return {};
    const Lane &l = m_lanes[static_cast<std::size_t>(lane)];
    if (block < 0 || block >= l.blockCount)
        return {};
    return m_blocks[static_cast<std::size_t>(l.firstBlock + block)].rect;
}

// ---- setup --------------------------------------------------------------------------------------

void LiveView::clear()
{
    setLanes({});
}

void LiveView::setGroups(std::vector<LaneGroup> groups)
{
    m_groups = std::move(groups);
    m_groupHeaders.assign(m_groups.size(), QRectF());
    relayout();
    if (m_finished)
        updateSummary();
}

void LiveView::setLanes(std::vector<LaneSetup> lanes, std::vector<LaneGroup> groups)
{
    m_groups = std::move(groups);
    m_groupHeaders.assign(m_groups.size(), QRectF());
    m_tokenGroup = -1;
    for (const auto &l : lanes)
        m_tokenGroup = std::max(m_tokenGroup, l.group);
    m_ranGroup.clear();
    m_lanes.clear();
    m_blocks.clear();
    m_ids.clear();
    m_names.clear();
    m_concerned.clear();
    m_concernedKnown.clear();
    m_ran.clear();
    m_visits.clear();
    m_lastLitMs = kNever;
    m_runToView = static_cast<double>(kNever);
    for (auto &setup : lanes) {
        Lane lane;
        lane.setup = std::move(setup);
        lane.firstBlock = static_cast<int>(m_blocks.size());
        for (const auto &m : lane.setup.modules) {
            Block b;
            b.lane = static_cast<int>(m_lanes.size());
            b.moduleId = intern(m.name.toStdString());
            b.bytes = m.bytes;
            m_blocks.push_back(b);
        }
        lane.blockCount = static_cast<int>(m_blocks.size()) - lane.firstBlock;
        m_lanes.push_back(std::move(lane));
    }
    const std::size_t slotCount = m_lanes.size() + 1; // the last: a device without a lane
    m_curCompute.assign(slotCount, 0.0);
    m_curTransfer.assign(slotCount, 0.0);
    m_curFrom.assign(slotCount, 0.0);
    m_curMoved.assign(slotCount, {});
    m_curMovedTo.assign(slotCount, {});
    m_ringCompute.assign(slotCount * kTokensShown, 0.0);
    m_ringTransfer.assign(slotCount * kTokensShown, 0.0);
    m_ring.assign(kTokensShown, TokenRow{});
    m_ringStart = m_ringSize = 0;
    for (Totals *t : {&m_prefill, &m_decode}) {
        *t = Totals{};
        t->computeOn.assign(slotCount, 0.0);
        t->transferFrom.assign(slotCount, 0.0);
        t->movedFrom.assign(slotCount, {});
        t->movedTo.assign(slotCount, {});
    }
    m_finished = false;
    m_results.clear();
    m_groupedResults = false;
    m_where.clear();
    m_summary->clear();
    m_summary->hide();
    m_timer->stop();
    retranslate();
    m_timelineDirty = false;
    m_lastReplotMs = kNever; // the run's first token shows at once
}

// ---- language and layout ------------------------------------------------------------------------

void LiveView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange || event->type() == QEvent::LocaleChange)
        retranslate();
    else if (event->type() == QEvent::LayoutDirectionChange || event->type() == QEvent::PaletteChange) {
        m_timelineStyleDirty = true;
        refreshTimeline();
        if (event->type() == QEvent::LayoutDirectionChange && m_finished)
            updateSummary();
    }
    QWidget::changeEvent(event);
}

void LiveView::retranslate()
{
    const QLocale locale;
    for (Lane &lane : m_lanes) {
        if (!lane.setup.label.isEmpty()) {
            lane.label = lane.setup.label;
            continue;
        }
        switch (lane.setup.device.kind) {
        case planner::DeviceKind::Gpu:
            lane.label = tr("GPU %1").arg(locale.toString(lane.setup.device.index));
            break;
        case planner::DeviceKind::Cpu:
            lane.label = tr("CPU");
            break;
        case planner::DeviceKind::Disk:
            lane.label = tr("Disk");
            break;
        case planner::DeviceKind::Mps:
            lane.label = tr("MPS");
            break;
        }
    }
    m_simulatedText = tr("simulated", "badge on the lane of a simulated GPU");
    m_emptyLaneText = tr("nothing placed here");
    m_captionText = tr("Blocks light up as they compute. Weights brought to the device that runs them fly there and leave when released; dashed: prefetched.");
    for (std::size_t i = 0; i < m_lanes.size(); ++i)
        updateGaugeText(static_cast<int>(i));
    relayout();
    m_timelineStyleDirty = true;
    refreshTimeline();
    if (m_finished)
        updateSummary();
}

void LiveView::updateGaugeText(int lane)
{
    Lane &l = m_lanes[static_cast<std::size_t>(lane)];
    l.hasGauge = l.setup.capacityBytes > 0 || l.setup.plannedBytes >= 0 || l.peak > 0;
    if (l.hasGauge) {
        l.gaugeText = tr("%1 now, peak %2").arg(formatBytes(l.current), formatBytes(l.peak));
        return;
    }
    qint64 placed = 0;
    for (int i = 0; i < l.blockCount; ++i)
        placed += m_blocks[static_cast<std::size_t>(l.firstBlock + i)].bytes;
    l.gaugeText = tr("%1 placed here").arg(formatBytes(placed));
}

void LiveView::relayout()
{
    const double width = m_canvas->width();
    const bool rtl = m_canvas->layoutDirection() == Qt::RightToLeft;
    const QFontMetricsF fm(m_canvas->font());
    const QFontMetricsF small(smallFont(m_canvas->font()));
    auto mirror = [&](QRectF r) {
        if (rtl)
            r.moveLeft(width - r.right());
        return r;
    };

    // The label column: wide enough for the longest name and its badge, within bounds.
    const double badge = small.horizontalAdvance(m_simulatedText) + 12;
    const QString sample = formatBytes(qint64(1023) * 1024 * 1024 + 943718); // "1,023.9 MiB": the widest size
    double labelWidth = std::max(150.0, small.horizontalAdvance(tr("%1 now, peak %2").arg(sample, sample)) + 2 * kPad);
    for (const Lane &l : m_lanes)
        labelWidth = std::max(labelWidth, fm.horizontalAdvance(l.label) + (l.setup.simulated ? badge + 6 : 0) + 2 * kPad);
    labelWidth = std::min(labelWidth, std::max(150.0, width * 0.3));

    const double captionHeight = small.height() + 6;
    const double blockHeight = std::max(24.0, fm.height() + 8);
    const double visitorHeight = small.height() + 6;
    const double laneHeight = std::max(kPad + blockHeight + 4 + visitorHeight + kPad, kPad + fm.height() + 4 + 8 + 3 + small.height() + kPad);
    m_captionRect = mirror(QRectF(kPad, 2, std::max(0.0, width - 2 * kPad), captionHeight - 2));

    // One scale for every lane: the fullest lane fills its width, a layer is as wide on every lane.
    // A block's share is half the mean block size plus its own bytes, so norms and biases stay visible.
    double meanBytes = 0;
    for (const Block &b : m_blocks)
        meanBytes += static_cast<double>(std::max<qint64>(0, b.bytes));
    meanBytes = m_blocks.empty() || meanBytes <= 0 ? 1.0 : meanBytes / static_cast<double>(m_blocks.size());
    const double blocksX = kPad + labelWidth + kPad;
    const double blocksWidth = std::max(10.0, width - blocksX - kPad);
    double fullest = 0;
    int most = 1;
    for (const Lane &l : m_lanes) {
        double demand = 0;
        for (int i = 0; i < l.blockCount; ++i)
            demand += 0.5 * meanBytes + static_cast<double>(std::max<qint64>(0, m_blocks[static_cast<std::size_t>(l.firstBlock + i)].bytes));
        fullest = std::max(fullest, demand);
        most = std::max(most, l.blockCount);
    }
    const double gap = blocksWidth / most >= 10 ? 2.0 : blocksWidth / most >= 5 ? 1.0 : 0.0;
    double scale = fullest > 0 ? (blocksWidth - gap * (most - 1)) / fullest : 1.0;
    scale = std::min(scale, 140.0 / (1.5 * meanBytes)); // a mean block at most 140 px wide

    double y = captionHeight + 2;
    const double headerHeight = fm.height() + 10;
    int previousGroup = -1;
    for (QRectF &header : m_groupHeaders)
        header = QRectF();
    for (std::size_t li = 0; li < m_lanes.size(); ++li) {
        Lane &l = m_lanes[li];
        // A host's lanes under its header.
        const int g = l.setup.group;
        if (g >= 0 && g != previousGroup && g < static_cast<int>(m_groupHeaders.size())) {
            m_groupHeaders[static_cast<std::size_t>(g)] = mirror(QRectF(kPad, y + 2, std::max(0.0, width - 2 * kPad), headerHeight - 4));
            y += headerHeight;
        }
        previousGroup = g;
        const QRectF area(kPad / 2, y, width - kPad, laneHeight);
        l.area = area; // symmetric: no mirroring needed
        const QRectF labelArea(kPad + 4, y + kPad, labelWidth - 4, fm.height());
        l.labelArea = mirror(labelArea);
        l.gaugeRect = mirror(QRectF(kPad + 4, labelArea.bottom() + 4, labelWidth - 8, 8));
        l.gaugeTextRect = mirror(QRectF(kPad + 4, labelArea.bottom() + 4 + 8 + 3, labelWidth - 4, small.height()));
        l.badgeRect = QRectF();
        if (l.setup.simulated) {
            const double labelAdvance = std::min(fm.horizontalAdvance(l.label), labelWidth - 4 - badge - 6);
            l.badgeRect = mirror(QRectF(kPad + 4 + labelAdvance + 6, labelArea.top() + (fm.height() - small.height() - 2) / 2, badge, small.height() + 2));
            l.labelArea = mirror(QRectF(labelArea.left(), labelArea.top(), labelAdvance + 1, labelArea.height()));
        }
        l.blocksArea = mirror(QRectF(blocksX, y + kPad, blocksWidth, blockHeight));
        l.visitorRow = mirror(QRectF(blocksX, y + kPad + blockHeight + 4, blocksWidth, visitorHeight));
        double x = blocksX;
        // Numbered blocks of a lane are named alike ("layers.9", "layers.10" or "9", "10"): the
        // most components that fit every one of them.
        int numberedKeep = 1 << 20;
        for (int i = 0; i < l.blockCount; ++i) {
            Block &b = m_blocks[static_cast<std::size_t>(l.firstBlock + i)];
            const double w = std::max(1.0, scale * (0.5 * meanBytes + static_cast<double>(std::max<qint64>(0, b.bytes))));
            b.rect = mirror(QRectF(x, y + kPad, w, blockHeight));
            x += w + gap;
            const std::string &name = m_names[static_cast<std::size_t>(b.moduleId)];
            QString stem;
            int number = 0;
            if (splitNumbered(QString::fromStdString(name), stem, number)) {
                const int keep = fittingKeep(name, small, w - 6);
                if (keep > 0)
                    numberedKeep = std::min(numberedKeep, keep);
            }
        }
        const QFont smallForText = smallFont(m_canvas->font());
        for (int i = 0; i < l.blockCount; ++i) {
            Block &b = m_blocks[static_cast<std::size_t>(l.firstBlock + i)];
            const std::string &name = m_names[static_cast<std::size_t>(b.moduleId)];
            QString stem;
            int number = 0;
            QString shown;
            if (splitNumbered(QString::fromStdString(name), stem, number)) {
                const int keep = std::min(numberedKeep, fittingKeep(name, small, b.rect.width() - 6));
                if (keep > 0) {
                    const QStringList parts = QString::fromStdString(name).split(QLatin1Char('.'));
                    shown = parts.mid(parts.size() - keep).join(QLatin1Char('.'));
                }
            } else {
                shown = fittingName(name, small, b.rect.width() - 6);
            }
            // Laid out once here, drawn every frame without a new text layout.
            b.shown.setText(shown);
            b.shown.setTextFormat(Qt::PlainText);
            b.shown.prepare(QTransform(), smallForText);
        }
        y += laneHeight + kLaneGap;
    }
    const int height = static_cast<int>(std::ceil(y));
    if (m_canvas->minimumHeight() != height) {
        m_canvas->setMinimumHeight(height);
        // No empty band under the lanes: the chart takes the rest; many lanes scroll.
        m_scroll->setMaximumHeight(height + 2 * m_scroll->frameWidth());
    }
    m_staticValid = false;
    m_canvas->update();
}

// ---- events -------------------------------------------------------------------------------------

void LiveView::addEvents(const std::vector<runtime::RunEvent> &events)
{
    addEvents(events, -1);
}

void LiveView::addEvents(const std::vector<runtime::RunEvent> &events, int group)
{
    if (events.empty())
        return;
    const qint64 now = nowMs();
    // Events keep their spacing on screen: the run's clock is mapped onto the view's so that the
    // batch's last event happens now, and never earlier than an event already shown (a batch
    // that comes late moves the mapping forward; one ahead of the view's clock is clamped to now).
    double lastAt = 0;
    for (const auto &e : events)
        lastAt = std::max(lastAt, e.at);
    m_runToView = std::max(m_runToView, static_cast<double>(now) - lastAt * 1000.0);
    const double offset = m_runToView;
    auto when = [&](const runtime::RunEvent &e) {
        return std::min(now, static_cast<qint64>(std::llround(e.at * 1000.0 + offset)));
    };
    const int extra = static_cast<int>(m_lanes.size());
    auto slotOf = [&](const planner::Device &d) {
        const int lane = laneOf(d, group);
        return lane >= 0 ? lane : extra;
    };
    bool memoryChanged = false;
    bool animate = false;
    for (const auto &e : events) {
        switch (e.kind) {
        case runtime::RunEventKind::ModuleRan: {
            const int id = intern(e.module);
            m_ran.push_back(id);
            m_ranGroup.push_back(group);
            const qint64 t = when(e);
            for (int b : blocksConcerned(id)) {
                Block &block = m_blocks[static_cast<std::size_t>(b)];
                if (group >= 0 && m_lanes[static_cast<std::size_t>(block.lane)].setup.group != group)
                    continue; // the same name on another host's lanes: not this rank's
                block.litAtMs = t;
                ++block.runs;
            }
            const int lane = laneOf(e.to, group);
            for (Visit &v : m_visits)
                if (v.toLane == lane && !v.released && concerns(m_names[static_cast<std::size_t>(v.moduleId)], e.module))
                    v.litAtMs = t;
            m_lastLitMs = std::max(m_lastLitMs, t);
            m_curCompute[static_cast<std::size_t>(slotOf(e.to))] += e.seconds;
            animate = true;
            break;
        }
        case runtime::RunEventKind::WeightMoved: {
            const int id = intern(e.module);
            const int to = slotOf(e.to), from = slotOf(e.from);
            m_curTransfer[static_cast<std::size_t>(to)] += e.seconds;
            m_curFrom[static_cast<std::size_t>(from)] += e.seconds;
            auto &moved = m_curMoved[static_cast<std::size_t>(from)];
            if (std::find(moved.begin(), moved.end(), id) == moved.end())
                moved.push_back(id);
            auto &movedTo = m_curMovedTo[static_cast<std::size_t>(from)];
            if (std::find(movedTo.begin(), movedTo.end(), to) == movedTo.end())
                movedTo.push_back(to);
            if (from != extra && to != extra && from != to) {
                if (static_cast<int>(m_visits.size()) >= kMaxVisits)
                    m_visits.erase(m_visits.begin());
                // A fast stream (a millisecond per layer) keeps a few packets on the way, not a
                // staircase of them: the oldest still flying on this route lands now.
                const qint64 t = when(e);
                int flying = 0;
                for (const Visit &other : m_visits)
                    flying += other.fromLane == from && other.toLane == to && other.arriveMs > t ? 1 : 0;
                for (auto it = m_visits.begin(); it != m_visits.end() && flying >= kMaxFlightsPerRoute; ++it)
                    if (it->fromLane == from && it->toLane == to && it->arriveMs > t) {
                        it->arriveMs = t;
                        if (it->released)
                            it->releasedMs = t;
                        --flying;
                    }
                Visit v;
                v.moduleId = id;
                v.fromLane = from;
                v.toLane = to;
                v.bytes = e.bytes;
                v.prefetched = e.prefetched;
                v.startMs = t;
                v.arriveMs = v.startMs + std::clamp<qint64>(static_cast<qint64>(e.seconds * 1000.0), 220, 700);
                v.sizeText = formatBytes(e.bytes);
                m_visits.push_back(std::move(v));
                animate = true;
            }
            break;
        }
        case runtime::RunEventKind::WeightReleased: {
            const int id = intern(e.module);
            const int lane = laneOf(e.to, group);
            for (auto it = m_visits.rbegin(); it != m_visits.rend(); ++it)
                if (it->moduleId == id && it->toLane == lane && !it->released) {
                    it->released = true;
                    it->releasedMs = std::max(when(e), it->arriveMs);
                    animate = true;
                    break;
                }
            break;
        }
        case runtime::RunEventKind::Memory: {
            const int lane = laneOf(e.to, group);
            if (lane < 0)
                break;
            Lane &l = m_lanes[static_cast<std::size_t>(lane)];
            l.current = e.bytes;
            l.peak = std::max<qint64>({l.peak, e.peakBytes, e.bytes});
            l.gaugeDirty = true;
            memoryChanged = true;
            break;
        }
        case runtime::RunEventKind::Token:
            // Every rank of a pipeline receives each token: the last stage's closes it.
            if (group < 0 || group == m_tokenGroup)
                closeToken(e);
            break;
        default:
            break;
        }
    }
    if (memoryChanged)
        for (std::size_t i = 0; i < m_lanes.size(); ++i)
            if (m_lanes[i].gaugeDirty) {
                m_lanes[i].gaugeDirty = false;
                updateGaugeText(static_cast<int>(i));
            }
    if (m_timelineDirty && now - m_lastReplotMs >= 200)
        refreshTimeline(); // at most five times a second; the timer catches up with the rest
    if (animate || m_timelineDirty)
        ensureTicking();
    m_canvas->update();
}

void LiveView::closeToken(const runtime::RunEvent &token)
{
    const std::size_t slotCount = m_curCompute.size();
    double compute = 0, transfer = 0;
    for (std::size_t s = 0; s < slotCount; ++s) {
        compute += m_curCompute[s];
        transfer += m_curTransfer[s];
    }
    // The forward's time; without one (a test's synthetic events), compute and transfers in a row.
    const double wall = token.seconds > 0 ? token.seconds : compute + transfer;
    Totals &t = token.index <= 0 ? m_prefill : m_decode;
    ++t.tokens;
    t.wall += wall;
    t.compute += compute;
    t.transfer += transfer;
    // The part of the token not spent computing, as far as transfers explain it: what prefetch did
    // not hide.
    t.exposed += std::clamp(wall - compute, 0.0, transfer);
    for (std::size_t s = 0; s < slotCount; ++s) {
        t.computeOn[s] += m_curCompute[s];
        t.transferFrom[s] += m_curFrom[s];
        for (int id : m_curMoved[s])
            if (std::find(t.movedFrom[s].begin(), t.movedFrom[s].end(), id) == t.movedFrom[s].end())
                t.movedFrom[s].push_back(id);
        for (int to : m_curMovedTo[s])
            if (std::find(t.movedTo[s].begin(), t.movedTo[s].end(), to) == t.movedTo[s].end())
                t.movedTo[s].push_back(to);
    }
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        m_lanes[i].lastCompute = m_curCompute[i];
        m_lanes[i].lastTransfer = m_curTransfer[i];
    }

    // Into the ring of the last tokens.
    int pos;
    if (m_ringSize < kTokensShown) {
        pos = (m_ringStart + m_ringSize) % kTokensShown;
        ++m_ringSize;
    } else {
        pos = m_ringStart;
        m_ringStart = (m_ringStart + 1) % kTokensShown;
    }
    m_ring[static_cast<std::size_t>(pos)] = TokenRow{token.index, wall};
    std::copy(m_curCompute.begin(), m_curCompute.end(), m_ringCompute.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(pos) * slotCount));
    std::copy(m_curTransfer.begin(), m_curTransfer.end(), m_ringTransfer.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(pos) * slotCount));

    std::fill(m_curCompute.begin(), m_curCompute.end(), 0.0);
    std::fill(m_curTransfer.begin(), m_curTransfer.end(), 0.0);
    std::fill(m_curFrom.begin(), m_curFrom.end(), 0.0);
    for (auto &v : m_curMoved)
        v.clear();
    for (auto &v : m_curMovedTo)
        v.clear();
    m_timelineDirty = true;
}

QStringList LiveView::ranModules(int group) const
{
    QStringList out;
    for (std::size_t i = 0; i < m_ran.size(); ++i)
        if (m_ranGroup[i] == group)
            out << QString::fromStdString(m_names[static_cast<std::size_t>(m_ran[i])]);
    return out;
}

QStringList LiveView::ranModules() const
{
    QStringList out;
    out.reserve(static_cast<qsizetype>(m_ran.size()));
    for (int id : m_ran)
        out << QString::fromStdString(m_names[static_cast<std::size_t>(id)]);
    return out;
}

qint64 LiveView::currentBytes(const planner::Device &d) const
{
    return currentBytes(d, -1);
}

qint64 LiveView::peakBytes(const planner::Device &d) const
{
    return peakBytes(d, -1);
}

qint64 LiveView::currentBytes(const planner::Device &d, int group) const
{
    const int lane = laneOf(d, group);
    return lane < 0 ? 0 : m_lanes[static_cast<std::size_t>(lane)].current;
}

qint64 LiveView::peakBytes(const planner::Device &d, int group) const
{
    const int lane = laneOf(d, group);
    return lane < 0 ? 0 : m_lanes[static_cast<std::size_t>(lane)].peak;
}

std::vector<int> LiveView::timelineTokens() const
{
    std::vector<int> out;
    for (int i = 0; i < m_ringSize; ++i)
        out.push_back(m_ring[static_cast<std::size_t>((m_ringStart + i) % kTokensShown)].index);
    return out;
}

double LiveView::tokenSeconds(const std::vector<double> &ring, int tokenIndex, const planner::Device &d) const
{
    const std::size_t slotCount = m_curCompute.size(); // compute and transfer have one slot per lane + "other"
    if (slotCount == 0)
        return 0;
    const int lane = laneOf(d);
    const std::size_t slot = lane < 0 ? slotCount - 1 : static_cast<std::size_t>(lane);
    for (int i = 0; i < m_ringSize; ++i) {
        const auto pos = static_cast<std::size_t>((m_ringStart + i) % kTokensShown);
        if (m_ring[pos].index == tokenIndex)
            return ring[pos * slotCount + slot];
    }
    return 0;
}

double LiveView::tokenComputeSeconds(int tokenIndex, const planner::Device &d) const
{
    return tokenSeconds(m_ringCompute, tokenIndex, d);
}

double LiveView::tokenTransferSeconds(int tokenIndex, const planner::Device &d) const
{
    return tokenSeconds(m_ringTransfer, tokenIndex, d);
}

// ---- animation ----------------------------------------------------------------------------------

bool LiveView::isAnimating() const
{
    return m_timer->isActive();
}

void LiveView::ensureTicking()
{
    if (!m_timer->isActive())
        m_timer->start();
}

void LiveView::tick()
{
    const qint64 now = nowMs();
    // Visits that have left are gone (no allocation: erase-remove in place).
    m_visits.erase(std::remove_if(m_visits.begin(), m_visits.end(),
                                  [now](const Visit &v) { return v.released && now >= v.releasedMs + kLeaveMs; }),
                   m_visits.end());
    bool moving = now - m_lastLitMs < kFadeMs;
    for (const Visit &v : m_visits)
        moving = moving || now < v.arriveMs || v.released || now - v.litAtMs < kFadeMs;
    if (m_timelineDirty && now - m_lastReplotMs >= 200)
        refreshTimeline();
    m_canvas->update();
    if (!moving && !m_timelineDirty)
        m_timer->stop();
}

// ---- painting -----------------------------------------------------------------------------------

void LaneCanvas::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    m_view->paintLanes(p);
}

bool LiveView::visitGeometry(const Visit &v, QRectF &from, QRectF &to)
{
    from = QRectF();
    for (int b : blocksConcerned(v.moduleId)) {
        const Block &block = m_blocks[static_cast<std::size_t>(b)];
        if (block.lane == v.fromLane)
            from = from.isNull() ? block.rect : from.united(block.rect);
    }
    const Lane &source = m_lanes[static_cast<std::size_t>(v.fromLane)];
    const Lane &target = m_lanes[static_cast<std::size_t>(v.toLane)];
    if (from.isNull()) // brought in, but placed nowhere on the source lane: its start
        from = QRectF(source.blocksArea.center().x() - 12, source.blocksArea.top(), 24, source.blocksArea.height());
    const double w = std::clamp(from.width(), 16.0, 90.0);
    const QRectF row = target.visitorRow;
    double x = from.center().x() - w / 2;
    x = std::clamp(x, row.left(), std::max(row.left(), row.right() - w));
    to = QRectF(x, row.top() + 1, w, row.height() - 2);
    return true;
}

void LiveView::paintStatic(QPainter &p)
{
    const QPalette pal = m_canvas->palette();
    p.fillRect(m_canvas->rect(), pal.color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing, true);
    const QFont font = m_canvas->font();
    const QFont small = smallFont(font);
    const QColor text = pal.color(QPalette::Text);
    const QColor faint = mix(pal.color(QPalette::Base), text, 0.55);
    const bool rtl = m_canvas->layoutDirection() == Qt::RightToLeft;
    const Qt::Alignment start = (rtl ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter;

    p.setFont(small);
    p.setPen(faint);
    p.drawText(m_captionRect, start, p.fontMetrics().elidedText(m_captionText, Qt::ElideRight, static_cast<int>(m_captionRect.width())));

    // The hosts' headers: the title in bold on the reading side, a rule under it.
    QFont bold = font;
    bold.setBold(true);
    for (std::size_t g = 0; g < m_groupHeaders.size(); ++g) {
        const QRectF &header = m_groupHeaders[g];
        if (header.isEmpty())
            continue;
        p.setFont(bold);
        p.setPen(text);
        p.drawText(header, start, p.fontMetrics().elidedText(m_groups[g].title, Qt::ElideRight, static_cast<int>(header.width())));
        p.setPen(QPen(faint, 1));
        p.drawLine(QPointF(header.left(), header.bottom()), QPointF(header.right(), header.bottom()));
    }

    const QColor laneBack = pal.color(QPalette::AlternateBase).darker(102);
    for (const Lane &l : m_lanes) {
        const QColor color = colorOf(l.setup.device);
        // The lane: a band with its device's colour on the reading side.
        p.setPen(Qt::NoPen);
        p.setBrush(laneBack);
        p.drawRoundedRect(l.area, 5, 5);
        p.setBrush(color);
        p.drawRoundedRect(QRectF(rtl ? l.area.right() - 4 : l.area.left(), l.area.top(), 4, l.area.height()), 2, 2);

        p.setFont(font);
        p.setPen(text);
        p.drawText(l.labelArea, start, p.fontMetrics().elidedText(l.label, Qt::ElideRight, static_cast<int>(l.labelArea.width())));
        if (l.setup.simulated) {
            p.setFont(small);
            p.setPen(QPen(color.darker(150), 1));
            p.setBrush(deviceTint(color));
            p.drawRoundedRect(l.badgeRect, l.badgeRect.height() / 2, l.badgeRect.height() / 2);
            p.setPen(color.darker(200));
            p.drawText(l.badgeRect, Qt::AlignCenter, m_simulatedText);
        }
        p.setFont(small);
        if (l.blockCount == 0) {
            p.setPen(faint);
            p.drawText(l.blocksArea, start, m_emptyLaneText);
        }
        // The visitor row's floor: where brought-in weights land.
        p.setPen(QPen(mix(laneBack, text, 0.15), 1, Qt::DotLine));
        p.drawLine(QPointF(l.visitorRow.left(), l.visitorRow.bottom()), QPointF(l.visitorRow.right(), l.visitorRow.bottom()));
    }

    // Blocks at rest: tinted, named.
    p.setFont(small);
    for (const Block &b : m_blocks) {
        const QColor color = colorOf(m_lanes[static_cast<std::size_t>(b.lane)].setup.device);
        p.setPen(b.rect.width() >= 4 ? QPen(color.darker(130), 1) : QPen(Qt::NoPen));
        p.setBrush(deviceTint(color));
        p.drawRoundedRect(b.rect.adjusted(0.5, 0.5, -0.5, -0.5), 2.5, 2.5);
        if (!b.shown.text().isEmpty()) {
            p.setPen(text);
            const QSizeF size = b.shown.size();
            p.drawStaticText(QPointF(b.rect.center().x() - size.width() / 2, b.rect.center().y() - size.height() / 2), b.shown);
        }
    }
}

void LiveView::paintLanes(QPainter &p)
{
    const qint64 now = nowMs();
    const QPalette pal = m_canvas->palette();
    const QFont font = m_canvas->font();
    const QFont small = smallFont(font);
    const QColor text = pal.color(QPalette::Text);
    const QColor faint = mix(pal.color(QPalette::Base), text, 0.55);
    const bool rtl = m_canvas->layoutDirection() == Qt::RightToLeft;
    const Qt::Alignment start = (rtl ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter;

    if (m_lanes.empty()) {
        p.fillRect(m_canvas->rect(), pal.color(QPalette::Base));
        p.setPen(faint);
        p.drawText(m_canvas->rect(), Qt::AlignCenter, tr("The live view shows the devices of the plan once a test inference starts."));
        return;
    }
    // What does not move comes from the cache, painted again only after a layout change; each
    // frame draws the gauges, the lit blocks and the flights over it.
    const qreal dpr = m_canvas->devicePixelRatioF();
    const QSize pixels = (QSizeF(m_canvas->size()) * dpr).toSize();
    if (!m_staticValid || m_staticCache.size() != pixels) {
        m_staticCache = QPixmap(pixels);
        m_staticCache.setDevicePixelRatio(dpr);
        QPainter cache(&m_staticCache);
        paintStatic(cache);
        m_staticValid = true;
    }
    p.drawPixmap(0, 0, m_staticCache);
    p.setRenderHint(QPainter::Antialiasing, true);

    const QColor laneBack = pal.color(QPalette::AlternateBase).darker(102);
    p.setFont(small);
    for (const Lane &l : m_lanes) {
        // The memory gauge, or for a lane with nothing to measure (the disk) what is placed there.
        p.setPen(faint);
        if (l.hasGauge) {
            paintGauge(p, l, laneBack, text);
        } else {
            const QRectF g = l.gaugeRect;
            p.drawText(QRectF(g.left(), g.top() - 2, g.width(), l.gaugeTextRect.bottom() - g.top() + 2), start,
                       p.fontMetrics().elidedText(l.gaugeText, Qt::ElideRight, static_cast<int>(g.width())));
        }
    }

    // Blocks lit in the device's colour while they compute and fading after.
    for (const Block &b : m_blocks) {
        const double lit = 1.0 - std::clamp(static_cast<double>(now - b.litAtMs) / kFadeMs, 0.0, 1.0);
        if (lit <= 0)
            continue;
        const QColor color = colorOf(m_lanes[static_cast<std::size_t>(b.lane)].setup.device);
        QColor glow = color.darker(150);
        glow.setAlphaF(static_cast<float>(lit));
        if (b.rect.width() < 12) {
            // Narrow blocks (a hundred layers on a lane, all lit within one fade): plain
            // rectangles, without the cost of antialiased rounded outlines.
            p.setRenderHint(QPainter::Antialiasing, false);
            const QRect r = b.rect.toAlignedRect();
            p.fillRect(r, mix(deviceTint(color), color.lighter(110), lit));
            p.setPen(QPen(glow, 2));
            p.setBrush(Qt::NoBrush);
            p.drawRect(r.adjusted(-1, -1, 0, 0));
            p.setRenderHint(QPainter::Antialiasing, true);
        } else {
            p.setPen(QPen(color.darker(130), 1));
            p.setBrush(mix(deviceTint(color), color.lighter(110), lit));
            p.drawRoundedRect(b.rect.adjusted(0.5, 0.5, -0.5, -0.5), 2.5, 2.5);
            p.setPen(QPen(glow, 2));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(b.rect.adjusted(-1, -1, 1, 1), 3, 3);
        }
        if (!b.shown.text().isEmpty()) {
            p.setPen(text);
            const QSizeF size = b.shown.size();
            p.drawStaticText(QPointF(b.rect.center().x() - size.width() / 2, b.rect.center().y() - size.height() / 2), b.shown);
        }
    }

    // Brought-in weights: flying from their blocks to the visitor row, resident, then leaving.
    const double smallHeight = QFontMetricsF(small).height();
    for (Visit &v : m_visits) {
        QRectF from, to;
        visitGeometry(v, from, to);
        const QColor color = colorOf(m_lanes[static_cast<std::size_t>(v.fromLane)].setup.device);
        const Qt::PenStyle style = v.prefetched ? Qt::DashLine : Qt::SolidLine;
        double alpha = 1.0, drop = 0.0;
        if (v.released && now >= v.releasedMs) {
            const double t = std::clamp(static_cast<double>(now - v.releasedMs) / kLeaveMs, 0.0, 1.0);
            alpha = 1.0 - t;
            drop = 8.0 * t;
            if (alpha <= 0)
                continue; // gone; removed at the next tick
        }
        QRectF box = to.translated(0, drop);
        const bool flying = now < v.arriveMs;
        if (flying) {
            const double t = easeInOut(static_cast<double>(now - v.startMs) / static_cast<double>(std::max<qint64>(1, v.arriveMs - v.startMs)));
            const bool up = to.center().y() < from.center().y();
            const QPointF a(from.center().x(), up ? from.top() : from.bottom());
            const QPointF b(to.center().x(), up ? to.bottom() : to.top());
            QColor trail = color.darker(140);
            trail.setAlphaF(0.55f);
            p.setPen(QPen(trail, 1.5, style));
            p.drawLine(a, b);
            const QPointF c = a + (b - a) * t;
            box = QRectF(0, 0, to.width(), to.height());
            box.moveCenter(up ? QPointF(c.x(), c.y() - to.height() / 2) : QPointF(c.x(), c.y() + to.height() / 2));
        }
        const double lit = 1.0 - std::clamp(static_cast<double>(now - v.litAtMs) / kFadeMs, 0.0, 1.0);
        QColor fill = mix(deviceTint(color), color.lighter(110), std::max(lit, flying ? 0.6 : 0.0));
        fill.setAlphaF(static_cast<float>(alpha));
        QColor edge = color.darker(160);
        edge.setAlphaF(static_cast<float>(alpha));
        p.setBrush(fill);
        p.setPen(QPen(edge, 1.5, style));
        p.drawRoundedRect(box, 3, 3);
        // Its size, in a pill beside it while it flies, inside it once landed when it fits.
        p.setFont(small);
        if (v.sizeStatic.text().isEmpty() && !v.sizeText.isEmpty()) {
            // Laid out once, drawn every frame without a new text layout.
            v.sizeStatic.setText(v.sizeText);
            v.sizeStatic.setTextFormat(Qt::PlainText);
            v.sizeStatic.prepare(QTransform(), small);
        }
        const double textWidth = v.sizeStatic.size().width() + 8;
        QColor ink = text;
        ink.setAlphaF(static_cast<float>(alpha));
        if (flying) {
            QRectF pill(0, 0, textWidth, smallHeight + 2);
            const double side = rtl ? -1 : 1;
            pill.moveCenter(QPointF(box.center().x() + side * (box.width() / 2 + textWidth / 2 + 3), box.center().y()));
            QColor back = pal.color(QPalette::Base);
            back.setAlphaF(static_cast<float>(0.9 * alpha));
            p.setBrush(back);
            p.setPen(QPen(edge, 1, style));
            p.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2);
            p.setPen(ink);
            const QSizeF size = v.sizeStatic.size();
            p.drawStaticText(QPointF(pill.center().x() - size.width() / 2, pill.center().y() - size.height() / 2), v.sizeStatic);
        } else {
            // Landed: its name as it fits (the tooltip tells the size).
            if (v.shownWidth != box.width()) {
                v.shownWidth = box.width();
                v.shown = fittingName(m_names[static_cast<std::size_t>(v.moduleId)], QFontMetricsF(small), box.width() - 6);
                v.shownStatic.setText(v.shown);
                v.shownStatic.setTextFormat(Qt::PlainText);
                v.shownStatic.prepare(QTransform(), small);
            }
            p.setPen(ink);
            if (!v.shown.isEmpty()) {
                const QSizeF size = v.shownStatic.size();
                p.drawStaticText(QPointF(box.center().x() - size.width() / 2, box.center().y() - size.height() / 2), v.shownStatic);
            }
        }
    }
}

void LiveView::paintGauge(QPainter &p, const Lane &l, const QColor &laneBack, const QColor &text) const
{
    const bool rtl = m_canvas->layoutDirection() == Qt::RightToLeft;
    const QColor faint = p.pen().color();
    // Current filled, peak as a tick, the plan as a dashed mark, against the limit (the full bar)
    // or, without one, the largest of the three.
    const QColor color = colorOf(l.setup.device);
    const double capacity = l.setup.capacityBytes > 0 ? static_cast<double>(l.setup.capacityBytes)
                                                     : std::max({1.0, static_cast<double>(l.peak), static_cast<double>(l.setup.plannedBytes)}) * 1.1;
    const QRectF g = l.gaugeRect;
    auto at = [&](double bytes) {
        const double f = std::clamp(bytes / capacity, 0.0, 1.0);
        return rtl ? g.right() - f * g.width() : g.left() + f * g.width();
    };
    p.setPen(QPen(mix(laneBack, text, 0.35), 1));
    p.setBrush(m_canvas->palette().color(QPalette::Base));
    p.drawRoundedRect(g, 3, 3);
    if (l.current > 0) {
        const double x = at(static_cast<double>(l.current));
        const QRectF fill = rtl ? QRectF(x, g.top(), g.right() - x, g.height()) : QRectF(g.left(), g.top(), x - g.left(), g.height());
        p.setPen(Qt::NoPen);
        const bool over = l.setup.capacityBytes > 0 && l.current > l.setup.capacityBytes;
        p.setBrush(over ? QColor(0xc0, 0x20, 0x20) : color);
        p.drawRoundedRect(fill, 3, 3);
    }
    if (l.setup.plannedBytes >= 0) {
        const double x = at(static_cast<double>(l.setup.plannedBytes));
        QPen plan(QColor(0xc0, 0x20, 0x20), 1.5, Qt::DashLine);
        p.setPen(plan);
        p.drawLine(QPointF(x, g.top() - 3), QPointF(x, g.bottom() + 3));
    }
    if (l.peak > 0) {
        const double x = at(static_cast<double>(l.peak));
        p.setPen(QPen(text, 2));
        p.drawLine(QPointF(x, g.top() - 2), QPointF(x, g.bottom() + 2));
    }
    p.setPen(faint);
    p.drawText(l.gaugeTextRect, (rtl ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter,
               p.fontMetrics().elidedText(l.gaugeText, Qt::ElideRight, static_cast<int>(l.gaugeTextRect.width())));
}

QString LiveView::toolTipAt(const QPoint &pos)
{
    const QPointF point(pos);
    for (const Visit &v : m_visits) {
        QRectF from, to;
        visitGeometry(v, from, to);
        if (to.contains(point))
            return (v.prefetched ? tr("%1: %2 brought from %3 to %4 ahead of its turn (prefetched)")
                                 : tr("%1: %2 brought from %3 to %4"))
                .arg(ltr(QString::fromStdString(m_names[static_cast<std::size_t>(v.moduleId)])), formatBytes(v.bytes), laneName(v.fromLane), laneName(v.toLane));
    }
    for (const Block &b : m_blocks)
        if (b.rect.contains(point))
            return tr("%1: %2 on %3").arg(ltr(QString::fromStdString(m_names[static_cast<std::size_t>(b.moduleId)])), formatBytes(b.bytes), laneName(b.lane));
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        const Lane &l = m_lanes[i];
        if (!l.area.contains(point))
            continue;
        QStringList lines;
        lines << laneName(static_cast<int>(i));
        lines << tr("Memory now: %1").arg(formatBytes(l.current));
        lines << tr("Peak: %1").arg(formatBytes(l.peak));
        if (l.setup.plannedBytes >= 0)
            lines << tr("Planned: %1").arg(formatBytes(l.setup.plannedBytes));
        if (l.setup.capacityBytes >= 0)
            lines << tr("Limit: %1").arg(formatBytes(l.setup.capacityBytes));
        return lines.join(QLatin1Char('\n'));
    }
    return {};
}

// ---- timeline -----------------------------------------------------------------------------------

void LiveView::refreshTimeline()
{
    m_lastReplotMs = nowMs();
    m_timelineDirty = false;
    QCustomPlot *plot = m_plot;
    const bool rtl = layoutDirection() == Qt::RightToLeft;
    const std::size_t slotCount = m_curCompute.size();

    // Which series have data: per slot, computation and transfers, then the token's time.
    std::vector<char> shape(2 * slotCount + 1, 0);
    for (std::size_t s = 0; s < slotCount; ++s)
        for (int i = 0; i < m_ringSize; ++i) {
            const std::size_t pos = static_cast<std::size_t>((m_ringStart + i) % kTokensShown);
            shape[2 * s] = shape[2 * s] || m_ringCompute[pos * slotCount + s] > 0;
            shape[2 * s + 1] = shape[2 * s + 1] || m_ringTransfer[pos * slotCount + s] > 0;
        }
    shape.back() = m_ringSize > 0;

    // The plottables and the style are made again only when needed; a new token replaces data.
    if (m_timelineStyleDirty || shape != m_timelineShape) {
        m_timelineStyleDirty = false;
        m_timelineShape = shape;
        plot->clearPlottables();
        plot->legend->clearItems();
        m_computeBars.assign(slotCount, nullptr);
        m_transferBars.assign(slotCount, nullptr);
        m_wallGraph = nullptr;
        plot->setLocale(QLocale());
        const QFont small = smallFont(font());
        plot->legend->setFont(small);
        plot->xAxis->setLabel(tr("token"));
        plot->yAxis->setLabel(tr("ms"));
        plot->yAxis2->setLabel(plot->yAxis->label());
        plot->xAxis->setTickLabelFont(small);
        plot->yAxis->setTickLabelFont(small);
        plot->yAxis2->setTickLabelFont(small);
        plot->xAxis->setLabelFont(small);
        plot->yAxis->setLabelFont(small);
        plot->yAxis2->setLabelFont(small);
        QCPBars *belowCompute = nullptr, *belowTransfer = nullptr;
        for (std::size_t s = 0; s < slotCount; ++s) {
            const QColor color = s < m_lanes.size() ? colorOf(m_lanes[s].setup.device) : QColor(Qt::gray);
            if (shape[2 * s]) {
                auto *bars = new QCPBars(plot->xAxis, plot->yAxis);
                bars->setName(tr("computing (in its device's colour)"));
                if (belowCompute)
                    bars->removeFromLegend(); // the lanes above tell the colours
                bars->setWidth(0.36);
                bars->setPen(QPen(color.darker(130)));
                bars->setBrush(color);
                bars->setStackingGap(0);
                if (belowCompute)
                    bars->moveAbove(belowCompute);
                belowCompute = bars;
                m_computeBars[s] = bars;
            }
            if (shape[2 * s + 1]) {
                auto *bars = new QCPBars(plot->xAxis, plot->yAxis);
                bars->setName(tr("weights brought in (hatched)"));
                if (belowTransfer)
                    bars->removeFromLegend();
                bars->setWidth(0.36);
                bars->setPen(QPen(color.darker(150)));
                bars->setBrush(QBrush(color.darker(115), Qt::BDiagPattern));
                bars->setStackingGap(0);
                if (belowTransfer)
                    bars->moveAbove(belowTransfer);
                belowTransfer = bars;
                m_transferBars[s] = bars;
            }
        }
        if (shape.back()) {
            m_wallGraph = plot->addGraph(plot->xAxis, plot->yAxis);
            m_wallGraph->setName(tr("time of the token"));
            m_wallGraph->setPen(QPen(palette().color(QPalette::Text), 1.5));
            m_wallGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        }
        auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
        ticker->setTickStep(1.0);
        ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
        plot->xAxis->setTicker(ticker);
        plot->xAxis->grid()->setVisible(false);
        // Mirrored for right-to-left: tokens run from the right, the value axis on the right.
        plot->xAxis->setRangeReversed(rtl);
        plot->yAxis->setVisible(!rtl);
        plot->yAxis2->setVisible(rtl);
        plot->yAxis2->setTickLabels(true);
        plot->legend->setVisible(plot->legend->itemCount() > 0);
    }

    int first = 0;
    if (m_ringSize > 0)
        first = m_ring[static_cast<std::size_t>(m_ringStart)].index;
    double top = 0;
    const auto n = static_cast<qsizetype>(m_ringSize);
    std::vector<double> computeStack(static_cast<std::size_t>(m_ringSize), 0.0), transferStack(static_cast<std::size_t>(m_ringSize), 0.0);
    QVector<double> keys(n), values(n);
    auto fill = [&](QCPBars *bars, const std::vector<double> &ring, std::size_t s, double shift, std::vector<double> &stack) {
        for (int i = 0; i < m_ringSize; ++i) {
            const std::size_t pos = static_cast<std::size_t>((m_ringStart + i) % kTokensShown);
            const double ms = ring[pos * slotCount + s] * 1000.0;
            keys[i] = m_ring[pos].index + shift;
            values[i] = ms;
            stack[static_cast<std::size_t>(i)] += ms;
        }
        bars->setData(keys, values, true);
    };
    for (std::size_t s = 0; s < slotCount; ++s) {
        if (m_computeBars[s])
            fill(m_computeBars[s], m_ringCompute, s, -0.19, computeStack);
        if (m_transferBars[s])
            fill(m_transferBars[s], m_ringTransfer, s, 0.19, transferStack);
    }
    if (m_wallGraph) {
        for (int i = 0; i < m_ringSize; ++i) {
            const std::size_t pos = static_cast<std::size_t>((m_ringStart + i) % kTokensShown);
            keys[i] = m_ring[pos].index;
            values[i] = m_ring[pos].wall * 1000.0;
            top = std::max({top, m_ring[pos].wall * 1000.0, computeStack[static_cast<std::size_t>(i)], transferStack[static_cast<std::size_t>(i)]});
        }
        m_wallGraph->setData(keys, values, true);
    }
    plot->xAxis->setRange(first - 0.6, first + kTokensShown - 0.4);
    plot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1.0);
    plot->yAxis2->setRange(plot->yAxis->range());
    plot->replot(QCustomPlot::rpQueuedReplot);
}

// ---- summary ------------------------------------------------------------------------------------

void LiveView::finish(const runtime::RunResult &result)
{
    // The last token's events are in; what was computed after it (none) needs no closing.
    m_results = {result};
    m_groupedResults = false;
    m_finished = true;
    refreshTimeline();
    updateSummary();
    ensureTicking(); // lets the last flights land and the light fade
}

void LiveView::finish(const std::vector<runtime::RunResult> &results)
{
    m_results = results;
    m_groupedResults = true;
    m_finished = true;
    refreshTimeline();
    updateSummary();
    ensureTicking(); // lets the last flights land and the light fade
}

QString LiveView::secondsText(double seconds) const
{
    const QLocale locale;
    if (seconds < 1.0)
        return tr("%1 ms").arg(locale.toString(seconds * 1000.0, 'f', seconds < 0.01 ? 2 : 1));
    return tr("%1 s").arg(locale.toString(seconds, 'f', 2));
}

QString LiveView::percentText(double fraction) const
{
    return tr("%1%", "a percentage").arg(QLocale().toString(static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * 100.0))));
}

void LiveView::computeWhereTimeWent()
{
    m_where.clear();
    const Totals &t = m_decode.tokens > 0 ? m_decode : m_prefill;
    if (t.tokens == 0) {
        m_where = tr("No token was generated, so there is no time per token to explain.");
        return;
    }
    const double wall = t.wall > 0 ? t.wall : t.compute + t.transfer;
    if (wall <= 0)
        return;
    const std::size_t slotCount = t.computeOn.size();
    // The device that computed most, and the source whose transfers were waited for most.
    std::size_t busiest = 0, source = 0;
    for (std::size_t s = 0; s < slotCount; ++s) {
        if (t.computeOn[s] > t.computeOn[busiest])
            busiest = s;
        if (t.transferFrom[s] > t.transferFrom[source])
            source = s;
    }
    const double waited = t.transfer > 0 ? t.exposed * t.transferFrom[source] / t.transfer : 0.0;
    auto slotName = [&](std::size_t s) { return laneName(s < m_lanes.size() ? static_cast<int>(s) : -1); };
    if (waited > t.computeOn[busiest]) {
        QStringList names;
        for (int id : t.movedFrom[source])
            names << QString::fromStdString(m_names[static_cast<std::size_t>(id)]);
        const QString what = compactNames(names);
        const bool disk = source < m_lanes.size() && m_lanes[source].setup.device.kind == planner::DeviceKind::Disk;
        if (disk)
            m_where = tr("%1 of each token is spent reading %2 from disk").arg(percentText(waited / wall), what);
        else
            m_where = tr("%1 of each token is spent moving %2 from %3 to %4")
                          .arg(percentText(waited / wall), what, slotName(source),
                               t.movedTo[source].empty() ? tr("another device") : slotName(static_cast<std::size_t>(t.movedTo[source].front())));
    } else {
        m_where = tr("%1 of each token is spent computing on %2").arg(percentText(t.computeOn[busiest] / wall), slotName(busiest));
    }
    // What prefetch hid: transfer time that overlapped the computation.
    const double hidden = t.transfer - t.exposed;
    if (t.transfer > 0 && hidden >= 0.05 * wall && hidden >= 0.25 * t.transfer)
        m_where = tr("%1; prefetch hid %2 of the transfers (%3 per token) behind the computation")
                      .arg(m_where, percentText(hidden / t.transfer), secondsText(hidden / t.tokens));
    m_where = tr("%1.", "ends the sentence saying where time went").arg(m_where);
}

void LiveView::updateSummary()
{
    computeWhereTimeWent();
    QStringList lines;
    const bool cancelled = std::any_of(m_results.begin(), m_results.end(), [](const runtime::RunResult &r) { return r.cancelled; });
    const bool failed = std::any_of(m_results.begin(), m_results.end(), [](const runtime::RunResult &r) { return r.error.has_value(); });
    if (cancelled)
        lines << tr("The run was cancelled.");
    else if (failed)
        lines << tr("The run failed.");
    for (std::size_t r = 0; r < m_results.size(); ++r) {
        const runtime::RunResult &result = m_results[r];
        const int group = m_groupedResults ? static_cast<int>(r) : -1;
        // A host's stage: what crossed the link, and how long it waited for the others.
        if (group >= 0 && group < groupCount() && result.stage.world > 1 && result.stage.seconds > 0)
            lines << tr("%1: sent %2 and received %3 between hosts, waiting %4 for the others")
                         .arg(m_groups[static_cast<std::size_t>(group)].name, formatBytes(result.stage.bytesSent),
                              formatBytes(result.stage.bytesReceived), secondsText(result.stage.waitSeconds));
        for (const auto &d : result.devices) {
            const int lane = laneOf(d.device, group);
            const QString name = lane >= 0 ? laneName(lane) : QString::fromStdString(d.label);
            if (d.computeSeconds <= 0 && d.transferSeconds <= 0 && d.bytesMoved <= 0 && d.peakBytes <= 0)
                continue;
            const QString work = d.transferSeconds <= 0 && d.bytesMoved <= 0
                ? tr("%1: computing %2").arg(name, secondsText(d.computeSeconds))
                : tr("%1: computing %2, receiving weights %3 (%4)")
                      .arg(name, secondsText(d.computeSeconds), secondsText(d.transferSeconds), formatBytes(d.bytesMoved));
            const QString memory = d.plannedBytes >= 0 ? tr("peak %1 against %2 planned").arg(formatBytes(d.peakBytes), formatBytes(d.plannedBytes))
                                                       : tr("peak %1").arg(formatBytes(d.peakBytes));
            lines << tr("%1; %2", "a device's work; its memory").arg(work, memory);
        }
    }
    // A line that starts with a host's name (Latin) still reads from the right in Arabic.
    if (layoutDirection() == Qt::RightToLeft)
        for (QString &line : lines)
            line.prepend(QChar(0x200F));
    m_details = lines.join(QLatin1Char('\n'));
    QString html = QStringLiteral("<b>%1</b>").arg(m_where.toHtmlEscaped());
    for (const QString &line : lines)
        html += QStringLiteral("<br>") + line.toHtmlEscaped();
    m_summary->setText(html);
    m_summary->setVisible(true);
}

QString LiveView::summaryText() const
{
    if (!m_finished)
        return {};
    return m_details.isEmpty() ? m_where : m_where + QLatin1Char('\n') + m_details;
}

QString LiveView::whereTimeWent() const
{
    return m_finished ? m_where : QString();
}

} // namespace mizan::gui
