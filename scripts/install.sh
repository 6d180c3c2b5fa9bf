#!/usr/bin/env bash
# Install what skiff needs to build and test on Debian 12, build it, and put
# `skiff` and `skiff-runc` on PATH. Idempotent: reruns skip apt when every
# package is already installed. Runs as root (CI does); uses sudo otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PKGS=(
    # build
    build-essential pkg-config libseccomp-dev
    # peers and clients of the runtime; podman as root needs no more than its
    # Depends here (native overlay storage, cgroupfs manager, CNI or netavark)
    runc podman
    # network stack podman and skiff-net use (CNI plugins in /usr/lib/cni);
    # named explicitly so the choice for podman's virtual dependency is fixed
    containernetworking-plugins iptables
    # test images and a local registry (nothing can be pulled from outside)
    busybox-static skopeo umoci docker-registry
    # etcd 3.4 for skiff-store's etcd backend tests; protoc and Google's
    # well-known .proto files for the etcd-client crate's build script
    etcd-server etcd-client protobuf-compiler libprotobuf-dev
    # benchmarks and system tools
    hyperfine nftables iproute2 uidmap procps util-linux
    # a second Kubernetes client library for the API server's tests (the same
    # `kubernetes` package as on PyPI, for Debian's /usr/bin/python3)
    python3-kubernetes
)

missing=()
for p in "${PKGS[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install.sh: installing: ${missing[*]}"
    # Keep packages (docker-registry) from starting services during install.
    policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PKGS[@]}"
    if [ -n "$policy_added" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
else
    echo "install.sh: all ${#PKGS[@]} packages already installed"
fi

# Tests start their own registries on 127.0.0.1; the packaged service must not
# hold port 5000. systemctl works offline (no systemd running) for enable state.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
    $SUDO systemctl disable --quiet docker-registry 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    $SUDO systemctl stop docker-registry 2>/dev/null || true
elif [ -x /etc/init.d/docker-registry ] && /etc/init.d/docker-registry status >/dev/null 2>&1; then
    $SUDO /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
fi
# Likewise the packaged etcd must not hold 2379/2380: skiff-store's tests start
# their own members on free loopback ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet etcd 2>/dev/null; then
    $SUDO systemctl disable --quiet etcd 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    $SUDO systemctl stop etcd 2>/dev/null || true
elif [ -x /etc/init.d/etcd ] && /etc/init.d/etcd status >/dev/null 2>&1; then
    $SUDO /etc/init.d/etcd stop >/dev/null 2>&1 || true
fi

# kubectl 1.20 beside the machine's /usr/bin/kubectl (1.32, package `kubectl`):
# Debian's kubernetes-client ships /usr/bin/kubectl too, so installing it would
# collide; its files are unpacked under /opt instead, for the API server's
# old-client tests.
KUBECTL_120_DIR=/opt/kubernetes-client-1.20
if [ ! -x "$KUBECTL_120_DIR/usr/bin/kubectl" ]; then
    echo "install.sh: unpacking Debian's kubernetes-client into $KUBECTL_120_DIR"
    dl=$(mktemp -d)
    # apt-get download drops to the _apt user, which must be able to write here.
    if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$dl"; fi
    if ! (cd "$dl" && $SUDO apt-get download kubernetes-client); then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
        (cd "$dl" && $SUDO apt-get download kubernetes-client)
    fi
    $SUDO mkdir -p "$KUBECTL_120_DIR"
    $SUDO dpkg-deb -x "$dl"/kubernetes-client_*.deb "$KUBECTL_120_DIR"
    $SUDO rm -rf "$dl"
fi
"$KUBECTL_120_DIR/usr/bin/kubectl" version --client >/dev/null

# cargo comes from rustup in the user's home
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

cargo build --release --locked

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/release/skiff
[ -x "$BIN" ] || { echo "install.sh: $BIN was not built" >&2; exit 1; }
$SUDO ln -sfn "$BIN" /usr/local/bin/skiff
$SUDO ln -sfn "$BIN" /usr/local/bin/skiff-runc
echo "install.sh: /usr/local/bin/skiff and /usr/local/bin/skiff-runc -> $BIN"
