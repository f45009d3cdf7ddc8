#include "checkpoint.h"

#include "fileio_p.h"
#include "jsoncursor_p.h"
#include "mappedfile_p.h"
#include "safetensorsformat_p.h"
#include "safetensorsreader_p.h"
#include "stridedview_p.h"
#include "torchbin_p.h"

#include "planner/error.h"
#include "planner/jsonfile.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <unordered_set>

#include <sys/stat.h>

namespace mizan::loader {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxNamesInMessage = 8;

std::string joinPath(const std::string &dir, const std::string &name)
{
    if (dir.empty())
        return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string parentDirectory(const std::string &path)
{
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

std::string fileNameOf(const std::string &path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string listNames(const std::vector<std::string> &names)
{
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kMaxNamesInMessage; ++i)
        out += (i ? ", " : "") + inQuotes(names[i]);
    if (names.size() > kMaxNamesInMessage)
        out += " and " + std::to_string(names.size() - kMaxNamesInMessage) + " more";
    return out;
}

void reportProgress(const OpenOptions &options, int done, int total, const std::string &path)
{
    if (options.progress && !options.progress(done, total))
        throw Error(ErrorKind::Cancelled, path, "cancelled");
}

void addNote(Checkpoint &cp, Note note)
{
    cp.warnings.push_back(planner::toEnglish(note));
    cp.notes.push_back(std::move(note));
}

// Header notes of the shards, one note per distinct header note naming the files it concerns.
class ShardWarnings {
public:
    void add(const std::string &file, const std::vector<Note> &notes)
    {
        for (const auto &n : notes) {
            auto it = std::find_if(m_items.begin(), m_items.end(), [&](const auto &item) { return item.first == n; });
            if (it == m_items.end())
                m_items.emplace_back(n, std::vector<std::string>{file});
            else
                it->second.push_back(file);
        }
    }
    void appendTo(Checkpoint &cp) const
    {
        for (const auto &[note, files] : m_items) {
            const bool noFormat = note.id == NoteId::MetadataNoFormat;
            if (!noFormat && note.id != NoteId::MetadataFormatNotPt)
                throw Error(ErrorKind::InvalidArgument, files.front(),
                            std::string("no note names the files of header note \"") + planner::messageName(note.id) + "\"");
            // The header note's own arguments (the format), then where it was found.
            std::vector<planner::MessageArg> args = note.args;
            if (files.size() == 1) {
                args.insert(args.begin(), files.front());
                addNote(cp, {noFormat ? NoteId::MetadataNoFormatInFile : NoteId::MetadataFormatNotPtInFile, std::move(args)});
                continue;
            }
            const bool more = files.size() > kMaxNamesInMessage;
            args.emplace_back(static_cast<std::int64_t>(files.size()));
            args.emplace_back(std::vector<std::string>(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(
                                                                          std::min(files.size(), kMaxNamesInMessage))));
            if (more)
                args.emplace_back(static_cast<std::int64_t>(files.size() - kMaxNamesInMessage));
            const NoteId id = noFormat ? (more ? NoteId::MetadataNoFormatInShardsMore : NoteId::MetadataNoFormatInShards)
                                          : (more ? NoteId::MetadataFormatNotPtInShardsMore : NoteId::MetadataFormatNotPtInShards);
            addNote(cp, {id, std::move(args)});
        }
    }

private:
    std::vector<std::pair<Note, std::vector<std::string>>> m_items;
};

// The tensors of one weights file: a safetensors header, or a torch.save archive's state dict.
using ShardReader = SafetensorsHeader (*)(int fd, const std::string &path);

bool isBinName(std::string_view name)
{
    return name.ends_with(".bin") || name.ends_with(".pt") || name.ends_with(".pth");
}

void openSingle(Checkpoint &cp, const std::string &file, const OpenOptions &options)
{
    const bool bin = isBinName(fileNameOf(file));
    SafetensorsHeader header;
    if (bin) {
        const detail::FileDescriptor fd = detail::openReadOnly(file);
        header = detail::readTorchBinHeader(fd.get(), file);
    } else {
        header = readSafetensorsHeader(file);
    }
    header.info.fileName = fileNameOf(file);
    cp.format = bin ? Format::PyTorchBin : Format::Safetensors;
    cp.catalog.tensors = std::move(header.tensors);
    cp.catalog.shards.push_back(std::move(header.info));
    ShardWarnings warnings;
    warnings.add(file, header.notes);
    warnings.appendTo(cp);
    reportProgress(options, 1, 1, file);
}

// A relative path that stays inside its folder: not absolute, no ".." component.
bool isInsideFolder(std::string_view name)
{
    if (name.empty() || name.front() == '/')
        return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t slash = std::min(name.find('/', start), name.size());
        if (name.substr(start, slash - start) == "..")
            return false;
        start = slash + 1;
    }
    return true;
}

// An index's weight_map in file order, its total_size when given, validated for structure.
struct IndexFile {
    std::vector<std::string> names;      // weight_map keys, in file order
    std::vector<int> shardOf;            // per name: index into shardNames
    std::vector<std::string> shardNames; // in order of first appearance
    std::optional<std::int64_t> totalSize;
};

IndexFile readIndex(const std::string &path)
{
    using detail::JsonCursor;
    const std::string text = detail::readInputFile(path, InputKind::SafetensorsIndex);
    JsonCursor cursor(text, path, 0);
    if (cursor.peek() != '{' || cursor.position() >= text.size()) {
        JsonCursor::validate(text, path, 0); // broken JSON is reported as such
        throw Error(ErrorKind::InvalidHeader, path, "index is not a JSON object with \"weight_map\"");
    }
    std::vector<std::string_view> weightMaps, metadatas;
    cursor.forEachMember([&](const std::string &key) {
        const std::string_view value = cursor.skipValue();
        if (key == "weight_map")
            weightMaps.push_back(value);
        else if (key == "metadata")
            metadatas.push_back(value);
    });
    cursor.expectEnd();
    if (weightMaps.size() > 1)
        throw Error(ErrorKind::InvalidHeader, path, "index has more than one \"weight_map\"");
    if (metadatas.size() > 1)
        throw Error(ErrorKind::InvalidHeader, path, "index has more than one \"metadata\"");
    if (weightMaps.empty() || weightMaps.front().front() != '{')
        throw Error(ErrorKind::InvalidHeader, path, "index has no \"weight_map\" object");
    auto sub = [&](std::string_view piece) { return JsonCursor(piece, path, piece.data() - text.data()); };

    IndexFile index;
    std::unordered_map<std::string, int> shardIds;
    JsonCursor wm = sub(weightMaps.front());
    wm.forEachMember([&](const std::string &name) {
        if (wm.peek() != '"')
            throw Error(ErrorKind::InvalidHeader, path, "weight_map value of " + inQuotes(name) + " is "
                                                            + detail::shortText(wm.skipValue())
                                                            + ", expected a shard file name");
        std::string shard = wm.readString();
        int id = index.shardOf.empty() ? -1 : index.shardOf.back();
        if (id < 0 || shard != index.shardNames[id]) { // names of one shard usually follow each other
            auto [it, inserted] = shardIds.emplace(shard, static_cast<int>(index.shardNames.size()));
            if (inserted) {
                if (!isInsideFolder(shard))
                    throw Error(ErrorKind::InvalidHeader, path, "weight_map maps " + inQuotes(name) + " to "
                                                                    + inQuotes(shard)
                                                                    + ", expected a file name inside the checkpoint folder");
                index.shardNames.push_back(std::move(shard));
            }
            id = it->second;
        }
        index.names.push_back(name);
        index.shardOf.push_back(id);
    });
    if (index.names.empty())
        throw Error(ErrorKind::InvalidHeader, path, "index \"weight_map\" is empty");
    {
        std::unordered_set<std::string_view> seen;
        seen.reserve(index.names.size());
        for (const auto &name : index.names)
            if (!seen.insert(name).second)
                throw Error(ErrorKind::InvalidHeader, path, "duplicate key " + inQuotes(name) + " in \"weight_map\"");
    }

    if (!metadatas.empty() && metadatas.front() != "null") {
        const std::string_view meta = metadatas.front();
        if (meta.front() != '{')
            throw Error(ErrorKind::InvalidHeader, path, "index \"metadata\" is " + detail::shortText(meta)
                                                            + ", expected an object");
        JsonCursor m = sub(meta);
        m.forEachMember([&](const std::string &key) {
            const std::string_view value = m.skipValue();
            if (key != "total_size" || value == "null")
                return;
            std::optional<std::int64_t> total = detail::nonNegativeInteger(value);
            if (!total && value.front() != '-' && value.find_first_of(".eE") != std::string_view::npos) {
                // An integral float ("1.6e10") is accepted.
                const double d = std::strtod(std::string(value).c_str(), nullptr);
                if (d >= 0 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d)))
                    total = static_cast<std::int64_t>(d);
            }
            if (!total)
                throw Error(ErrorKind::InvalidHeader, path, "metadata.total_size is " + detail::shortText(value)
                                                                + ", expected a non-negative integer");
            index.totalSize = total;
        });
    }
    return index;
}

