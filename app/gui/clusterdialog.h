#pragma once

// A cluster plan (`mizan-cli plan --hardware CLUSTER -o FILE`) as hosts: one group per host, in
// pipeline order, titled with its address and stage (which blocks, the embeddings, the head),
// holding a lane per device of that host (planned bytes against its budget, entries) and the
// stage's predicted speed; above them the whole plan's prediction with the hops between hosts.
// Mirrored right-to-left like every view. The window plans one machine: this view reads the file.

#include "planner/cluster.h"

#include <QDialog>

class QLabel;
class QGroupBox;
class QProgressBar;
class QPushButton;
class QGridLayout;

namespace mizan::gui {

class Document;

class ClusterDialog : public QDialog {
    Q_OBJECT
public:
    ClusterDialog(const Document *document, planner::ClusterPlanFile plan, const QString &file, QWidget *parent = nullptr);

    // For tests: the host groups (pipeline order) and the lanes of one.
    QList<QGroupBox *> hostGroups() const { return m_groups; }
    QList<QProgressBar *> lanes(int host) const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void fill();

    const Document *m_document;
    planner::ClusterPlanFile m_plan;
    QString m_file;
    QLabel *m_summary = nullptr;
    QList<QGroupBox *> m_groups;
    QList<QGridLayout *> m_grids;
    QList<QLabel *> m_speeds;
    QPushButton *m_close = nullptr;
};

// Is `file` a cluster plan file (its "format")? False for anything unreadable.
bool isClusterPlanFile(const QString &file);

} // namespace mizan::gui
