#pragma once

// The Problems dock: the validation issues of the map on screen (each with its suggested fix as
// an expanded child row), the plan's warnings and what the loader and the architecture registry
// noticed about the checkpoint. Activating a row that names a module selects it in the tree.

#include <QString>
#include <QTreeWidget>

namespace mizan::gui {

class Document;

enum ProblemColumns { ProblemTextColumn, ProblemModuleColumn, ProblemColumnCount };
constexpr int ProblemSeverityRole = Qt::UserRole + 1; // "Error", "Warning", "Note" (translated)

class ProblemsPanel : public QTreeWidget {
    Q_OBJECT
public:
    ProblemsPanel(Document *document, QWidget *parent = nullptr);

    // Fills the list again from the document (issues, plan warnings, checkpoint notes).
    void refresh();
    // "Problems" or "Problems (2 errors, 3 warnings)" for the dock's title, as of the last refresh.
    QString title() const;
    // Header labels and rows in the current language.
    void retranslate();

Q_SIGNALS:
    void moduleActivated(const QString &module);

private:
    Document *m_document;
    int m_errors = 0;
    int m_warnings = 0;
};

} // namespace mizan::gui
