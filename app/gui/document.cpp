#include "document.h"

#include "guiformat.h"
#include "messagetext.h"

#include "models/planoptions.h"
#include "planner/error.h"
#include "planner/mapedit.h"
#include "planner/jsonfile.h"
#include "planner/mapfile.h"
#include "planner/usage.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QTimer>
#include <QLoggingCategory>
#include <QSet>
#include <QUndoCommand>

#include <algorithm>
#include <set>

Q_LOGGING_CATEGORY(lcTiming, "mizan.timing", QtWarningMsg)

namespace mizan::gui {

namespace {

// One undoable step: the document state before and after. Steps with the same merge id that
// follow each other (a spin box being turned) collapse into one.
class StateCommand : public QUndoCommand {
public:
    StateCommand(Document *doc, const QString &text, Document::State before, Document::State after, int mergeId = -1)
        : QUndoCommand(text), m_doc(doc), m_before(std::move(before)), m_after(std::move(after)), m_mergeId(mergeId)
    {
    }
    void redo() override { m_doc->restore(m_after); }
    void undo() override { m_doc->restore(m_before); }
    int id() const override { return m_mergeId; }
    bool mergeWith(const QUndoCommand *other) override
    {
        if (other->id() != m_mergeId || m_mergeId < 0)
            return false;
        m_after = static_cast<const StateCommand *>(other)->m_after;
        return true;
    }

private:
    Document *m_doc;
    Document::State m_before;
    Document::State m_after;
    int m_mergeId;
};

int sortKey(const planner::Device &d)
{
    return static_cast<int>(d.kind) * 1000 + d.index;
}

} // namespace

Document::Document(QObject *parent)
    : QObject(parent)
    , m_treeModel(new ModuleTreeModel(this))
    , m_undo(new QUndoStack(this))
{
    m_worker = new Worker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &Worker::progress, this, [this](int done, int total) {
        if (m_opening)
            Q_EMIT openProgress(done, total);
    });
    m_thread.setObjectName(QStringLiteral("mizan-worker"));
    m_thread.start();
    connect(m_treeModel, &ModuleTreeModel::deviceEditRequested, this, [this](int id, const QString &key) {
        try {
            setModuleDevice(id, planner::Device::fromString(key.toStdString()));
        } catch (const std::exception &e) {
            qWarning("mizan: device edit ignored: %s", e.what());
        }
    });
    // The RAM available now as the first CPU limit, as Accelerate's get_max_memory() takes it.
    // GPUs come later from the device probe (initialising CUDA is slow: never on this thread).
    const runtime::HostMemory host = runtime::probeHostMemory();
    const std::int64_t ramBytes = host.availableBytes > 0 ? host.availableBytes : std::int64_t(64) << 30;
    m_devices.push_back({planner::Device::cpu(), ramBytes, false, {}});
}

Document::~Document()
{
    if (m_cancel)
        m_cancel->store(true);
    m_thread.quit();
    m_thread.wait();
}

// ---- opening ------------------------------------------------------------------------------------

void Document::open(const QString &pathOrPreset)
{
    cancelOpen();
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    const quint64 request = ++m_openRequest;
    m_opening = true;
    Q_EMIT openStarted(pathOrPreset);
    Q_EMIT busyChanged();
    auto cancel = m_cancel;
    QPointer<QObject> self(this);
    auto done = [this, request](std::shared_ptr<const OpenedModel> opened) {
        if (request != m_openRequest)
            return;
        m_opening = false;
        applyOpened(std::move(opened));
        Q_EMIT busyChanged();
    };
    auto failed = [this, request](const Failure &failure) {
        if (request != m_openRequest)
            return;
        m_opening = false;
        Q_EMIT openFailed(failure.message, failure.cancelled);
        Q_EMIT busyChanged();
    };
    Worker *worker = m_worker;
    QMetaObject::invokeMethod(worker, [worker, pathOrPreset, cancel, self, done, failed] {
        worker->open(pathOrPreset, cancel, self, done, failed);
    }, Qt::QueuedConnection);
}

