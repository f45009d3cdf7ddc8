#!/usr/bin/env bash
# Installs the Debian packages Mizan needs, only those missing. Sourced by run.sh and test.sh.
mizan_install_deps() {
    local pkgs=(cmake ninja-build g++ pkg-config
        qt6-base-dev qt6-tools-dev qt6-l10n-tools qt6-tools-dev-tools
        libtorch-dev nlohmann-json3-dev libqcustomplot-dev libopenblas0-pthread
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

mizan_configure_build() {
    local build_dir="$1"; shift
    cmake -S "$MIZAN_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
    cmake --build "$build_dir" --parallel "$(nproc)"
}
