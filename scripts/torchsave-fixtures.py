#!/usr/bin/python3
"""Writes PyTorch .bin files with the real torch.save, and what each holds, for tst_torchbin.

Usage: /usr/bin/python3 scripts/torchsave-fixtures.py OUT_DIR
Needs Debian's python3-torch. The committed copy lives in tests/data/torchsave/; tst_torchbin
also runs this script into a temporary folder when python3-torch is installed, so the check
follows the torch.save of the machine it runs on.

expected.json: {file: {"error": words} | {"tensors": {name: {"dtype", "shape", "values"}}}}, the
values flattened in row-major order as numbers (bool as 0/1, NaN/inf as strings).
"""
import collections
import json
import math
import os
import sys

import torch

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def number(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def describe(tensors):
    out = {}
    for name, t in tensors.items():
        values = t.detach().reshape(-1)
        values = values.float().tolist() if t.dtype in (torch.float16, torch.bfloat16) else values.tolist()
        out[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "values": [number(v) for v in values]}
    return out


class Tiny(torch.nn.Module):
    """A small language-model-shaped module: embeddings tied to the head, a norm, a buffer."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(11, 6)
        self.norm = torch.nn.LayerNorm(6)
        self.proj = torch.nn.Linear(6, 4, bias=True)
        self.head = torch.nn.Linear(6, 11, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("positions", torch.arange(7, dtype=torch.int64))


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
    torch.manual_seed(1234)
    expected = {}

    def save(file, tensors, what=None, **kwargs):
        torch.save(tensors if what is None else what, os.path.join(out, file), **kwargs)
        expected[file] = {"tensors": describe(tensors)}

    model = Tiny()
    sd = model.state_dict()  # an OrderedDict with _metadata, tied head
    save("state_dict.bin", sd)

    save("dtypes.bin", {
        "f32": torch.randn(3, 4),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(2, 3).bfloat16(),
        "f64": torch.randn(2, 2, dtype=torch.float64),
        "i64": torch.arange(-3, 3, dtype=torch.int64),
        "i32": torch.tensor([1, -2, 2147483647], dtype=torch.int32),
        "i16": torch.tensor([-32768, 7], dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "special": torch.tensor([float("inf"), float("-inf"), -0.0]),
    })

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = collections.OrderedDict()
    views["base"] = base
    views["transposed"] = base.t()
    views["rows"] = base[1:3]
    views["columns"] = base[:, 2:5]
    views["every_other"] = base[::2, 1::2]
    views["element"] = base[3, 5]
    views["flat_tail"] = base.reshape(-1)[17:]
    save("views.bin", views)

    params = collections.OrderedDict(
        weight=torch.nn.Parameter(torch.randn(3, 2)),
        frozen=torch.nn.Parameter(torch.randn(2), requires_grad=False),
    )
    save("parameters.bin", params)

    # A sharded checkpoint with transformers' index layout.
    shard1 = collections.OrderedDict(a=torch.randn(4, 4), b=torch.randn(4))
    shard2 = collections.OrderedDict(c=torch.randn(2, 4).half())
    torch.save(shard1, os.path.join(out, "sharded", "pytorch_model-00001-of-00002.bin"))
    torch.save(shard2, os.path.join(out, "sharded", "pytorch_model-00002-of-00002.bin"))
    index = {"metadata": {"total_size": 4 * 4 * 4 + 4 * 4 + 2 * 4 * 2},
             "weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00001-of-00002.bin",
                            "c": "pytorch_model-00002-of-00002.bin"}}
    with open(os.path.join(out, "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump(index, f, indent=1)
    expected["sharded"] = {"tensors": describe(collections.OrderedDict(list(shard1.items()) + list(shard2.items())))}

    # What the reader must refuse, with these words in its message.
    torch.save({"w": torch.randn(2)}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
    expected["legacy.bin"] = {"error": "convert"}
    # Repeated elements (stride 0) are refused rather than multiplied out: a one-element storage
    # could otherwise claim terabytes.
    torch.save({"expanded": torch.arange(3.0).unsqueeze(0).expand(4, 3)}, os.path.join(out, "expanded.bin"))
    expected["expanded.bin"] = {"error": "expanded"}
    torch.save({"w": torch.randn(2), "step": 3, "note": "hello"}, os.path.join(out, "not_tensors.bin"))
    expected["not_tensors.bin"] = {"error": "step"}
    torch.save({"w": torch.randn(2), "cb": print}, os.path.join(out, "calls_print.bin"))
    expected["calls_print.bin"] = {"error": "print: refused"}

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