void Document::cancelOpen()
{
    if (m_cancel)
        m_cancel->store(true);
}

void Document::applyOpened(std::shared_ptr<const OpenedModel> result)
{
    QElapsedTimer timer;
    timer.start();
    m_model = std::move(result);
    setTestRunError(std::nullopt);
    m_tree = std::shared_ptr<const planner::ModuleTree>(m_model, &m_model->source.model.tree);
    m_plan.reset();
    m_map.clear();
    m_pins.clear();
    m_policies.clear();
    m_noSplit.clear();
    for (const auto &c : m_model->source.model.noSplitClasses)
        m_noSplit << QString::fromStdString(c);
    m_sizes = m_dtype ? planner::aggregateSizes(*m_tree, options()) : m_model->storedSizes;
    m_treeModel->setTree(m_tree, m_sizes);
    m_treeModel->setSizes(m_sizes, options());
    m_undo->clear();
    qCDebug(lcTiming) << "model set" << timer.elapsed() << "ms";
    refreshMap();
    qCDebug(lcTiming) << "map refreshed" << timer.elapsed() << "ms";
    Q_EMIT opened();
    qCDebug(lcTiming) << "opened handlers" << timer.elapsed() << "ms";
    // The panels and the plan request in the next event-loop turn: no single long turn.
    QTimer::singleShot(0, this, [this] {
        Q_EMIT settingsChanged();
        requestPlan();
    });
}

// ---- settings -----------------------------------------------------------------------------------

Document::State Document::state() const
{
    return State{m_devices, m_dtype, m_noSplit, m_strategy, m_headroomTokens, m_headroomBatch, m_pins, m_policies, m_map, m_plan};
}

void Document::restore(const State &s)
{
    const bool dtypeChanged = s.dtype != m_dtype;
    m_devicesTouched = m_devicesTouched || s.devices != m_devices;
    m_devices = s.devices;
    m_dtype = s.dtype;
    m_noSplit = s.noSplit;
    m_strategy = s.strategy;
    m_headroomTokens = s.headroomTokens;
    m_headroomBatch = s.headroomBatch;
    m_pins = s.pins;
    m_policies = s.policies;
    m_map = s.map;
    m_plan = s.plan;
    if (dtypeChanged)
        refreshSizes();
    refreshMap();
    Q_EMIT settingsChanged();
}

void Document::retranslate()
{
    if (m_tree)
        m_treeModel->setSizes(m_sizes, options());
    m_treeModel->retranslate();
    refreshMap();
    Q_EMIT settingsChanged();
}

void Document::pushState(const QString &text, const State &next)
{
    m_undo->push(new StateCommand(this, text, state(), next));
}

void Document::setDevices(const std::vector<DeviceSetting> &devices, const QString &undoText)
{
    State next = state();
    next.devices = devices;
    std::stable_sort(next.devices.begin(), next.devices.end(),
                     [](const DeviceSetting &a, const DeviceSetting &b) { return sortKey(a.device) < sortKey(b.device); });
    if (next.devices == m_devices)
        return;
    pushState(undoText, next);
}

void Document::setDeviceLimit(const planner::Device &device, std::int64_t bytes)
{
    State next = state();
    bool changed = false;
    for (auto &d : next.devices)
        if (d.device == device && d.limitBytes != bytes) {
            d.limitBytes = bytes;
            changed = true;
        }
    if (!changed)
        return;
    // Consecutive changes of one device's limit merge into one undo step.
    m_undo->push(new StateCommand(this, tr("Set the limit of %1").arg(deviceLabel(device)), state(), next,
                                  1000 + sortKey(device)));
}

void Document::addSimulatedGpu(std::int64_t bytes)
{
    int index = 0;
    for (const auto &d : m_devices)
        if (d.device.isGpu())
            index = std::max(index, d.device.index + 1);
    auto devices = m_devices;
    devices.push_back({planner::Device::gpu(index), bytes, true, {}, bytes});
    setDevices(devices, tr("Add simulated GPU %1").arg(index));
}

