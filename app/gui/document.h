#pragma once

// The one document of a window: the opened model, the planning settings (devices and limits,
// dtype, no-split classes, strategy, pins, policies), the current device map, its validation issues and
// the edit history. Every change goes through the undo stack; long work goes to the worker.

#include "moduletreemodel.h"
#include "worker.h"

#include "planner/cost.h"
#include "planner/plan.h"
#include "planner/plandiff.h"
#include "planner/validate.h"
#include "planner/planfile.h"
#include "runtime/calibrate.h"
#include "runtime/devices.h"
#include "runtime/session.h"

#include <QObject>
#include <QStringList>
#include <QThread>
#include <QUndoStack>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace mizan::gui {

struct DeviceSetting {
    planner::Device device;
    std::int64_t limitBytes = 0;
    bool simulated = false;   // a simulated GPU (no such card here)
    QString label;            // the card's name, or from a hardware profile ("RTX 4090"); may be empty
    std::int64_t capacityBytes = -1; // the device's memory (card, RAM, profile, simulated arena); -1 unknown
    bool operator==(const DeviceSetting &) const = default;
};

class Document : public QObject {
    Q_OBJECT
public:
    explicit Document(QObject *parent = nullptr);
    ~Document() override;

    // ---- opening ------------------------------------------------------------------------------
    // Starts opening a path or preset in the worker; emits openStarted, progress, then opened or
    // openFailed. A running open is cancelled first.
    void open(const QString &pathOrPreset);
    void cancelOpen();
    bool isOpening() const { return m_opening; }
    bool hasModel() const { return m_model != nullptr; }
    const OpenedModel *model() const { return m_model.get(); }
    std::shared_ptr<const planner::ModuleTree> tree() const { return m_tree; }
    const planner::ModuleSizes &sizes() const { return m_sizes; }
    ModuleTreeModel *treeModel() const { return m_treeModel; }

    // ---- settings (undoable) --------------------------------------------------------------------
    const std::vector<DeviceSetting> &devices() const { return m_devices; }
    void setDevices(const std::vector<DeviceSetting> &devices, const QString &undoText);
    void setDeviceLimit(const planner::Device &device, std::int64_t bytes);
    void addSimulatedGpu(std::int64_t bytes);
    // What this machine has (GPUs through libtorch, RAM); null until the probe has answered.
    const runtime::DeviceReport *machine() const { return m_machine.get(); }
    // Takes the probe's answer. When it found GPUs, they become the devices (no undo step) unless
    // devices were already chosen (saved settings, a profile, an edit, an import).
    void setMachine(const runtime::DeviceReport &report);
    // The machine's GPUs (free memory as the limit, as Accelerate does) and available RAM:
    // one undo step. False before the probe has answered.
    bool useMachineDevices();
    // Runtime headroom for generation: activations + KV cache for `tokens` tokens of `batch`
    // sequences reserved on every GPU (0 tokens = none). Undoable; consecutive changes merge.
    std::int64_t headroomTokens() const { return m_headroomTokens; }
    std::int64_t headroomBatch() const { return m_headroomBatch; }
    void setHeadroom(std::int64_t tokens, std::int64_t batch);
    // Why the headroom cannot be applied to this model (no hidden size in its config), or empty.
    QString headroomProblem() const;
    void removeDevice(const planner::Device &device);
    std::optional<DType> dtype() const { return m_dtype; }
    void setDtype(std::optional<DType> dtype);
    const QStringList &noSplitClasses() const { return m_noSplit; }
    void setNoSplitClasses(const QStringList &classes);
    QStringList modelClasses() const;        // class names present in the model, sorted
    QStringList defaultNoSplitClasses() const;
    planner::Strategy strategy() const { return m_strategy; }
    void setStrategy(planner::Strategy strategy);
    const std::vector<planner::Pin> &pins() const { return m_pins; }
    void pinModule(int moduleId, const planner::Device &device);
    void unpinModule(int moduleId);
    // Placement policies (planner::Policy, README "Policies"): each change is one undo step and
    // re-plans. addPolicy() returns false when the same policy is there already.
    const std::vector<planner::Policy> &policies() const { return m_policies; }
    bool addPolicy(const planner::Policy &policy);
    void removePolicy(int index);

    planner::PlanOptions options() const;
    // Devices a module may be put on: the settings' devices then disk.
    std::vector<planner::Device> deviceChoices() const;
    QString deviceLabel(const planner::Device &device) const;
    QString shortDeviceLabel(const planner::Device &device) const; // without "(simulated)"
    QColor deviceColor(const planner::Device &device) const;

    // ---- planning and editing -----------------------------------------------------------------
    void requestPlan();                       // worker; result applied as one undoable step
    bool isPlanning() const { return m_planning; }
    const planner::Plan *plan() const { return m_plan.get(); }
    const planner::DeviceMap &deviceMap() const { return m_map; }
    void setModuleDevice(int moduleId, const planner::Device &device); // undoable
    void setModulesDevice(const std::vector<int> &moduleIds, const planner::Device &device); // one macro
    const std::vector<planner::Issue> &issues() const { return m_issues; }
    // Per-device usage of the current (maybe edited) map, as validation counts it for its budget
    // checks (planner::usageOf): the settings' devices, then the devices the map uses.
    const std::vector<planner::DeviceUsage> &currentUsage() const { return m_usage; }
    // Bytes of each key of deviceMap(), counted the same way.
    const std::vector<double> &keyBytes() const { return m_keyBytes; }
    QUndoStack *undoStack() const { return m_undo; }
    // The predicted speed of the map on screen when run on this machine (planner/cost.h): this
    // machine's calibration (else assumed numbers), simulated GPUs computing as the CPU. None
    // without a map, or when the map leaves weights uncovered.
    const std::optional<planner::Prediction> &prediction() const { return m_prediction; }
    bool speedsCalibrated() const { return m_calibrated; }
    // The speeds options() gives the optimal strategy: this machine's, as prediction() uses them.
    planner::SpeedModel speeds() const;

