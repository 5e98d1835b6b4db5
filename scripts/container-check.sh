#!/usr/bin/env bash
# The container image, built and run for real (podman + runc, no daemon).
#
#   scripts/container-check.sh            # build, then check the embedded default and the production mode
#   scripts/container-check.sh --prepare  # only make (or find) the base image; CI runs this while the tests run
#
# 1. Builds the Dockerfile as users do (`FROM node:20-bookworm-slim`), in docker format so HEALTHCHECK is kept, with
#    --network host. Without Docker Hub the base is a local stand-in (scripts/container-base.sh), made once and cached.
# 2. Embedded default (no configuration): /healthz, /readyz, the image's HEALTHCHECK, one simulator message answered,
#    PID 1 runs as `node` (uid 1000), `podman stop` (SIGTERM) ends it with exit code 0; started again, the same
#    PGlite data is there.
# 3. Production mode: the container starts before its PostgreSQL and Redis exist (as under podman-compose, which
#    ignores `condition: service_healthy`); it must log that it is waiting, then come up when this script starts a
#    private PostgreSQL and Redis on free loopback ports; the same checks and a clean SIGTERM.
#
# Everything podman and debootstrap write lives under HAOLIN_CONTAINER_DIR (default /var/tmp/haolin-container),
# outside the repository. Needs root (podman's rootful storage, debootstrap, chroot), podman, runc, debootstrap,
# Node 20 on the host, and PostgreSQL's and Redis's server binaries (as CI has them).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

CONTAINER_DIR="${HAOLIN_CONTAINER_DIR:-/var/tmp/haolin-container}"
# A tag of this run's own: two checks at once (two CI clones on one machine) share the layer cache, not the image.
IMAGE="localhost/haolin:check-$$"
NAME="haolin-check-$$"
mkdir -p "$CONTAINER_DIR"
started=$(date +%s)
say() { printf '[container-check %3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() {
  say "FAIL: $*"
  if [ -n "${CURRENT:-}" ]; then
    echo "--- last lines of $CURRENT's log ---"
    pm logs "$CURRENT" 2>&1 | tail -n 30
  fi
  exit 1
}

for tool in podman runc debootstrap node curl redis-server; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install podman runc debootstrap)"
done

# podman's configuration for this check only: runc (crun refuses this machine's cgroup layout), no systemd, and
# ulimits within what the machine allows (podman's default nofile of 1048576 is more than it may hand out).
cat >"$CONTAINER_DIR/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$CONTAINER_DIR/containers.conf"
# Without systemd podman cannot schedule periodic health checks and says so on every run/start/stop; this check runs
# the HEALTHCHECK itself (`podman healthcheck run`), so those lines are dropped.
pm() {
  podman --root "$CONTAINER_DIR/storage" --runroot "$CONTAINER_DIR/run" --storage-driver overlay "$@" \
    2> >(grep -v 'systemd connection' >&2)
}
# A container's log contains text (read whole first: `grep -q` on a pipe would cut podman off, which pipefail reports).
log_has() { # name text
  local log
  log="$(pm logs "$1" 2>&1)"
  grep -qF -- "$2" <<<"$log"
}

# shellcheck source=scripts/container-base.sh
. "$REPO/scripts/container-base.sh"

