#!/usr/bin/env bash
# Run `make test` of a fresh clone of this checkout on the newest Python Debian has (sid's
# python3: 3.14 in 2026), in a debootstrap chroot, as CI does after the main `make test` on
# the oldest supported Python (3.11, the host's).
#
#   scripts/ci-python.sh            SUITE=sid by default; SUITE=trixie for Debian 13's 3.13
#
# The chroot gets what `make test` needs under CI=true (redis-server, chromium, wrk, nginx, caddy, Compose,
# git, make) from the suite's own packages, and this machine's extra CA certificates so pip can
# pass a TLS-inspecting egress. It is kept between runs in $STATE and refreshed with apt-get.
set -euo pipefail

SUITE=${SUITE:-sid}
STATE=${NOWPLAYING_PYTHON_STATE:-/var/cache/nowplaying-python}
ROOTFS=$STATE/$SUITE
HERE=$(cd "$(dirname "$0")/.." && pwd)
PACKAGES=(python3 python3-venv python3-dev build-essential make git ca-certificates curl
          redis-server chromium wrk docker-compose docker-cli procps nginx caddy)

say() { echo "ci-python: $*" >&2; }

command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

if [[ ! -x $ROOTFS/usr/bin/apt-get ]]; then
    say "debootstrap $SUITE into $ROOTFS"
    rm -rf "$ROOTFS"
    mkdir -p "$STATE"
    debootstrap --variant=minbase "$SUITE" "$ROOTFS" http://deb.debian.org/debian \
        >"$STATE/debootstrap-$SUITE.log" 2>&1
fi

mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for fs in proc sys dev dev/pts dev/shm; do
    mkdir -p "$ROOTFS/$fs"
    mount --bind "/$fs" "$ROOTFS/$fs"
    mounted+=("$ROOTFS/$fs")
done
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/" 2>/dev/null || true

in_root() {
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
        "$@"
}

say "apt-get install into the $SUITE chroot"
# A sid mirror snapshot may be older than its Release file allows: accept it.
in_root apt-get -o Acquire::Check-Valid-Until=false update -qq
in_root apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
in_root update-ca-certificates >/dev/null
say "$(in_root python3 --version)"

rm -rf "$ROOTFS/root/nowplaying"
git clone -q "$HERE" "$ROOTFS/root/nowplaying"
say "make test in a fresh clone (CI=true)"
in_root CI=true bash -c 'cd /root/nowplaying && make test'
