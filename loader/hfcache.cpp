#include "hfcache.h"

#include "planner/error.h"
#include "planner/fileio.h"
#include "planner/jsonfile.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <sys/stat.h>

namespace mizan::loader {

namespace fs = std::filesystem;

namespace {

std::string env(const char *name)
{
    const char *v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool isDirectory(const std::string &path)
{
    std::error_code ec;
    return !path.empty() && fs::is_directory(path, ec);
}

std::string readRef(const fs::path &file)
{
    try {
        std::string text = readSmallFile(file.string(), 256);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
            text.pop_back();
        return text;
    } catch (const Error &) {
        return {};
    }
}

// The shards an index names, or nullopt when it cannot be read.
std::optional<std::vector<std::string>> indexShards(const fs::path &index)
{
    try {
        const auto j = planner::readJsonFile(index.string(), InputKind::SafetensorsIndex);
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            return std::nullopt;
        std::set<std::string> shards;
        for (const auto &[name, shard] : j["weight_map"].items())
            if (shard.is_string())
                shards.insert(shard.get<std::string>());
        return std::vector<std::string>(shards.begin(), shards.end());
    } catch (const Error &) {
        return std::nullopt;
    }
}

CachedModel describeSnapshot(const std::string &repoId, const fs::path &snapshot, const std::vector<std::string> &refsHere)
{
    CachedModel m;
    m.repoId = repoId;
    m.revision = snapshot.filename().string();
    m.refs = refsHere;
    m.path = snapshot.string();
    struct stat st {};
    if (::stat(m.path.c_str(), &st) == 0)
        m.modifiedSeconds = static_cast<std::int64_t>(st.st_mtime);
    std::set<std::pair<dev_t, ino_t>> counted;
    std::vector<std::string> names, dangling;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(snapshot, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec)) {
        if (it.depth() > 8) {
            it.disable_recursion_pending();
            continue;
        }
        std::error_code e2;
        if (it->is_directory(e2))
            continue;
        const std::string rel = it->path().lexically_relative(snapshot).string();
        struct stat target {};
        if (::stat(it->path().c_str(), &target) != 0) {
            dangling.push_back(rel);
            continue;
        }
        names.push_back(rel);
        if (S_ISREG(target.st_mode) && counted.insert({target.st_dev, target.st_ino}).second)
            m.bytesOnDisk += static_cast<std::int64_t>(target.st_size);
    }
    auto has = [&](const std::string &n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    auto anyEnding = [&](const char *suffix) {
        return std::any_of(names.begin(), names.end(), [&](const std::string &n) { return n.ends_with(suffix); });
    };
    std::vector<std::string> missing, unreadable;
    if (has("model.safetensors") || anyEnding(".safetensors"))
        m.formats.push_back("safetensors");
    if (has("pytorch_model.bin") || anyEnding(".bin"))
        m.formats.push_back("pytorch-bin");
    for (const char *index : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
        if (!has(index))
            continue;
        const auto shards = indexShards(snapshot / index);
        if (!shards) {
            unreadable.push_back(index);
            continue;
        }
        for (const auto &s : *shards)
            if (!has(s))
                missing.push_back(s);
    }
    if (has("config.json"))
        m.formats.push_back("config");
    std::sort(dangling.begin(), dangling.end());
    auto firstOf = [](const std::vector<std::string> &files) {
        return files.front() + (files.size() > 1 ? " and " + std::to_string(files.size() - 1) + " more" : "");
    };
    if (!dangling.empty()) {
        m.problemKind = SnapshotProblem::MissingBlobs;
        m.problemFiles = dangling;
        m.problem = "links to missing blobs: " + firstOf(dangling);
    } else if (!unreadable.empty()) {
        m.problemKind = SnapshotProblem::UnreadableIndex;
        m.problemFiles = unreadable;
        m.problem = "cannot read the index " + firstOf(unreadable);
    } else if (!missing.empty()) {
        m.problemKind = SnapshotProblem::MissingShards;
        m.problemFiles = missing;
        m.problem = "missing shards: " + firstOf(missing);
    } else if (!has("config.json")) {
        m.problemKind = SnapshotProblem::NoConfig;
        m.problem = "no config.json";
    } else if (std::find(m.formats.begin(), m.formats.end(), "safetensors") == m.formats.end()
               && std::find(m.formats.begin(), m.formats.end(), "pytorch-bin") == m.formats.end()) {
        m.problemKind = SnapshotProblem::NoWeights;
        m.problem = "no weights (config only)";
    }
    m.complete = m.problem.empty();
    return m;
}

} // namespace

std::vector<std::string> hfCacheRoots()
{
    std::vector<std::string> candidates;
    candidates.push_back(env("HF_HUB_CACHE"));
    candidates.push_back(env("HUGGINGFACE_HUB_CACHE"));
    if (const std::string home = env("HF_HOME"); !home.empty())
        candidates.push_back(home + "/hub");
    if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty())
        candidates.push_back(xdg + "/huggingface/hub");
    if (const std::string home = env("HOME"); !home.empty())
        candidates.push_back(home + "/.cache/huggingface/hub");
    std::vector<std::string> out;
    for (const auto &c : candidates) {
        if (!isDirectory(c))
            continue;
        std::error_code ec;
        const std::string canonical = fs::weakly_canonical(c, ec).string();
        if (std::none_of(out.begin(), out.end(), [&](const std::string &o) {
                std::error_code e2;
                return fs::weakly_canonical(o, e2).string() == canonical;
            }))
            out.push_back(c);
    }
    return out;
}

namespace {

// The snapshots of one repository folder (models--org--name) into `out`.
void addRepository(const fs::path &repoDir, std::vector<CachedModel> &out)
{
    const std::string dir = repoDir.filename().string();
    // models--org--name (a name without an org has one part).
    std::string id = dir.substr(8);
    if (const auto sep = id.find("--"); sep != std::string::npos)
        id = id.substr(0, sep) + "/" + id.substr(sep + 2);
    std::vector<std::pair<std::string, std::string>> refs; // (branch, revision)
    std::error_code e2;
    for (fs::directory_iterator r(repoDir / "refs", e2), rend; !e2 && r != rend; r.increment(e2))
        if (std::error_code e3; r->is_regular_file(e3))
            refs.emplace_back(r->path().filename().string(), readRef(r->path()));
    const std::size_t first = out.size();
    for (fs::directory_iterator s(repoDir / "snapshots", e2), send; !e2 && s != send; s.increment(e2)) {
        if (std::error_code e3; !s->is_directory(e3))
            continue;
        std::vector<std::string> here;
        for (const auto &[branch, revision] : refs)
            if (revision == s->path().filename().string())
                here.push_back(branch);
        out.push_back(describeSnapshot(id, s->path(), here));
    }
    // A download in progress leaves blobs/<hash>.incomplete: the snapshots are not to be trusted.
    bool downloading = false;
    for (fs::directory_iterator b(repoDir / "blobs", e2), bend; !e2 && b != bend; b.increment(e2))
        downloading = downloading || b->path().filename().string().ends_with(".incomplete");
    for (std::size_t k = first; k < out.size(); ++k)
        if (downloading && out[k].complete) {
            out[k].complete = false;
            out[k].problemKind = SnapshotProblem::Downloading;
            out[k].problem = "a download is in progress (blobs/*.incomplete)";
        }
}

void sortModels(std::vector<CachedModel> &out)
{
    std::sort(out.begin(), out.end(), [](const CachedModel &a, const CachedModel &b) {
        return a.repoId != b.repoId ? a.repoId < b.repoId : a.modifiedSeconds > b.modifiedSeconds;
    });
}

// The folder huggingface_hub keeps `repoId` in: models--org--name.
std::string repoFolderName(const std::string &repoId)
{
    std::string name = "models--" + repoId;
    if (const auto slash = name.find('/'); slash != std::string::npos)
        name.replace(slash, 1, "--");
    return name;
}

} // namespace

std::vector<CachedModel> listCachedModels(const std::string &root)
{
    std::vector<CachedModel> out;
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().starts_with("models--"))
            addRepository(it->path(), out);
    sortModels(out);
    return out;
}

