#pragma once

#include "dtype.h"
#include "namemap.h"
#include "nametable.h"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mizan::planner {

// One parameter or buffer as a module owns it.
struct Tensor {
    std::string name;                 // local name inside its module ("weight")
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;  // empty = scalar (numel 1)
    bool buffer = false;
    bool persistent = true;           // non-persistent buffers exist in the model, not in checkpoints
    int tie = -1;                     // tensors sharing a tie id >= 0 are one object (tied weights)
    // Made with an explicit dtype (rotary inv_freq: torch.arange(...).float(); bool masks), not in
    // torch's default dtype: instantiating the model in a load dtype leaves it as it is.
    bool fixedDtype = false;

    std::int64_t numel() const;
};

// What a device-map key names: a module (tensor < 0) or one of a module's tensors, by slot:
// params first (slot < params.size()), then buffers (slot - params.size()).
struct KeyTarget {
    int module = -1;   // -1: nothing (an unresolved key)
    int tensor = -1;   // -1: the whole module
    bool isTensor() const { return tensor >= 0; }
    bool operator==(const KeyTarget &) const = default;
};

struct Module {
    std::string name;        // full dotted name, "" for the root
    std::string localName;   // last component of name
    std::string className;   // e.g. "LlamaDecoderLayer"; empty when unknown
    int parent = -1;
    int depth = 0;
    std::vector<int> children;     // registration (= execution) order; changed by ModuleTree only
    std::vector<Tensor> params;    // own parameters, registration order
    std::vector<Tensor> buffers;   // own buffers, registration order
};

// The numbers of a tree's layout that its builder records as it goes (ModuleTree::LayoutLog), by
// module id and by tensor (tensorBegin[module] + slot in a FlatTree). Shared, never changed once
// a FlatTree holds it.
struct FlatBase {
    // By module id.
    std::vector<int> parent;
    std::vector<int> depth;
    std::vector<int> classId;              // index into classNames
    std::vector<int> paramCount;           // params among the module's tensors (the first slots)
    std::vector<std::uint32_t> nameSize;   // of the full name
    // Every module's local name, one after the other: module id's from localNameBegin[id] to
    // localNameBegin[id + 1] (one more entry than modules).
    std::string localNames;
    std::vector<std::size_t> localNameBegin{0};
    // Class names, each once ("" included).
    std::vector<std::string> classNames;
    // By tensor.
    std::vector<std::int64_t> numel;
    std::vector<DType> dtype;
    std::vector<int> tie;
    std::vector<std::uint8_t> flags;
    std::vector<std::uint32_t> localNameSize;
    std::int64_t tiedTensors = 0; // tensors with a tie id
    // While the ids are the pre-order (LayoutLog::preorder): the ids in order (the layout's
    // pre-order and each module's place in it) and where each module's subtree ends, kept right
    // as modules are added (each new one ends its ancestors' subtrees after it). Empty otherwise.
    std::vector<int> ids;
    std::vector<int> end;
    // While each tensor is added to one of the last few modules (LayoutLog::tensorBeginRecorded):
    // each module's first tensor in the layout, and one past the last (one entry more than
    // modules). Empty otherwise.
    std::vector<std::int64_t> tensorBegin{0};
};

// A tree laid out for passes over all of it: the numbers those passes read, in flat arrays by
// module id and by tensor (a million-module tree's records, 176 bytes each with their names,
// children, tensors and shapes in other heap blocks, no longer fit the caches; these arrays are
// read in order). Made by ModuleTree::flat(), a snapshot of the tree as it was then. The numbers
// the builder recorded are shared with the tree (`base`), not copied; the rest is made here
// (`owned`), the children at their first use.
struct FlatTree {
    enum TensorFlag : std::uint8_t { kBuffer = 1, kPersistent = 2, kFixedDtype = 4 };

