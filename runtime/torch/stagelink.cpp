// c10d connection of a pipeline stage (stagelink.h).
#include "stagelink.h"

#include "planner/error.h"

#if MIZAN_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace mizan::runtime {

#if MIZAN_HAVE_GLOO

namespace {

using Clock = std::chrono::steady_clock;

std::string firstLine(const std::string &text)
{
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

std::string seconds(double s)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}

std::vector<std::uint8_t> bytesOf(const std::string &text)
{
    return std::vector<std::uint8_t>(text.begin(), text.end());
}

std::string keyOf(const char *what, int rank)
{
    return std::string("mizan/") + what + "/" + std::to_string(rank);
}

// Waits until something accepts TCP connections at host:port (rank 0's store), trying every 20 ms
// until `deadline`: the store's own client backs off a whole second after a refused connection,
// which every rank started with rank 0 would pay. False at the deadline.
bool waitForListener(const std::string &host, int port, Clock::time_point deadline)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    for (;;) {
        addrinfo *found = nullptr;
        if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) == 0) {
            bool connected = false;
            for (addrinfo *a = found; a && !connected; a = a->ai_next) {
                const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0)
                    continue;
                connected = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
                ::close(fd);
            }
            ::freeaddrinfo(found);
            if (connected)
                return true;
        }
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

class GlooLink final : public StageLink {
public:
    GlooLink(const PipelineSpec &spec, const nlohmann::json &fingerprint) : m_spec(spec)
    {
        m_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(spec.timeoutSeconds * 1000));
        const std::string where = spec.masterAddress + ":" + std::to_string(spec.masterPort);
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(spec.masterPort);
        options.isServer = spec.rank == 0;
        options.numWorkers = static_cast<std::size_t>(spec.world);
        options.waitWorkers = false;
        options.timeout = m_timeout;
        if (spec.rank != 0 && !waitForListener(spec.masterAddress, spec.masterPort, Clock::now() + m_timeout))
            throw Error(ErrorKind::Io, {},
                        "rank " + std::to_string(spec.rank) + " could not reach the master " + where + " within " + seconds(spec.timeoutSeconds) +
                            " (is rank 0 running, the port open?): nothing accepted a connection there");
        try {
            m_store = c10::make_intrusive<c10d::TCPStore>(spec.masterAddress, options);
        } catch (const std::exception &e) {
            throw Error(ErrorKind::Io, {},
                        spec.rank == 0 ? "rank 0 cannot serve the rendezvous at " + where + " (port in use or address not of this host?): " +
                                             firstLine(e.what())
                                       : "rank " + std::to_string(spec.rank) + " could not reach the master " + where + " within " +
                                             seconds(spec.timeoutSeconds) + " (is rank 0 running, the port open?): " + firstLine(e.what()));
        }
        rendezvous(fingerprint, where);