namespace {

// Accelerate's default budget on this machine, with the cards' names.
std::vector<DeviceSetting> machineDevices(const runtime::DeviceReport &report)
{
    std::vector<DeviceSetting> devices;
    for (const auto &[device, bytes] : runtime::defaultMaxMemory(report)) {
        QString label;
        std::int64_t capacity = device.kind == planner::DeviceKind::Cpu && report.host.totalBytes > 0 ? report.host.totalBytes : -1;
        for (const auto &g : report.gpus)
            if (device == planner::Device::gpu(g.index)) {
                label = QString::fromStdString(g.name);
                capacity = g.totalBytes;
            }
        devices.push_back({device, bytes, false, label, capacity});
    }
    return devices;
}

} // namespace

void Document::setMachine(const runtime::DeviceReport &report)
{
    m_machine = std::make_shared<const runtime::DeviceReport>(report);
    // Only devices nobody has chosen yet (no saved settings, profile, edit or import) are replaced.
    if (!report.gpus.empty() && !m_devicesTouched) {
        State next = state();
        next.devices = machineDevices(report);
        restore(next);
        m_devicesTouched = false;
    }
    Q_EMIT settingsChanged();
}

bool Document::useMachineDevices()
{
    if (!m_machine)
        return false;
    setDevices(machineDevices(*m_machine), tr("Use this machine's devices"));
    return true;
}

void Document::setHeadroom(std::int64_t tokens, std::int64_t batch)
{
    tokens = std::max<std::int64_t>(0, tokens);
    batch = std::max<std::int64_t>(1, batch);
    if (tokens == m_headroomTokens && batch == m_headroomBatch)
        return;
    State next = state();
    next.headroomTokens = tokens;
    next.headroomBatch = batch;
    // Turning the spin boxes merges into one undo step.
    m_undo->push(new StateCommand(this, tr("Reserve headroom for %Ln tokens", nullptr, static_cast<int>(tokens)), state(), next, 999));
}

QString Document::headroomProblem() const
{
    if (m_headroomTokens <= 0 || !m_model)
        return {};
    if (m_model->source.model.dims.hiddenSize <= 0)
        return tr("This model's config gives no hidden size, so no headroom can be reserved for it.");
    return {};
}

void Document::removeDevice(const planner::Device &device)
{
    auto devices = m_devices;
    std::erase_if(devices, [&](const DeviceSetting &d) { return d.device == device; });
    setDevices(devices, tr("Remove %1").arg(deviceLabel(device)));
}

void Document::setDtype(std::optional<DType> dtype)
{
    if (dtype == m_dtype)
        return;
    State next = state();
    next.dtype = dtype;
    pushState(tr("Set the dtype to %1").arg(dtype ? QString::fromLatin1(torchName(*dtype)) : tr("as stored")), next);
}

void Document::setNoSplitClasses(const QStringList &classes)
{
    if (classes == m_noSplit)
        return;
    State next = state();
    next.noSplit = classes;
    pushState(tr("Change the no-split classes"), next);
}

QStringList Document::modelClasses() const
{
    QSet<QString> seen;
    QStringList out;
    if (!m_tree)
        return out;
    for (const auto &m : m_tree->modules()) {
        if (m.className.empty() || m.children.empty())
            continue; // leaves (Linear, Embedding) are never split anyway
        const QString c = QString::fromStdString(m.className);
        if (!seen.contains(c)) {
            seen.insert(c);
            out << c;
        }
    }
    for (const auto &c : m_noSplit)
        if (!seen.contains(c))
            out << c;
    return out;
}

QStringList Document::defaultNoSplitClasses() const
{
    QStringList out;
    if (m_model)
        for (const auto &c : m_model->source.model.noSplitClasses)
            out << QString::fromStdString(c);
    return out;
}