    // ---- test inference ---------------------------------------------------------------------------
    // Why the plan on screen cannot be test-run now, in the current language; empty when it can.
    QString testRunProblem() const;
    // The run of the plan on screen (edits included): its map, the planned bytes per device, and
    // the devices as mizan-cli run would take them (runtime::runDevicesFor): this machine's GPUs
    // are real unless the settings mark them simulated; the others are simulated arenas of the
    // device's capacity, else its limit. Prompt and generation settings are left for the caller.
    runtime::RunRequest testRunRequest() const;
    // The last test inference's failure, shown in the problems panel until the next run or model.
    const std::optional<runtime::RunError> &testRunError() const { return m_runError; }
    void setTestRunError(std::optional<runtime::RunError> error);

    // ---- files (atomic writes; throw mizan::Error with a readable message) ----------------------
    void exportDeviceMap(const QString &path) const;
    void exportMaxMemory(const QString &path) const;
    void exportPlan(const QString &path);
    QString pythonSnippet() const;
    void importDeviceMap(const QString &path);    // undoable; validated
    void importPlan(const QString &path);         // undoable; settings and map
    void importFile(const QString &path);         // either of the two, told apart by "format"
    // The map on screen (A) against a plan file or device map of the same model (B): what moved,
    // the bytes on every device before and after, and both predicted with the speeds prediction()
    // uses. Throws mizan::Error for an unreadable file, another model's plan or an invalid map.
    struct Comparison {
        planner::PlanDiff diff;
        std::optional<planner::Prediction> a, b; // none where a map leaves weights uncovered
        bool otherIsPlan = false;
        std::size_t otherEntries = 0;
    };
    Comparison compareWith(const QString &path) const;

    // Raw setters used by undo commands.
    struct State {
        std::vector<DeviceSetting> devices;
        std::optional<DType> dtype;
        QStringList noSplit;
        planner::Strategy strategy = planner::Strategy::Auto;
        std::int64_t headroomTokens = 0;
        std::int64_t headroomBatch = 1;
        std::vector<planner::Pin> pins;
        std::vector<planner::Policy> policies;
        planner::DeviceMap map;
        std::shared_ptr<const planner::Plan> plan;
    };
    State state() const;
    void restore(const State &state);
    // Labels and reasons again in the current language (after a language switch).
    void retranslate();

Q_SIGNALS:
    void openStarted(const QString &path);
    void openProgress(int done, int total);
    void opened();
    void openFailed(const QString &message, bool cancelled);
    void settingsChanged();
    void planStarted();
    void planFinished(bool ok, const QString &message);
    void mapChanged();       // device map, plan, issues, placement view updated
    void testRunErrorChanged();
    void busyChanged();

private:
    void pushState(const QString &text, const State &next);
    void applyImportedMap(planner::DeviceMap map, const QString &path);
    void applyImportedPlan(const planner::PlanFile &file, const QString &path);
    void applyOpened(std::shared_ptr<const OpenedModel> opened);
    void refreshSizes();
    void refreshMap();
    PlacementView placementView() const;

    QThread m_thread;
    Worker *m_worker = nullptr;
    ModuleTreeModel *m_treeModel = nullptr;
    QUndoStack *m_undo = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    quint64 m_openRequest = 0;
    quint64 m_planRequest = 0;
    bool m_opening = false;
    bool m_planning = false;

    std::shared_ptr<const OpenedModel> m_model;
    std::shared_ptr<const planner::ModuleTree> m_tree;
    planner::ModuleSizes m_sizes;

    std::vector<DeviceSetting> m_devices;
    std::optional<DType> m_dtype;
    QStringList m_noSplit;
    planner::Strategy m_strategy = planner::Strategy::Auto;
    std::int64_t m_headroomTokens = 0;
    std::int64_t m_headroomBatch = 1;
    std::shared_ptr<const runtime::DeviceReport> m_machine;
    bool m_devicesTouched = false; // devices set by settings, a profile, an edit or an import
    std::vector<planner::Pin> m_pins;
    std::vector<planner::Policy> m_policies;
    planner::DeviceMap m_map;
    std::shared_ptr<const planner::Plan> m_plan;
    std::vector<planner::Issue> m_issues;
    std::vector<planner::DeviceUsage> m_usage;
    std::optional<planner::Prediction> m_prediction;
    mutable std::optional<bool> m_calibratedChecked;
    mutable bool m_calibrated = false;
    mutable std::optional<runtime::Calibration> m_calibration;
    // speeds() for the simulated GPUs it was built for (rebuilt when they change).
    mutable std::optional<std::pair<std::vector<int>, planner::SpeedModel>> m_speeds;
    std::vector<double> m_keyBytes;
    std::optional<runtime::RunError> m_runError;
};

} // namespace mizan::gui
