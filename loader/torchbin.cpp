#include "torchbin_p.h"

#include "fileio_p.h"
#include "safetensorsformat_p.h"
#include "stridedview_p.h"
#include "torchpickle_p.h"
#include "ziparchive_p.h"

#include "planner/error.h"

#include <unordered_map>
#include <unordered_set>

namespace mizan::loader::detail {

namespace {

// Never null (it throws instead). A pointer, not a reference: GCC 13 warns about a reference
// bound to what a call given temporaries returns (-Wdangling-reference), whatever it points to.
const ZipEntry *storedEntry(const std::unordered_map<std::string, const ZipEntry *> &byName, std::string name,
                            const std::string &path, std::string what)
{
    const auto it = byName.find(name);
    if (it == byName.end())
        throw Error(ErrorKind::IndexMismatch, path, what + ": the archive has no entry " + inQuotes(name));
    if (it->second->method != 0)
        throw Error(ErrorKind::UnsupportedFormat, path, "entry " + inQuotes(name) + " is compressed (method "
                                                            + std::to_string(it->second->method)
                                                            + "); torch.save stores entries uncompressed: re-save the file with torch.save");
    return it->second;
}

std::string dims(const std::vector<std::int64_t> &v)
{
    std::string out = "(";
    for (std::size_t k = 0; k < v.size(); ++k)
        out += (k ? ", " : "") + std::to_string(v[k]);
    return out + (v.size() == 1 ? ",)" : ")");
}

} // namespace

SafetensorsHeader readTorchBinHeader(int fd, const std::string &path)
{
    const std::int64_t size = fileSize(fd, path);
    char magic[4] = {};
    if (size >= 4)
        readExact(fd, path, 0, magic, sizeof magic);
    if (!looksLikeZip(magic, size >= 4 ? 4 : 0)) {
        if (size >= 2 && static_cast<unsigned char>(magic[0]) == 0x80)
            throw Error(ErrorKind::UnsupportedFormat, path, "legacy torch.save format (PyTorch before 1.6, not a zip archive): convert this "
                                                            "file, e.g. torch.save(torch.load(f), f) with a recent PyTorch, or to safetensors");
        throw Error(ErrorKind::UnsupportedFormat, path, "not a PyTorch checkpoint (a torch.save zip archive)");
    }
    const std::vector<ZipEntry> entries = readZipDirectory(fd, path, size);
    std::unordered_map<std::string, const ZipEntry *> byName;
    std::string stem;
    for (const auto &e : entries) {
        byName.emplace(e.name, &e);
        const auto slash = e.name.find('/');
        if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
            if (!stem.empty())
                throw Error(ErrorKind::UnsupportedFormat, path, "the archive holds several pickles (" + inQuotes(stem + "/data.pkl")
                                                                    + " and " + inQuotes(e.name) + "): not one state dict");
            stem = e.name.substr(0, slash);
        }
    }
    if (stem.empty())
        throw Error(ErrorKind::UnsupportedFormat, path, "a zip archive without <name>/data.pkl: not written by torch.save");
    if (const auto it = byName.find(stem + "/byteorder"); it != byName.end()) {
        const ZipEntry &e = *storedEntry(byName, stem + "/byteorder", path, "byte order");
        std::string order(static_cast<std::size_t>(std::min<std::int64_t>(e.size, 16)), '\0');
        readExact(fd, path, e.dataOffset, order.data(), order.size());
        if (order != "little")
            throw Error(ErrorKind::UnsupportedFormat, path, "tensors stored in byte order " + inQuotes(order) + "; only little-endian is read");
    }
    const ZipEntry &pkl = *storedEntry(byName, stem + "/data.pkl", path, "state dict");
    const InputLimits limits = inputLimits(InputKind::TorchPickle);
    if (pkl.size > limits.maxBytes)
        throw Error(ErrorKind::HeaderTooLarge, path, "data.pkl is " + std::to_string(pkl.size) + " bytes, more than the "
                                                         + std::to_string(limits.maxBytes) + " bytes accepted for " + limits.what);
    std::string pickle(static_cast<std::size_t>(pkl.size), '\0');
    readExact(fd, path, pkl.dataOffset, pickle.data(), pickle.size());
    const std::vector<PickledTensor> tensors = readStateDictPickle(pickle, path);

