#pragma once

// Plans that span several hosts: a cluster is a list of hosts, each with its own devices and
// speeds, joined by a network link. The model's decoder blocks are cut into contiguous ranges, one
// pipeline stage per host in the cluster's order (the first host also runs what comes before the
// first block, the embeddings; the last host what comes after the last, the final norm and the
// head); each host's stage is then planned on that host's devices exactly as a one-machine plan
// is. Between consecutive stages the hidden state of every token crosses the link, which the
// prediction adds. Device names carry the host: "node1:0", "node1:cpu", "node1:disk"; each host's
// own map (what its runtime and an Accelerate export take) keeps the plain names.
// Pure C++ (std + nlohmann_json).

#include "cost.h"
#include "device.h"
#include "moduletree.h"
#include "plan.h"
#include "planfile.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mizan::planner {

// A device of one host of a cluster.
struct HostDevice {
    std::string host;
    Device device;
    // "node1:0", "node1:cpu", "node1:disk".
    std::string toString() const;
    // "HOST:DEVICE" with any spelling Device::fromString accepts after the host's ':'
    // ("node1:cuda:1" is GPU 1 of node1). Throws Error(InvalidArgument).
    static HostDevice fromString(std::string_view text);
    bool operator==(const HostDevice &) const = default;
};

// Host names: letters, digits, '-', '_' and '.', 1 to 64 of them (they appear in file names).
bool isValidHostName(std::string_view name);

struct ClusterHost {
    std::string name;           // "node0"
    std::string address;        // how the others reach it (informative: "10.0.0.1"); may be empty
    PlanOptions options;        // its budgets and the planning settings (dtype, strategy, pins ...)
    SpeedModel speeds;          // its devices' speeds, for the prediction and the split
};

struct Cluster {
    std::vector<ClusterHost> hosts; // pipeline order: the first runs the embeddings
    double linkBandwidth = 0;       // bytes/s between consecutive hosts (0: unknown, assumed 1 GB/s)
    double linkLatency = 0;         // seconds per message
};

struct ClusterOptions {
    // Bytes of one token's hidden state as it crosses the link (the runtime sends float32: hidden
    // size x 4); 0: the embedding table's width x 4.
    std::int64_t hiddenBytesPerToken = 0;
    // Decoder blocks per host (one count per host, summing to the model's blocks, each >= 1);
    // empty: chosen to minimise the predicted time per token.
    std::vector<int> blocksPerHost;
    Workload workload;
};

// One host's part of a cluster plan.
struct ClusterStage {
    std::string host;
    std::string address;
    int firstBlock = 0, endBlock = 0; // decoder blocks [firstBlock, endBlock)
    bool embeddings = false;          // also what comes before the first block
    bool head = false;                // also what comes after the last block
    ModuleTree tree;                  // the stage's modules (full names kept)
    PlanOptions options;              // the host's, restricted to the stage (pins of its modules)
    Plan plan;                        // over `tree`; plan.deviceMap uses the host's plain device names
    Prediction prediction;            // the stage alone, on the host's speeds
    std::int64_t bytes = 0;           // weights of the stage
};

struct ClusterPlan {
    std::vector<ClusterStage> stages;  // one per host, cluster order
    int blocks = 0;                    // decoder blocks of the model
    std::int64_t hiddenBytesPerToken = 0;
    double linkBandwidth = 0, linkLatency = 0;
    double hopSecondsPerToken = 0;     // every hop of one decode token (hidden states, then the token back)
    double decodeSeconds = 0;          // per token: the stages one after the other, plus the hops
    double prefillSeconds = 0;
    bool chosenSplit = true;           // false: blocksPerHost was given
    std::vector<std::string> notes;
    // Every stage's map with host-qualified devices, in execution order; the keys of different
    // stages never overlap (a key that would cover modules of another stage is split).
    std::vector<std::pair<std::string, HostDevice>> deviceMap() const;
    // The stages' maps together with plain device names: what each rank of a run restricts to its
    // own stage (runtime PipelineSpec). Keys never overlap.
    DeviceMap localDeviceMap() const;
    std::vector<int> blocksPerStage() const;
};