    explicit FlatTree(std::shared_ptr<const FlatBase> base);
    FlatTree(const FlatTree &) = delete; // shared (ModuleTree::flat()), never copied
    FlatTree(FlatTree &&other) noexcept;
    FlatTree &operator=(const FlatTree &) = delete;

    std::shared_ptr<const FlatBase> base;
    // The arrays below that the base does not hold (their spans point here or into the base).
    struct Owned {
        std::vector<int> position, end, order;
        std::vector<std::int64_t> tensorBegin;
    } owned;
    // By module id.
    const std::vector<int> &parent;
    const std::vector<int> &depth;
    std::span<const int> position;    // the module's place in the depth-first pre-order
    std::span<const int> end;         // the place in the pre-order past its subtree
    const std::vector<int> &classId;  // index into classNames
    std::span<const std::int64_t> tensorBegin; // and one past the last: the module's tensors, slot order
    const std::vector<int> &paramCount;    // params among them (the first slots)
    const std::vector<std::uint32_t> &nameSize; // of the full name
    std::string_view localName(int id) const
    {
        const auto i = static_cast<std::size_t>(id);
        return std::string_view(base->localNames).substr(base->localNameBegin[i], base->localNameBegin[i + 1] - base->localNameBegin[i]);
    }
    // By pre-order position: the module id there.
    std::span<const int> order;
    // Class names, each once, in order of first use ("" included).
    const std::vector<std::string> &classNames;
    // By tensor (tensorBegin[module] + slot).
    const std::vector<std::int64_t> &numel;
    const std::vector<DType> &dtype;
    const std::vector<int> &tie;
    const std::vector<std::uint8_t> &flags;
    const std::vector<std::uint32_t> &localNameSize;
    const std::int64_t tiedTensors; // tensors with a tie id
    // Are the ids the pre-order (ModuleTree::idsInPreorder)? Then a subtree is a run of ids and its
    // tensors one run of the tensor arrays.
    bool idsInPreorder = false;

    int size() const { return static_cast<int>(parent.size()); }
    std::int64_t tensors() const { return static_cast<std::int64_t>(numel.size()); }
    int tensorsOf(int id) const
    {
        const auto i = static_cast<std::size_t>(id);
        return static_cast<int>(tensorBegin[i + 1] - tensorBegin[i]);
    }
    std::size_t tensorAt(int id, int slot) const
    {
        return static_cast<std::size_t>(tensorBegin[static_cast<std::size_t>(id)] + slot);
    }
    int childCount(int id) const
    {
        const auto i = static_cast<std::size_t>(id);
        const std::vector<int> &begin = children().begin;
        return begin[i + 1] - begin[i];
    }
    const int *childrenOf(int id) const
    {
        const Children &c = children();
        return c.list.data() + c.begin[static_cast<std::size_t>(id)];
    }
    // By class id: is the class one of `names`?
    std::vector<char> classesIn(const std::vector<std::string> &names) const;

    // Every module's children, module after module: list[begin[id], begin[id + 1]).
    struct Children {
        std::vector<int> begin, list;
    };
    // Set by ModuleTree::flat() where the children are not in id order. Else they are found from
    // the parents at their first use: passes that follow the pre-order by id never make them.
    void setChildren(Children children);

private:
    const Children &children() const
    {
        if (!m_childrenMade.load(std::memory_order_acquire))
            makeChildren();
        return m_children;
    }
    void makeChildren() const;
    mutable std::mutex m_childrenMutex;
    mutable std::atomic<bool> m_childrenMade{false};
    mutable Children m_children;
};

// A module hierarchy as torch's nn.Module builds it: the root is id 0; ids are stable and
// creation-ordered. The tree is the planner's input; it knows nothing of files.
class ModuleTree {
public:
    ModuleTree();

    static constexpr int kRoot = 0;