std::vector<CachedModel> listCachedModels()
{
    std::vector<CachedModel> out;
    for (const auto &root : hfCacheRoots()) {
        auto models = listCachedModels(root);
        out.insert(out.end(), std::make_move_iterator(models.begin()), std::make_move_iterator(models.end()));
    }
    return out;
}

bool looksLikeRepoId(const std::string &text)
{
    const auto slash = text.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size() || text.find('/', slash + 1) != std::string::npos
        || text.find("..") != std::string::npos || text.size() > 200)
        return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
    });
}

std::optional<CachedModel> findCachedModel(const std::string &repoId, std::string *why)
{
    std::optional<CachedModel> newest, onMain;
    std::string problems;
    int snapshots = 0;
    // Only this repository's folder in each root: no other model is walked.
    std::vector<CachedModel> models;
    for (const auto &root : hfCacheRoots())
        if (std::error_code ec; fs::is_directory(fs::path(root) / repoFolderName(repoId), ec))
            addRepository(fs::path(root) / repoFolderName(repoId), models);
    sortModels(models);
    for (auto &m : models) {
        if (m.repoId != repoId)
            continue;
        ++snapshots;
        if (!m.complete) {
            problems += (problems.empty() ? "" : "; ") + m.revision.substr(0, 12) + ": " + m.problem;
            continue;
        }
        if (!onMain && std::find(m.refs.begin(), m.refs.end(), "main") != m.refs.end())
            onMain = m;
        if (!newest)
            newest = m;
    }
    if (onMain)
        return onMain;
    if (newest)
        return newest;
    if (why)
        *why = snapshots == 0 ? "not in the Hugging Face cache (looked in: " + [] {
            std::string roots;
            for (const auto &r : hfCacheRoots())
                roots += (roots.empty() ? "" : ", ") + r;
            return roots.empty() ? std::string("no cache folder exists") : roots;
        }() + ")"
                              : "no complete snapshot in the Hugging Face cache (" + problems + ")";
    return std::nullopt;
}

} // namespace mizan::loader