void Document::setStrategy(planner::Strategy strategy)
{
    if (strategy == m_strategy)
        return;
    State next = state();
    next.strategy = strategy;
    pushState(tr("Set the strategy to %1").arg(QString::fromLatin1(planner::toString(strategy))), next);
}

void Document::pinModule(int moduleId, const planner::Device &device)
{
    if (!m_tree)
        return;
    const std::string name = m_tree->module(moduleId).name;
    State next = state();
    std::erase_if(next.pins, [&](const planner::Pin &p) { return p.module == name; });
    next.pins.push_back({name, device, false});
    next.map = planner::moveModule(*m_tree, m_map, moduleId, device);
    pushState(tr("Pin %1 to %2").arg(QString::fromStdString(name), deviceLabel(device)), next);
}

void Document::unpinModule(int moduleId)
{
    if (!m_tree)
        return;
    const std::string name = m_tree->module(moduleId).name;
    State next = state();
    std::erase_if(next.pins, [&](const planner::Pin &p) { return p.module == name; });
    if (next.pins.size() == m_pins.size())
        return;
    pushState(tr("Unpin %1").arg(QString::fromStdString(name)), next);
}

bool Document::addPolicy(const planner::Policy &policy)
{
    if (std::find(m_policies.begin(), m_policies.end(), policy) != m_policies.end())
        return false;
    State next = state();
    next.policies.push_back(policy);
    pushState(tr("Add the policy %1").arg(ltr(QString::fromStdString(planner::toString(policy)))), next);
    requestPlan();
    return true;
}

void Document::removePolicy(int index)
{
    if (index < 0 || index >= static_cast<int>(m_policies.size()))
        return;
    State next = state();
    const QString text = QString::fromStdString(planner::toString(next.policies[static_cast<std::size_t>(index)]));
    next.policies.erase(next.policies.begin() + index);
    pushState(tr("Remove the policy %1").arg(ltr(text)), next);
    requestPlan();
}

planner::PlanOptions Document::options() const
{
    models::PlanSettings s;
    for (const auto &d : m_devices)
        s.maxMemory.emplace_back(d.device, d.limitBytes);
    std::vector<std::string> noSplit;
    for (const auto &c : m_noSplit)
        noSplit.push_back(c.toStdString());
    s.noSplitClasses = std::move(noSplit);
    s.dtype = m_dtype;
    s.strategy = m_strategy;
    s.pins = m_pins;
    s.policies = m_policies;
    if (m_model && headroomProblem().isEmpty()) {
        s.headroomTokens = m_headroomTokens;
        s.headroomBatch = m_headroomBatch;
    }
    static const models::ModelDescription noModel;
    planner::PlanOptions options = models::planOptionsFor(m_model ? m_model->source.model : noModel, s);
    if (m_strategy == planner::Strategy::Optimal)
        options.speeds = speeds();
    return options;
}

planner::SpeedModel Document::speeds() const
{
    if (!m_calibratedChecked) {
        m_calibratedChecked = true;
        try {
            m_calibration = runtime::loadCalibration();
        } catch (const Error &e) {
            qWarning("mizan: %s", e.what());
        }
        m_calibrated = m_calibration.has_value();
    }
    std::vector<int> simulated;
    for (const auto &d : m_devices)
        if (d.device.isGpu() && d.simulated)
            simulated.push_back(d.device.index);
    if (!m_speeds || m_speeds->first != simulated)
        m_speeds.emplace(simulated, runtime::speedModelForThisMachine(m_calibration, simulated, 0));
    return m_speeds->second;
}

std::vector<planner::Device> Document::deviceChoices() const
{
    std::vector<planner::Device> out;
    for (const auto &d : m_devices)
        out.push_back(d.device);
    out.push_back(planner::Device::disk());
    return out;
}

QString Document::deviceLabel(const planner::Device &device) const
{
    for (const auto &d : m_devices)
        if (d.device == device && d.device.isGpu() && d.simulated)
            return tr("GPU %1 (simulated)").arg(QLocale().toString(device.index));
    return shortDeviceLabel(device);
}

