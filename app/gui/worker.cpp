#include "worker.h"

#include "guiformat.h"

#include "planner/error.h"
#include "planner/planerror.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMetaObject>

namespace mizan::gui {

Worker::Worker(QObject *parent)
    : QObject(parent)
{
}

QString errorHeadline(ErrorKind kind)
{
    auto t = [](const char *text) { return QCoreApplication::translate("Worker", text); };
    // QT_TRANSLATE_NOOP marks each text for lupdate; t() translates it at run time.
    switch (kind) {
    case ErrorKind::Io: return t(QT_TRANSLATE_NOOP("Worker", "Cannot read or write the file"));
    case ErrorKind::Truncated: return t(QT_TRANSLATE_NOOP("Worker", "The file is cut short"));
    case ErrorKind::HeaderTooLarge: return t(QT_TRANSLATE_NOOP("Worker", "The file's header is too large"));
    case ErrorKind::InvalidJson: return t(QT_TRANSLATE_NOOP("Worker", "The file is not valid JSON"));
    case ErrorKind::InvalidHeader: return t(QT_TRANSLATE_NOOP("Worker", "The file is not in the expected form"));
    case ErrorKind::UnknownDtype: return t(QT_TRANSLATE_NOOP("Worker", "Unknown tensor data type"));
    case ErrorKind::BadShape: return t(QT_TRANSLATE_NOOP("Worker", "A tensor's shape does not match its bytes"));
    case ErrorKind::BadOffsets: return t(QT_TRANSLATE_NOOP("Worker", "Tensor data lies outside its place"));
    case ErrorKind::OverlappingOffsets: return t(QT_TRANSLATE_NOOP("Worker", "Two tensors share the same bytes"));
    case ErrorKind::MissingShard: return t(QT_TRANSLATE_NOOP("Worker", "A shard of the checkpoint is missing"));
    case ErrorKind::IndexMismatch: return t(QT_TRANSLATE_NOOP("Worker", "The index and its shards disagree"));
    case ErrorKind::InvalidConfig: return t(QT_TRANSLATE_NOOP("Worker", "The model configuration is invalid"));
    case ErrorKind::UnsupportedFormat: return t(QT_TRANSLATE_NOOP("Worker", "Not a format Mizan reads"));
    case ErrorKind::InvalidArgument: return t(QT_TRANSLATE_NOOP("Worker", "Invalid input"));
    case ErrorKind::InvalidDeviceMap: return t(QT_TRANSLATE_NOOP("Worker", "Invalid device map"));
    case ErrorKind::Impossible: return t(QT_TRANSLATE_NOOP("Worker", "The constraints cannot be met"));
    case ErrorKind::VersionMismatch: return t(QT_TRANSLATE_NOOP("Worker", "The plan does not match"));
    case ErrorKind::NotFound: return t(QT_TRANSLATE_NOOP("Worker", "Not found"));
    case ErrorKind::Cancelled: return t(QT_TRANSLATE_NOOP("Worker", "Cancelled"));
    case ErrorKind::OutOfMemory: return t(QT_TRANSLATE_NOOP("Worker", "Out of memory on a device"));
    }
    return t(QT_TRANSLATE_NOOP("Worker", "Error"));
}

QString describeError(const std::exception &error)
{
    // The headline is translated; the core's detail (names, numbers, offsets) stays as written,
    // isolated so that paths and English read left to right inside an Arabic sentence.
    if (const auto *e = dynamic_cast<const mizan::Error *>(&error)) {
        const QString detail = ltr(QString::fromStdString(e->message()));
        if (e->file().empty())
            return QCoreApplication::translate("Worker", "%1: %2").arg(errorHeadline(e->kind()), detail);
        return QCoreApplication::translate("Worker", "%1 (%2): %3")
            .arg(errorHeadline(e->kind()), ltr(QString::fromStdString(e->file())), detail);
    }
    return QString::fromLocal8Bit(error.what());
}

Failure failureOf(const std::exception &error)
{
    Failure f;
    f.message = describeError(error);
    if (const auto *e = dynamic_cast<const mizan::Error *>(&error)) {
        f.kind = e->kind();
        f.cancelled = e->kind() == ErrorKind::Cancelled;
    }
    if (const auto *e = dynamic_cast<const planner::PlanError *>(&error))
        f.messages = e->messages();
    return f;
}

QString failureText(const Failure &failure, const DeviceLabeler &deviceLabel)
{
    if (failure.messages.empty() || !failure.kind)
        return failure.message;
    return QCoreApplication::translate("Worker", "%1: %2").arg(errorHeadline(*failure.kind), messageText(failure.messages, deviceLabel));
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
            throw mizan::Error(ErrorKind::Cancelled, path.toStdString(), "cancelled");
        result->storedSizes = planner::aggregateSizes(result->source.model.tree);
        const auto &tensors = result->source.checkpoint.catalog.tensors;
        result->tensorIndex.reserve(static_cast<qsizetype>(tensors.size()));
        for (std::size_t i = 0; i < tensors.size(); ++i)
            result->tensorIndex.insert(QString::fromStdString(tensors[i].name), static_cast<int>(i));
        // A tokenizer that cannot be read does not stop the model from opening: the test run
        // then takes token ids, and says why.
        if (result->source.checkpoint.hasWeights()) {
            try {
                if (auto tokenizer = models::tokenizerOf(result->source.checkpoint))
                    result->tokenizer = std::make_shared<const loader::Tokenizer>(std::move(*tokenizer));
            } catch (const std::exception &e) {
                result->tokenizerProblem = describeError(e);
            }
            try {
                result->stopIds = models::stopIdsOf(result->source.checkpoint, result->tokenizer.get());
            } catch (const std::exception &e) {
                result->stopIds.clear(); // an unreadable generation_config.json: no stop ids, said
                if (result->tokenizerProblem.isEmpty())
                    result->tokenizerProblem = describeError(e);
            }
        }
        result->elapsedMs = timer.elapsed();
        post(receiver, [done, result = std::shared_ptr<const OpenedModel>(std::move(result))] { done(result); });
    } catch (const std::exception &e) {
        post(receiver, [failed, failure = failureOf(e)] { failed(failure); });
    }
}

void Worker::plan(std::shared_ptr<const planner::ModuleTree> tree, const planner::PlanOptions &options,
                  QPointer<QObject> receiver, PlanDone done, Failed failed)
{
    try {
        auto result = std::make_shared<const planner::Plan>(planner::plan(*tree, options));
        post(receiver, [done, result] { done(result); });
    } catch (const std::exception &e) {
        post(receiver, [failed, failure = failureOf(e)] { failed(failure); });
    }
}

} // namespace mizan::gui