    int size() const { return static_cast<int>(m_modules.size()); }
    const Module &module(int id) const { return m_modules[static_cast<std::size_t>(id)]; }
    // Changes a module's class or tensors' shapes and dtypes; names and children are set by
    // addChild and addTensor only (the name indexes and namesArePaths follow them). Drops the
    // flat layout (flat()): a reference from here must not be kept past the next const pass.
    // Also stops the recording of the layout's numbers (layoutRecorded()): a builder changes
    // classes, ties and dtypes through the setters below instead.
    Module &module(int id)
    {
        m_flat.reset();
        m_log.valid = false;
        return m_modules[static_cast<std::size_t>(id)];
    }
    // Changes that keep the layout's numbers recorded, where the non-const module() stops that.
    void setClassName(int id, std::string className);
    // Of a tensor (target.isTensor()).
    void setTie(const KeyTarget &target, int tie);
    void setDtype(const KeyTarget &target, DType dtype);
    // Are the layout's numbers recorded as the tree was built (addChild, addTensor and the setters
    // above write them while each record is still in the caches)? Then flat() makes the layout from
    // those arrays alone, without reading the records, the names' and shapes' heap blocks of a
    // million modules. A change through the non-const module() stops it for this tree (flat() then
    // reads the records, with the same result).
    bool layoutRecorded() const { return m_log.valid; }
    const std::vector<Module> &modules() const { return m_modules; }

    // Full module name -> id, or -1.
    int find(std::string_view fullName) const;
    // A device-map key ("model.layers.0", "lm_head.weight", "" = the root) -> the module it names,
    // else the tensor (parameter or buffer) of its owner module; nullopt when it names neither.
    std::optional<KeyTarget> resolveKey(std::string_view key) const;
    // The tensor of a target that names one (target.isTensor()).
    const Tensor &tensor(const KeyTarget &target) const;
    // Creates the module `fullName` and any missing ancestors (appended as last children).
    int ensureModule(std::string_view fullName);
    int addChild(int parent, std::string localName, std::string className = {});
    void addTensor(int module, Tensor tensor);
    // Full dotted name of a module's tensor.
    std::string tensorName(int module, const Tensor &tensor) const;

    // Reorders every module's children: numbered siblings ("0", "1", ..., "10") are put in
    // numeric order in the slots they occupy, the others keep their first-appearance order.
    void sortNumericChildren();

    // Builds a tree from full tensor names alone ("model.layers.0.mlp.up_proj.weight"):
    // every dotted prefix is a module, the last component is the tensor's local name.
    // Children come in first-appearance order with numbered siblings sorted numerically.
    static ModuleTree fromTensorNames(const std::vector<std::pair<std::string, Tensor>> &tensors);

    // The parity-case JSON format (tests/data/parity/README.md): {name, class, params, buffers,
    // children}; tensors {name, shape, dtype, tie?}. Throws mizan::Error(InvalidHeader).
    static ModuleTree fromJson(const nlohmann::json &json);
    nlohmann::json toJson() const;

    // Number of tensor objects (tie groups counted once) and parameters (numel of params).
    std::int64_t tensorCount() const;

    // Depth-first pre-order over module ids (own module before its children).
    std::vector<int> preorder(int from = kRoot) const;
    // Is `ancestor` equal to or above `module`?
    bool isWithin(int module, int ancestor) const;

    // Room for `modules` modules in all (a builder that knows the count saves the regrowth).
    void reserve(int modules);
    // For a builder that adds many modules or tensors before it looks names up: from
    // deferIndexing() on, addChild and addTensor count new names without entering them in the name
    // indexes; the first look-up (find, resolveKey, a check of addChild or addTensor) enters what
    // is pending, a large batch in the tables' own order (NameTable::enterPending), which is about
    // twice as fast for a million names. finishIndexing() enters the rest and ends it; a builder
    // calls it before it hands the tree over (the look-ups are const and then change nothing).
    void deferIndexing() { m_deferIndexing = true; }
    void finishIndexing();