        auto pgOptions = c10d::ProcessGroupGloo::Options::create(m_timeout);
        try {
            if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
                pgOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (spec.masterAddress == "127.0.0.1" || spec.masterAddress == "localhost")
                pgOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                pgOptions->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            m_group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_store, spec.rank, spec.world, pgOptions);
        } catch (const std::exception &e) {
            throw Error(ErrorKind::Io, {},
                        "rank " + std::to_string(spec.rank) + " could not connect to the other ranks within " + seconds(spec.timeoutSeconds) +
                            " (a rank stopped after the rendezvous, or a firewall blocks gloo's ports; GLOO_SOCKET_IFNAME picks the "
                            "network interface): " + firstLine(e.what()) + peerErrors());
        }
    }

    ~GlooLink() override { stopBeating(); }

    void loading() override
    {
        m_beating = true;
        m_beat = std::thread([this] {
            std::unique_lock lock(m_beatMutex);
            while (m_beating) {
                try {
                    m_store->add(keyOf("beat", m_spec.rank), 1);
                } catch (...) {
                    return; // the store is gone: the wait or the next exchange reports it
                }
                m_beatWake.wait_for(lock, beatPeriod(), [this] { return !m_beating; });
            }
        });
    }

    void allLoaded() override
    {
        stopBeating();
        try {
            m_store->set(keyOf("loaded", m_spec.rank), bytesOf("1"));
        } catch (const std::exception &e) {
            lost(0, "telling the others its weights are loaded (rank 0 serves the rendezvous)", e);
        }
        std::map<int, std::pair<std::int64_t, Clock::time_point>> lastBeat;
        for (int q = 0; q < m_spec.world; ++q)
            if (q != m_spec.rank)
                lastBeat[q] = {-1, Clock::now()};
        while (!lastBeat.empty()) {
            for (auto it = lastBeat.begin(); it != lastBeat.end();) {
                const int q = it->first;
                try {
                    if (m_store->check({keyOf("loaded", q)})) {
                        it = lastBeat.erase(it);
                        continue;
                    }
                    if (m_store->check({keyOf("error", q)})) {
                        const std::vector<std::uint8_t> bytes = m_store->get(keyOf("error", q));
                        throw PeerLost(q,
                                    "rank " + std::to_string(m_spec.rank) + " lost rank " + std::to_string(q) +
                                        " while it was loading its weights: rank " + std::to_string(q) +
                                        " reported: " + std::string(bytes.begin(), bytes.end()));
                    }
                    const std::int64_t beats = m_store->add(keyOf("beat", q), 0);
                    if (beats != it->second.first)
                        it->second = {beats, Clock::now()};
                } catch (const Error &) {
                    throw;
                } catch (const std::exception &e) {
                    lost(0, "waiting for the others to load their weights (rank 0 serves the rendezvous)", e);
                }
                if (Clock::now() - it->second.second > m_timeout)
                    throw PeerLost(q,
                                "rank " + std::to_string(m_spec.rank) + " lost rank " + std::to_string(q) +
                                    " while it was loading its weights: no sign of life for " + seconds(m_spec.timeoutSeconds) +
                                    peerErrors());
                ++it;
            }
            if (!lastBeat.empty())
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    void sendHidden(const torch::Tensor &hidden) override
    {
        std::vector<at::Tensor> tensors{hidden.to(torch::kCPU, torch::kFloat32).contiguous()};
        const auto t0 = Clock::now();
        const int to = m_spec.rank + 1;
        try {
            m_group->send(tensors, to, 0)->wait(m_timeout);
        } catch (const std::exception &e) {
            lost(to, "sending it a hidden state", e);
        }
        waitSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
        bytesSent += static_cast<std::int64_t>(tensors[0].numel()) * 4;
    }

    torch::Tensor receiveHidden(std::int64_t tokens, std::int64_t hiddenSize) override
    {
        std::vector<at::Tensor> tensors{torch::empty({1, tokens, hiddenSize}, torch::kFloat32)};
        const auto t0 = Clock::now();
        const int from = m_spec.rank - 1;
        try {
            m_group->recv(tensors, from, 0)->wait(m_timeout);
        } catch (const std::exception &e) {
            lost(from, "waiting for its hidden state", e);
        }
        waitSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
        bytesReceived += static_cast<std::int64_t>(tensors[0].numel()) * 4;
        return tensors[0];
    }

    std::int64_t shareToken(std::int64_t token) override
    {
        std::vector<at::Tensor> tensors{torch::tensor({token}, torch::kInt64)};
        c10d::BroadcastOptions options;
        options.rootRank = m_spec.world - 1;
        options.timeout = m_timeout;
        const auto t0 = Clock::now();
        try {
            m_group->broadcast(tensors, options)->wait(m_timeout);
        } catch (const std::exception &e) {
            lost(m_spec.world - 1, "exchanging the token", e);
        }
        waitSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
        if (m_spec.rank == m_spec.world - 1)
            bytesSent += 8 * (m_spec.world - 1);
        else
            bytesReceived += 8;
        return tensors[0].item<std::int64_t>();
    }

    void reportFailure(const std::string &message) override
    {
        try {
            m_store->setTimeout(std::chrono::milliseconds(2000));
            m_store->set(keyOf("error", m_spec.rank), bytesOf(message));
        } catch (...) {
            // the store (rank 0) may be gone already
        }
    }

private:
    std::chrono::milliseconds beatPeriod() const
    {
        return std::max(std::chrono::milliseconds(50), std::min(std::chrono::milliseconds(1000), m_timeout / 4));
    }

    void stopBeating()
    {
        {
            const std::lock_guard lock(m_beatMutex);
            m_beating = false;
        }
        m_beatWake.notify_all();
        if (m_beat.joinable())
            m_beat.join();
    }

    void rendezvous(const nlohmann::json &fingerprint, const std::string &where)
    {
        const int rank = m_spec.rank;
        m_store->set(keyOf("fingerprint", rank), bytesOf(fingerprint.dump()));
        const auto deadline = Clock::now() + m_timeout;
        std::string mismatch;
        for (int q = 0; q < m_spec.world && mismatch.empty(); ++q) {
            if (q == rank)
                continue;
            nlohmann::json theirs;
            try {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                m_store->wait({keyOf("fingerprint", q)}, std::max(left, std::chrono::milliseconds(1)));
                const std::vector<std::uint8_t> bytes = m_store->get(keyOf("fingerprint", q));
                theirs = nlohmann::json::parse(std::string(bytes.begin(), bytes.end()));
            } catch (const std::exception &e) {
                throw PeerLost(q,
                            "rank " + std::to_string(q) + " did not join the rendezvous at " + where + " within " +
                                seconds(m_spec.timeoutSeconds) + " (rank " + std::to_string(rank) + " waited for it; --timeout sets the wait): " +
                                firstLine(e.what()));
            }
            for (const auto &[part, mine] : fingerprint.items()) {
                const nlohmann::json other = theirs.value(part, nlohmann::json());
                if (other.is_object() && other.value("hash", std::string()) == mine.value("hash", std::string()))
                    continue;
                mismatch = "rank " + std::to_string(q) + "'s " + part + " differs from rank " + std::to_string(rank) + "'s: " +
                           (other.is_object() ? other.value("summary", std::string("?")) : std::string("none")) + " there, " +
                           mine.value("summary", std::string("?")) +
                           " here. Every rank must run the same checkpoint (tensor names, dtypes, shapes, file sizes), the same "
                           "plan and stage split and the same prompt and generation settings; detected at the rendezvous, before "
                           "any weights were loaded";
                break;
            }
        }
        m_store->set(keyOf("checked", rank), bytesOf(mismatch.empty() ? std::string("ok") : mismatch));
        // Rank 0 serves the store: it stays until every rank has compared (or the timeout), so that
        // a mismatch is reported as one on every rank, not as a lost master.
        if (rank == 0) {
            std::vector<std::string> keys;
            for (int q = 1; q < m_spec.world; ++q)
                keys.push_back(keyOf("checked", q));
            try {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                m_store->wait(keys, std::max(left, std::chrono::milliseconds(1)));
            } catch (const std::exception &e) {
                if (mismatch.empty())
                    throw Error(ErrorKind::Io, {},
                                "not every rank completed the rendezvous at " + where + " within " + seconds(m_spec.timeoutSeconds) + ": " +
                                    firstLine(e.what()));
            }
        }
        if (!mismatch.empty())
            throw Error(ErrorKind::VersionMismatch, {}, mismatch);
    }

    // What the other ranks reported before they stopped, as " (rank 1 failed: ...)".
    std::string peerErrors()
    {
        std::string out;
        try {
            m_store->setTimeout(std::chrono::milliseconds(2000));
            for (int q = 0; q < m_spec.world; ++q) {
                if (q == m_spec.rank || !m_store->check({keyOf("error", q)}))
                    continue;
                const std::vector<std::uint8_t> bytes = m_store->get(keyOf("error", q));
                out += "; rank " + std::to_string(q) + " reported: " + std::string(bytes.begin(), bytes.end());
            }
        } catch (...) {
            // the store went with rank 0
        }
        return out;
    }

    [[noreturn]] void lost(int peer, const char *doing, const std::exception &e)
    {
        throw PeerLost(peer,
                    "rank " + std::to_string(m_spec.rank) + " lost rank " + std::to_string(peer) + " while " + doing +
                        " (it stopped, was killed or did not answer within " + seconds(m_spec.timeoutSeconds) + "): " + firstLine(e.what()) +
                        peerErrors());
    }

    PipelineSpec m_spec;
    std::chrono::milliseconds m_timeout{30000};
    c10::intrusive_ptr<c10d::TCPStore> m_store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> m_group;
    std::mutex m_beatMutex;
    std::condition_variable m_beatWake;
    bool m_beating = false;
    std::thread m_beat;
};

} // namespace

bool StageLink::available()
{
    return true;
}

std::unique_ptr<StageLink> StageLink::connect(const PipelineSpec &spec, const nlohmann::json &fingerprint)
{
    return std::make_unique<GlooLink>(spec, fingerprint);
}

#else

bool StageLink::available()
{
    return false;
}

std::unique_ptr<StageLink> StageLink::connect(const PipelineSpec &, const nlohmann::json &)
{
    throw Error(ErrorKind::InvalidArgument, {},
                "this build of Mizan has no c10d/gloo support (the gloo headers, Debian's libgloo-dev, were not found when it was "
                "built): it cannot run pipeline stages");
}

#endif

} // namespace mizan::runtime
