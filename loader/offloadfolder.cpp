#include "offloadfolder.h"

#include "fileio_p.h"
#include "safetensorsformat_p.h"

#include "planner/error.h"
#include "planner/jsonfile.h"

#include <cerrno>
#include <filesystem>
#include <system_error>

#include <sys/stat.h>

namespace mizan::loader {

namespace {

std::string joinPath(const std::string &dir, const std::string &name)
{
    if (dir.empty())
        return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Numpy's names of the dtypes an offload folder can hold (Accelerate writes numpy memmaps; it
// records bfloat16 as "bfloat16" and stores its 16-bit pattern).
constexpr DType kNumpyDtypes[] = {DType::Bool, DType::U8,  DType::I8,   DType::U16, DType::I16,
                                  DType::U32,  DType::I32, DType::U64,  DType::I64, DType::F16,
                                  DType::BF16, DType::F32, DType::F64, DType::C64, DType::C128};

std::optional<DType> dtypeFromOffloadName(const std::string &name)
{
    for (DType d : kNumpyDtypes)
        if (name == torchName(d))
            return d;
    return std::nullopt;
}

// A tensor name becomes a file name: it must not leave the folder or name a hidden/temporary file.
bool isPlainFileName(const std::string &name)
{
    return !name.empty() && name.find('/') == std::string::npos && name.find('\0') == std::string::npos && name.front() != '.';
}

} // namespace

const char *offloadDtypeName(DType dtype)
{
    for (DType d : kNumpyDtypes)
        if (d == dtype)
            return torchName(d);
    return nullptr;
}

std::string offloadIndexPath(const std::string &folder)
{
    const std::string path = joinPath(folder, "index.json");
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? path : std::string();
}

Checkpoint openOffloadFolder(const std::string &folder)
{
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0)
        throw Error(ErrorKind::NotFound, folder, "no such offload folder");
    if (!S_ISDIR(st.st_mode))
        throw Error(ErrorKind::UnsupportedFormat, folder, "an offload folder must be a folder (index.json and one .dat per tensor)");
    const std::string indexPath = joinPath(folder, "index.json");
    if (::stat(indexPath.c_str(), &st) != 0)
        throw Error(ErrorKind::NotFound, indexPath, "the offload folder has no index.json");
    const nlohmann::ordered_json index = planner::readJsonFile(indexPath, InputKind::OffloadIndex);
    if (!index.is_object())
        throw Error(ErrorKind::InvalidHeader, indexPath,
                    std::string("is ") + index.type_name() + ", expected an object {\"<tensor>\": {\"dtype\": ..., \"shape\": [...]}}");

    Checkpoint cp;
    cp.path = folder;
    cp.directory = folder;
    cp.format = Format::OffloadFolder;
    for (const auto &[name, entry] : index.items()) {
        const std::string where = "tensor " + inQuotes(name);
        if (!isPlainFileName(name))
            throw Error(ErrorKind::InvalidHeader, indexPath, where + " cannot be a file name in the folder (empty, a '/', or a leading '.')");
        if (!entry.is_object())
            throw Error(ErrorKind::InvalidHeader, indexPath, where + " is " + entry.dump() + ", expected {\"dtype\": ..., \"shape\": [...]}");
        const auto dtypeIt = entry.find("dtype");
        const auto shapeIt = entry.find("shape");
        if (dtypeIt == entry.end() || !dtypeIt->is_string())
            throw Error(ErrorKind::InvalidHeader, indexPath, where + " has no \"dtype\" name");
        if (shapeIt == entry.end() || !shapeIt->is_array())
            throw Error(ErrorKind::InvalidHeader, indexPath, where + " has no \"shape\" list");
        const std::string dtypeName = dtypeIt->get<std::string>();
        const auto dtype = dtypeFromOffloadName(dtypeName);
        if (!dtype)
            throw Error(ErrorKind::UnknownDtype, indexPath,
                        where + " has dtype " + inQuotes(dtypeName) +
                            ", which is no numpy dtype an offload folder holds (float32, float16, bfloat16, int64, bool, ...)");
        TensorEntry t;
        t.name = name;
        t.dtype = *dtype;
        for (const auto &dim : *shapeIt) {
            if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0)
                throw Error(ErrorKind::BadShape, indexPath, where + " has shape " + shapeIt->dump() + ": dimensions must be integers >= 0");
            t.shape.push_back(dim.get<std::int64_t>());
        }
        // A 0-d tensor (shape []) is one element, as numpy writes it.
        const auto numel = detail::checkedNumel(t.shape);
        const auto bytes = numel ? detail::checkedStorageBytes(t.dtype, *numel) : std::nullopt;
        if (!bytes)
            throw Error(ErrorKind::BadShape, indexPath, where + " has shape " + shapeIt->dump() + ", too large to be stored");
        t.byteSize = *bytes;