    // Are the names paths, as torch makes them: no local name empty or dotted, and no two children
    // or tensors of one module with one local name? Then no two modules or tensors share a full
    // name, and a full name says which one it is. Kept by addChild and addTensor.
    bool namesArePaths() const { return m_namesArePaths; }
    // Are the ids themselves the depth-first pre-order (see m_idsInPreorder)?
    bool idsInPreorder() const { return m_idsInPreorder; }

    // The tree laid out for passes over all of it, made on first use and kept until the tree
    // changes (addChild, addTensor, sortNumericChildren, the non-const module()); threads sharing a
    // const tree share one. The pointer keeps it alive for its holder.
    std::shared_ptr<const FlatTree> flat() const { return m_flat.get(*this); }
    // Drops the flat layout, as a change does (the next flat() makes it again): for benchmarks
    // that time a pass as it runs on a tree fresh from its builder.
    void dropFlat() { m_flat.reset(); }

private:
    // Has module `id` a child named `local`?
    bool hasChild(int id, std::string_view local) const;
    // Enters the names counted while indexing was deferred (the indexes are a cache of the
    // modules' names: entering them leaves the tree as it was).
    void enterPendingNames() const;
    // The tensor named `local` in one of a module's lists, or -1.
    int findTensor(int module, bool buffer, std::string_view local) const;

    std::vector<Module> m_modules;
    // Are the ids themselves the depth-first pre-order (the usual case: a builder adds each module
    // after the modules before it in execution order)? Then preorder() counts instead of walking.
    // Kept by addChild and sortNumericChildren, the only code that changes a module's children.
    bool m_idsInPreorder = true;
    mutable bool m_namesArePaths = true; // mutable: a repeat may be found when pending names are entered
    bool m_deferIndexing = false;
    mutable NameTable m_index; // full name -> id
    // (module, local name) -> index in its params / buffers, for modules holding more tensors than
    // a scan handles fast (a checkpoint of N top-level tensors: the root holds N).
    struct TensorIndex {
        NameTable table;
        std::vector<std::pair<int, int>> refs; // position -> (module, index in the list)
    };
    mutable TensorIndex m_paramIndex, m_bufferIndex;
    // The flat layout, made once (under a lock: threads may share a const tree). A copy of the
    // tree shares it (it is immutable) until either changes.
    class FlatCache {
    public:
        FlatCache() = default;
        FlatCache(const FlatCache &other) : m_flat(other.current()) {}
        // A tree moved from is no other thread's (as for any change).
        FlatCache(FlatCache &&other) noexcept : m_flat(std::move(other.m_flat)) {}
        FlatCache &operator=(const FlatCache &other);
        FlatCache &operator=(FlatCache &&other) noexcept
        {
            m_flat = std::move(other.m_flat);
            return *this;
        }
        std::shared_ptr<const FlatTree> get(const ModuleTree &tree) const;
        void reset();

    private:
        std::shared_ptr<const FlatTree> current() const;
        mutable std::mutex m_mutex;
        mutable std::shared_ptr<const FlatTree> m_flat;
    };
    FlatCache m_flat;
    FlatTree makeFlat() const;
    // The layout made from the recorded numbers (m_log.valid), or from the records.
    std::shared_ptr<const FlatBase> flatFromLog() const;
    std::shared_ptr<const FlatBase> flatFromRecords(std::vector<std::int64_t> &tensorBegin) const;