    SafetensorsHeader out;
    out.info.path = path;
    out.info.fileSize = size;
    out.info.headerBytes = 0;
    out.info.metadata = nlohmann::ordered_json::object();
    out.tensors.reserve(tensors.size());
    std::unordered_set<std::string_view> seen;
    for (const auto &t : tensors) {
        if (!seen.insert(t.name).second)
            throw Error(ErrorKind::InvalidHeader, path, "tensor " + inQuotes(t.name) + " appears twice in the state dict");
        const std::string what = "tensor " + inQuotes(t.name);
        const ZipEntry &storage = *storedEntry(byName, stem + "/data/" + t.storageKey, path, what);
        const std::int64_t element = storageBytes(t.dtype, 1);
        if (t.storageNumel > storage.size / element || t.storageNumel * element != storage.size)
            throw Error(ErrorKind::BadShape, path, what + ": its storage " + inQuotes(t.storageKey) + " should hold "
                                                       + std::to_string(t.storageNumel) + " " + torchName(t.dtype) + " elements ("
                                                       + std::to_string(t.storageNumel) + " x " + std::to_string(element)
                                                       + " bytes) but its entry has " + std::to_string(storage.size) + " bytes");
        const auto numel = checkedNumel(t.shape);
        if (!numel)
            throw Error(ErrorKind::BadShape, path, what + ": shape " + dims(t.shape) + " has too many elements");
        // The view must lie inside its storage: elements offset .. offset + last (last: the sum of
        // (size - 1) x stride); a view without elements reads nothing.
        if (t.offset > t.storageNumel)
            throw Error(ErrorKind::BadOffsets, path, what + ": its offset " + std::to_string(t.offset) + " lies outside its storage of "
                                                         + std::to_string(t.storageNumel) + " elements");
        const auto last = detail::lastElementOf(t.shape, t.stride);
        if (!last)
            throw Error(ErrorKind::BadShape, path, what + ": size " + dims(t.shape) + " with stride " + dims(t.stride)
                                                       + " reaches beyond any storage (the element offsets overflow)");
        if (*numel > 0 && *last >= t.storageNumel - t.offset)
            throw Error(ErrorKind::BadOffsets, path, what + ": a view of size " + dims(t.shape) + ", stride " + dims(t.stride) + " at offset "
                                                         + std::to_string(t.offset) + " reaches element " + std::to_string(t.offset + *last)
                                                         + ", outside its storage of " + std::to_string(t.storageNumel) + " elements");
        // A view that repeats elements (a stride of 0: an expanded tensor) would be gathered into a copy
        // larger than what the file holds; state dicts do not save such views.
        if (*numel > t.storageNumel)
            throw Error(ErrorKind::UnsupportedFormat, path, what + ": a view of " + std::to_string(*numel) + " elements (size " + dims(t.shape)
                                                                + ", stride " + dims(t.stride) + ") over a storage of "
                                                                + std::to_string(t.storageNumel)
                                                                + " repeats elements (an expanded tensor); save it with .contiguous()");
        TensorEntry e;
        e.name = t.name;
        e.dtype = t.dtype;
        e.shape = t.shape;
        e.byteSize = *numel * element;
        e.offset = storage.dataOffset + t.offset * element;
        // A view that is not contiguous keeps its stride: tensorBytes() gathers it.
        if (!detail::isContiguous(t.shape, t.stride))
            e.stride = t.stride;
        out.tensors.push_back(std::move(e));
    }
    return out;
}

} // namespace mizan::loader::detail