// The decoder blocks of `tree` under `noSplitClasses`: the no-split modules, in execution order.
// (For every family the runtime runs these are its decoder blocks.)
std::vector<std::string> pipelineBlocks(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses);

// Plans `tree` over the cluster. Every host's options must use the same no-split classes and load
// dtype (the first host's are taken for the split). Throws Error(InvalidArgument) for a cluster
// without hosts, duplicate or invalid host names, a model with fewer decoder blocks than hosts,
// or a blocksPerHost that does not fit.
ClusterPlan planCluster(const ModuleTree &tree, const Cluster &cluster, const ClusterOptions &options);

// The modules of the stage [firstBlock, endBlock) (with the embeddings / head): a tree holding
// those modules and tensors only, under their full names. Tied tensors whose partner is outside
// the stage become plain tensors (the host loads its own copy).
ModuleTree stageTree(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses, int firstBlock, int endBlock,
                     bool embeddings, bool head);

// What a stage runs, for people: "embeddings, blocks 0-59", "block 60", "blocks 61-79, head".
std::string stageParts(int firstBlock, int endBlock, bool embeddings, bool head);

// One line: "2 hosts, about 41.2 ms per token (24.3 tokens/s): node0 blocks 0-59 31.0 ms, node1 ...;
// 2 hops of 16.0 KiB, 0.10 ms".
std::string summarize(const ClusterPlan &plan);

// The plan, its stages and its prediction as JSON (`mizan-cli plan --json` on a cluster).
nlohmann::ordered_json clusterPlanToJson(const ClusterPlan &plan);

// The cluster plan file (*.mizan.json with format "mizan-cluster-plan", version 1): the checkpoint,
// the link, and per stage the host, its block range and its plan as a plan-file object (whose map
// names the stage's modules only, with the host's plain device names); plus the host-qualified map
// and the prediction, informative (recomputed from the stages when read).
struct ClusterPlanFile {
    static constexpr int kVersion = 1;
    CheckpointIdentity checkpoint;
    std::string profile;                  // the hardware profile planned for, if any
    double linkBandwidth = 0, linkLatency = 0;
    std::int64_t hiddenBytesPerToken = 0;
    struct Stage {
        std::string host, address;
        int firstBlock = 0, endBlock = 0;
        bool embeddings = false, head = false;
        PlanFile plan;
        // The prediction as written (informative; empty when the writer gave none).
        std::string predictedSummary;
        double predictedDecodeSeconds = 0;
    };
    std::vector<Stage> stages;
    std::string predictedSummary;          // the whole cluster's, as written (informative)
    double predictedDecodeSeconds = 0;
    // As ClusterPlan's: every stage's map with plain device names; the block counts per stage.
    DeviceMap localDeviceMap() const;
    std::vector<int> blocksPerStage() const;
    // The stage of `host`, or null.
    const Stage *stageOf(std::string_view host) const;
};
// `devices[i]`: what is known of host i's devices (labels, capacities, simulated), may be empty.
ClusterPlanFile clusterPlanFileOf(const ClusterPlan &plan, const CheckpointIdentity &checkpoint, const std::string &profile,
                                  const std::vector<std::vector<PlanDevice>> &devices);
nlohmann::ordered_json clusterPlanFileToJson(const ClusterPlanFile &file, const ClusterPlan *plan = nullptr);
bool isClusterPlanJson(const nlohmann::ordered_json &json); // its "format" says so
// Throws Error(VersionMismatch) for another format or a newer version, Error(InvalidHeader) naming
// the field for a malformed one (overlapping or missing block ranges included); with `expected`,
// Error(VersionMismatch) when it was made for another checkpoint.
ClusterPlanFile clusterPlanFileFromJson(const nlohmann::ordered_json &json, const std::string &file,
                                        const CheckpointIdentity *expected = nullptr);
void writeClusterPlanFile(const std::string &path, const ClusterPlanFile &file, const ClusterPlan *plan = nullptr); // atomic
ClusterPlanFile readClusterPlanFile(const std::string &path, const CheckpointIdentity *expected = nullptr);

} // namespace mizan::planner
