#!/usr/bin/env bash
# Regenerates docs/screenshots/en.png and docs/screenshots/ar.png: exactly what scripts/run.sh
# shows on a first run (the demo model planned over the fortunes-demo profile: layers on two
# simulated GPUs, in CPU RAM and on disk), under Xvfb, in English and in Arabic; and
# docs/screenshots/run-en.png and run-ar.png: the same plan's test inference caught mid-run (the
# live view with weights moving over a simulated 1 GB/s link); and docs/screenshots/start-en.png and
# start-ar.png: the start page over a Hugging Face cache made here (a complete model, one missing a
# shard, one still downloading); cluster-*.png: a cluster plan as hosts, and cluster-run-*.png: one
# run from the window on local ranks.
# The window saves itself (QWidget::grab), so the pictures are exact.
# Usage: scripts/screenshots.sh [BUILD_DIR]   (default: $MIZAN_BUILD_DIR or build/)
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}}"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps xvfb xauth
OUT="$MIZAN_ROOT/docs/screenshots"
mkdir -p "$OUT"
# A private settings folder: the user's recent files and limits never leak into the pictures.
CONFIG="$(mktemp -d)"
trap 'rm -rf "$CONFIG"' EXIT

# One snapshot of REPO in the hub cache HUB, as huggingface_hub lays it out: the files of SOURCE as
# blobs named by their SHA-1, linked from snapshots/REVISION; SKIP is left out of the snapshot.
cache_snapshot() {
    local hub=$1 source=$2 repo=$3 revision=$4 skip=${5:-}
    local root="$hub/models--${repo//\//--}"
    mkdir -p "$root/blobs" "$root/refs" "$root/snapshots/$revision"
    local f name hash
    for f in "$source"/*; do
        name="$(basename "$f")"
        [ "$name" = "$skip" ] && continue
        hash="$(sha1sum "$f" | cut -d' ' -f1)"
        [ -f "$root/blobs/$hash" ] || cp "$f" "$root/blobs/$hash"
        ln -sr "$root/blobs/$hash" "$root/snapshots/$revision/$name" # relative, as huggingface_hub links
    done
}
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/$lang" MIZAN_BUILD_DIR="$BUILD" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$MIZAN_ROOT/scripts/run.sh" --language "$lang" --size 1500x950 --screenshot "$OUT/$lang.png"
    echo "wrote $OUT/$lang.png"
    XDG_CONFIG_HOME="$CONFIG/run-$lang" MIZAN_BUILD_DIR="$BUILD" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$MIZAN_ROOT/scripts/run.sh" --language "$lang" --size 1500x950 --test-run --max-new-tokens 30 \
        --simulated-bandwidth 1 --screenshot "$OUT/run-$lang.png"
    echo "wrote $OUT/run-$lang.png"
done

# The start page's Local models: a cache with a complete model (on main), one whose newest snapshot
# lacks a shard, and one still downloading; no other cache folder is looked at.
HUB="$CONFIG/hub"
"$BUILD/app/cli/mizan-cli" make-demo "$CONFIG/small" --layers 4 --hidden 256 --shards 2 >/dev/null
"$BUILD/app/cli/mizan-cli" make-demo "$CONFIG/medium" --layers 8 --hidden 512 --shards 3 >/dev/null
revision() { printf '%s' "$1" | sha1sum | cut -d' ' -f1; }
cache_snapshot "$HUB" "$CONFIG/small" mizan-demo/llama-small "$(revision small)"
printf '%s' "$(revision small)" >"$HUB/models--mizan-demo--llama-small/refs/main"
cache_snapshot "$HUB" "$CONFIG/medium" mizan-demo/llama-medium "$(revision medium-1)"
printf '%s' "$(revision medium-1)" >"$HUB/models--mizan-demo--llama-medium/refs/main"
cache_snapshot "$HUB" "$CONFIG/medium" mizan-demo/llama-medium "$(revision medium-2)" model-00003-of-00003.safetensors
touch -d '1 hour ago' "$HUB/models--mizan-demo--llama-medium/snapshots/$(revision medium-1)"
cache_snapshot "$HUB" "$CONFIG/small" mizan-demo/llama-next "$(revision next)"
printf 'partial' >"$HUB/models--mizan-demo--llama-next/blobs/$(revision next-blob).incomplete"
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/start-$lang" xvfb-run -a -s "-screen 0 1600x1000x24" \
        env HF_HUB_CACHE="$HUB" HF_HOME="$CONFIG/none" XDG_CACHE_HOME="$CONFIG/none" HOME="$CONFIG/home" \
        "$BUILD/app/gui/mizan" --language "$lang" --size 1500x950 --screenshot "$OUT/start-$lang.png"
    echo "wrote $OUT/start-$lang.png"
done

# Plans side by side (File > Compare with plan): Llama 3.1 8B on two RTX 3090s against a plan for
# 4 GiB per device, which offloads most of the model.
"$BUILD/app/cli/mizan-cli" plan llama-3.1-8b --max-memory 0=4GiB,1=4GiB,cpu=4GiB -o "$CONFIG/small.mizan.json" >/dev/null 2>&1
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/compare-$lang" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$BUILD/app/gui/mizan" llama-3.1-8b --hardware 2x-rtx3090 --language "$lang" \
        --compare "$CONFIG/small.mizan.json" --screenshot "$OUT/compare-$lang.png"
    echo "wrote $OUT/compare-$lang.png"
done

# A cluster plan (File > Open cluster plan): a 16-block demo on the two small hosts of demo-2host.
"$BUILD/app/cli/mizan-cli" make-demo "$CONFIG/cluster-demo" --layers 16 --hidden 512 >/dev/null 2>&1
"$BUILD/app/cli/mizan-cli" plan "$CONFIG/cluster-demo" --hardware demo-2host -o "$CONFIG/cluster.mizan.json" >/dev/null 2>&1
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/cluster-$lang" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$BUILD/app/gui/mizan" --language "$lang" --cluster "$CONFIG/cluster.mizan.json" --screenshot "$OUT/cluster-$lang.png"
    echo "wrote $OUT/cluster-$lang.png"
done

# The same kind of plan run from the window on local ranks (the dialog's Run on local ranks page):
# the fortunes demo on demo-2host, one rank per host, the live view grouped by host.
"$BUILD/app/cli/mizan-cli" plan "$MIZAN_ROOT/resources/demo/fortunes-llama" --hardware demo-2host -o "$CONFIG/fortunes-cluster.mizan.json" >/dev/null 2>&1
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/cluster-run-$lang" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$BUILD/app/gui/mizan" "$MIZAN_ROOT/resources/demo/fortunes-llama" --language "$lang" --cluster "$CONFIG/fortunes-cluster.mizan.json" \
        --test-run --max-new-tokens 24 --screenshot "$OUT/cluster-run-$lang.png"
    echo "wrote $OUT/cluster-run-$lang.png"
done
