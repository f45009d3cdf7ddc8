#pragma once

// The module classes of the model as checkable chips; the architecture's no-split defaults are
// pre-checked and marked. Checking a chip keeps every module of that class on one device.

#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;

namespace mizan::gui {

class Document;

class NoSplitPanel : public QWidget {
    Q_OBJECT
public:
    explicit NoSplitPanel(Document *document, QWidget *parent = nullptr);

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void rebuild();

    Document *m_document;
    QLabel *m_hint;
    QListWidget *m_chips;
    QPushButton *m_reset;
};

} // namespace mizan::gui