void openSharded(Checkpoint &cp, const std::string &indexPath, const OpenOptions &options, bool bin = false)
{
    const IndexFile index = readIndex(indexPath);
    const std::string dir = parentDirectory(indexPath);
    cp.format = bin ? Format::ShardedPyTorchBin : Format::ShardedSafetensors;
    const ShardReader readShard = bin ? &detail::readTorchBinHeader : &detail::readSafetensorsHeader;
    for (const auto &name : index.shardNames) {
        ShardInfo info;
        info.fileName = name;
        info.path = joinPath(dir, name);
        cp.catalog.shards.push_back(std::move(info));
    }
    const int shardCount = static_cast<int>(cp.catalog.shards.size());
    const std::size_t count = index.names.size();

    // Where each tensor of the index is found: (shard, position in its header), or shard -1.
    struct Found { int shard = -1; std::size_t index = 0; };
    std::vector<Found> located(count);
    std::unordered_map<std::string_view, std::size_t> position; // views of index.names
    position.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        position.emplace(index.names[i], i);

    std::vector<std::vector<TensorEntry>> shardTensors(shardCount);
    std::vector<std::string> extra;
    ShardWarnings warnings;
    for (int s = 0; s < shardCount; ++s) {
        ShardInfo &info = cp.catalog.shards[s];
        const detail::FileDescriptor fd = detail::openReadOnlyIfExists(info.path);
        if (!fd.valid()) {
            const auto first = std::find(index.shardOf.begin(), index.shardOf.end(), s) - index.shardOf.begin();
            const auto held = std::count(index.shardOf.begin(), index.shardOf.end(), s);
            throw Error(ErrorKind::MissingShard, indexPath,
                        "shard " + inQuotes(info.fileName) + " is missing (it should hold " + inQuotes(index.names[first])
                            + (held > 1 ? " and " + std::to_string(held - 1) + " more tensors" : std::string()) + ")");
        }
        SafetensorsHeader header = readShard(fd.get(), info.path);
        info.fileSize = header.info.fileSize;
        info.headerBytes = header.info.headerBytes;
        info.metadata = std::move(header.info.metadata);
        warnings.add(info.fileName, header.notes);
        shardTensors[s] = std::move(header.tensors);
        for (std::size_t i = 0; i < shardTensors[s].size(); ++i) {
            const std::string &name = shardTensors[s][i].name;
            const auto it = position.find(name);
            if (it != position.end() && index.shardOf[it->second] == s)
                located[it->second] = Found{s, i};
            else
                extra.push_back(name + " (in " + info.fileName + ")");
        }
        reportProgress(options, s + 1, shardCount, indexPath);
    }

    // The index and the shards must agree exactly.
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < count; ++i)
        if (located[i].shard < 0)
            missing.push_back(index.names[i] + " (in " + index.shardNames[index.shardOf[i]] + ")");
    if (!missing.empty() || !extra.empty()) {
        std::string message = "index and shards disagree:";
        if (!missing.empty())
            message += " " + std::to_string(missing.size()) + " tensor(s) of the index missing from their shard: "
                       + listNames(missing) + ";";
        if (!extra.empty())
            message += " " + std::to_string(extra.size()) + " tensor(s) in a shard but not mapped to it by the index: "
                       + listNames(extra) + ";";
        message.pop_back();
        throw Error(ErrorKind::IndexMismatch, indexPath, message);
    }
    warnings.appendTo(cp);

    cp.catalog.tensors.reserve(count);
    std::int64_t storageSum = 0;
    double accelerateSum = 0;
    for (const Found &f : located) {
        TensorEntry entry = std::move(shardTensors[f.shard][f.index]);
        entry.shard = f.shard;
        storageSum += entry.byteSize;
        accelerateSum += static_cast<double>(entry.numel()) * accelerateByteSize(entry.dtype);
        cp.catalog.tensors.push_back(std::move(entry));
    }
    // transformers writes the sum of the tensors' bytes; older versions counted bool as 1/8 byte
    // (dtype_byte_size), so that sum is accepted too.
    if (index.totalSize && *index.totalSize != storageSum
        && *index.totalSize != static_cast<std::int64_t>(accelerateSum))
        throw Error(ErrorKind::IndexMismatch, indexPath,
                    "metadata.total_size is " + std::to_string(*index.totalSize) + " but the tensors hold "
                        + std::to_string(storageSum) + " bytes");
}

