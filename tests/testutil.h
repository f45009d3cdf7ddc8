#pragma once

// Helpers shared by the test executables: running the built mizan-cli (or any program) as a user
// would, the mizan::Error a callable throws, fixtures written into temporary folders, and the
// fixtures of tests/data/ (a missing or malformed one is an error naming the file, never thrown,
// so a test fails with QVERIFY2).

#include "planner/error.h"
#include "planner/message.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QElapsedTimer>
#include <QTimer>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace mizan::test {

// Watches the calling thread's event loop with a 5 ms timer: the longest gap between two turns
// (wall clock), when it began, and the CPU time this thread itself spent in it (a gap with little
// CPU of its own is the machine taking the thread away, not the thread's work).
class EventLoopWatch {
public:
    EventLoopWatch()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(5);
        QObject::connect(&m_timer, &QTimer::timeout, [this] { tick(); });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_lastCpu = threadCpuMs();
        m_worst = m_worstAt = m_ticks = 0;
        m_worstCpu = 0;
        m_timer.start();
    }
    void stop()
    {
        tick();
        m_timer.stop();
    }
    qint64 worstMs() const { return m_worst; }
    qint64 worstAtMs() const { return m_worstAt; }
    double worstCpuMs() const { return m_worstCpu; }
    int ticks() const { return m_ticks; }
    qint64 elapsedMs() const { return m_clock.elapsed(); }

    static double threadCpuMs()
    {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
    }

private:
    void tick()
    {
        const qint64 now = m_clock.elapsed();
        const double cpu = threadCpuMs();
        if (now - m_last > m_worst) {
            m_worst = now - m_last;
            m_worstAt = m_last;
            m_worstCpu = cpu - m_lastCpu;
        }
        m_last = now;
        m_lastCpu = cpu;
        ++m_ticks;
    }

    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0, m_worst = 0, m_worstAt = 0;
    double m_lastCpu = 0, m_worstCpu = 0;
    int m_ticks = 0;
};

// The outcome of one process.
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

