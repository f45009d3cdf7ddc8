#include "comparedialog.h"

#include "guiformat.h"

#include <QDialogButtonBox>
#include <QEvent>
#include <QFileInfo>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace mizan::gui {

namespace {

QTableWidget *makeTable(QWidget *parent)
{
    auto *t = new QTableWidget(parent);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionMode(QAbstractItemView::NoSelection);
    t->verticalHeader()->setVisible(false);
    t->setAlternatingRowColors(true);
    return t;
}

// Column `stretched` takes the room left, the others their contents' width.
void sizeColumns(QTableWidget *t, int stretched)
{
    for (int c = 0; c < t->columnCount(); ++c)
        t->horizontalHeader()->setSectionResizeMode(c, c == stretched ? QHeaderView::Stretch : QHeaderView::ResizeToContents);
}

// As tall as its rows (at most `maxRows` of them before it scrolls).
void fitHeight(QTableWidget *t, int maxRows)
{
    const int rows = std::min(t->rowCount(), maxRows);
    int h = t->horizontalHeader()->sizeHint().height() + 2 * t->frameWidth();
    for (int r = 0; r < rows; ++r)
        h += t->rowHeight(r);
    t->setFixedHeight(h);
}

QTableWidgetItem *cell(const QString &text, bool number = false)
{
    auto *item = new QTableWidgetItem(text);
    // Numbers line up at the trailing edge (the left one in right-to-left layouts).
    item->setTextAlignment(number ? (Qt::AlignTrailing | Qt::AlignVCenter) : (Qt::AlignLeading | Qt::AlignVCenter));
    return item;
}

QString signedBytes(double change)
{
    if (change == 0)
        return QLocale().toString(0);
    return (change < 0 ? QStringLiteral("−") : QStringLiteral("+")) + formatBytes(static_cast<std::int64_t>(std::llround(std::abs(change))));
}

} // namespace

CompareDialog::CompareDialog(const Document *document, Document::Comparison comparison, const QString &otherFile, QWidget *parent)
    : QDialog(parent), m_document(document), m_comparison(std::move(comparison)), m_otherFile(otherFile)
{
    setObjectName(QStringLiteral("compareDialog"));
    auto *layout = new QVBoxLayout(this);
    m_files = new QLabel(this);
    m_files->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_files);

    m_speedBox = new QGroupBox(this);
    auto *speedLayout = new QVBoxLayout(m_speedBox);
    m_speed = makeTable(m_speedBox);
    m_speed->setObjectName(QStringLiteral("compareSpeed"));
    speedLayout->addWidget(m_speed);
    m_verdict = new QLabel(m_speedBox);
    m_verdict->setWordWrap(true);
    speedLayout->addWidget(m_verdict);
    layout->addWidget(m_speedBox);

    m_deviceBox = new QGroupBox(this);
    auto *deviceLayout = new QVBoxLayout(m_deviceBox);
    m_devices = makeTable(m_deviceBox);
    m_devices->setObjectName(QStringLiteral("compareDevices"));
    deviceLayout->addWidget(m_devices);
    layout->addWidget(m_deviceBox);

    m_moveBox = new QGroupBox(this);
    auto *moveLayout = new QVBoxLayout(m_moveBox);
    m_moves = makeTable(m_moveBox);
    m_moves->setObjectName(QStringLiteral("compareMoves"));
    moveLayout->addWidget(m_moves);
    m_noMoves = new QLabel(m_moveBox);
    moveLayout->addWidget(m_noMoves);
    layout->addWidget(m_moveBox, 1);

    m_extra = new QLabel(this);
    m_extra->setWordWrap(true);
    layout->addWidget(m_extra);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_close = buttons->button(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(760, 680);
    fill();
}

void CompareDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        fill();
    QDialog::changeEvent(event);
}

QString CompareDialog::verdict() const
{
    return m_verdict->text();
}

