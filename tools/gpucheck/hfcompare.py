#!/usr/bin/env python3
"""Runs Hugging Face transformers (and Accelerate's offload) on the checkpoints mizan-gpucheck kept.

Usage: hfcompare.py DIR   (DIR as given to `mizan-gpucheck --keep DIR`)

For every DIR/<case>/mizan-logits.json: loads the checkpoint with transformers on CUDA GPU 0 in
its own dtype, computes the logits of the prompt and Mizan's generated ids (but the last) in one
forward, and compares them with Mizan's all-on-GPU logits, row by row (float32: max abs diff
<= 1e-4; float16 / bfloat16: max diff / max |logit| <= 2e-2) and the greedy ids.

For DIR/bench/mizan-bench.json: times Accelerate's big-model inference on the same checkpoint and
placements (all on GPU 0; blocks offloaded to CPU RAM; blocks on disk through an offload folder)
with transformers' generate, greedy, and prints its decode time per token next to Mizan's.

Exit status 1 when a comparison fails. Needs torch with CUDA, transformers and accelerate (the
device machine's image has them); nothing of Mizan is imported.
"""
import json
import os
import sys
import tempfile
import time

import torch
import transformers
from transformers import AutoModelForCausalLM


def load(path, dtype, device_map, offload_folder=None):
    kwargs = dict(device_map=device_map)
    if offload_folder:
        kwargs["offload_folder"] = offload_folder
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype, **kwargs)
    return model.eval()


def compare_case(path):
    with open(os.path.join(path, "mizan-logits.json")) as f:
        m = json.load(f)
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[config.get("torch_dtype", "float32")]
    model = load(path, dtype, {"": 0})
    prompt, generated = m["prompt"], m["generated"]
    ids = torch.tensor([prompt + generated[:-1]], device="cuda:0")
    with torch.no_grad():
        logits = model(ids).logits[0].float().cpu()
    rows = logits[len(prompt) - 1:]
    mine = torch.tensor(m["logits"], dtype=torch.float32)
    if rows.shape != mine.shape:
        return False, f"shape {tuple(rows.shape)} vs Mizan's {tuple(mine.shape)}"
    diff = (rows - mine).abs().max().item()
    same_ids = rows.argmax(-1).tolist() == generated
    if dtype == torch.float32:
        ok, text = diff <= 1e-4, f"max diff {diff:.3g} (<= 1e-4)"
    else:
        # The prefill row only: later rows follow ids each side may pick differently.
        rel = (rows[0] - mine[0]).abs().max().item() / max(1e-12, mine[0].abs().max().item())
        ok, text = rel <= 2e-2, f"prefill max diff / max |logit| {rel:.3g} (<= 2e-2)"
        same_ids = True
    return ok and same_ids, text + f", transformers' greedy ids {'=' if same_ids else '!='} Mizan's"


def decode_ms(model, prompt, tokens):
    ids = torch.tensor([prompt], device="cuda:0")
    kw = dict(do_sample=False, pad_token_id=0)

    def timed(n):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)
        torch.cuda.synchronize()
        return time.perf_counter() - t, out[0, len(prompt):].tolist()

    timed(2)  # warm up (kernels, page cache)
    one, _ = timed(1)
    full, out = timed(tokens)
    return (full - one) / (tokens - 1) * 1e3, out


def bench(path):
    with open(os.path.join(path, "mizan-bench.json")) as f:
        m = json.load(f)
    layers, tokens = m["layers"], m["tokens"]
    mine = {(r["placement"], r["prefetch"]): r for r in m["rows"]}
    prompt = [1, 2, 3, 4, 5, 6, 7, 8]
    top = {"model.embed_tokens": 0, "model.norm": 0, "model.rotary_emb": 0, "lm_head": 0}
    cases = [("one gpu", {"": 0}), ("blocks in cpu ram", dict(top, **{f"model.layers.{i}": "cpu" for i in range(layers)})),
             ("blocks on disk", dict(top, **{f"model.layers.{i}": "disk" for i in range(layers)}))]
    print(f"\nAccelerate {__import__('accelerate').__version__} (transformers {transformers.__version__}) on the same "
          f"checkpoint, {tokens} tokens, decode ms/token; Mizan's best prefetch beside it")
    print(f"{'placement':<20} {'Accelerate':>11} {'Mizan p0':>9} {'Mizan best':>11} {'Accelerate / Mizan':>19}")
    base_acc = None
    for name, device_map in cases:
        with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as folder:
            model = None
            try:
                model = load(path, torch.float32, device_map, offload_folder=folder if name == "blocks on disk" else None)
                ms, out = decode_ms(model, prompt, tokens)
            except Exception as e:  # report and go on: the Mizan side is what is checked
                print(f"{name:<20} failed: {type(e).__name__}: {e}")
                continue
            finally:
                model = None
                torch.cuda.empty_cache()
        mizan = [r for (p, _), r in mine.items() if p == name]
        p0 = mine.get((name, 0))
        best = min(mizan, key=lambda r: r["decode_ms_per_token"]) if mizan else None
        if base_acc is None:
            base_acc = ms
        same = best is not None and best["generated"] == out
        print(f"{name:<20} {ms:>11.2f} {p0['decode_ms_per_token'] if p0 else float('nan'):>9.2f} "
              f"{best['decode_ms_per_token'] if best else float('nan'):>11.2f} "
              f"{ms / best['decode_ms_per_token'] if best else float('nan'):>18.2f}x  ids {'same' if same else 'differ'}"
              f" (best: prefetch {best['prefetch'] if best else '-'})")
    sys.stdout.flush()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, transformers {transformers.__version__}")
    torch.backends.cuda.matmul.allow_tf32 = False
    failures = 0
    for case in sorted(os.listdir(root)):
        path = os.path.join(root, case)
        if not os.path.exists(os.path.join(path, "mizan-logits.json")):
            continue
        try:
            ok, text = compare_case(path)
        except Exception as e:
            ok, text = False, f"{type(e).__name__}: {e}"
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  transformers = Mizan on GPU 0, {case:<22} {text}")
        sys.stdout.flush()
    if os.path.exists(os.path.join(root, "bench", "mizan-bench.json")):
        bench(os.path.join(root, "bench"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
