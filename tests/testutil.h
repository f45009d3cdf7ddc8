#pragma once

// Helpers shared by the test executables: running the built mizan-cli as a user would, the
// mizan::Error a callable throws, and fixtures written into temporary folders.

#include "planner/error.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>

namespace mizan::test {

// The outcome of one mizan-cli process.
struct CliRun {
    int exitCode = -1;   // -1: it did not finish in time, -2: it crashed
    QByteArray out;
    QByteArray err;
    QString outText() const { return QString::fromUtf8(out); }
    QString errText() const { return QString::fromUtf8(err); }
};

inline QString cliPath()
{
    return QStringLiteral(MIZAN_BINARY_DIR "/app/cli/mizan-cli");
}

// Runs the built mizan-cli with `args`, its presets and profiles taken from the repository's resources/.
inline CliRun runCli(const QStringList &args, int timeoutMs = 120000)
{
    QProcess p;
    p.setProgram(cliPath());
    p.setArguments(args);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
    p.setProcessEnvironment(env);
    p.start();
    CliRun r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// The mizan::Error `f` throws, or nothing when it returns.
template<typename F>
std::optional<Error> errorOf(F &&f)
{
    try {
        std::forward<F>(f)();
    } catch (const Error &e) {
        return e;
    }
    return std::nullopt;
}

// Writes `bytes` to `path` (a fixture file); false when it cannot.
inline bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

} // namespace mizan::test