void CompareDialog::fill()
{
    const auto &c = m_comparison;
    const planner::PlanDiff &diff = c.diff;
    setWindowTitle(tr("Compare plans"));
    m_close->setText(tr("Close"));
    const QString other = c.otherIsPlan ? tr("plan file, %Ln entries", nullptr, static_cast<int>(c.otherEntries))
                                        : tr("device map, %Ln entries", nullptr, static_cast<int>(c.otherEntries));
    m_files->setText(tr("A: the map on screen (%Ln entries)", nullptr, static_cast<int>(m_document->deviceMap().size())) +
                     QLatin1Char('\n') + tr("B: %1 (%2)").arg(ltr(QFileInfo(m_otherFile).fileName()), other));
    m_files->setToolTip(m_otherFile);

    // ---- speed ----
    m_speedBox->setTitle(tr("Predicted speed on this machine"));
    m_speed->clear();
    m_speed->setColumnCount(3);
    m_speed->setHorizontalHeaderLabels({QString(), tr("A"), tr("B")});
    m_speed->setRowCount(3);
    const QString rows[3] = {tr("Time per token"), tr("Tokens per second"), tr("Prompt of %1 tokens").arg(QLocale().toString(32))};
    auto value = [](const std::optional<planner::Prediction> &p, int row) {
        if (!p)
            return tr("not predictable");
        switch (row) {
        case 0: return formatSeconds(p->decodeSeconds);
        case 1: return QLocale().toString(p->tokensPerSecond(), 'f', 1);
        default: return formatSeconds(p->prefillSeconds);
        }
    };
    for (int r = 0; r < 3; ++r) {
        m_speed->setItem(r, 0, cell(rows[r]));
        m_speed->setItem(r, 1, cell(value(c.a, r), true));
        m_speed->setItem(r, 2, cell(value(c.b, r), true));
    }
    for (int c = 0; c < 3; ++c)
        m_speed->horizontalHeader()->setSectionResizeMode(c, c == 0 ? QHeaderView::ResizeToContents : QHeaderView::Stretch);
    fitHeight(m_speed, 3);
    QString verdict;
    if (!c.a || !c.b) {
        verdict = tr("One of the maps leaves weights without a device: its speed cannot be predicted.");
    } else {
        const double ta = c.a->decodeSeconds, tb = c.b->decodeSeconds;
        if (ta <= 0 || tb <= 0 || std::abs(ta - tb) <= 1e-3 * std::max(ta, tb))
            verdict = tr("A and B decode at about the same speed.");
        else if (tb < ta)
            verdict = tr("B decodes about %1x faster than A.").arg(QLocale().toString(ta / tb, 'f', 2));
        else
            verdict = tr("B decodes about %1x slower than A.").arg(QLocale().toString(tb / ta, 'f', 2));
    }
    if (!m_document->speedsCalibrated())
        verdict += QLatin1Char(' ') + tr("(Speeds assumed: run mizan-cli calibrate for this machine's.)");
    m_verdict->setText(verdict);

    // ---- devices ----
    m_deviceBox->setTitle(tr("Memory per device"));
    m_devices->clear();
    m_devices->setColumnCount(4);
    m_devices->setHorizontalHeaderLabels({tr("Device"), tr("A"), tr("B"), tr("Change")});
    m_devices->setRowCount(static_cast<int>(diff.devices.size()));
    for (std::size_t i = 0; i < diff.devices.size(); ++i) {
        const auto &d = diff.devices[i];
        const int r = static_cast<int>(i);
        auto *name = cell(m_document->deviceLabel(d.device));
        name->setBackground(deviceTint(m_document->deviceColor(d.device)));
        m_devices->setItem(r, 0, name);
        m_devices->setItem(r, 1, cell(formatBytes(static_cast<std::int64_t>(d.bytesBefore)), true));
        m_devices->setItem(r, 2, cell(formatBytes(static_cast<std::int64_t>(d.bytesAfter)), true));
        m_devices->setItem(r, 3, cell(signedBytes(d.change()), true));
    }
    for (int c = 0; c < 4; ++c)
        m_devices->horizontalHeader()->setSectionResizeMode(c, c == 0 ? QHeaderView::ResizeToContents : QHeaderView::Stretch);
    fitHeight(m_devices, 10);

    // ---- moves ----
    const auto runs = planner::moveRuns(diff);
    m_moveBox->setTitle(runs.empty() ? tr("Moved modules") : tr("Moved modules: %Ln, %1", nullptr, static_cast<int>(diff.moves.size()))
                                                                                 .arg(formatBytes(static_cast<std::int64_t>(diff.movedBytes))));
    m_moves->clear();
    m_moves->setColumnCount(4);
    m_moves->setHorizontalHeaderLabels({tr("Module"), tr("In A"), tr("In B"), tr("Size")});
    m_moves->setRowCount(static_cast<int>(runs.size()));
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto &run = runs[i];
        const auto &m = diff.moves[run.first];
        const int r = static_cast<int>(i);
        m_moves->setItem(r, 0, cell(run.label.empty() ? tr("(whole model)") : ltr(QString::fromStdString(run.label))));
        auto *from = cell(m_document->deviceLabel(m.from));
        from->setBackground(deviceTint(m_document->deviceColor(m.from)));
        auto *to = cell(m_document->deviceLabel(m.to));
        to->setBackground(deviceTint(m_document->deviceColor(m.to)));
        m_moves->setItem(r, 1, from);
        m_moves->setItem(r, 2, to);
        m_moves->setItem(r, 3, cell(formatBytes(static_cast<std::int64_t>(run.bytes)), true));
    }
    sizeColumns(m_moves, 0);
    m_moves->setVisible(!runs.empty());
    m_noMoves->setText(tr("No module moved: A and B place every weight alike."));
    m_noMoves->setVisible(runs.empty());

    QStringList extra;
    if (!diff.keysOnlyInA.empty() || !diff.keysOnlyInB.empty())
        extra << tr("The maps name modules differently (%1 keys only in A, %2 only in B); compared weight by weight.")
                     .arg(QLocale().toString(static_cast<qlonglong>(diff.keysOnlyInA.size())),
                          QLocale().toString(static_cast<qlonglong>(diff.keysOnlyInB.size())));
    if (!diff.notes.empty())
        extra << tr("A and B load the weights in different dtypes: bytes in A are sized as A loads them, in B as B does.");
    m_extra->setText(extra.join(QLatin1Char('\n')));
    m_extra->setVisible(!extra.isEmpty());
}

} // namespace mizan::gui