void loadConfig(Checkpoint &cp, const std::string &configPath)
{
    nlohmann::ordered_json config = planner::readJsonFile(configPath, InputKind::Config, ErrorKind::InvalidConfig);
    if (!config.is_object())
        throw Error(ErrorKind::InvalidConfig, configPath, std::string("config is ") + config.type_name()
                                                              + ", expected a JSON object");
    cp.configInfo = readConfigInfo(config, configPath);
    cp.config = std::move(config);
    cp.configPath = configPath;
}

void loadConfigBeside(Checkpoint &cp, const std::string &dir)
{
    const std::string configPath = joinPath(dir, "config.json");
    if (regularFileExists(configPath))
        loadConfig(cp, configPath);
}

// Looks at a .json file that is not named *.index.json: an index (has "weight_map") or a config.
bool looksLikeIndex(const std::string &path)
{
    const std::string text = detail::readInputFile(path, InputKind::SafetensorsIndex);
    try {
        const auto j = planner::parseJsonText(text, path);
        return j.is_object() && j.contains("weight_map");
    } catch (const Error &) {
        return false; // reported precisely when read as a config
    }
}

void openDirectory(Checkpoint &cp, const std::string &dir, const OpenOptions &options)
{
    std::vector<std::string> indexes, singles, binIndexes, bins;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec)
        throw Error(ErrorKind::Io, dir, "cannot list the folder: " + ec.message());
    for (const auto &entry : it) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("."))
            continue;
        if (name.ends_with(".safetensors.index.json"))
            indexes.push_back(name);
        else if (name.ends_with(".safetensors"))
            singles.push_back(name);
        else if (name.ends_with(".bin.index.json"))
            binIndexes.push_back(name);
        else if (name.ends_with(".bin") || name.ends_with(".pt") || name.ends_with(".pth"))
            bins.push_back(name);
    }
    std::sort(indexes.begin(), indexes.end());
    std::sort(singles.begin(), singles.end());
    const bool hasConfig = regularFileExists(joinPath(dir, "config.json"));

    if (std::find(singles.begin(), singles.end(), "model.safetensors") != singles.end()) {
        openSingle(cp, joinPath(dir, "model.safetensors"), options);
    } else if (std::find(indexes.begin(), indexes.end(), "model.safetensors.index.json") != indexes.end()) {
        openSharded(cp, joinPath(dir, "model.safetensors.index.json"), options);
    } else if (indexes.size() == 1) {
        openSharded(cp, joinPath(dir, indexes.front()), options);
    } else if (indexes.size() > 1) {
        throw Error(ErrorKind::UnsupportedFormat, dir, "several safetensors indexes (" + listNames(indexes)
                                                           + "); open the one you want");
    } else if (singles.size() == 1) {
        openSingle(cp, joinPath(dir, singles.front()), options);
    } else if (singles.size() > 1) {
        throw Error(ErrorKind::UnsupportedFormat, dir, "several .safetensors files (" + listNames(singles)
                                                           + ") and no index; open one file or add an index");
    } else if (std::find(binIndexes.begin(), binIndexes.end(), "pytorch_model.bin.index.json") != binIndexes.end()) {
        // PyTorch weights, read as transformers does when there are no safetensors.
        openSharded(cp, joinPath(dir, "pytorch_model.bin.index.json"), options, true);
    } else if (binIndexes.size() == 1) {
        openSharded(cp, joinPath(dir, binIndexes.front()), options, true);
    } else if (binIndexes.size() > 1) {
        throw Error(ErrorKind::UnsupportedFormat, dir, "several .bin indexes (" + listNames(binIndexes) + "); open the one you want");
    } else if (std::find(bins.begin(), bins.end(), "pytorch_model.bin") != bins.end()) {
        openSingle(cp, joinPath(dir, "pytorch_model.bin"), options);
    } else if (bins.size() == 1) {
        openSingle(cp, joinPath(dir, bins.front()), options);
    } else if (bins.size() > 1) {
        throw Error(ErrorKind::UnsupportedFormat, dir, "several .bin files (" + listNames(bins) + ") and no index; open one file or add an index");
    } else if (!hasConfig) {
        throw Error(ErrorKind::UnsupportedFormat, dir, "no model.safetensors, *.safetensors.index.json, *.safetensors, "
                                                           "pytorch_model.bin, *.bin.index.json or config.json in this folder");
    } else {
        cp.format = Format::ConfigOnly;
    }
    if (hasConfig)
        loadConfig(cp, joinPath(dir, "config.json"));
}

} // namespace

