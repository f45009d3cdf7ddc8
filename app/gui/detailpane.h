#pragma once

// Details of the selected module: name, class, sizes, device and why it is there, and its
// tensors (shape, dtype, bytes, shard file).

#include <QWidget>

class QLabel;
class QTableWidget;

namespace mizan::gui {

class Document;

class DetailPane : public QWidget {
    Q_OBJECT
public:
    explicit DetailPane(Document *document, QWidget *parent = nullptr);
    void showModule(int moduleId);
    int moduleId() const { return m_module; }

protected:
    void changeEvent(QEvent *event) override;

private:
    void refresh();

    Document *m_document;
    int m_module = -1;
    QLabel *m_header;
    QTableWidget *m_tensors;
};

} // namespace mizan::gui
