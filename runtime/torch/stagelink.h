#pragma once

// Inside the libtorch backend module: the connection of a pipeline stage to the other ranks
// (runtime/session.h, PipelineSpec) over libtorch's c10d: a TCPStore served by rank 0 for the
// rendezvous, ProcessGroupGloo (TCP) for the hidden states and the tokens. Compiled with c10d only
// when the gloo headers were found (MIZAN_HAVE_GLOO); otherwise connect() refuses with a clear error.

#include "runtime/session.h"

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace mizan::runtime {

// Another rank failed or stopped answering: this rank's failure follows from that one's.
class PeerLost : public Error {
public:
    PeerLost(int peer, std::string message) : Error(ErrorKind::Io, {}, std::move(message)), m_peer(peer) {}
    int peer() const { return m_peer; }

private:
    int m_peer;
};

class StageLink {
public:
    virtual ~StageLink() = default;

    // Joins the ranks of `spec` (rank 0 serves the store at masterAddress:masterPort), publishes
    // `fingerprint` (an object of named parts, each {"hash", "summary"}) and compares it with every
    // other rank's: a rank that does not join within the timeout, or whose fingerprint differs,
    // fails this one with an Error naming the rank and the part. Then connects the process group.
    static std::unique_ptr<StageLink> connect(const PipelineSpec &spec, const nlohmann::json &fingerprint);
    // Whether this build has c10d with gloo.
    static bool available();

    // Loading weights takes each rank its own time, longer than the timeout on a large stage: while
    // this rank loads, a heartbeat tells the others it is alive. allLoaded() ends it and waits for
    // every other rank to have loaded, failing only when one stops beating for the timeout.
    virtual void loading() = 0;
    virtual void allLoaded() = 0;

    // The hidden state [1, T, H] (sent as float32 from the CPU) to the next rank.
    virtual void sendHidden(const torch::Tensor &hidden) = 0;
    // The previous rank's hidden state [1, tokens, hiddenSize], float32 on the CPU.
    virtual torch::Tensor receiveHidden(std::int64_t tokens, std::int64_t hiddenSize) = 0;
    // The last rank's token, on every rank (the last rank passes its own).
    virtual std::int64_t shareToken(std::int64_t token) = 0;
    // Tells the other ranks why this one stops (they name it in their own error). Never throws.
    virtual void reportFailure(const std::string &message) = 0;

    std::int64_t bytesSent = 0;
    std::int64_t bytesReceived = 0;
    double waitSeconds = 0;
};

} // namespace mizan::runtime
