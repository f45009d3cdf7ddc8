#pragma once

// Placement policies of the plan (planner::Policy, README "Policies"): the list with what each did
// in the last plan, a remove button, and an editable box offering the built-in policies where any
// policy can be written. Adding or removing one re-plans; they are saved with the plan file.

#include <QWidget>

class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;

namespace mizan::gui {

class Document;

class PolicyPanel : public QWidget {
    Q_OBJECT
public:
    explicit PolicyPanel(Document *document, QWidget *parent = nullptr);

    // Parses `text`, checks it against the open model and adds it (one undo step, then a plan).
    // False, with the reason shown under the box, when it is not a policy, selects nothing of the
    // model or is in the list already.
    bool addPolicy(const QString &text);

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void rebuild();
    void updateButtons();

    Document *m_document;
    QLabel *m_hint;
    QListWidget *m_list;
    QPushButton *m_remove;
    QComboBox *m_input;
    QPushButton *m_add;
    QLabel *m_grammar;
    QLabel *m_error;
};

} // namespace mizan::gui