QString Document::shortDeviceLabel(const planner::Device &device) const
{
    switch (device.kind) {
    case planner::DeviceKind::Gpu:
        return tr("GPU %1").arg(QLocale().toString(device.index));
    case planner::DeviceKind::Cpu:
        return tr("CPU");
    case planner::DeviceKind::Disk:
        return tr("Disk");
    case planner::DeviceKind::Mps:
        return tr("MPS");
    }
    return {};
}

QColor Document::deviceColor(const planner::Device &device) const
{
    switch (device.kind) {
    case planner::DeviceKind::Gpu:
        return gui::deviceColor(DeviceColorKind::Gpu, device.index);
    case planner::DeviceKind::Cpu:
        return gui::deviceColor(DeviceColorKind::Cpu, 0);
    case planner::DeviceKind::Disk:
        return gui::deviceColor(DeviceColorKind::Disk, 0);
    case planner::DeviceKind::Mps:
        return gui::deviceColor(DeviceColorKind::Mps, 0);
    }
    return {};
}

// ---- planning and editing -----------------------------------------------------------------------

void Document::requestPlan()
{
    if (!m_tree)
        return;
    const quint64 request = ++m_planRequest;
    m_planning = true;
    Q_EMIT planStarted();
    Q_EMIT busyChanged();
    QPointer<QObject> self(this);
    const State before = state();
    auto done = [this, request, before](std::shared_ptr<const planner::Plan> plan) {
        if (request != m_planRequest)
            return;
        m_planning = false;
        State next = state();
        next.plan = plan;
        next.map = plan->deviceMap;
        m_undo->push(new StateCommand(this, tr("Plan (%1)").arg(QString::fromLatin1(planner::toString(m_strategy))),
                                      state(), next));
        Q_EMIT planFinished(true, QString());
        Q_EMIT busyChanged();
    };
    auto failed = [this, request](const Failure &failure) {
        if (request != m_planRequest)
            return;
        m_planning = false;
        // Pin errors in the current language, devices named as everywhere in the window.
        Q_EMIT planFinished(false, failureText(failure, [this](const planner::Device &d) { return deviceLabel(d); }));
        Q_EMIT busyChanged();
    };
    Worker *worker = m_worker;
    auto tree = m_tree;
    const planner::PlanOptions options = this->options();
    QMetaObject::invokeMethod(worker, [worker, tree, options, self, done, failed] {
        worker->plan(tree, options, self, done, failed);
    }, Qt::QueuedConnection);
}

void Document::setModuleDevice(int moduleId, const planner::Device &device)
{
    setModulesDevice({moduleId}, device);
}

void Document::setModulesDevice(const std::vector<int> &moduleIds, const planner::Device &device)
{
    if (!m_tree || moduleIds.empty())
        return;
    State next = state();
    for (int id : moduleIds)
        if (id > planner::ModuleTree::kRoot && id < m_tree->size())
            next.map = planner::moveModule(*m_tree, next.map, id, device);
    if (next.map == m_map)
        return;
    const QString text = moduleIds.size() == 1
        ? tr("Move %1 to %2").arg(QString::fromStdString(m_tree->module(moduleIds.front()).name), deviceLabel(device))
        : tr("Move %Ln modules to %1", nullptr, static_cast<int>(moduleIds.size())).arg(deviceLabel(device));
    pushState(text, next);
}

void Document::refreshSizes()
{
    if (!m_tree)
        return;
    const planner::PlanOptions loading = options();
    m_sizes = m_dtype ? planner::aggregateSizes(*m_tree, loading) : m_model->storedSizes;
    m_treeModel->setSizes(m_sizes, loading);
}