const char *toString(Format format)
{
    switch (format) {
    case Format::Safetensors: return "safetensors";
    case Format::ShardedSafetensors: return "sharded-safetensors";
    case Format::ConfigOnly: return "config-only";
    case Format::OffloadFolder: return "offload-folder";
    case Format::PyTorchBin: return "pytorch-bin";
    case Format::ShardedPyTorchBin: return "sharded-pytorch-bin";
    }
    return "unknown";
}

std::int64_t TensorEntry::numel() const
{
    const auto n = detail::checkedNumel(shape);
    return n ? *n : -1;
}

std::int64_t Catalog::totalBytes() const
{
    std::int64_t total = 0;
    for (const auto &t : tensors)
        total += t.byteSize;
    return total;
}

void Catalog::reindex()
{
    m_byHash.clear();
    m_byHash.reserve(tensors.size());
    const std::hash<std::string_view> hash;
    for (std::size_t i = 0; i < tensors.size(); ++i)
        m_byHash.emplace_back(hash(tensors[i].name), static_cast<int>(i));
    std::sort(m_byHash.begin(), m_byHash.end());
}

int Catalog::find(const std::string &name) const
{
    // Hashes only (no pointers), so copies and moves of the catalog keep a valid index. It is
    // trusted while it has one entry per tensor (call reindex() after renaming tensors).
    if (m_byHash.size() == tensors.size()) {
        const std::size_t h = std::hash<std::string_view>()(name);
        auto it = std::lower_bound(m_byHash.begin(), m_byHash.end(), std::make_pair(h, std::numeric_limits<int>::min()));
        for (; it != m_byHash.end() && it->first == h; ++it)
            if (it->second < static_cast<int>(tensors.size()) && tensors[it->second].name == name)
                return it->second;
        return -1;
    }
    for (std::size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].name == name)
            return static_cast<int>(i);
    return -1;
}

