#!/usr/bin/env bash
# Installs the Debian packages Mizan needs, only those missing. Sourced by run.sh, test.sh and
# screenshots.sh.
mizan_install_deps() {
    local pkgs=(cmake ninja-build g++ pkg-config
        qt6-base-dev qt6-tools-dev qt6-l10n-tools qt6-tools-dev-tools
        libtorch-dev libgloo-dev nlohmann-json3-dev libqcustomplot-dev libopenblas0-pthread
        libpcre2-dev libicu-dev
        fonts-dejavu-core "$@")
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "mizan: installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# The one configuration of the main build folder. run.sh and test.sh both pass every option
# explicitly, so whichever runs first, the cache holds the same values and neither command turns
# off what the other needs (run.sh then builds only the applications, test.sh everything).
# Optimized as RelWithDebInfo (-O2) but without debug information: on 2 cores the files that
# include libtorch's headers compile about a fifth faster without it (tst_forward.cpp: 41 s
# against 52 s), a few minutes of CI's build. A developer who wants it adds -g to CMAKE_CXX_FLAGS.
MIZAN_BUILD_OPTIONS=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" -DMIZAN_BUILD_APP=ON
    -DMIZAN_BUILD_TESTS=ON -DMIZAN_BUILD_BENCH=ON -DMIZAN_WITH_TORCH=ON -DMIZAN_SANITIZE=OFF)

# mizan_configure BUILD_DIR [cmake args...]: configures BUILD_DIR with Ninja (reusing the
# generator of an existing folder).
mizan_configure() {
    local build_dir="$1"; shift
    local generator=(-G Ninja)
    [ -f "$build_dir/CMakeCache.txt" ] && generator=()
    cmake -S "$MIZAN_ROOT" -B "$build_dir" "${generator[@]}" "$@"
}
