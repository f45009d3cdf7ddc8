#pragma once

// Devices and limits: one row per device (GPUs, simulated GPUs, CPU RAM, disk) with an editable
// memory limit (spin box + unit), add/remove simulated GPUs, hardware profiles, the load dtype,
// the strategy and the Plan button.

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QToolButton;

namespace mizan::gui {

class Document;

class DevicePanel : public QWidget {
    Q_OBJECT
public:
    explicit DevicePanel(Document *document, QWidget *parent = nullptr);

    void setHardwareProfiles(std::vector<models::HardwareProfile> profiles);
    // Replaces the devices with those of a profile (one undo step). Returns false if unknown.
    bool applyProfile(const QString &name);
    void applyProfile(const models::HardwareProfile &profile);

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void rebuild();
    void syncValues();
    void updateGpuNote();

    Document *m_document;
    std::vector<models::HardwareProfile> m_profiles;
    QString m_appliedProfile; // name of the last profile applied, shown in the profile box
    QLabel *m_profileLabel;
    QComboBox *m_profile;
    QTableWidget *m_table;
    QLabel *m_gpuNote;
    QPushButton *m_addGpu;
    QLabel *m_dtypeLabel;
    QComboBox *m_dtype;
    QLabel *m_strategyLabel;
    QComboBox *m_strategy;
    QLabel *m_headroomLabel;
    QSpinBox *m_headroomTokens;
    QLabel *m_batchLabel;
    QSpinBox *m_headroomBatch;
    QLabel *m_headroomNote;
    QPushButton *m_plan;
    QLabel *m_summary;
    QString m_deviceSignature;
};

} // namespace mizan::gui
