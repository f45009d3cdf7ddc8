// bench_pipeline: what the stage hops of a pipeline run cost (issue 15). The bundled demo model
// (resources/demo/fortunes-llama, 4 blocks, hidden 128, float32, all on the CPU) generates the same
// tokens as a single-process `mizan-cli run` and as `mizan-cli run --local-ranks N` for N = 1, 2, 3
// (N processes on 127.0.0.1 connected by libtorch's c10d, ProcessGroupGloo over TCP). Per token
// each hop sends one hidden state (128 float32 = 512 bytes) and the last stage broadcasts the token.
// The decode time per token is rank 0's: a token goes through every stage and comes back, so it
// includes every hop. The runs are interleaved (one of each per round) so that a busy machine slows
// all alike; figures are medians over the rounds, ratios against the single-process run.
//
// usage: bench_pipeline [--rounds N] [--tokens N] [--cli PATH]

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Row {
    std::string label;
    int ranks = 0; // 0: the single-process run
    std::vector<double> decodeMs, waitMs;
    double bytesPerToken = 0;
    std::vector<long long> ids;
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string shellQuoted(const std::string &s)
{
    std::string out = "'";
    for (const char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs the command, returns its standard output; exits with a message when it fails.
std::string output(const std::string &command)
{
    FILE *p = ::popen(command.c_str(), "r");
    if (!p) {
        std::fprintf(stderr, "bench_pipeline: cannot run %s\n", command.c_str());
        std::exit(1);
    }
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        text.append(buf, n);
    if (::pclose(p) != 0) {
        std::fprintf(stderr, "bench_pipeline: failed: %s\n", command.c_str());
        std::exit(1);
    }
    return text;
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 5, tokens = 64;
    std::string cli = MIZAN_CLI;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc)
            rounds = std::max(1, std::atoi(argv[++i]));
        else if (a == "--tokens" && i + 1 < argc)
            tokens = std::clamp(std::atoi(argv[++i]), 2, 200);
        else if (a == "--cli" && i + 1 < argc)
            cli = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_pipeline [--rounds N] [--tokens N] [--cli PATH]\n");
            return 2;
        }
    }
    const std::string demo = MIZAN_SOURCE_DIR "/resources/demo/fortunes-llama";
    const std::string common = shellQuoted(cli) + " run " + shellQuoted(demo) + " --max-memory cpu=10GB --prompt-ids 256,84,104,101 --max-new-tokens " +
                               std::to_string(tokens) + " --json";
    std::vector<Row> rows{{"single process", 0, {}, {}, 0, {}}, {"1 local rank", 1, {}, {}, 0, {}},
                          {"2 local ranks", 2, {}, {}, 0, {}}, {"3 local ranks", 3, {}, {}, 0, {}}};
    std::printf("bench_pipeline: %s, %d new tokens, %d rounds\n", demo.c_str(), tokens, rounds);
    for (int r = 0; r < rounds; ++r)
        for (Row &row : rows) {
            const std::string command = common + (row.ranks ? " --local-ranks " + std::to_string(row.ranks) + " --timeout 60" : "") + " 2>/dev/null";
            const nlohmann::json j = nlohmann::json::parse(output(command));
            row.decodeMs.push_back(j.value("decode_ms_per_token", 0.0));
            row.ids = j.value("generated_ids", std::vector<long long>());
            if (row.ranks > 0) {
                const auto &stages = j.at("stages");
                const double forwards = static_cast<double>(row.ids.size());
                row.waitMs.push_back(stages.at(0).value("wait_ms", 0.0) / std::max(1.0, forwards));
                double sent = 0;
                for (const auto &s : stages)
                    sent += s.value("bytes_sent", 0.0);
                row.bytesPerToken = sent / std::max(1.0, forwards);
            }
        }
    const double base = median(rows.front().decodeMs);
    std::printf("\n%-16s %14s %10s %18s %16s %s\n", "run", "decode/token", "ratio", "rank 0 waits/token", "bytes sent/token", "tokens");
    for (const Row &row : rows) {
        const double d = median(row.decodeMs);
        const bool same = row.ids == rows.front().ids;
        char wait[32] = "-", bytes[32] = "-";
        if (row.ranks > 0) {
            std::snprintf(wait, sizeof wait, "%.3f ms", median(row.waitMs));
            std::snprintf(bytes, sizeof bytes, "%.0f B", row.bytesPerToken);
        }
        std::printf("%-16s %11.3f ms %9.2fx %18s %16s %s\n", row.label.c_str(), d, base > 0 ? d / base : 0.0, wait, bytes,
                    same ? "same as single" : "DIFFERENT");
    }
    for (std::size_t i = 2; i < rows.size(); ++i)
        std::printf("overhead per hop (%s vs 1 rank): %.3f ms/token\n", rows[i].label.c_str(),
                    (median(rows[i].decodeMs) - median(rows[1].decodeMs)) / static_cast<double>(rows[i].ranks - 1));
    for (const Row &row : rows)
        if (row.ids != rows.front().ids)
            return 1;
    return 0;
}