void Document::refreshMap()
{
    QElapsedTimer timer;
    timer.start();
    m_issues.clear();
    m_usage.clear();
    m_keyBytes.clear();
    if (m_tree) {
        const planner::PlanOptions options = this->options();
        if (!m_map.empty())
            m_issues = planner::validate(*m_tree, m_map, options);
        m_usage = planner::usageOf(*m_tree, m_map, options, &m_keyBytes);
    }
    m_prediction.reset();
    if (m_tree && !m_map.empty() && !planner::hasErrors(m_issues)) {
        try {
            m_prediction = planner::predict(*m_tree, m_map, this->options(), speeds());
        } catch (const Error &) {
            // Weights the map leaves uncovered: validation already says so.
        }
    }
    const qint64 validated = timer.elapsed();
    if (m_tree)
        m_treeModel->setPlacement(placementView());
    const qint64 placed = timer.elapsed();
    Q_EMIT mapChanged();
    qCDebug(lcTiming) << "refreshMap: validate" << validated << "ms, placement" << placed - validated << "ms, views"
                      << timer.elapsed() - placed << "ms";
}

PlacementView Document::placementView() const
{
    PlacementView v;
    auto choices = deviceChoices();
    // An imported or edited map may name a device the limits do not list (validation reports it):
    // the tree still shows where the module is.
    for (const auto &[key, device] : m_map)
        if (std::find(choices.begin(), choices.end(), device) == choices.end())
            choices.push_back(device);
    for (const auto &d : choices) {
        v.devices << deviceLabel(d);
        v.deviceKeys << QString::fromStdString(d.toString());
        v.colors.push_back(deviceColor(d));
    }
    const auto n = static_cast<std::size_t>(m_tree->size());
    v.slot.assign(n, PlacementView::kNotPlaced);
    v.reason.assign(n, QString());
    v.spread.assign(n, {});
    if (m_map.empty())
        return v;
    const planner::ResolvedDevices resolved = planner::resolveDevices(*m_tree, m_map);
    auto slotOf = [&](const planner::Device &d) {
        const auto it = std::find(choices.begin(), choices.end(), d);
        return it == choices.end() ? PlacementView::kNotPlaced : static_cast<int>(it - choices.begin());
    };
    std::set<std::string> pinned;
    for (const auto &p : m_pins)
        if (!p.forbid)
            pinned.insert(p.module);
    for (std::size_t id = 0; id < n; ++id) {
        for (const auto &d : resolved.spread[id])
            v.spread[id].push_back(slotOf(d));
        if (resolved.device[id])
            v.slot[id] = slotOf(*resolved.device[id]);
        else if (resolved.spread[id].size() > 1)
            v.slot[id] = PlacementView::kSeveralDevices;
        const auto &name = m_tree->module(static_cast<int>(id)).name;
        const planner::Placement *planned = m_plan && id < m_plan->placements.size() ? &m_plan->placements[id] : nullptr;
        if (pinned.count(name) && resolved.device[id])
            v.reason[id] = tr("Pinned to %1 by you.").arg(deviceLabel(*resolved.device[id]));
        else if (planned && planned->device == resolved.device[id])
            v.reason[id] = messageText(planned->explanation, [this](const planner::Device &d) { return deviceLabel(d); });
        else if (planned && resolved.device[id])
            v.reason[id] = planned->device
                ? tr("Moved to %1 by you; the plan put it on %2.").arg(deviceLabel(*resolved.device[id]), deviceLabel(*planned->device))
                : tr("Moved to %1 by you.").arg(deviceLabel(*resolved.device[id]));
        else if (!resolved.device[id] && resolved.spread[id].size() > 1)
            v.reason[id] = tr("Its parts are on %Ln devices.", nullptr, static_cast<int>(resolved.spread[id].size()));
    }
    return v;
}

// ---- test inference -----------------------------------------------------------------------------