// Runs `program` with `args` in `env`, waiting at most `timeoutMs` (then it is killed).
inline CliRun runProgram(const QString &program, const QStringList &args, const QProcessEnvironment &env, int timeoutMs = 120000)
{
    QProcess p;
    p.setProgram(program);
    p.setArguments(args);
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

// Runs the built mizan-cli with `args` in `env`; its presets and profiles come from the
// repository's resources/ unless `env` names MIZAN_RESOURCES itself.
inline CliRun runCli(const QStringList &args, QProcessEnvironment env, int timeoutMs = 120000)
{
    if (!env.contains(QStringLiteral("MIZAN_RESOURCES")))
        env.insert(QStringLiteral("MIZAN_RESOURCES"), QStringLiteral(MIZAN_SOURCE_DIR "/resources"));
    return runProgram(cliPath(), args, env, timeoutMs);
}

// The same in this process's environment.
inline CliRun runCli(const QStringList &args, int timeoutMs = 120000)
{
    return runCli(args, QProcessEnvironment::systemEnvironment(), timeoutMs);
}

// A run's JSON output (`--json`) as an object (empty when it is not one).
inline QJsonObject jsonOf(const CliRun &r)
{
    return QJsonDocument::fromJson(r.out).object();
}

// Token ids of a JSON array ("generated_ids").
inline QList<qint64> idsOf(const QJsonArray &a)
{
    QList<qint64> ids;
    for (const auto &v : a)
        ids << v.toInteger();
    return ids;
}

// A run for failure messages: its exit code and the start of what it printed.
inline QString text(const CliRun &r)
{
    return QStringLiteral("exit %1\nstdout: %2\nstderr: %3").arg(r.exitCode).arg(r.outText().left(3000), r.errText().left(3000));
}

// Writes the demo checkpoint (`mizan-cli make-demo DIR OPTIONS...`) as a user would.
inline CliRun makeDemo(const QString &dir, const QStringList &options = {})
{
    return runCli(QStringList{QStringLiteral("make-demo"), dir} + options);
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

// A message of `id` with sample arguments of the kinds it takes: names "model.layers.<n>.mlp",
// a few MiB, GPUs, counts of 12, lists of two.
template<typename Id>
planner::BasicMessage<Id> sampleMessage(Id id)
{
    planner::BasicMessage<Id> m{id, {}};
    for (const auto kind : planner::argumentKinds(id)) {
        const std::string name = "model.layers." + std::to_string(m.args.size()) + ".mlp";
        switch (kind) {
        case planner::MessageArgKind::Text: m.args.emplace_back(name); break;
        case planner::MessageArgKind::Bytes: m.args.emplace_back(planner::ByteCount{3.5 * 1024 * 1024 * static_cast<double>(m.args.size() + 1)}); break;
        case planner::MessageArgKind::Device: m.args.emplace_back(planner::Device::gpu(static_cast<int>(m.args.size()) + 1)); break;
        case planner::MessageArgKind::Count: m.args.emplace_back(std::int64_t{12}); break;
        case planner::MessageArgKind::Devices: m.args.emplace_back(std::vector<planner::Device>{planner::Device::gpu(0), planner::Device::cpu()}); break;
        case planner::MessageArgKind::Texts: m.args.emplace_back(std::vector<std::string>{name, name + ".up_proj"}); break;
        }
    }
    return m;
}

// What is wrong with the English of `id` (a placeholder left, a name not verbatim, a pattern
// without its placeholders, wrong arguments accepted, no name); empty when nothing is.
template<planner::MessageIdType Id>
QString englishProblems(Id id)
{
    const auto m = sampleMessage(id);
    const std::string english = planner::toEnglish(m);
    const QString text = QString::fromStdString(english);
    if (english.empty())
        return QStringLiteral("empty text");
    for (char d = '1'; d <= '9'; ++d)
        if (english.find(std::string("%") + d) != std::string::npos)
            return QStringLiteral("placeholder left: ") + text;
    for (const auto &arg : m.args) {
        std::vector<std::string> names;
        if (planner::kindOf(arg) == planner::MessageArgKind::Text)
            names.push_back(std::get<std::string>(arg));
        if (planner::kindOf(arg) == planner::MessageArgKind::Texts)
            names = std::get<std::vector<std::string>>(arg);
        for (const auto &n : names)
            if (english.find(n) == std::string::npos)
                return QStringLiteral("\"%1\" not verbatim in: %2").arg(QString::fromStdString(n), text);
    }
    const std::string pattern = planner::englishPattern(id);
    for (std::size_t i = 0; i < m.args.size(); ++i)
        if (pattern.find("%" + std::to_string(i + 1)) == std::string::npos)
            return QStringLiteral("pattern without %%1: ").arg(i + 1) + QString::fromStdString(pattern);
    auto wrong = m;
    wrong.args.emplace_back(std::string("extra"));
    if (!errorOf([&] { planner::toEnglish(wrong); }))
        return QStringLiteral("an extra argument is accepted");
    if (std::string(planner::messageName(id)).empty())
        return QStringLiteral("no name");
    return {};
}

// The names of an enum's ids (Id::Count of them) that are empty or used twice.
template<planner::MessageIdType Id>
QStringList badMessageNames()
{
    QStringList bad;
    std::set<std::string> names;
    for (int i = 0; i < static_cast<int>(Id::Count); ++i) {
        const std::string name = planner::messageName(static_cast<Id>(i));
        if (name.empty() || !names.insert(name).second)
            bad << QString::number(i) + QLatin1Char(' ') + QString::fromStdString(name);
    }
    return bad;
}

} // namespace mizan::test

// ---- the fixtures in tests/data/ (see tests/data/README.md) -------------------------------------

namespace mizan::testdata {

// The absolute path of tests/data/<relative> in this source tree.
inline std::string path(const std::string &relative)
{
    return std::string(MIZAN_SOURCE_DIR "/tests/data/") + relative;
}

struct JsonFile {
    std::string path;
    nlohmann::json value; // null when `error` is set
    std::string error;    // "cannot read /…/cases.json: …" or "… is not valid JSON: …"
    bool ok() const { return error.empty(); }
};

inline JsonFile readJson(const std::string &relative)
{
    JsonFile file;
    file.path = path(relative);
    std::ifstream in(file.path, std::ios::binary);
    if (!in) {
        file.error = "cannot read test data " + file.path + " (missing or unreadable; see tests/data/README.md)";
        return file;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        file.error = "cannot read test data " + file.path + " (read error)";
        return file;
    }
    try {
        file.value = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception &e) {
        file.error = "test data " + file.path + " is not valid JSON: " + e.what();
        file.value = nullptr;
    }
    return file;
}

// tests/data/parity/cases.json (real Accelerate's results, see tests/data/README.md), read once;
// a missing or malformed file is an error naming it, reported by the test that needs it.
inline const JsonFile &parityFile()
{
    static const JsonFile file = [] {
        JsonFile f = readJson("parity/cases.json");
        if (f.ok() && !(f.value.is_object() && f.value.contains("cases") && f.value["cases"].is_array())) {
            f.error = "test data " + f.path + " has no \"cases\" list";
            f.value = nullptr;
        }
        return f;
    }();
    return file;
}

} // namespace mizan::testdata