namespace {

// A strided view's identity: the same view of the same shard shares one contiguous copy.
struct ViewKey {
    int shard = 0;
    std::int64_t offset = 0;
    std::int64_t elementSize = 0;
    std::vector<std::int64_t> shape, stride;
    auto operator<=>(const ViewKey &) const = default;
};

using ViewCopy = std::vector<std::byte>;

} // namespace

struct Checkpoint::Mappings {
    std::mutex mutex;
    std::vector<std::shared_ptr<MappedFile>> files;
    // Contiguous copies of strided views: shared while their owners live (tensorBytesShared), kept
    // for the checkpoint's life once tensorBytes() handed out a span into one.
    std::map<ViewKey, std::weak_ptr<const ViewCopy>> views;
    std::map<ViewKey, std::shared_ptr<const ViewCopy>> kept;
};

Checkpoint::Checkpoint()
    : m_maps(std::make_unique<Mappings>())
{
}

Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint &&) noexcept = default;
Checkpoint &Checkpoint::operator=(Checkpoint &&) noexcept = default;

namespace {

// Bytes of the file a tensor reaches, from its offset: byteSize, or for a strided view up to the
// end of its last element; nullopt when its shape and stride cannot describe a view.
std::optional<std::int64_t> bytesReached(const TensorEntry &tensor)
{
    if (tensor.stride.empty())
        return tensor.byteSize;
    const auto numel = detail::checkedNumel(tensor.shape);
    if (!numel || tensor.stride.size() != tensor.shape.size())
        return std::nullopt;
    if (*numel == 0)
        return tensor.byteSize == 0 ? std::optional<std::int64_t>(0) : std::nullopt;
    const std::int64_t element = storageBytes(tensor.dtype, 1);
    const auto last = detail::lastElementOf(tensor.shape, tensor.stride);
    std::int64_t reached = 0;
    if (!last || element <= 0 || tensor.byteSize != *numel * element || __builtin_add_overflow(*last, 1, &reached)
        || __builtin_mul_overflow(reached, element, &reached))
        return std::nullopt;
    return reached;
}

} // namespace