QString Document::testRunProblem() const
{
    if (!m_model)
        return tr("Open a checkpoint to run it.");
    if (!m_model->source.checkpoint.hasWeights())
        return tr("%1 describes a model without its weights: test inference needs a checkpoint with weights.")
            .arg(ltr(m_model->path));
    if (m_planning)
        return tr("Wait for the plan.");
    if (m_map.empty())
        return tr("There is no device map to run yet.");
    const auto errors = std::count_if(m_issues.begin(), m_issues.end(),
                                      [](const planner::Issue &i) { return i.severity == planner::Severity::Error; });
    if (errors > 0)
        return tr("The device map has %Ln error(s): fix them (see Problems) to run it.", nullptr, static_cast<int>(errors));
    return {};
}

runtime::RunRequest Document::testRunRequest() const
{
    runtime::RunRequest request;
    if (!m_model)
        return request;
    request.checkpointPath = m_model->path.toStdString();
    runtime::setPlan(request, m_map, m_usage, m_dtype);
    std::vector<runtime::GpuInfo> real;
    if (m_machine)
        for (const auto &g : m_machine->gpus) {
            const auto it = std::find_if(m_devices.begin(), m_devices.end(),
                                         [&](const DeviceSetting &d) { return d.device == planner::Device::gpu(g.index); });
            if (it == m_devices.end() || !it->simulated)
                real.push_back(g);
        }
    std::vector<planner::PlanDevice> known;
    for (const auto &d : m_devices)
        known.push_back({d.device, d.label.toStdString(), d.capacityBytes >= 0 ? d.capacityBytes : d.limitBytes, d.simulated});
    request.devices = runtime::runDevicesFor(m_map, real, known, options().maxMemory);
    return request;
}

void Document::setTestRunError(std::optional<runtime::RunError> error)
{
    if (!error && !m_runError)
        return;
    m_runError = std::move(error);
    Q_EMIT testRunErrorChanged();
}

// ---- files --------------------------------------------------------------------------------------

void Document::exportDeviceMap(const QString &path) const
{
    planner::writeDeviceMapFile(path.toStdString(), m_map);
}

void Document::exportMaxMemory(const QString &path) const
{
    const auto json = planner::maxMemoryToJson(options().maxMemory);
    planner::writeFileAtomically(path.toStdString(), json.dump(2) + "\n");
}

void Document::exportPlan(const QString &path)
{
    if (!m_tree)
        return;
    planner::PlanFile file;
    file.checkpoint = planner::identityOf(*m_tree, m_model->path.toStdString());
    file.options = options();
    file.deviceMap = m_map;
    // The usage of the map saved (edits included), as validation counts it.
    file.usage = m_usage;
    for (const auto &d : m_devices)
        file.devices.push_back({d.device, d.label.toStdString(), d.capacityBytes, d.simulated});
    planner::writePlanFile(path.toStdString(), file);
    m_undo->setClean();
}

QString Document::pythonSnippet() const
{
    if (!m_model)
        return {};
    const std::string modelPath = m_model->source.presetName.empty() ? m_model->source.checkpoint.directory
                                                                     : m_model->source.presetName;
    return QString::fromStdString(planner::pythonSnippet(modelPath.empty() ? m_model->path.toStdString() : modelPath,
                                                         m_map, options().maxMemory, m_dtype, false));
}

void Document::importDeviceMap(const QString &path)
{
    if (m_tree)
        applyImportedMap(planner::deviceMapFromJson(planner::readJsonFile(path.toStdString(), InputKind::DeviceMap), path.toStdString()), path);
}

void Document::importFile(const QString &path)
{
    if (!m_tree)
        return;
    const auto identity = planner::identityOf(*m_tree, m_model->path.toStdString());
    planner::MapOrPlan file = planner::readMapOrPlanFile(path.toStdString(), &identity);
    if (file.plan)
        applyImportedPlan(*file.plan, path);
    else
        applyImportedMap(std::move(file.map), path);
}