    // The layout's numbers as the tree was built (layoutRecorded()).
    struct LayoutLog {
        bool valid = true;
        // Every module's children in id order (addChild's order; sortNumericChildren may change it):
        // the layout's children are then found from the parents alone.
        bool childrenInIdOrder = true;
        // Tensors added module after module in id order, each module's params before its buffers:
        // the order added is then the layout's, and the layout shares `base` as it is.
        bool grouped = true;
        // The ids are the pre-order and no module is deeper than kMaxRecordedDepth: `ids` and
        // `end` in the base are kept (each added module walks its ancestors).
        bool preorder = true;
        static constexpr int kMaxRecordedDepth = 64;
        // Every tensor went to one of the last kMaxTensorBeginShift modules: the base's
        // `tensorBegin` is kept (the later modules' entries move one on).
        bool tensorBeginRecorded = true;
        static constexpr int kMaxTensorBeginShift = 64;
        int lastOwner = -1;
        int lastClass = -1;
        // The numbers by module id, and by tensor in the order added. Shared with the layouts
        // made from it (and with copies of the tree): copied before a change while shared.
        std::shared_ptr<FlatBase> base = std::make_shared<FlatBase>();
        // By module id.
        std::vector<int> bufferCount;
        std::vector<std::int64_t> firstTensor; // index of its first tensor (with `grouped`), -1 before
        // By tensor, in the order added.
        std::vector<int> owner;

        // `base`, to change: copied first while another holds it.
        FlatBase &writable();
        int classOf(const std::string &name);
        void addModule(int parent, int depth, const std::string &className, std::size_t nameSize, std::string_view localName);
        void addTensor(int module, const Tensor &tensor);
        // The index in `base` of a module's tensor by slot, or -1 where unknown (not `grouped`).
        std::int64_t indexOf(const KeyTarget &target) const;
    };
    LayoutLog m_log;
};

// Resolves a device map's keys one after another, as ModuleTree::resolveKey does, comparing names
// before looking any up: a map in the tree's order (a plan's, Accelerate's) names next what follows
// the previous key's target, its module's next tensor, its first child or the module after its
// subtree. Only where a full name says which module or tensor it is (namesArePaths) and the ids are
// the pre-order; otherwise every key is looked up.
class KeyResolver {
public:
    explicit KeyResolver(const ModuleTree &tree);
    std::optional<KeyTarget> operator()(std::string_view key);

private:
    // Does `key` name `target`, one of the targets that may follow the last key's?
    bool names(const KeyTarget &target, std::string_view key) const;
    int subtreeEnd(int id);

    const ModuleTree &m_tree;
    bool m_follow;
    std::shared_ptr<const FlatTree> m_flat; // the tree's, taken on first use
    std::optional<KeyTarget> m_last;
    std::string m_lastKey; // the key that named m_last
};

// A position for every module and every tensor of a tree: modules at their ids, then each
// module's tensors in slot order. For a value per key target in one flat array.
// Read from the tree's flat layout (kept alive here).
class TargetPositions {
public:
    explicit TargetPositions(const ModuleTree &tree);
    std::size_t size() const { return m_modules + static_cast<std::size_t>(m_flat->tensors()); }
    std::size_t modules() const { return m_modules; } // the first tensor's position
    std::size_t of(const KeyTarget &target) const
    {
        const auto module = static_cast<std::size_t>(target.module);
        return target.isTensor() ? m_modules + static_cast<std::size_t>(m_flat->tensorBegin[module] + target.tensor) : module;
    }

private:
    std::shared_ptr<const FlatTree> m_flat;
    std::size_t m_modules;
};

// Where each key of a table sits (an index into the caller's entries), found by what the key
// names where the tree's names are paths (one slot per module and tensor: no name is hashed), else
// by the name itself (names alike share a place, as Accelerate's keys do).
class KeyPositions {
public:
    explicit KeyPositions(const ModuleTree &tree);
    // The place of the key `name` that names `target` (module -1: nothing of the tree), or -1.
    std::int64_t find(const KeyTarget &target, std::string_view name) const;
    // The same, `next` entered for it when absent; second: whether it was entered.
    std::pair<std::int64_t, bool> enter(const KeyTarget &target, std::string_view name, std::int64_t next);

private:
    std::optional<TargetPositions> m_positions;
    std::vector<std::int64_t> m_at; // by target position, -1 when none
    NameMap<std::string, std::int64_t> m_byName;
};

