// mizan-cli stage, and run --local-ranks N: a plan run as pipeline stages over libtorch's c10d
// (the stages themselves are runtime::Session runs with a PipelineSpec; see cmd_run.cpp).
#include "commands.h"
#include "format.h"
#include "output.h"
#include "stage.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace mizan::cli {

const char *const kStageUsage =
    "usage: mizan-cli stage PATH --master ADDR:PORT (--rank R --world N | --plan CLUSTER.json --host NAME)\n"
    "                       [run options] [--json]\n"
    "\n"
    "Runs one host's stage of a plan run as a pipeline over several hosts: the same as\n"
    "`mizan-cli run PATH --distributed --master ADDR:PORT --rank R --world N ...` (see\n"
    "`mizan-cli help run` for the map, the prompt and the other options). Start one per host,\n"
    "rank 0 on the host at ADDR (it serves the rendezvous on PORT), each with the same\n"
    "checkpoint, map and arguments but its own --rank. The decoder blocks are split into N\n"
    "contiguous stages (balanced by bytes, or --split A,B,...); the hidden states go from stage to\n"
    "stage over TCP (libtorch's c10d, ProcessGroupGloo; GLOO_SOCKET_IFNAME picks the network\n"
    "interface), the last stage samples each token and every rank receives it. A rank that does\n"
    "not join or stops makes the others fail within --timeout SECONDS (default 30).\n"
    "With a cluster plan (`mizan-cli plan --hardware CLUSTER -o FILE`), --host NAME runs that\n"
    "host's stage: the plan gives its rank, the world and each stage's blocks.\n"
    "\n"
    "exit codes: 0 generated, 1 failure (another rank lost, fingerprints differ, ...), 2 wrong\n"
    "arguments, 130 cancelled\n";

namespace {

std::string readAll(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The last lines of a rank's standard error that say something.
std::string lastLines(const std::string &text, int count)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            lines.push_back(line);
    std::string out;
    for (std::size_t i = lines.size() > static_cast<std::size_t>(count) ? lines.size() - static_cast<std::size_t>(count) : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out.empty() ? "(no message)" : out;
}

std::string milliseconds(double ms)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
    return buf;
}

struct Rank {
    pid_t pid = -1;
    bool running = false;
    int exitCode = -1;
    bool killed = false;
    std::filesystem::path out, err;
};

} // namespace