Document::Comparison Document::compareWith(const QString &path) const
{
    if (!m_tree)
        throw Error(ErrorKind::InvalidArgument, path.toStdString(), "no model is open to compare with");
    const auto identity = planner::identityOf(*m_tree, m_model->path.toStdString());
    const planner::MapOrPlan file = planner::readMapOrPlanFile(path.toStdString(), &identity);
    const planner::PlanOptions mine = options();
    planner::PlanOptions theirs = mine;
    if (file.plan) {
        // The plan's own load dtype and no-split classes size its side.
        theirs.dtype = file.plan->options.dtype;
        theirs.noSplitClasses = file.plan->options.noSplitClasses;
    }
    // A map of other budgets or devices compares fine; one that does not place the model does not.
    for (const auto &issue : planner::validate(*m_tree, file.map, theirs))
        if (issue.kind == planner::IssueKind::NotCovered || issue.kind == planner::IssueKind::CoveredTwice ||
            issue.kind == planner::IssueKind::UnknownModule)
            throw Error(ErrorKind::InvalidDeviceMap, path.toStdString(), issue.message());
    Comparison c;
    c.diff = planner::diffMaps(*m_tree, m_map, mine, file.map, theirs);
    c.otherIsPlan = file.plan.has_value();
    c.otherEntries = file.map.size();
    const planner::SpeedModel s = speeds();
    auto predicted = [&](const planner::DeviceMap &map, const planner::PlanOptions &o) -> std::optional<planner::Prediction> {
        try {
            return planner::predict(*m_tree, map, o, s);
        } catch (const Error &) {
            return std::nullopt;
        }
    };
    c.a = predicted(m_map, mine);
    c.b = predicted(file.map, theirs);
    if (c.a)
        c.diff.speedA = planner::PredictedSpeed{c.a->prefillSeconds, c.a->decodeSeconds};
    if (c.b)
        c.diff.speedB = planner::PredictedSpeed{c.b->prefillSeconds, c.b->decodeSeconds};
    return c;
}

void Document::applyImportedMap(planner::DeviceMap map, const QString &path)
{
    State next = state();
    next.map = std::move(map);
    next.plan.reset();
    pushState(tr("Import %1").arg(ltr(QFileInfo(path).fileName())), next);
}

void Document::importPlan(const QString &path)
{
    if (!m_tree)
        return;
    const auto identity = planner::identityOf(*m_tree, m_model->path.toStdString());
    applyImportedPlan(planner::readPlanFile(path.toStdString(), &identity), path);
}

void Document::applyImportedPlan(const planner::PlanFile &file, const QString &path)
{
    State next = state();
    next.devices.clear();
    for (const auto &[device, bytes] : file.options.maxMemory) {
        DeviceSetting s{device, bytes, false, {}};
        if (const planner::PlanDevice *saved = file.deviceInfo(device)) {
            s.simulated = saved->simulated;
            s.label = QString::fromStdString(saved->label);
            s.capacityBytes = saved->capacityBytes;
        } else {
            // A version-1 file says nothing of its devices: what this window knew of the device,
            // else a GPU this machine does not have is simulated.
            bool here = false;
            if (m_machine)
                for (const auto &g : m_machine->gpus)
                    here = here || device == planner::Device::gpu(g.index);
            s.simulated = device.isGpu() && !here;
            for (const auto &old : m_devices)
                if (old.device == device) {
                    s.simulated = old.simulated;
                    s.label = old.label;
                    s.capacityBytes = old.capacityBytes;
                }
        }
        next.devices.push_back(s);
    }
    next.dtype = file.options.dtype;
    next.noSplit.clear();
    for (const auto &c : file.options.noSplitClasses)
        next.noSplit << QString::fromStdString(c);
    next.strategy = file.options.strategy;
    next.headroomTokens = file.options.headroom.enabled() ? file.options.headroom.tokens : 0;
    next.headroomBatch = std::max<std::int64_t>(1, file.options.headroom.batchSize);
    next.pins = file.options.pins;
    next.policies = file.options.policies;
    next.map = file.deviceMap;
    next.plan.reset();
    pushState(tr("Import %1").arg(ltr(QFileInfo(path).fileName())), next);
}

} // namespace mizan::gui
