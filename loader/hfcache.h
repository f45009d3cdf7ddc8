#pragma once

// Models in the Hugging Face hub cache, as huggingface_hub lays it out:
// <root>/models--<org>--<name>/{blobs/<hash>, snapshots/<revision>/<files as links into blobs>,
// refs/<branch> (a revision)}. Listing only stats files; nothing is opened or parsed but the
// safetensors/.bin index of a snapshot (to find missing shards). A download in progress
// (`blobs/*.incomplete`), a link to a missing blob or a missing shard makes a snapshot incomplete,
// with the reason, never an error.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mizan::loader {

// The cache folders to look in, in huggingface_hub's order of precedence, without duplicates:
// $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. Only
// existing folders are returned.
std::vector<std::string> hfCacheRoots();

// Why a snapshot is not complete, for callers that word it themselves (the GUI translates it).
enum class SnapshotProblem {
    None,
    MissingBlobs,      // links to blobs that are gone (problemFiles: the links)
    UnreadableIndex,   // a weights index that cannot be read (problemFiles: the index)
    MissingShards,     // shards a weights index names are not in the snapshot (problemFiles: the shards)
    NoConfig,          // no config.json
    NoWeights,         // config.json alone
    Downloading,       // blobs/*.incomplete: a download of this repository is in progress
};

struct CachedModel {
    std::string repoId;                 // "meta-llama/Llama-3.1-8B"
    std::string revision;               // the snapshot folder's name (a commit hash)
    std::vector<std::string> refs;      // branches pointing at it ("main")
    std::string path;                   // the snapshot folder
    std::int64_t bytesOnDisk = 0;       // the blobs its files link to, each counted once
    std::vector<std::string> formats;   // "safetensors", "pytorch-bin", "config"
    bool complete = false;
    std::string problem;                // why not complete, in English (empty when complete)
    SnapshotProblem problemKind = SnapshotProblem::None; // the same, as a kind
    std::vector<std::string> problemFiles;               // the files it concerns, every one
    std::int64_t modifiedSeconds = 0;   // the snapshot folder's mtime (newest first)
};

// Every snapshot of every model under `root`, by repo id then newest first.
std::vector<CachedModel> listCachedModels(const std::string &root);
// Every snapshot in every root of hfCacheRoots().
std::vector<CachedModel> listCachedModels();

// Whether `text` looks like a hub repo id ("org/name": two non-empty parts of letters, digits,
// '-', '_', '.'; no "..").
bool looksLikeRepoId(const std::string &text);

// The snapshot `repoId` opens as: the complete one `refs/main` names, else the newest complete
// one; nullopt when the cache has no complete snapshot (then `why`, when given, says what there is).
std::optional<CachedModel> findCachedModel(const std::string &repoId, std::string *why = nullptr);

} // namespace mizan::loader
