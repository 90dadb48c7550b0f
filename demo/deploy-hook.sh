#!/bin/sh
# Tollgate deploy hook for the demo service (demo/service.ts): installs and (re)starts it for one target, on the
# port in the target's "port" property. Configure it as a component's or an environment's deploy hook:
#   sh /path/to/repo/demo/deploy-hook.sh
# The agent runs it with TOLLGATE_* variables (action, release, target, work and artifacts dirs). Optional target
# properties: "fail_version" (that version's health check fails), "fail_file" (health fails while the file exists;
# default <work dir>/fail-health), "hook_sleep" (seconds to wait before touching the service), "host".
# Written for POSIX sh (dash).
set -eu

say() { echo "[deploy-hook] $*"; }
die() {
  echo "[deploy-hook] error: $*" >&2
  exit 1
}

: "${TOLLGATE_WORK_DIR:?is not set: this hook is run by a Tollgate agent}"
port="${TOLLGATE_PROP_PORT:-}"
[ -n "$port" ] || die "target ${TOLLGATE_TARGET_NAME:-?} has no \"port\" property"
action="${TOLLGATE_ACTION:-deploy}"
version="${TOLLGATE_RELEASE_VERSION:?is not set}"
release_id="${TOLLGATE_RELEASE_ID:?is not set}"
host="${TOLLGATE_PROP_HOST:-127.0.0.1}"
work="$TOLLGATE_WORK_DIR"
repo="$(cd "$(dirname "$0")/.." && pwd)"
node_bin="${DEMO_NODE:-node}"
pid_file="$work/service.pid"
log_file="$work/service.log"
mkdir -p "$work"

# One line per run of this hook: the end-to-end tests count them to prove no attempt was deployed twice.
echo "${TOLLGATE_JOB_ID:-} ${TOLLGATE_TARGET_NAME:-} ${TOLLGATE_ATTEMPT:-} $action $version" >>"$work/hook-runs.log"
say "$action ${TOLLGATE_RELEASE_NAME:-} $version to target ${TOLLGATE_TARGET_NAME:-} on $host:$port"

if [ -n "${TOLLGATE_PROP_HOOK_SLEEP:-}" ]; then
  say "sleeping ${TOLLGATE_PROP_HOOK_SLEEP}s before touching the service"
  sleep "$TOLLGATE_PROP_HOOK_SLEEP"
fi

# Only a pid that still belongs to the demo service is stopped: a pid can be reused after a reboot or a crash.
is_demo_service() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'demo/service.ts'
}

if [ -f "$pid_file" ]; then
  old="$(cat "$pid_file" 2>/dev/null || true)"
  if [ -n "$old" ] && is_demo_service "$old"; then
    say "stopping the previous instance (pid $old)"
    kill -TERM "$old" 2>/dev/null || true
    waited=0
    while kill -0 "$old" 2>/dev/null; do
      waited=$((waited + 1))
      if [ "$waited" -gt 100 ]; then
        say "pid $old is still running 10s after SIGTERM: sending SIGKILL"
        kill -KILL "$old" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  fi
  rm -f "$pid_file"
fi

fail_health=0
if [ -n "${TOLLGATE_PROP_FAIL_VERSION:-}" ] && [ "$TOLLGATE_PROP_FAIL_VERSION" = "$version" ]; then
  fail_health=1
  say "version $version is this target's fail_version: its health check will fail"
fi
fail_file="${TOLLGATE_PROP_FAIL_FILE:-$work/fail-health}"

# A session of its own (setsid) keeps the service out of the hook's process group, so it outlives the hook and a
# cancelled deployment's SIGTERM/SIGKILL to that group does not reach it. tsx resolves from the repo, hence the cd.
detach=""
if command -v setsid >/dev/null 2>&1; then detach="setsid"; fi
say "starting the demo service $version on $host:$port"
cd "$repo"
VERSION="$version" RELEASE_ID="$release_id" PORT="$port" HOST="$host" PID_FILE="$pid_file" \
  DEMO_FAIL_HEALTH="$fail_health" DEMO_FAIL_FILE="$fail_file" \
  $detach nohup "$node_bin" --import tsx demo/service.ts </dev/null >>"$log_file" 2>&1 &
started=$!

# The service writes its pid file once it listens; then /version must name this version and that pid.
probe() {
  "$node_bin" -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json())
      .then((b) => process.exit(b.version === process.argv[2] && String(b.pid) === process.argv[3] ? 0 : 1))
      .catch(() => process.exit(1));
  ' "http://$host:$port/version" "$version" "$1"
}
waited=0
limit=$((${DEMO_START_TIMEOUT:-30} * 10))
while :; do
  if [ -s "$pid_file" ]; then
    new="$(cat "$pid_file")"
    if probe "$new"; then break; fi
  fi
  if ! kill -0 "$started" 2>/dev/null && [ ! -s "$pid_file" ]; then
    tail -n 5 "$log_file" >&2 || true
    die "the demo service exited before it listened on $host:$port (log: $log_file)"
  fi
  waited=$((waited + 1))
  [ "$waited" -le "$limit" ] || die "the demo service did not answer on $host:$port within ${DEMO_START_TIMEOUT:-30}s (log: $log_file)"
  sleep 0.1
done
say "the demo service answers on http://$host:$port (pid $new, version $version)"

if [ -n "${TOLLGATE_ARTIFACTS_DIR:-}" ] && [ -d "$TOLLGATE_ARTIFACTS_DIR" ]; then
  cat >"$TOLLGATE_ARTIFACTS_DIR/deploy-report.txt" <<EOF
action: $action
release: ${TOLLGATE_RELEASE_NAME:-} ($release_id)
version: $version
target: ${TOLLGATE_TARGET_NAME:-} (${TOLLGATE_TARGET_ID:-})
job: ${TOLLGATE_JOB_ID:-}
attempt: ${TOLLGATE_ATTEMPT:-}
url: http://$host:$port
pid: $new
health fails: $([ "$fail_health" = 1 ] && echo "yes (fail_version)" || echo "while $fail_file exists")
finished: $(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
fi
say "done"