cleanup() {
  set +e
  for c in "$NAME-embedded" "$NAME-prod"; do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
  # Only this run's name (without a name, untag would drop every name the image has, another run's too); images
  # nobody has named for three days are the old builds' and go.
  pm untag "$IMAGE" "$IMAGE" >/dev/null 2>&1
  pm image prune -f --filter until=72h >/dev/null 2>&1
  [ -n "${PG_DIR:-}" ] && pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR" -m immediate stop >/dev/null 2>&1
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
WORK="$(mktemp -d "$CONTAINER_DIR/work.XXXXXX")"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# ---- build ----
# One stand-in at a time: a second check waits here and then finds it made.
exec 9>"$CONTAINER_DIR/base.lock"
flock 9
ensure_base_image
flock -u 9
if [ "${1:-}" = "--prepare" ]; then
  say "base image ready"
  exit 0
fi
say "building $IMAGE (docker format, --network host)"
if ! pm build --format docker --network host --pull=never -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log"
  fail "the image does not build"
fi
say "built"
[ "$(pm image inspect --format '{{.Config.User}}' "$IMAGE")" = "node" ] || fail "the image does not run as node"
[[ "$(pm image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")" == *healthz* ]] || fail "the image has no HEALTHCHECK"

# ---- the checks both modes share ----
wait_ready() { # name port
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    [ "$(pm inspect --format '{{.State.Running}}' "$1")" = "true" ] || break
    sleep 0.5
  done
  pm logs "$1" | tail -n 30
  fail "$1 did not become ready"
}

check_running() { # name port
  local name=$1 port=$2
  [[ "$(curl -fsS "http://127.0.0.1:$port/healthz")" == *'"ok":true'* ]] || fail "$name: /healthz"
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "$name: /readyz"
  # Up to three runs: one probe that times out on a loaded machine is what Docker's own retries (3 by default) allow.
  local tries=0
  until pm healthcheck run "$name" >/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || fail "$name: the image's HEALTHCHECK reports unhealthy (3 runs)"
    sleep 2
  done
  local uid
  uid="$(pm exec "$name" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')"
  [ "$uid" = "1000" ] || fail "$name: PID 1 runs as uid $uid, not node (1000)"
  [ "$(pm exec "$name" id -un)" = "node" ] || fail "$name: exec does not run as node"
  say "$name: /healthz, /readyz and HEALTHCHECK ok; PID 1 is node (uid 1000)"
}

sim_message() { # port text → prints the bot's first reply
  node --input-type=module -e '
    const [port, text] = process.argv.slice(1);
    const base = `http://127.0.0.1:${port}`;
    const dir = await (await fetch(`${base}/sim/directory`)).json();
    const resident = dir.people.find((p) => p.role === "resident");
    const res = await fetch(`${base}/sim/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId: dir.chats[0].id, userId: resident.id, text }),
    });
    const body = await res.json();
    if (res.status !== 200 || !body.replies?.length) { console.error(res.status, JSON.stringify(body)); process.exit(1); }
    console.log(body.replies[0].text.split("\n")[0]);
  ' "$1" "$2"
}

sim_history_has() { # port text
  node --input-type=module -e '
    const [port, text] = process.argv.slice(1);
    const base = `http://127.0.0.1:${port}`;
    const dir = await (await fetch(`${base}/sim/directory`)).json();
    const { messages } = await (await fetch(`${base}/sim/chats/${dir.chats[0].id}/messages`)).json();
    process.exit(messages.some((m) => m.text === text) ? 0 : 1);
  ' "$1" "$2"
}

shutdowns() { # name → how many shutdown lines after SIGTERM its log has (a restarted container keeps its log)
  local log
  log="$(pm logs "$1" 2>&1)"
  grep -cF '"signal":"SIGTERM"' <<<"$log" || true
}

stop_cleanly() { # name
  local before
  before="$(shutdowns "$1")"
  pm stop -t 30 "$1" >/dev/null
  local code
  code="$(pm inspect --format '{{.State.ExitCode}}' "$1")"
  [ "$code" = "0" ] || {
    pm logs "$1" | tail -n 20
    fail "$1: exit code $code after SIGTERM (137 = it had to be killed)"
  }
  [ "$(shutdowns "$1")" -gt "$before" ] || fail "$1: no shutdown line after SIGTERM"
  say "$1: SIGTERM → shut down, exit code 0"
}

# ---- embedded default: no configuration at all ----
PORT_E="$(free_port)"
say "embedded: starting (no DATABASE_URL, no REDIS_URL)"
CURRENT="$NAME-embedded"
pm run -d --name "$NAME-embedded" --network host --health-interval disable -e PORT="$PORT_E" -e HOST=127.0.0.1 "$IMAGE" >/dev/null
wait_ready "$NAME-embedded" "$PORT_E"
check_running "$NAME-embedded" "$PORT_E"
say "embedded: 报事 answered: $(sim_message "$PORT_E" "报事 容器检查：路灯不亮")"
# The 好邻 poster is drawn inside the image with the font the project installs (no system font): Chinese text must
# put ink on the picture (a missing font draws nothing at all).
poster="$(pm exec "$NAME-embedded" node --input-type=module -e '
  const { renderPoster } = await import("/app/dist/lib/poster.js");
  const sharp = (await import("sharp")).default;
  const ink = async (title) => {
    const png = renderPoster({ title, subtitle: "", footer: "", people: [] });
    const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let n = 0;
    for (let i = 0; i < data.length; i += 3) if (data[i + 1] > 150) n++;
    return { n, bytes: png.length };
  };
  const [blank, text] = [await ink(""), await ink("柳溪村好邻")];
  if (text.n - blank.n < 500) { console.error("no glyphs drawn", blank.n, text.n); process.exit(1); }
  console.log(`${text.bytes} bytes, ${text.n - blank.n} px of CJK text`);
' 2>&1)" || fail "embedded: the poster cannot be drawn in the image: $poster"
say "embedded: 好邻 poster drawn in the image ($poster)"
stop_cleanly "$NAME-embedded"
pm start "$NAME-embedded" >/dev/null
wait_ready "$NAME-embedded" "$PORT_E"
sim_history_has "$PORT_E" "报事 容器检查：路灯不亮" || fail "embedded: the data was not kept across a restart"
say "embedded: restarted; the PGlite data from the first run is there"
stop_cleanly "$NAME-embedded"

# ---- production mode: PostgreSQL and Redis come up after the bot ----
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$PG_BIN/initdb" ] || fail "PostgreSQL server binaries not found under /usr/lib/postgresql"
pg_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PORT_P="$(free_port)"
PG_PORT="$(free_port)"
REDIS_PORT="$(free_port)"
say "production: starting the bot before its PostgreSQL (:$PG_PORT) and Redis (:$REDIS_PORT) exist"
CURRENT="$NAME-prod"
pm run -d --name "$NAME-prod" --network host --health-interval disable -e PORT="$PORT_P" -e HOST=127.0.0.1 \
  -e DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" -e REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
  -e SIM_ENABLED=true -e DEMO_DATA=true "$IMAGE" >/dev/null
for _ in $(seq 1 60); do
  log_has "$NAME-prod" "waiting for PostgreSQL at 127.0.0.1:$PG_PORT" && break
  sleep 0.5
done
log_has "$NAME-prod" "waiting for PostgreSQL at 127.0.0.1:$PG_PORT" || {
  pm logs "$NAME-prod" | tail -n 20
  fail "production: no 'waiting for PostgreSQL' line"
}
say "production: the bot is waiting for PostgreSQL; starting it"
PG_DIR="$WORK/pg"
mkdir -p "$PG_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$WORK" "$PG_DIR"
pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 || fail "initdb (see $WORK/initdb.log)"
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || fail "PostgreSQL did not start"
for _ in $(seq 1 60); do
  log_has "$NAME-prod" "waiting for Redis at 127.0.0.1:$REDIS_PORT" && break
  [ "$(pm inspect --format '{{.State.Running}}' "$NAME-prod")" = "true" ] || break
  sleep 0.5
done
log_has "$NAME-prod" "PostgreSQL is reachable" || fail "production: no 'PostgreSQL is reachable' line"
log_has "$NAME-prod" "waiting for Redis at 127.0.0.1:$REDIS_PORT" || {
  pm logs "$NAME-prod" | tail -n 20
  fail "production: no 'waiting for Redis' line"
}
say "production: PostgreSQL reached; the bot is waiting for Redis; starting it"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction \
  --dir "$WORK" --logfile "$WORK/redis.log" --daemonize yes --pidfile "$WORK/redis.pid"
for _ in $(seq 1 20); do [ -s "$WORK/redis.pid" ] && break; sleep 0.25; done
REDIS_PID="$(cat "$WORK/redis.pid")"
wait_ready "$NAME-prod" "$PORT_P"
[ "$(pm inspect --format '{{.RestartCount}}' "$NAME-prod")" = "0" ] || fail "production: the container restarted"
check_running "$NAME-prod" "$PORT_P"
say "production: 报事 answered: $(sim_message "$PORT_P" "报事 容器检查：生产模式")"
stop_cleanly "$NAME-prod"

say "PASS in $(($(date +%s) - started))s"
