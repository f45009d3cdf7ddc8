#!/usr/bin/env bash
# The run command: installs dependencies, builds the applications, creates the demo checkpoint if
# absent and starts Mizan on it, already planned over the bundled demo hardware profile (two
# simulated GPUs, CPU RAM and disk). Extra arguments go to `mizan` (e.g. --language ar, or
# --screenshot FILE to save the first planned view and quit).
# The build folder is configured with the same explicit options as scripts/test.sh (see deps.sh),
# so either command can run first, any number of times; this one builds only the applications.
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure "$BUILD" "${MIZAN_BUILD_OPTIONS[@]}"
cmake --build "$BUILD" --parallel "$(nproc)" --target mizan-cli mizan
# The demo: a LLaMA-style checkpoint with random weights (24 layers, hidden 512, 139 MiB in
# float16, 4 shards) and a hardware profile sized for it, so that the first plan uses every kind of
# device: layers on each simulated GPU, then CPU RAM, then disk.
DEMO="${MIZAN_DEMO_DIR:-$MIZAN_ROOT/demo/llama-demo}"
PROFILE="demo-2gpu"
if [ ! -f "$DEMO/config.json" ]; then
    "$BUILD/app/cli/mizan-cli" make-demo "$DEMO" --layers 24 --hidden 512 --shards 4
fi
if [ -x "$BUILD/app/gui/mizan" ]; then
    # model.layers.19: the first layer offloaded to disk; the details pane says why.
    exec "$BUILD/app/gui/mizan" "$DEMO" --hardware "$PROFILE" --select model.layers.19 "$@"
else
    exec "$BUILD/app/cli/mizan-cli" plan "$DEMO" --hardware "$PROFILE" "$@"
fi
