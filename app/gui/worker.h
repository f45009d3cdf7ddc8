#pragma once

// The worker that runs long work off the GUI thread: opening a checkpoint (headers of every
// shard, the architecture registry, sizes) and planning. It lives on its own QThread; calls come
// in queued, results go back to the document queued. Core errors become readable messages here.

#include "messagetext.h"

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "planner/error.h"
#include "planner/plan.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace mizan::gui {

// Everything the GUI shows about an opened model; immutable once built.
struct OpenedModel {
    QString path;                      // what the user asked for (path or preset name)
    models::Source source;
    planner::ModuleSizes storedSizes;  // sizes as stored (no dtype override)
    QHash<QString, int> tensorIndex;   // full tensor name -> catalog index
    // The tokenizer in the checkpoint's folder (null when it has none, or when it cannot be read:
    // then tokenizerProblem says why), and the ids that end generation (models::stopIdsOf).
    std::shared_ptr<const loader::Tokenizer> tokenizer;
    QString tokenizerProblem;
    std::vector<std::int64_t> stopIds;
    qint64 elapsedMs = 0;
};

// Work that failed in the worker, for the window.
struct Failure {
    QString message;                         // describeError(): translated headline, the core's detail
    bool cancelled = false;                  // it stopped because it was asked to (Error(Cancelled))
    std::optional<ErrorKind> kind;           // a core error's kind
    std::vector<planner::Message> messages;  // a planner::PlanError's structured text
};
Failure failureOf(const std::exception &error);
// The failure in the current language: the headline and the translated messages when the core
// gave them (devices named by `deviceLabel`), else its message.
QString failureText(const Failure &failure, const DeviceLabeler &deviceLabel);

class Worker : public QObject {
    Q_OBJECT
public:
    using OpenDone = std::function<void(std::shared_ptr<const OpenedModel>)>;
    using PlanDone = std::function<void(std::shared_ptr<const planner::Plan>)>;
    using Failed = std::function<void(const Failure &failure)>;

    explicit Worker(QObject *parent = nullptr);

    // Run in the worker's thread (call through QMetaObject::invokeMethod). Results are posted
    // to `receiver`'s thread; nothing is delivered if it is gone.
    void open(const QString &path, std::shared_ptr<std::atomic<bool>> cancel, QPointer<QObject> receiver,
              OpenDone done, Failed failed);
    void plan(std::shared_ptr<const planner::ModuleTree> tree, const planner::PlanOptions &options,
              QPointer<QObject> receiver, PlanDone done, Failed failed);

Q_SIGNALS:
    // Shards read so far (throttled to ~30 Hz).
    void progress(int done, int total);
};

// A core exception as a sentence for the window ("config.json: ..."), translated framing.
QString describeError(const std::exception &error);
// A translated one-line headline for an error kind ("A shard of the checkpoint is missing").
QString errorHeadline(ErrorKind kind);

} // namespace mizan::gui
