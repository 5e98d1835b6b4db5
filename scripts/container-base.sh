#!/usr/bin/env bash
# A local stand-in for the `node:20-bookworm-slim` base image, for machines that cannot pull from Docker Hub.
#
# Debian bookworm (debootstrap --variant=minbase) plus this host's Node 20 and npm, its CA certificates (npm needs
# them to reach the registry from inside a build when the registry sits behind an intercepting proxy), and the
# `node` user (uid/gid 1000) the official image has. It is imported under the official name, so the Dockerfile is
# built exactly as users build it against Docker Hub. Made once and cached in podman's storage; a second run finds it.
#
# Sourced by scripts/container-check.sh (which defines `pm`, podman with the check's own storage).
set -euo pipefail

BASE_IMAGE="node:20-bookworm-slim"
# Bumped when what goes into the stand-in changes, so a cached one from an older recipe is rebuilt.
BASE_RECIPE="1"

base_image_ready() {
  [ "$(pm image inspect --format '{{index .Labels "haolin.stand-in"}}' "$BASE_IMAGE" 2>/dev/null || true)" = "$BASE_RECIPE" ]
}

make_base_image() {
  local work="$CONTAINER_DIR/base"
  local rootfs="$work/rootfs"
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$node_major" != "20" ]; then
    echo "container-base: the host's Node is $(node -v), the stand-in for $BASE_IMAGE needs Node 20" >&2
    return 1
  fi
  # debootstrap's output is kept (outside the repository) so a rebuilt stand-in does not download Debian again.
  if [ ! -x "$work/debootstrap.done" ]; then
    rm -rf "$rootfs"
    mkdir -p "$work"
    echo "container-base: debootstrap --variant=minbase bookworm (once; about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; return 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    printf '#!/bin/sh\n' >"$work/debootstrap.done" && chmod +x "$work/debootstrap.done"
  fi

  # Node and npm from the host, where the official image has them (/usr/local), with the same command names.
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules"
  cp -f "$(readlink -f "$(command -v node)")" "$rootfs/usr/local/bin/node"
  local npm_dir
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  rm -rf "$rootfs/usr/local/lib/node_modules/npm"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The host's trust store, including any local CA, as the single bundle Node and npm read.
  mkdir -p "$rootfs/etc/ssl/certs"
  cp -f /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # The official image's unprivileged user.
  if ! grep -q '^node:' "$rootfs/etc/passwd"; then
    chroot "$rootfs" groupadd --gid 1000 node
    chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  fi

  echo "container-base: importing the stand-in as $BASE_IMAGE"
  tar -C "$rootfs" -c . | pm import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_VERSION='"$(node -p 'process.versions.node')" \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt' \
    --change 'LABEL haolin.stand-in='"$BASE_RECIPE" \
    --change 'CMD ["node"]' \
    - "$BASE_IMAGE" >/dev/null
}

ensure_base_image() {
  if base_image_ready; then
    echo "container-base: $BASE_IMAGE stand-in found in the cache"
  elif pm image exists "$BASE_IMAGE" && [ -z "$(pm image inspect --format '{{index .Labels "haolin.stand-in"}}' "$BASE_IMAGE")" ]; then
    echo "container-base: using the $BASE_IMAGE already in storage (not a stand-in)"
  else
    make_base_image
  fi
}
