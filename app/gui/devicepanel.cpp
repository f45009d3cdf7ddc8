#include "devicepanel.h"

#include "document.h"
#include "guiformat.h"

#include "models/planoptions.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

#include <cmath>

namespace mizan::gui {

namespace {

// Units offered next to a limit: bytes per unit.
constexpr std::int64_t kGiB = std::int64_t(1) << 30;
constexpr std::int64_t kMiB = std::int64_t(1) << 20;
constexpr std::int64_t kGB = 1000000000;

const std::optional<DType> kDtypes[] = {std::nullopt, DType::F32, DType::BF16, DType::F16, DType::I8,
                                        DType::CustomFp8, DType::CustomInt4};
const planner::Strategy kStrategies[] = {planner::Strategy::Auto, planner::Strategy::Balanced,
                                         planner::Strategy::BalancedLow0, planner::Strategy::Sequential,
                                         planner::Strategy::Optimal};

enum Columns { DeviceCol, LimitCol, UnitCol, RemoveCol };

// The profile combo's entry for the devices the probe found on this machine.
const QString kMachineProfile = QStringLiteral("@machine");

} // namespace

DevicePanel::DevicePanel(Document *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_profileLabel(new QLabel(this))
    , m_profile(new QComboBox(this))
    , m_table(new QTableWidget(0, 4, this))
    , m_gpuNote(new QLabel(this))
    , m_addGpu(new QPushButton(this))
    , m_dtypeLabel(new QLabel(this))
    , m_dtype(new QComboBox(this))
    , m_strategyLabel(new QLabel(this))
    , m_strategy(new QComboBox(this))
    , m_headroomLabel(new QLabel(this))
    , m_headroomTokens(new QSpinBox(this))
    , m_batchLabel(new QLabel(this))
    , m_headroomBatch(new QSpinBox(this))
    , m_headroomNote(new QLabel(this))
    , m_plan(new QPushButton(this))
    , m_summary(new QLabel(this))
{
    auto *layout = new QVBoxLayout(this);
    auto *profileRow = new QHBoxLayout;
    profileRow->addWidget(m_profileLabel);
    profileRow->addWidget(m_profile, 1);
    layout->addLayout(profileRow);

    m_table->horizontalHeader()->setSectionResizeMode(DeviceCol, QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(LimitCol, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(UnitCol, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(RemoveCol, QHeaderView::ResizeToContents);
    m_table->verticalHeader()->hide();
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layout->addWidget(m_table);

    m_gpuNote->setWordWrap(true);
    m_gpuNote->setObjectName(QStringLiteral("gpuNote"));
    layout->addWidget(m_gpuNote);
    layout->addWidget(m_addGpu);

    auto *form = new QFormLayout;
    form->addRow(m_dtypeLabel, m_dtype);
    form->addRow(m_strategyLabel, m_strategy);
    m_headroomTokens->setObjectName(QStringLiteral("headroomTokens"));
    m_headroomTokens->setRange(0, 1 << 20);
    m_headroomTokens->setSingleStep(512);
    m_headroomTokens->setAccelerated(true);
    m_headroomTokens->setKeyboardTracking(false);
    m_headroomBatch->setObjectName(QStringLiteral("headroomBatch"));
    m_headroomBatch->setRange(1, 4096);
    m_headroomBatch->setKeyboardTracking(false);
    form->addRow(m_headroomLabel, m_headroomTokens);
    form->addRow(m_batchLabel, m_headroomBatch);
    layout->addLayout(form);
    m_headroomNote->setWordWrap(true);
    m_headroomNote->setObjectName(QStringLiteral("headroomNote"));
    layout->addWidget(m_headroomNote);
    m_plan->setObjectName(QStringLiteral("planButton"));
    m_plan->setDefault(true);
    layout->addWidget(m_plan);
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    layout->addStretch(1);

    for (std::size_t i = 0; i < std::size(kDtypes); ++i)
        m_dtype->addItem(QString());
    for (std::size_t i = 0; i < std::size(kStrategies); ++i)
        m_strategy->addItem(QString::fromLatin1(planner::toString(kStrategies[i])));

    connect(m_addGpu, &QPushButton::clicked, this, [this] { m_document->addSimulatedGpu(24 * kGiB); });
    connect(m_dtype, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        if (i >= 0 && i < static_cast<int>(std::size(kDtypes)))
            m_document->setDtype(kDtypes[i]);
    });
    connect(m_strategy, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        if (i >= 0 && i < static_cast<int>(std::size(kStrategies)))
            m_document->setStrategy(kStrategies[i]);
    });
    connect(m_profile, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        if (i <= 0)
            return;
        if (m_profile->itemData(i).toString() == kMachineProfile) {
            m_appliedProfile = kMachineProfile;
            m_document->useMachineDevices();
        } else
            applyProfile(m_profile->itemData(i).toString());
    });
    auto commitHeadroom = [this] { m_document->setHeadroom(m_headroomTokens->value(), m_headroomBatch->value()); };
    connect(m_headroomTokens, qOverload<int>(&QSpinBox::valueChanged), this, commitHeadroom);
    connect(m_headroomBatch, qOverload<int>(&QSpinBox::valueChanged), this, commitHeadroom);
    connect(m_plan, &QPushButton::clicked, m_document, &Document::requestPlan);
    connect(m_document, &Document::settingsChanged, this, &DevicePanel::rebuild);
    connect(m_document, &Document::busyChanged, this, [this] {
        m_plan->setEnabled(m_document->hasModel() && !m_document->isPlanning());
    });
    connect(m_document, &Document::mapChanged, this, &DevicePanel::syncValues);
    retranslateUi();
    rebuild();
}

void DevicePanel::setHardwareProfiles(std::vector<models::HardwareProfile> profiles)
{
    // Cluster profiles (several hosts) are planned by `mizan-cli plan`; the window plans one machine.
    profiles.erase(std::remove_if(profiles.begin(), profiles.end(), [](const models::HardwareProfile &p) { return p.isCluster(); }),
                   profiles.end());
    m_profiles = std::move(profiles);
    retranslateUi();
}

bool DevicePanel::applyProfile(const QString &name)
{
    for (const auto &p : m_profiles)
        if (QString::fromStdString(p.name) == name) {
            applyProfile(p);
            return true;
        }
    return false;
}

void DevicePanel::applyProfile(const models::HardwareProfile &profile)
{
    // Disk is always offered, without a limit: a profile's disk entry is not a budget.
    m_appliedProfile = QString::fromStdString(profile.name);
    {
        const QSignalBlocker block(m_profile);
        m_profile->setCurrentIndex(std::max(0, m_profile->findData(m_appliedProfile)));
    }
    std::vector<DeviceSetting> devices;
    for (const auto &d : models::budgetsFor(profile).devices)
        devices.push_back({d.device, d.capacityBytes, d.simulated, QString::fromStdString(d.label), d.capacityBytes});
    m_document->setDevices(devices, tr("Use the hardware profile %1")
                                        .arg(QString::fromStdString(profile.description.empty() ? profile.name : profile.description)));
}

void DevicePanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void DevicePanel::retranslateUi()
{
    m_profileLabel->setText(tr("Hardware profile:"));
    {
        const QSignalBlocker block(m_profile);
        m_profile->clear();
        m_profile->addItem(tr("Choose a profile…"));
        if (m_document->machine())
            m_profile->addItem(tr("This machine (detected)"), kMachineProfile);
        for (const auto &p : m_profiles)
            m_profile->addItem(QString::fromStdString(p.description.empty() ? p.name : p.description),
                               QString::fromStdString(p.name));
        // A profile applied before the list was read (mizan --hardware) shows once it is there.
        m_profile->setCurrentIndex(std::max(0, m_profile->findData(m_appliedProfile)));
    }
    m_table->setHorizontalHeaderLabels({tr("Device"), tr("Limit"), tr("Unit"), QString()});
    updateGpuNote();
    m_addGpu->setText(tr("Add simulated GPU"));
    m_dtypeLabel->setText(tr("Load dtype:"));
    m_strategyLabel->setText(tr("Strategy:"));
    m_headroomLabel->setText(tr("Generation headroom:"));
    m_headroomTokens->setSpecialValueText(tr("none"));
    m_headroomTokens->setSuffix(tr(" tokens"));
    m_headroomTokens->setToolTip(tr("Keep room on every GPU for the KV cache and activations of this many tokens (prompt + generated)."));
    m_batchLabel->setText(tr("Batch size:"));
    m_headroomBatch->setToolTip(tr("Sequences generated at once: the KV cache grows with it."));
    m_dtype->setItemText(0, tr("as stored"));
    for (std::size_t i = 1; i < std::size(kDtypes); ++i)
        m_dtype->setItemText(static_cast<int>(i), QString::fromLatin1(torchName(*kDtypes[i])));
    m_strategy->setToolTip(tr("auto and balanced spread the model evenly over the GPUs; balanced_low_0 keeps GPU 0 light for generation; sequential fills each GPU in turn."));
    m_plan->setText(tr("Plan"));
    m_plan->setToolTip(tr("Compute a device map for these limits (F5)"));
    m_deviceSignature.clear();
    rebuild();
}

void DevicePanel::updateGpuNote()
{
    const runtime::DeviceReport *machine = m_document->machine();
    QString text;
    if (!machine) {
        text = tr("Looking for GPUs…");
    } else if (machine->gpus.empty()) {
        text = machine->cudaBuild
                   ? tr("No CUDA GPU found (check the driver and CUDA_VISIBLE_DEVICES): add simulated GPUs or choose a hardware profile.")
                   : tr("No CUDA GPU in this build: add simulated GPUs or choose a hardware profile.");
    } else {
        QStringList gpus;
        for (const auto &g : machine->gpus)
            gpus << tr("GPU %1: %2, %3 free of %4")
                        .arg(QLocale().toString(g.index), QString::fromStdString(g.name),
                             formatBytes(g.freeBytes), formatBytes(g.totalBytes));
        text = tr("This machine has %Ln CUDA GPU(s):", nullptr, static_cast<int>(machine->gpus.size())) + QLatin1Char('\n')
               + gpus.join(QLatin1Char('\n'));
    }
    m_gpuNote->setText(text);
    // The backend ("libtorch 1.13.0 (CPU only)", or "none") and the probe's notes, e.g. why the
    // libtorch backend could not be loaded.
    QStringList tip;
    if (machine) {
        tip << QString::fromStdString(machine->backend);
        for (const auto &note : machine->notes)
            tip << QString::fromStdString(note);
    }
    m_gpuNote->setToolTip(tip.join(QLatin1Char('\n')));
}

void DevicePanel::rebuild()
{
    const auto &devices = m_document->devices();
    {
        // The machine's entry appears once the probe has answered.
        const bool listed = m_profile->findData(kMachineProfile) >= 0;
        if (listed != (m_document->machine() != nullptr)) {
            retranslateUi();
            return;
        }
        updateGpuNote();
    }
    QString signature;
    for (const auto &d : devices)
        signature += QString::fromStdString(d.device.toString()) + (d.simulated ? QStringLiteral("s,") : QStringLiteral(","));
    {
        const QSignalBlocker b1(m_dtype), b2(m_strategy);
        for (std::size_t i = 0; i < std::size(kDtypes); ++i)
            if (kDtypes[i] == m_document->dtype())
                m_dtype->setCurrentIndex(static_cast<int>(i));
        for (std::size_t i = 0; i < std::size(kStrategies); ++i)
            if (kStrategies[i] == m_document->strategy())
                m_strategy->setCurrentIndex(static_cast<int>(i));
    }
    if (signature == m_deviceSignature) {
        syncValues();
        return;
    }
    m_deviceSignature = signature;
    m_table->setRowCount(static_cast<int>(devices.size()) + 1);
    for (int row = 0; row < static_cast<int>(devices.size()); ++row) {
        const DeviceSetting &d = devices[static_cast<std::size_t>(row)];
        auto *item = new QTableWidgetItem(m_document->deviceLabel(d.device));
        item->setData(Qt::DecorationRole, m_document->deviceColor(d.device));
        QString tip = d.label;
        if (d.device.isGpu() && !d.simulated && m_document->machine())
            for (const auto &g : m_document->machine()->gpus)
                if (g.index == d.device.index)
                    tip = tr("%1: %2 free of %3 when Mizan started")
                              .arg(QString::fromStdString(g.name), formatBytes(g.freeBytes), formatBytes(g.totalBytes));
        if (d.simulated)
            tip += (tip.isEmpty() ? QString() : QStringLiteral("\n")) + tr("A simulated GPU: a separate CPU memory arena with this capacity.");
        item->setToolTip(tip);
        m_table->setItem(row, DeviceCol, item);

        auto *spin = new QDoubleSpinBox(m_table);
        spin->setMaximumWidth(100);
        spin->setRange(0, 1e7);
        spin->setDecimals(2);
        spin->setAccelerated(true);
        spin->setKeyboardTracking(false);
        spin->setLocale(QLocale());
        auto *unit = new QComboBox(m_table);
        unit->addItem(tr("GiB"), QVariant::fromValue<qlonglong>(kGiB));
        unit->addItem(tr("GB"), QVariant::fromValue<qlonglong>(kGB));
        unit->addItem(tr("MiB"), QVariant::fromValue<qlonglong>(kMiB));
        if (d.limitBytes > 0 && d.limitBytes < kGiB)
            unit->setCurrentIndex(unit->findData(QVariant::fromValue<qlonglong>(kMiB))); // "40.00 MiB", not "0.04 GiB"
        const planner::Device device = d.device;
        auto commit = [this, spin, unit, device] {
            const double bytes = spin->value() * static_cast<double>(unit->currentData().toLongLong());
            m_document->setDeviceLimit(device, static_cast<std::int64_t>(std::llround(bytes)));
        };
        connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, commit);
        connect(unit, qOverload<int>(&QComboBox::activated), this, [spin, unit, this, device] {
            // Keep the bytes, show them in the new unit.
            for (const auto &s : m_document->devices())
                if (s.device == device) {
                    const QSignalBlocker block(spin);
                    spin->setValue(static_cast<double>(s.limitBytes) / static_cast<double>(unit->currentData().toLongLong()));
                }
        });
        m_table->setCellWidget(row, LimitCol, spin);
        m_table->setCellWidget(row, UnitCol, unit);
        if (d.device.isGpu()) {
            auto *remove = new QToolButton(m_table);
            remove->setIcon(QIcon(QStringLiteral(":/icons/remove.png")));
            remove->setToolTip(tr("Remove %1").arg(m_document->deviceLabel(d.device)));
            remove->setAutoRaise(true);
            connect(remove, &QToolButton::clicked, this, [this, device] { m_document->removeDevice(device); });
            m_table->setCellWidget(row, RemoveCol, remove);
        } else {
            m_table->removeCellWidget(row, RemoveCol);
        }
    }
    const int diskRow = static_cast<int>(devices.size());
    auto *disk = new QTableWidgetItem(m_document->deviceLabel(planner::Device::disk()));
    disk->setData(Qt::DecorationRole, m_document->deviceColor(planner::Device::disk()));
    m_table->setItem(diskRow, DeviceCol, disk);
    m_table->removeCellWidget(diskRow, LimitCol);
    m_table->removeCellWidget(diskRow, UnitCol);
    m_table->removeCellWidget(diskRow, RemoveCol);
    m_table->setItem(diskRow, LimitCol, new QTableWidgetItem(tr("unlimited")));
    m_table->setItem(diskRow, UnitCol, new QTableWidgetItem(QString()));
    // The table is exactly as tall as its rows: the panel below never overlaps it.
    const int rowHeight = QDoubleSpinBox().sizeHint().height() + 4;
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(rowHeight);
    m_table->setFixedHeight(m_table->horizontalHeader()->sizeHint().height() + 2 * m_table->frameWidth()
                            + rowHeight * m_table->rowCount() + 8);
    syncValues();
}

void DevicePanel::syncValues()
{
    const auto &devices = m_document->devices();
    for (int row = 0; row < static_cast<int>(devices.size()) && row < m_table->rowCount(); ++row) {
        auto *spin = qobject_cast<QDoubleSpinBox *>(m_table->cellWidget(row, LimitCol));
        auto *unit = qobject_cast<QComboBox *>(m_table->cellWidget(row, UnitCol));
        if (!spin || !unit)
            continue;
        const QSignalBlocker block(spin);
        spin->setLocale(QLocale());
        spin->setValue(static_cast<double>(devices[static_cast<std::size_t>(row)].limitBytes)
                       / static_cast<double>(unit->currentData().toLongLong()));
    }
    m_plan->setEnabled(m_document->hasModel() && !m_document->isPlanning());
    {
        const QSignalBlocker b1(m_headroomTokens), b2(m_headroomBatch);
        m_headroomTokens->setLocale(QLocale());
        m_headroomBatch->setLocale(QLocale());
        m_headroomTokens->setValue(static_cast<int>(m_document->headroomTokens()));
        m_headroomBatch->setValue(static_cast<int>(m_document->headroomBatch()));
        m_headroomBatch->setEnabled(m_document->headroomTokens() > 0);
    }
    const QString problem = m_document->headroomProblem();
    const planner::Plan *planned = m_document->plan();
    if (!problem.isEmpty())
        m_headroomNote->setText(problem);
    else if (planned && planned->headroom.activationBytes > 0)
        m_headroomNote->setText(tr("Reserved per GPU: %1 for activations + %2 of KV cache per layer it holds.")
                                    .arg(formatBytes(planned->headroom.activationBytes),
                                         formatBytes(planned->headroom.kvCachePerLayerBytes)));
    else
        m_headroomNote->clear();
    m_headroomNote->setVisible(!m_headroomNote->text().isEmpty());
    if (const auto *plan = m_document->plan()) {
        QString text = tr("%Ln map entries, %1 in total.", nullptr, static_cast<int>(m_document->deviceMap().size()))
                           .arg(formatBytes(static_cast<std::int64_t>(plan->totalBytes)));
        if (const auto &p = m_document->prediction(); p && !p->steps.empty()) {
            text += QLatin1Char('\n') + tr("Predicted on this machine: about %1 per token (%2 tokens/s), prompt of 32 tokens in %3.")
                                             .arg(formatSeconds(p->decodeSeconds), QLocale().toString(p->tokensPerSecond(), 'f', 1),
                                                  formatSeconds(p->prefillSeconds));
            if (p->offloadedSteps > 0)
                text += QLatin1Char(' ') + tr("%Ln steps offloaded (%1 from disk), %2 moved per token: about %3x slower than with every weight resident.",
                                              nullptr, p->offloadedSteps)
                                               .arg(QLocale().toString(p->diskSteps), formatBytes(p->bytesMovedPerToken),
                                                    QLocale().toString(p->slowdown(), 'f', 1));
            if (!m_document->speedsCalibrated())
                text += QLatin1Char(' ') + tr("(Speeds assumed: run mizan-cli calibrate for this machine's.)");
        }
        m_summary->setText(text);
    } else {
        m_summary->setText(m_document->hasModel() ? tr("No plan yet: press Plan.") : QString());
    }
}

} // namespace mizan::gui