Checkpoint::SharedBytes Checkpoint::tensorBytesShared(const TensorEntry &tensor) const
{
    if (tensor.shard < 0 || tensor.shard >= static_cast<int>(catalog.shards.size()))
        throw Error(ErrorKind::InvalidArgument, path, "tensor " + inQuotes(tensor.name) + " names shard "
                                                          + std::to_string(tensor.shard) + ", which this checkpoint does not have");
    const ShardInfo &shard = catalog.shards[tensor.shard];
    const auto reached = bytesReached(tensor);
    if (!reached)
        throw Error(ErrorKind::InvalidArgument, shard.path, "tensor " + inQuotes(tensor.name) + ": its stride does not describe a view of "
                                                                + std::to_string(tensor.byteSize) + " bytes");
    if (tensor.offset < shard.headerBytes || tensor.byteSize < 0 || tensor.offset > shard.fileSize - *reached)
        throw Error(ErrorKind::InvalidArgument, shard.path, "tensor " + inQuotes(tensor.name) + " bytes ["
                                                                + std::to_string(tensor.offset) + ", +"
                                                                + std::to_string(*reached) + ") lie outside the data");
    if (!m_maps)
        throw Error(ErrorKind::InvalidArgument, path, "this checkpoint was moved from");
    std::shared_ptr<MappedFile> file;
    {
        std::lock_guard lock(m_maps->mutex);
        if (m_maps->files.size() < catalog.shards.size())
            m_maps->files.resize(catalog.shards.size());
        auto &slot = m_maps->files[tensor.shard];
        if (!slot)
            slot = std::make_shared<MappedFile>(shard.path, shard.fileSize);
        file = slot;
    }
    const auto bytes = file->bytes().subspan(static_cast<std::size_t>(tensor.offset), static_cast<std::size_t>(*reached));
    if (tensor.stride.empty())
        return SharedBytes{bytes, std::move(file)};

    // A strided view: its elements gathered in row-major order, once while the copy is in use.
    ViewKey key{tensor.shard, tensor.offset, storageBytes(tensor.dtype, 1), tensor.shape, tensor.stride};
    {
        std::lock_guard lock(m_maps->mutex);
        if (const auto it = m_maps->views.find(key); it != m_maps->views.end())
            if (auto copy = it->second.lock())
                return SharedBytes{std::span<const std::byte>(copy->data(), copy->size()), std::move(copy)};
    }
    std::shared_ptr<ViewCopy> copy;
    try {
        copy = std::make_shared<ViewCopy>(static_cast<std::size_t>(tensor.byteSize));
    } catch (const std::bad_alloc &) {
        throw Error(ErrorKind::OutOfMemory, shard.path, "tensor " + inQuotes(tensor.name) + ": no memory for a contiguous copy of its strided view ("
                                                            + std::to_string(tensor.byteSize) + " bytes)");
    }
    detail::gatherStrided(bytes.data(), static_cast<std::size_t>(key.elementSize), tensor.shape, tensor.stride, copy->data());
    std::shared_ptr<const ViewCopy> shared = std::move(copy);
    {
        std::lock_guard lock(m_maps->mutex);
        auto &slot = m_maps->views[std::move(key)];
        if (auto other = slot.lock()) // another thread gathered it meanwhile: one copy
            shared = std::move(other);
        else
            slot = shared;
    }
    return SharedBytes{std::span<const std::byte>(shared->data(), shared->size()), shared};
}