// What a load dtype means (PlanOptions::dtypeRule).
enum class DtypeRule {
    // transformers' from_pretrained(torch_dtype=X, device_map=...): the model is instantiated in X
    // (torch's default dtype while its modules are built), so every floating parameter and every
    // floating buffer made without an explicit dtype is X, larger or smaller than what the
    // checkpoint stores (float16 weights loaded as float32 take 4 bytes; float8 checkpoint weights
    // are planned at X too, as transformers sizes its meta model). Integer, bool and complex tensors
    // keep their dtype, and so do buffers made with an explicit dtype (Tensor::fixedDtype). Accelerate
    // then sizes that model with dtype=X, as transformers calls it: a fixed-dtype float buffer counts
    // no more than X (rotary inv_freq, float32, counts 2 bytes an element under float16).
    // X may also be a quantised target (int8, custom_int4, custom_fp8: what transformers passes to
    // Accelerate for 8-bit, 4-bit and fp8 loading): floating tensors are then sized at it.
    Transformers,
    // Accelerate's `dtype` argument on a tree already in its loaded dtypes (parity with
    // infer_auto_device_map / compute_module_sizes): floating tensors shrink to X, never grow;
    // integer and bool tensors keep theirs.
    AccelerateNeverGrow,
};
const char *toString(DtypeRule rule);                 // "transformers", "accelerate"
std::optional<DtypeRule> dtypeRuleFromString(std::string_view text);

// The dtype `tensor` has in the model transformers instantiates with torch_dtype = `load`.
DType instantiatedDtype(const Tensor &tensor, DType load);
// The tree with every tensor in instantiatedDtype(): the model Accelerate sees when transformers
// plans it. Same modules, ids, names and ties.
ModuleTree instantiatedTree(const ModuleTree &tree, DType load);
// The dtype a tensor is counted in when the model is loaded in `load` under `rule` (special
// dtypes aside: they win over this, see aggregateSizes).
DType loadedDtype(const Tensor &tensor, std::optional<DType> load, DtypeRule rule);

// Full tensor name -> dtype that wins over the load dtype (PlanOptions::specialDtypes).
using SpecialDtypes = std::vector<std::pair<std::string, DType>>;

// Sizes aggregated to every module (index = module id), each tensor object counted once
// (the first name reached in depth-first pre-order, params before buffers, as Accelerate does).
struct ModuleSizes {
    std::vector<std::int64_t> bytes;       // storage bytes in the loaded dtypes
    std::vector<std::int64_t> parameters;  // numel of parameters (buffers excluded)
    std::vector<std::int64_t> bufferBytes; // bytes of buffers only
    // Whole-model bytes per loaded storage dtype, in first-seen order.
    std::vector<std::pair<DType, std::int64_t>> bytesByDtype;
    std::int64_t totalBytes() const { return bytes.empty() ? 0 : bytes.front(); }
};

// `load`: the dtype the model will be loaded in (none: as stored), meant as `rule` says (see
// DtypeRule); a tensor named in `special` takes that dtype whatever the load dtype.
ModuleSizes aggregateSizes(const ModuleTree &tree, std::optional<DType> load = std::nullopt,
                           DtypeRule rule = DtypeRule::Transformers, const SpecialDtypes &special = {});

// Largest "layer" (a leaf, or a module of a no-split class) among the top-level walk: what
// Accelerate reserves room for on the main devices.
struct LargestLayer {
    std::int64_t bytes = 0;
    std::vector<std::string> names;
};
LargestLayer largestLayer(const ModuleTree &tree, const ModuleSizes &sizes,
                          const std::vector<std::string> &noSplitClasses);

// Is the dotted name `name` equal to `scope` or below it? ("model.layers.1" is within
// "model.layers", "model.layers10" is not; "" contains everything.)
bool nameWithin(std::string_view name, std::string_view scope);

// Less-than for dotted names with numeric components ("layers.2" < "layers.10").
bool numericAwareLess(std::string_view a, std::string_view b);

} // namespace mizan::planner
