#include "worker.h"

#include "planner/error.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMetaObject>

namespace mizan::gui {

Worker::Worker(QObject *parent)
    : QObject(parent)
{
}

QString describeError(const std::exception &error)
{
    if (const auto *e = dynamic_cast<const mizan::Error *>(&error)) {
        const QString message = QString::fromStdString(e->message());
        if (e->file().empty())
            return message;
        return QCoreApplication::translate("Worker", "%1: %2").arg(QString::fromStdString(e->file()), message);
    }
    return QString::fromLocal8Bit(error.what());
}

namespace {

template<typename F>
void post(const QPointer<QObject> &receiver, F &&f)
{
    if (receiver)
        QMetaObject::invokeMethod(receiver.data(), std::forward<F>(f), Qt::QueuedConnection);
}

} // namespace

void Worker::open(const QString &path, std::shared_ptr<std::atomic<bool>> cancel, QPointer<QObject> receiver,
                  OpenDone done, Failed failed)
{
    QElapsedTimer timer;
    timer.start();
    QElapsedTimer throttle;
    throttle.start();
    try {
        loader::OpenOptions options;
        options.progress = [&](int n, int total) {
            if (n == total || throttle.elapsed() >= 33) {
                throttle.restart();
                Q_EMIT progress(n, total);
            }
            return !cancel->load();
        };
        auto result = std::make_shared<OpenedModel>();
        result->path = path;
        result->source = models::openSource(path.toStdString(), options);
        if (cancel->load())
            throw mizan::Error(ErrorKind::Io, path.toStdString(), "cancelled");
        result->storedSizes = planner::aggregateSizes(result->source.model.tree);
        const auto &tensors = result->source.checkpoint.catalog.tensors;
        result->tensorIndex.reserve(static_cast<qsizetype>(tensors.size()));
        for (std::size_t i = 0; i < tensors.size(); ++i)
            result->tensorIndex.insert(QString::fromStdString(tensors[i].name), static_cast<int>(i));
        result->elapsedMs = timer.elapsed();
        post(receiver, [done, result = std::shared_ptr<const OpenedModel>(std::move(result))] { done(result); });
    } catch (const std::exception &e) {
        const QString message = describeError(e);
        post(receiver, [failed, message] { failed(message); });
    }
}

void Worker::plan(std::shared_ptr<const planner::ModuleTree> tree, const planner::PlanOptions &options,
                  QPointer<QObject> receiver, PlanDone done, Failed failed)
{
    try {
        auto result = std::make_shared<const planner::Plan>(planner::plan(*tree, options));
        post(receiver, [done, result] { done(result); });
    } catch (const std::exception &e) {
        const QString message = describeError(e);
        post(receiver, [failed, message] { failed(message); });
    }
}

} // namespace mizan::gui
