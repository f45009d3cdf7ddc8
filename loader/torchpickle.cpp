#include "torchpickle_p.h"

#include "planner/error.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <limits>
#include <unordered_map>

namespace mizan::loader::detail {

namespace {

// The callables a state dict names; everything else is refused when the pickle names it.
enum class Callable { None, OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, RebuildParameterWithState };

struct Value {
    enum Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, StorageType, Storage, Tensor, Mark } kind = None;
    std::int64_t i = 0;
    double f = 0;
    std::string s;                              // strings, bytes, storage key
    std::vector<int> items;                     // tuple and list elements
    std::vector<std::pair<int, int>> entries;   // dict entries in insertion order
    Callable callable = Callable::None;
    DType dtype = DType::F32;                   // storage types, storages
    // Tensors: storage value, offset, shape, stride.
    int storage = -1;
    std::int64_t offset = 0;
    std::vector<std::int64_t> shape, stride;
};

class Unpickler {
public:
    Unpickler(std::string_view data, const std::string &path) : m_data(data), m_path(path) {}

    int run()
    {
        while (true) {
            if (m_pos >= m_data.size())
                fail("ends without a STOP opcode", ErrorKind::Truncated);
            const auto op = static_cast<unsigned char>(m_data[m_pos++]);
            switch (op) {
            case 0x80: byte(); break;                       // PROTO
            case 0x95: bytes(8); break;                     // FRAME (length only)
            case '.': return pop();                         // STOP
            case '(': push(make(Value::Mark)); break;       // MARK
            case '0': pop(); break;                         // POP
            case '1': popMark(); break;                     // POP_MARK
            case '2': push(top()); break;                   // DUP
            case 'N': push(make(Value::None)); break;
            case 0x88: push(makeBool(true)); break;         // NEWTRUE
            case 0x89: push(makeBool(false)); break;        // NEWFALSE
            case 'J': push(makeInt(static_cast<std::int32_t>(le(4)))); break; // BININT
            case 'K': push(makeInt(static_cast<std::int64_t>(le(1)))); break; // BININT1
            case 'M': push(makeInt(static_cast<std::int64_t>(le(2)))); break; // BININT2
            case 0x8a: push(makeInt(long1())); break;       // LONG1
            case 'G': push(makeFloat(binFloat())); break;   // BINFLOAT
            case 'X': push(makeString(Value::String, bytes(le(4)))); break;      // BINUNICODE
            case 0x8c: push(makeString(Value::String, bytes(le(1)))); break;     // SHORT_BINUNICODE
            case 0x8d: push(makeString(Value::String, bytes(le(8)))); break;     // BINUNICODE8
            case 'T': push(makeString(Value::String, bytes(le(4)))); break;      // BINSTRING
            case 'U': push(makeString(Value::String, bytes(le(1)))); break;      // SHORT_BINSTRING
            case 'B': push(makeString(Value::Bytes, bytes(le(4)))); break;       // BINBYTES
            case 'C': push(makeString(Value::Bytes, bytes(le(1)))); break;       // SHORT_BINBYTES
            case ')': push(make(Value::Tuple)); break;      // EMPTY_TUPLE
            case 't': push(collection(Value::Tuple, popMark())); break;          // TUPLE
            case 0x85: tupleOf(1); break;                   // TUPLE1
            case 0x86: tupleOf(2); break;                   // TUPLE2
            case 0x87: tupleOf(3); break;                   // TUPLE3
            case ']': push(make(Value::List)); break;       // EMPTY_LIST
            case 'l': push(collection(Value::List, popMark())); break;           // LIST
            case 'a': append(); break;                      // APPEND
            case 'e': appends(); break;                     // APPENDS
            case '}': push(make(Value::Dict)); break;       // EMPTY_DICT
            case 'd': { const int d = make(Value::Dict); setItems(d, popMark()); push(d); break; } // DICT
            case 's': setItem(); break;                     // SETITEM
            case 'u': { auto items = popMark(); setItems(top(), items); break; } // SETITEMS
            case 'q': memoPut(le(1)); break;                // BINPUT
            case 'r': memoPut(le(4)); break;                // LONG_BINPUT
            case 0x94: memoPut(m_memo.size()); break;       // MEMOIZE
            case 'h': push(memoGet(le(1))); break;          // BINGET
            case 'j': push(memoGet(le(4))); break;          // LONG_BINGET
            case 'c': global(); break;                      // GLOBAL
            case 0x93: stackGlobal(); break;                // STACK_GLOBAL
            case 'R': reduce(); break;                      // REDUCE
            case 'b': build(); break;                       // BUILD
            case 'Q': persistentId(); break;                // BINPERSID
            default:
                fail("opcode " + opcodeName(op) + " at byte " + std::to_string(m_pos - 1)
                     + " is not used by state dicts: refused (the file may try to run code)");
            }
        }
    }

