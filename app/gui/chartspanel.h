#pragma once

// The two QCustomPlot charts: per device, planned bytes stacked with the largest-layer
// reservation and the runtime headroom against the limit; per map entry in execution order,
// its size coloured by device. Both follow every edit.

#include <QWidget>

class QCustomPlot;
class QCPAbstractPlottable;
class QLabel;
class QMouseEvent;
class QStackedWidget;

namespace mizan::gui {

class Document;

class ChartsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChartsPanel(Document *document, QWidget *parent = nullptr);

    QCustomPlot *devicePlot() const { return m_devices; }
    QCustomPlot *layerPlot() const { return m_layers; }

Q_SIGNALS:
    // A bar of the layer chart was clicked: the map key it stands for.
    void moduleActivated(const QString &name);

protected:
    void changeEvent(QEvent *event) override;

private:
    void refresh();
    void refreshDevices();
    void refreshLayers();
    void applyDirection(QCustomPlot *plot);
    void showLayerTip(QMouseEvent *event);

    Document *m_document;
    QStackedWidget *m_stack;
    QLabel *m_placeholder;
    QCustomPlot *m_devices;
    QCustomPlot *m_layers;
    QStringList m_layerKeys;
    double m_layerUnit = 1.0;
};

} // namespace mizan::gui