        ShardInfo file;
        file.fileName = name + ".dat";
        file.path = joinPath(folder, file.fileName);
        file.metadata = nlohmann::ordered_json::object();
        detail::FileDescriptor fd = detail::openReadOnlyIfExists(file.path);
        if (!fd.valid())
            throw Error(ErrorKind::MissingShard, file.path,
                        "missing: the offload folder's index.json lists " + where + " but it has no " + file.fileName);
        file.fileSize = detail::fileSize(fd.get(), file.path);
        if (file.fileSize != t.byteSize)
            throw Error(file.fileSize < t.byteSize ? ErrorKind::Truncated : ErrorKind::BadShape, file.path,
                        "is " + std::to_string(file.fileSize) + " bytes, but index.json says " + where + " is " + dtypeName +
                            " of shape " + shapeIt->dump() + ", " + std::to_string(t.byteSize) + " bytes");
        t.shard = static_cast<int>(cp.catalog.shards.size());
        t.offset = 0;
        cp.catalog.shards.push_back(std::move(file));
        cp.catalog.tensors.push_back(std::move(t));
    }
    cp.catalog.reindex();
    return cp;
}

OffloadWritten writeOffloadFolder(const std::string &folder, const Checkpoint &source, const std::vector<std::string> &names,
                                  const OffloadWriteOptions &options)
{
    // Everything is checked before the first byte is written.
    std::vector<const TensorEntry *> tensors;
    for (const auto &name : names) {
        const int i = source.catalog.find(name);
        if (i < 0)
            throw Error(ErrorKind::NotFound, source.path, "tensor " + inQuotes(name) + " is not stored in the checkpoint");
        const TensorEntry &t = source.catalog.tensors[static_cast<std::size_t>(i)];
        if (!offloadDtypeName(t.dtype))
            throw Error(ErrorKind::UnsupportedFormat, source.path,
                        "tensor " + inQuotes(name) + " is " + torchName(t.dtype) + ", which an offload folder (numpy) cannot hold");
        if (!isPlainFileName(name))
            throw Error(ErrorKind::UnsupportedFormat, source.path,
                        "tensor " + inQuotes(name) + " cannot be written as a file name of the offload folder");
        tensors.push_back(&t);
    }
    struct stat st {};
    if (::stat(folder.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
        throw Error(ErrorKind::UnsupportedFormat, folder, "an offload folder must be a folder (index.json and one .dat per tensor)");
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec)
        throw Error(ErrorKind::Io, folder, "cannot create the offload folder: " + ec.message());
    const std::string indexPath = joinPath(folder, "index.json");
    nlohmann::ordered_json index = nlohmann::ordered_json::object();
    if (!offloadIndexPath(folder).empty()) {
        index = planner::readJsonFile(indexPath, InputKind::OffloadIndex);
        if (!index.is_object())
            throw Error(ErrorKind::InvalidHeader, indexPath,
                        std::string("is ") + index.type_name() + ", expected the object of an offload folder's index");
    }

    planner::OrderedObjectIndex indexMembers(index);
    OffloadWritten out;
    out.indexPath = indexPath;
    const int total = static_cast<int>(tensors.size());
    for (int i = 0; i < total; ++i) {
        const TensorEntry &t = *tensors[static_cast<std::size_t>(i)];
        // Shared, not tensorBytes(): a strided view's contiguous copy is freed once written.
        const Checkpoint::SharedBytes shared = source.tensorBytesShared(t);
        const std::span<const std::byte> bytes = shared.bytes;
        detail::AtomicFile file(joinPath(folder, t.name + ".dat"));
        file.write(bytes.data(), bytes.size());
        file.commit();
        indexMembers[t.name] = {{"dtype", offloadDtypeName(t.dtype)}, {"shape", t.shape}};
        ++out.tensors;
        out.bytes += static_cast<std::int64_t>(bytes.size());
        if (options.progress && !options.progress(i + 1, total))
            throw Error(ErrorKind::Cancelled, folder, "cancelled");
    }
    detail::writeFileAtomically(indexPath, index.dump(2) + "\n");
    return out;
}

} // namespace mizan::loader