std::span<const std::byte> Checkpoint::tensorBytes(const TensorEntry &tensor) const
{
    SharedBytes shared = tensorBytesShared(tensor);
    if (!tensor.stride.empty()) {
        // The span must stay valid while this checkpoint lives: keep the copy.
        std::lock_guard lock(m_maps->mutex);
        m_maps->kept[ViewKey{tensor.shard, tensor.offset, storageBytes(tensor.dtype, 1), tensor.shape, tensor.stride}] =
            std::static_pointer_cast<const ViewCopy>(shared.owner);
    }
    return shared.bytes;
}

ConfigInfo readConfigInfo(const nlohmann::ordered_json &config, const std::string &file)
{
    if (!config.is_object())
        throw Error(ErrorKind::InvalidConfig, file, std::string("config is ") + config.type_name()
                                                        + ", expected a JSON object");
    ConfigInfo info;
    if (const auto a = config.find("architectures"); a != config.end() && !a->is_null()) {
        if (!a->is_array())
            throw Error(ErrorKind::InvalidConfig, file, "\"architectures\" is " + a->dump() + ", expected a list of names");
        for (const auto &name : *a) {
            if (!name.is_string())
                throw Error(ErrorKind::InvalidConfig, file, "\"architectures\" holds " + name.dump() + ", expected names");
            info.architectures.push_back(name.get<std::string>());
        }
    }
    if (const auto m = config.find("model_type"); m != config.end() && !m->is_null()) {
        if (!m->is_string())
            throw Error(ErrorKind::InvalidConfig, file, "\"model_type\" is " + m->dump() + ", expected a string");
        info.modelType = m->get<std::string>();
    }
    for (const char *key : {"torch_dtype", "dtype"}) {
        const auto d = config.find(key);
        if (d == config.end() || d->is_null())
            continue;
        if (!d->is_string())
            throw Error(ErrorKind::InvalidConfig, file, inQuotes(key) + " is " + d->dump() + ", expected a dtype name");
        const auto dtype = dtypeFromTorch(d->get<std::string>());
        if (!dtype)
            throw Error(ErrorKind::InvalidConfig, file, "unknown " + std::string(key) + " " + d->dump());
        info.torchDtype = dtype;
        break;
    }
    if (const auto t = config.find("tie_word_embeddings"); t != config.end() && !t->is_null()) {
        if (!t->is_boolean())
            throw Error(ErrorKind::InvalidConfig, file, "\"tie_word_embeddings\" is " + t->dump() + ", expected true or false");
        info.tieWordEmbeddings = t->get<bool>();
    }
    return info;
}

Checkpoint open(const std::string &path, const OpenOptions &options)
{
    Checkpoint cp;
    cp.path = path;
    switch (const PathType type = pathType(path)) {
    case PathType::Missing:
        throw Error(ErrorKind::NotFound, path, "no such file or folder");
    case PathType::SymlinkLoop:
    case PathType::NoAccess:
    case PathType::Fifo:
    case PathType::CharDevice:
    case PathType::BlockDevice:
    case PathType::Socket:
    case PathType::Other:
        throw Error(ErrorKind::UnsupportedFormat, path, std::string("is ") + describePathType(type)
                                                            + ", expected a checkpoint file or folder");
    case PathType::Directory:
        cp.directory = path;
        openDirectory(cp, path, options);
        break;
    case PathType::File: {
        cp.directory = parentDirectory(path);
        const std::string name = fileNameOf(path);
        if (name.ends_with(".safetensors") || isBinName(name)) {
            openSingle(cp, path, options);
            loadConfigBeside(cp, cp.directory);
        } else if (name.ends_with(".bin.index.json")) {
            openSharded(cp, path, options, true);
            loadConfigBeside(cp, cp.directory);
        } else if (name.ends_with(".index.json") || (name.ends_with(".json") && looksLikeIndex(path))) {
            openSharded(cp, path, options);
            loadConfigBeside(cp, cp.directory);
        } else if (name.ends_with(".json")) {
            cp.format = Format::ConfigOnly;
            loadConfig(cp, path);
        } else {
            throw Error(ErrorKind::UnsupportedFormat, path, "expected a folder, a .safetensors file, an "
                                                                "*.index.json or a config.json");
        }
        break;
    }
    }
    if (cp.format == Format::ConfigOnly)
        reportProgress(options, 1, 1, path);
    cp.catalog.reindex();
    return cp;
}

} // namespace mizan::loader