int runLocalRanks(const std::vector<std::string> &argv, const Args &args, const runtime::PipelineSpec &spec)
{
    const int world = spec.world;
    const bool json = args.flag("--json");
    const auto offload = args.value("--offload-folder");
    // Each rank gets these arguments, less --local-ranks, --json and --offload-folder.
    std::vector<std::string> base;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if (a == "--local-ranks" || a == "--offload-folder") {
            ++i;
            continue;
        }
        if (a.starts_with("--local-ranks=") || a.starts_with("--offload-folder=") || a == "--json")
            continue;
        base.push_back(a);
    }
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        throw Error(ErrorKind::Io, "/proc/self/exe", "cannot find this program to start the ranks: " + ec.message());
    std::string folderTemplate = (std::filesystem::temp_directory_path() / "mizan-ranks-XXXXXX").string();
    if (!::mkdtemp(folderTemplate.data()))
        throw Error(ErrorKind::Io, folderTemplate, "cannot create a folder for the ranks' output");
    const std::filesystem::path folder = folderTemplate;
    const int port = runtime::freePort();
    const std::string master = "127.0.0.1:" + std::to_string(port);

    std::vector<Rank> ranks(static_cast<std::size_t>(world));
    // Ctrl-C reaches the ranks (same process group); this process stays to report them.
    struct sigaction ignore = {}, previous = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGINT, &ignore, &previous);
    std::cout << std::flush;
    for (int r = 0; r < world; ++r) {
        Rank &rank = ranks[static_cast<std::size_t>(r)];
        rank.out = folder / ("rank-" + std::to_string(r) + ".out");
        rank.err = folder / ("rank-" + std::to_string(r) + ".err");
        std::vector<std::string> childArgs{exe.string(), "run"};
        childArgs.insert(childArgs.end(), base.begin(), base.end());
        for (const std::string &a : {std::string("--distributed"), std::string("--master"), master, std::string("--rank"), std::to_string(r),
                                     std::string("--world"), std::to_string(world), std::string("--json")})
            childArgs.push_back(a);
        if (offload) {
            childArgs.push_back("--offload-folder");
            childArgs.push_back(world > 1 ? (std::filesystem::path(*offload) / ("rank-" + std::to_string(r))).string() : *offload);
        }
        std::vector<char *> cargs;
        for (auto &a : childArgs)
            cargs.push_back(a.data());
        cargs.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0)
            throw Error(ErrorKind::Io, {}, "cannot start rank " + std::to_string(r));
        if (pid == 0) {
            ::sigaction(SIGINT, &previous, nullptr);
            const int out = ::open(rank.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            const int err = ::open(rank.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
                ::_exit(127);
            ::execv(exe.c_str(), cargs.data());
            ::_exit(127);
        }
        rank.pid = pid;
        rank.running = true;
    }

    // Wait for every rank. Once one has failed the others get the timeout (plus a margin) to notice
    // and exit; a rank still there after it is killed.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> deadline;
    for (;;) {
        bool any = false;
        for (Rank &rank : ranks) {
            if (!rank.running)
                continue;
            int status = 0;
            const pid_t done = ::waitpid(rank.pid, &status, WNOHANG);
            if (done == rank.pid) {
                rank.running = false;
                rank.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
                if (rank.exitCode != 0 && !deadline)
                    deadline = Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(spec.timeoutSeconds * 1000) + 15000);
            } else {
                any = true;
            }
        }
        if (!any)
            break;
        if (deadline && Clock::now() > *deadline)
            for (Rank &rank : ranks)
                if (rank.running) {
                    ::kill(rank.pid, SIGKILL);
                    rank.killed = true;
                }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::sigaction(SIGINT, &previous, nullptr);

    std::vector<nlohmann::ordered_json> results(ranks.size());
    bool failed = false, allCancelled = true;
    for (std::size_t r = 0; r < ranks.size(); ++r) {
        const Rank &rank = ranks[r];
        if (rank.exitCode == 0) {
            try {
                results[r] = nlohmann::ordered_json::parse(readAll(rank.out));
            } catch (const std::exception &e) {
                failed = true;
                allCancelled = false;
                std::cerr << "mizan-cli run: rank " << r << " printed no result: " << printable(e.what()) << "\n";
            }
            continue;
        }
        failed = true;
        allCancelled = allCancelled && rank.exitCode == 130;
        std::cerr << "mizan-cli run: rank " << r << " of " << world << " failed ("
                  << (rank.killed ? "killed: it was still running long after another rank failed"
                                  : "exit code " + std::to_string(rank.exitCode))
                  << "): " << printable(lastLines(readAll(rank.err), 3)) << "\n";
    }
    std::filesystem::remove_all(folder, ec);
    if (failed)
        return allCancelled ? 130 : 1;

    nlohmann::ordered_json out = results.front();
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    nlohmann::ordered_json notes = nlohmann::ordered_json::array();
    for (std::size_t r = 0; r < results.size(); ++r) {
        nlohmann::ordered_json stage = results[r].value("stage", nlohmann::ordered_json::object());
        stage["devices"] = results[r].value("devices", nlohmann::ordered_json::array());
        stage["load_ms"] = results[r].value("load_ms", nlohmann::ordered_json());
        stage["decode_ms_per_token"] = results[r].value("decode_ms_per_token", nlohmann::ordered_json());
        stages.push_back(stage);
    }
    // A note every rank makes (the plan's) once; the others with their rank.
    for (std::size_t r = 0; r < results.size(); ++r)
        for (const auto &n : results[r].value("notes", nlohmann::ordered_json::array())) {
            bool everywhere = true;
            for (const auto &other : results) {
                const auto theirs = other.value("notes", nlohmann::ordered_json::array());
                everywhere = everywhere && std::find(theirs.begin(), theirs.end(), n) != theirs.end();
            }
            if (!everywhere)
                notes.push_back("rank " + std::to_string(r) + ": " + n.get<std::string>());
            else if (r == 0)
                notes.push_back(n);
        }
    out.erase("stage");
    out["local_ranks"] = world;
    out["master"] = master;
    out["stages"] = stages;
    out["notes"] = notes;
    if (json) {
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    std::cout << "Run         " << printable(out.value("path", std::string())) << " as " << world << " pipeline stage" << (world == 1 ? "" : "s")
              << ", local ranks on " << master << "\n";
    std::cout << "Prompt      ";
    const auto promptIds = out.value("prompt_ids", std::vector<std::int64_t>());
    for (std::size_t i = 0; i < promptIds.size(); ++i)
        std::cout << (i ? " " : "") << promptIds[i];
    std::cout << "\n";
    if (out.contains("text") && out["text"].is_string())
        std::cout << "Text        " << printable(out["text"].get<std::string>(), true) << "\n";
    const auto ids = out.value("generated_ids", std::vector<std::int64_t>());
    std::cout << "Tokens      ";
    for (std::size_t i = 0; i < ids.size(); ++i)
        std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n\n";
    TextTable table({"Rank", "Blocks", "Devices", "Time", "Sent/token", "Waiting"}, {true, false, false, true, true, true});
    for (const auto &s : stages) {
        const auto blocks = s.value("blocks", std::vector<int>{0, 0});
        std::string range = blocks.size() == 2 ? std::to_string(blocks[0]) + "-" + std::to_string(blocks[1] - 1) : "?";
        if (s.value("embeddings", false))
            range = "embeddings, " + range;
        if (s.value("head", false))
            range += ", norm, head";
        std::string devices;
        for (const auto &d : s["devices"])
            devices += (devices.empty() ? "" : ", ") + d.value("label", std::string());
        table.addRow({std::to_string(s.value("rank", 0)), range, devices, milliseconds(s.value("seconds", 0.0) * 1000),
                      humanBytes(s.value("bytes_sent_per_token", 0.0)), milliseconds(s.value("wait_ms", 0.0))});
    }
    std::cout << table.render() << "\n";
    if (out.contains("prefill_ms") && out["prefill_ms"].is_number())
        std::cout << "Prefill     " << promptIds.size() << (promptIds.size() == 1 ? " token" : " tokens") << " in "
                  << milliseconds(out["prefill_ms"].get<double>()) << "\n";
    if (out.contains("decode_ms_per_token") && out["decode_ms_per_token"].is_number())
        std::cout << "Decode      " << milliseconds(out["decode_ms_per_token"].get<double>()) << "/token through all stages (rank 0)\n";
    for (const auto &n : notes)
        std::cout << "note: " << printable(n.get<std::string>()) << "\n";
    return 0;
}

} // namespace mizan::cli