    const Value &value(int v) const { return m_values[static_cast<std::size_t>(v)]; }

    [[noreturn]] void fail(const std::string &what, ErrorKind kind = ErrorKind::InvalidHeader) const
    {
        throw Error(kind, m_path, "data.pkl: " + what);
    }

private:
    static std::string opcodeName(unsigned char op)
    {
        static const std::unordered_map<unsigned char, const char *> names = {
            {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {'P', "PERSID"}, {0x82, "EXT1"},
            {0x83, "EXT2"}, {0x84, "EXT4"}, {'I', "INT"}, {'L', "LONG"}, {'F', "FLOAT"}, {'S', "STRING"},
            {'V', "UNICODE"}, {'g', "GET"}, {'p', "PUT"}, {0x8b, "LONG4"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"},
            {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
        const auto it = names.find(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        return it != names.end() ? std::string(it->second) + " (" + hex + ")" : std::string(hex);
    }

    int make(Value::Kind kind)
    {
        if (m_values.size() >= kMaxValues)
            fail("more than " + std::to_string(kMaxValues) + " values");
        m_values.emplace_back();
        m_values.back().kind = kind;
        return static_cast<int>(m_values.size() - 1);
    }
    int makeBool(bool b) { const int v = make(Value::Bool); m_values[v].i = b; return v; }
    int makeInt(std::int64_t i) { const int v = make(Value::Int); m_values[v].i = i; return v; }
    int makeFloat(double f) { const int v = make(Value::Float); m_values[v].f = f; return v; }
    int makeString(Value::Kind kind, std::string_view s) { const int v = make(kind); m_values[v].s = s; return v; }
    Value &at(int v) { return m_values[static_cast<std::size_t>(v)]; }

    void push(int v)
    {
        m_stack.push_back(v);
    }
    int pop()
    {
        if (m_stack.empty())
            fail("stack underflow at byte " + std::to_string(m_pos - 1));
        const int v = m_stack.back();
        m_stack.pop_back();
        if (value(v).kind == Value::Mark)
            fail("unexpected MARK at byte " + std::to_string(m_pos - 1));
        return v;
    }
    int top()
    {
        if (m_stack.empty() || value(m_stack.back()).kind == Value::Mark)
            fail("stack underflow at byte " + std::to_string(m_pos - 1));
        return m_stack.back();
    }
    std::vector<int> popMark()
    {
        std::size_t k = m_stack.size();
        while (k > 0 && value(m_stack[k - 1]).kind != Value::Mark)
            --k;
        if (k == 0)
            fail("no MARK before byte " + std::to_string(m_pos - 1));
        std::vector<int> items(m_stack.begin() + static_cast<std::ptrdiff_t>(k), m_stack.end());
        m_stack.resize(k - 1);
        return items;
    }

    std::uint64_t le(std::size_t n)
    {
        const std::string_view b = bytes(n);
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < n; ++k)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[k])) << (8 * k);
        return v;
    }
    unsigned char byte() { return static_cast<unsigned char>(bytes(1)[0]); }
    std::string_view bytes(std::uint64_t n)
    {
        if (n > m_data.size() - m_pos)
            fail("ends inside an opcode's argument at byte " + std::to_string(m_pos), ErrorKind::Truncated);
        const std::string_view out = m_data.substr(m_pos, static_cast<std::size_t>(n));
        m_pos += static_cast<std::size_t>(n);
        return out;
    }
    std::int64_t long1()
    {
        const std::size_t n = byte();
        if (n > 8)
            fail("integer of " + std::to_string(n) + " bytes is beyond any tensor size");
        if (n == 0)
            return 0;
        std::uint64_t v = le(n);
        if (n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~std::uint64_t(0) << (8 * n); // sign-extend
        return static_cast<std::int64_t>(v);
    }
    double binFloat()
    {
        const std::string_view b = bytes(8);
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k)
            bits = (bits << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(k)]); // big-endian
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
    }

    int collection(Value::Kind kind, std::vector<int> items)
    {
        const int v = make(kind);
        at(v).items = std::move(items);
        return v;
    }
    void tupleOf(std::size_t n)
    {
        std::vector<int> items(n);
        for (std::size_t k = n; k-- > 0;)
            items[k] = pop();
        push(collection(Value::Tuple, std::move(items)));
    }
    void append()
    {
        const int item = pop();
        const int list = top();
        if (value(list).kind != Value::List)
            fail("APPEND to a " + kindName(list));
        at(list).items.push_back(item);
    }
    void appends()
    {
        auto items = popMark();
        const int list = top();
        if (value(list).kind != Value::List)
            fail("APPENDS to a " + kindName(list));
        at(list).items.insert(at(list).items.end(), items.begin(), items.end());
    }
    void setItem()
    {
        const int v = pop();
        const int k = pop();
        setItems(top(), {k, v});
    }
    void setItems(int dict, const std::vector<int> &items)
    {
        if (value(dict).kind != Value::Dict)
            fail("SETITEM on a " + kindName(dict));
        if (items.size() % 2)
            fail("SETITEMS with an odd number of values");
        for (std::size_t k = 0; k < items.size(); k += 2)
            at(dict).entries.emplace_back(items[k], items[k + 1]);
    }
    void memoPut(std::uint64_t key)
    {
        if (key > kMaxValues)
            fail("memo key " + std::to_string(key) + " out of range");
        m_memo[key] = top();
    }
    int memoGet(std::uint64_t key)
    {
        const auto it = m_memo.find(key);
        if (it == m_memo.end())
            fail("memo key " + std::to_string(key) + " was never stored");
        return it->second;
    }

    void resolve(const std::string &module, const std::string &name)
    {
        const int v = make(Value::Global);
        Value &g = at(v);
        g.s = module + "." + name;
        if (module == "collections" && name == "OrderedDict")
            g.callable = Callable::OrderedDict;
        else if (module == "torch._utils" && name == "_rebuild_tensor_v2")
            g.callable = Callable::RebuildTensorV2;
        else if (module == "torch._utils" && name == "_rebuild_tensor")
            g.callable = Callable::RebuildTensor;
        else if (module == "torch._utils" && name == "_rebuild_parameter")
            g.callable = Callable::RebuildParameter;
        else if (module == "torch._utils" && name == "_rebuild_parameter_with_state")
            g.callable = Callable::RebuildParameterWithState;
        else if (module == "torch" && name.ends_with("Storage") && storageDtype(name)) {
            g.kind = Value::StorageType;
            g.dtype = *storageDtype(name);
        } else {
            fail("checkpoint calls " + printable(module + "." + name) + ": refused (a state dict names only tensors, "
                 "storages and ordered dicts; this file would run code if loaded with torch.load)");
        }
        push(v);
    }
    void global()
    {
        auto line = [&] {
            const std::size_t end = m_data.find('\n', m_pos);
            if (end == std::string_view::npos || end - m_pos > 256)
                fail("GLOBAL without a newline-terminated name", ErrorKind::Truncated);
            std::string s(m_data.substr(m_pos, end - m_pos));
            m_pos = end + 1;
            return s;
        };
        const std::string module = line();
        const std::string name = line();
        resolve(module, name);
    }
    void stackGlobal()
    {
        const int name = pop(), module = pop();
        if (value(name).kind != Value::String || value(module).kind != Value::String)
            fail("STACK_GLOBAL needs two strings");
        const std::string m = value(module).s, n = value(name).s; // copied: resolve() grows the arena
        resolve(m, n);
    }

    static std::optional<DType> storageDtype(const std::string &name)
    {
        static const std::unordered_map<std::string, DType> types = {
            {"FloatStorage", DType::F32}, {"DoubleStorage", DType::F64}, {"HalfStorage", DType::F16},
            {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
            {"ShortStorage", DType::I16}, {"CharStorage", DType::I8}, {"ByteStorage", DType::U8},
            {"BoolStorage", DType::Bool}, {"ComplexFloatStorage", DType::C64}, {"ComplexDoubleStorage", DType::C128}};
        const auto it = types.find(name);
        return it == types.end() ? std::nullopt : std::optional<DType>(it->second);
    }

    std::string kindName(int v) const
    {
        static const char *names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict", "global",
                                      "storage type", "storage", "tensor", "mark"};
        return names[value(v).kind];
    }

    // ('storage', <storage type>, key, location, numel): a tensor's storage, kept as a reference.
    void persistentId()
    {
        const int pid = pop();
        const Value &t = value(pid);
        if (t.kind != Value::Tuple || t.items.size() != 5 || value(t.items[0]).kind != Value::String || value(t.items[0]).s != "storage")
            fail("persistent id is not ('storage', type, key, location, size)");
        const Value &type = value(t.items[1]);
        const Value &key = value(t.items[2]);
        const Value &numel = value(t.items[4]);
        if (type.kind != Value::StorageType)
            fail("persistent id names no storage type");
        if (key.kind != Value::String || key.s.empty() || key.s.size() > 64 || key.s.find('/') != std::string::npos || key.s.find("..") != std::string::npos)
            fail("storage key must be a short name without '/' or '..'");
        if (numel.kind != Value::Int || numel.i < 0)
            fail("storage size must be a non-negative integer");
        std::string storageKey = key.s; // copied: make() may move the arena
        const DType dtype = type.dtype;
        const std::int64_t size = numel.i;
        const int v = make(Value::Storage);
        at(v).s = std::move(storageKey);
        at(v).dtype = dtype;
        at(v).i = size;
        push(v);
    }

    std::vector<std::int64_t> ints(int tuple, const char *what)
    {
        const Value &t = value(tuple);
        if (t.kind != Value::Tuple && t.kind != Value::List)
            fail(std::string(what) + " must be a tuple of integers");
        if (t.items.size() > 64)
            fail(std::string(what) + " has more than 64 dimensions");
        std::vector<std::int64_t> out;
        for (int item : t.items) {
            if (value(item).kind != Value::Int || value(item).i < 0)
                fail(std::string(what) + " must hold non-negative integers");
            out.push_back(value(item).i);
        }
        return out;
    }

    void reduce()
    {
        const int args = pop();
        const int fn = pop();
        if (value(fn).kind != Value::Global)
            fail("REDUCE calls a " + kindName(fn) + ": refused");
        if (value(args).kind != Value::Tuple)
            fail("REDUCE arguments are not a tuple");
        const std::vector<int> a = value(args).items; // copied: make() may reallocate the arena
        switch (value(fn).callable) {
        case Callable::OrderedDict:
            if (!a.empty())
                fail("OrderedDict built with arguments: refused");
            push(make(Value::Dict));
            return;
        case Callable::RebuildTensorV2:
        case Callable::RebuildTensor: {
            if (a.size() < 4 || a.size() > 7 || value(a[0]).kind != Value::Storage || value(a[1]).kind != Value::Int)
                fail("tensor rebuilt from unexpected arguments");
            const int v = make(Value::Tensor);
            at(v).storage = a[0];
            at(v).offset = value(a[1]).i;
            at(v).shape = ints(a[2], "tensor size");
            at(v).stride = ints(a[3], "tensor stride");
            if (at(v).offset < 0 || at(v).shape.size() != at(v).stride.size())
                fail("tensor with a negative offset or a stride of another rank than its size");
            push(v);
            return;
        }
        case Callable::RebuildParameter:
        case Callable::RebuildParameterWithState:
            if (a.empty() || value(a[0]).kind != Value::Tensor)
                fail("parameter rebuilt from something other than a tensor");
            push(a[0]);
            return;
        case Callable::None: break;
        }
        fail("REDUCE calls " + printable(value(fn).s) + ": refused");
    }

    // BUILD sets an object's state: allowed only as state_dict()'s `_metadata` on a dict.
    void build()
    {
        const int state = pop();
        const int target = top();
        if (value(target).kind != Value::Dict || (value(state).kind != Value::Dict && value(state).kind != Value::None
                                                  && value(state).kind != Value::Tuple))
            fail("BUILD on a " + kindName(target) + ": refused");
    }

    static std::string printable(const std::string &s)
    {
        std::string out;
        for (unsigned char c : s.substr(0, 200))
            out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
        return out;
    }

    // About 15 values a tensor: room for some 500,000 tensors in one file (Llama 3.1 405B has about 1,100),
    // while a hostile pickle of one-byte opcodes stays within about 1.5 GB of values.
    static constexpr std::size_t kMaxValues = 8'000'000;
    std::string_view m_data;
    const std::string &m_path;
    std::size_t m_pos = 0;
    std::vector<Value> m_values;
    std::vector<int> m_stack;
    std::unordered_map<std::uint64_t, int> m_memo;
};

} // namespace

std::vector<PickledTensor> readStateDictPickle(std::string_view pickle, const std::string &path)
{
    Unpickler u(pickle, path);
    int root = u.run();
    auto isDict = [&](int v) { return u.value(v).kind == Value::Dict; };
    if (!isDict(root))
        u.fail("the pickled object is not a state dict (a dict of tensors)");
    // {"state_dict": {...}} or {"model": {...}} around the tensors, as training scripts save them.
    const auto &entries = u.value(root).entries;
    if (entries.size() == 1 && u.value(entries[0].first).kind == Value::String && isDict(entries[0].second)
        && (u.value(entries[0].first).s == "state_dict" || u.value(entries[0].first).s == "model"))
        root = entries[0].second;
    std::vector<PickledTensor> out;
    for (const auto &[k, v] : u.value(root).entries) {
        const Value &key = u.value(k);
        const Value &t = u.value(v);
        if (key.kind != Value::String)
            u.fail("a state dict key is not a string");
        if (t.kind != Value::Tensor)
            u.fail("state dict entry " + inQuotes(key.s) + " is not a tensor");
        const Value &storage = u.value(t.storage);
        PickledTensor p;
        p.name = key.s;
        p.storageKey = storage.s;
        p.dtype = storage.dtype;
        p.storageNumel = storage.i;
        p.offset = t.offset;
        p.shape = t.shape;
        p.stride = t.stride;
        out.push_back(std::move(p));
    }
    return out;
}

} // namespace mizan::loader::detail
