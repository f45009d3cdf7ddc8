#pragma once

// Plans side by side: the map on screen (A) against a plan file or device map of the same model (B).
// Three panes, A and B in adjacent columns: the predicted speed of each on this machine and which
// is faster; the bytes on every device before and after; the modules that moved (runs of numbered
// blocks on one line, as mizan-cli diff prints them). Mirrored right-to-left like every view.

#include "document.h"

#include <QDialog>

class QLabel;
class QTableWidget;
class QGroupBox;
class QPushButton;

namespace mizan::gui {

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    // `comparison` is Document::compareWith(otherFile)'s result.
    CompareDialog(const Document *document, Document::Comparison comparison, const QString &otherFile, QWidget *parent = nullptr);

    // For tests: the panes' tables.
    QTableWidget *speedTable() const { return m_speed; }
    QTableWidget *deviceTable() const { return m_devices; }
    QTableWidget *moveTable() const { return m_moves; }
    QString verdict() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void fill();

    const Document *m_document;
    Document::Comparison m_comparison;
    QString m_otherFile;
    QLabel *m_files = nullptr;
    QGroupBox *m_speedBox = nullptr, *m_deviceBox = nullptr, *m_moveBox = nullptr;
    QTableWidget *m_speed = nullptr, *m_devices = nullptr, *m_moves = nullptr;
    QLabel *m_verdict = nullptr, *m_noMoves = nullptr, *m_extra = nullptr;
    QPushButton *m_close = nullptr;
};

} // namespace mizan::gui
