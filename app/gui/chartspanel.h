#pragma once

// The two QCustomPlot charts: per device, planned bytes stacked with the largest-layer
// reservation and the runtime headroom against the limit; per map entry in execution order,
// its size coloured by device. Both follow every edit.

#include "planner/device.h"

#include <QWidget>

#include <optional>
#include <vector>

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
    // The device under a point of the device chart (for drops), if any.
    std::optional<planner::Device> deviceAt(const QPoint &pos) const;

Q_SIGNALS:
    // A bar of the layer chart was clicked: the map key it stands for.
    void moduleActivated(const QString &name);

protected:
    void changeEvent(QEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void refresh();
    void refreshDevices();
    void refreshLayers();
    void fitDeviceRange();
    void applyDirection(QCustomPlot *plot);
    void showLayerTip(QMouseEvent *event);

    Document *m_document;
    QStackedWidget *m_stack;
    QLabel *m_placeholder;
    QCustomPlot *m_devices;
    QCustomPlot *m_layers;
    QStringList m_layerKeys;
    std::vector<planner::Device> m_barDevices; // device of each bar of the device chart (x = i + 1)
    double m_layerUnit = 1.0;
    double m_deviceTop = 1.0;  // the device chart's tallest bar or limit, in its unit
    int m_labelPixels = 0;     // the height of a bar's label above it
};

} // namespace mizan::gui
