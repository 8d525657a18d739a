#!/usr/bin/env bash
# omgserversctl.sh: the operator CLI (bash, curl, jq), after the upstream tool (contract section 8).
# State lives in ${OMGSERVERSCTL_DIRECTORY:-.omgserversctl} under the current directory: temp/, versions/,
# environment (append-only `export OMGSERVERSCTL_<NAME>=<value>` lines, sourced before each command) and logs.
# This version has `help`, the `embedded` commands and the `cluster` commands; the admin/support/developer commands come later.
set -euo pipefail
CTL_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CTL_VERSION="OMGSERVERS ctl, v1.0.0"
CTL_DIRECTORY="${OMGSERVERSCTL_DIRECTORY:-.omgserversctl}"

# --- state --------------------------------------------------------------------------------------------
init_state() {
  mkdir -p "$CTL_DIRECTORY/temp" "$CTL_DIRECTORY/versions"
  touch "$CTL_DIRECTORY/environment" "$CTL_DIRECTORY/logs"
  # shellcheck disable=SC1091
  source "$CTL_DIRECTORY/environment"
}

# store NAME VALUE: appends to the environment file (the last assignment wins) and exports it now.
store() {
  printf "export OMGSERVERSCTL_%s=%q\n" "$1" "$2" >>"$CTL_DIRECTORY/environment"
  export "OMGSERVERSCTL_$1=$2"
}

# say TEXT: "<date> <environment> <text>" like the upstream tool.
say() { echo "$(date) ${OMGSERVERSCTL_ENVIRONMENT_NAME:-} $*"; }

fail() {
  echo "ERROR: $*" >&2
  exit 1
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is required but not installed"
  done
}

# --- help ---------------------------------------------------------------------------------------------
help_embedded() {
  cat <<'TEXT'
 ./omgserversctl.sh embedded start [port]   build and start the server with embedded PostgreSQL (data in .data/), wait until ready
 ./omgserversctl.sh embedded stop           stop it gracefully (SIGTERM), waiting for the exit
 ./omgserversctl.sh embedded status         whether it runs, and its readiness (/q/health/ready)
TEXT
}

help_cluster() {
  cat <<'TEXT'
 ./omgserversctl.sh cluster show [--url URL]               the nodes (state, shards, address, heartbeat age), unowned shards, readiness
 ./omgserversctl.sh cluster drain <node-id> [--url URL]    move the node's shards to the other nodes; it keeps running (before maintenance)
 ./omgserversctl.sh cluster undrain <node-id> [--url URL]  let the node take shards again
   URL: the API of any node, called from that node's machine (the endpoints answer loopback callers only);
   default $OMGSERVERSCTL_CLUSTER_URL, else http://127.0.0.1:8080
TEXT
}

help_all() {
  echo "$CTL_VERSION"
  echo " ./omgserversctl.sh help [topic]   topics: embedded, cluster"
  help_embedded
  help_cluster
}

cmd_help() {
  case "${1:-}" in
    "") help_all ;;
    embedded) help_embedded ;;
    cluster) help_cluster ;;
    *) help_all; exit 1 ;;
  esac
}

# --- embedded: the server of this checkout, started in the background ----------------------------------
EMBEDDED_DIRECTORY="$CTL_DIRECTORY/embedded"
EMBEDDED_PID_FILE="$EMBEDDED_DIRECTORY/server.pid"
EMBEDDED_LOG="$EMBEDDED_DIRECTORY/server.log"

embedded_pid() {
  [[ -f "$EMBEDDED_PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$EMBEDDED_PID_FILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

embedded_url() { echo "http://localhost:${OMGSERVERSCTL_EMBEDDED_PORT:-8080}"; }

readiness() { curl -s -S -m 5 "$(embedded_url)/q/health/ready" 2>/dev/null | jq -r '.status' 2>/dev/null || echo "UNREACHABLE"; }

embedded_start() {
  require dotnet curl jq
  local port="${1:-${OMGSERVERS_SERVER_PORT:-8080}}"
  [[ "$port" =~ ^[0-9]+$ ]] || { help_embedded; exit 1; }
  if pid="$(embedded_pid)"; then
    say "Embedded server already runs, PID=$pid, SERVICE_URL=$(embedded_url)"
    return
  fi

  mkdir -p "$EMBEDDED_DIRECTORY"
  local configuration="${CONFIGURATION:-Release}"
  say "Building src/OmgServers.Service ($configuration)"
  dotnet build "$CTL_HOME/src/OmgServers.Service" -c "$configuration" -nologo -clp:ErrorsOnly >"$EMBEDDED_DIRECTORY/build.log" 2>&1 \
    || { tail -n 20 "$EMBEDDED_DIRECTORY/build.log"; fail "Build failed, see $EMBEDDED_DIRECTORY/build.log"; }

  local state log pid_file
  state="$(cd "$EMBEDDED_DIRECTORY" && pwd)"
  log="$state/server.log"
  pid_file="$state/server.pid"
  say "Starting the embedded server on port $port (data in $CTL_HOME/.data, log $EMBEDDED_LOG)"
  (
    cd "$CTL_HOME"
    OMGSERVERS_SERVER_PORT="$port" nohup dotnet "src/OmgServers.Service/bin/$configuration/net10.0/OmgServers.Service.dll" \
      </dev/null >>"$log" 2>&1 &
    echo $! >"$pid_file"
  )
  store EMBEDDED_PORT "$port"

  local deadline=$((SECONDS + 120))
  until [[ "$(readiness)" == "UP" ]]; do
    embedded_pid >/dev/null || { tail -n 20 "$EMBEDDED_LOG"; fail "The server exited during start, see $EMBEDDED_LOG"; }
    ((SECONDS < deadline)) || fail "The server was not ready within 120 s, see $EMBEDDED_LOG"
    sleep 0.2
  done

  store ENVIRONMENT_NAME embedded
  store SERVICE_URL "$(embedded_url)"
  say "Embedded server is ready, PID=$(cat "$EMBEDDED_PID_FILE"), SERVICE_URL=$OMGSERVERSCTL_SERVICE_URL"
}

embedded_stop() {
  local pid
  if ! pid="$(embedded_pid)"; then
    rm -f "$EMBEDDED_PID_FILE"
    say "Embedded server is not running"
    return
  fi

  say "Stopping the embedded server, PID=$pid"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "The server did not stop within 60 s, PID=$pid"
    sleep 0.2
  done
  rm -f "$EMBEDDED_PID_FILE"
  say "Embedded server stopped"
}

embedded_status() {
  require curl jq
  local pid
  if pid="$(embedded_pid)"; then
    say "Embedded server runs, PID=$pid, SERVICE_URL=$(embedded_url), READY=$(readiness)"
  else
    say "Embedded server is not running"
    return 3
  fi
}

cmd_embedded() {
  local action="${1:-}"
  shift || true
  case "$action" in
    start) embedded_start "$@" ;;
    stop) embedded_stop ;;
    status) embedded_status ;;
    *) help_embedded; exit 1 ;;
  esac
}

# --- cluster: the operator view of a cluster (GET /q/cluster, POST /q/cluster/nodes/{id}/drain|undrain) ----
CLUSTER_URL=""

# cluster_request METHOD PATH NAME: calls the node at CLUSTER_URL, appends the call to `logs` and keeps the body in
# temp/NAME.json (contract 8.3). An HTTP status >= 400 or no answer is an error.
cluster_request() {
  local method="$1" path="$2" name="$3"
  local endpoint="${CLUSTER_URL%/}$path"
  CLUSTER_RESPONSE="$CTL_DIRECTORY/temp/$name.json"
  local code errors="$CTL_DIRECTORY/temp/$name.curl"
  rm -f "$CLUSTER_RESPONSE"
  code="$(curl -s -S -m 10 -X "$method" -o "$CLUSTER_RESPONSE" -w "%{http_code}" "$endpoint" 2>"$errors")" || true
  {
    echo
    echo "$method $endpoint"
    cat "$CLUSTER_RESPONSE" "$errors" 2>/dev/null || true
    echo
  } >>"$CTL_DIRECTORY/logs"
  rm -f "$errors"
  if [[ ! "$code" =~ ^[0-9]{3}$ || "$code" -ge 400 || "$code" -lt 200 ]]; then
    echo "ERROR: Operation was failed, HTTP_CODE=${code:-000}, $endpoint" >&2
    tail -n 2 "$CTL_DIRECTORY/logs" >&2
    exit 1
  fi
}

cluster_show() {
  cluster_request GET /q/cluster cluster_show
  local body="$CLUSTER_RESPONSE"
  printf '%-12s %-8s %6s  %-28s %s\n' NODE STATE SHARDS ADDRESS HEARTBEAT
  local node state shards address age
  while IFS=$'\t' read -r node state shards address age; do
    printf '%-12s %-8s %6s  %-28s %s\n' "$node" "$state" "$shards" "$address" "$age"
  done < <(jq -r '
    # ISO-8601 UTC with milliseconds to epoch seconds (fromdateiso8601 takes whole seconds only).
    def epoch: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | (.s + "Z" | fromdateiso8601) + ("0." + (.f // "0") | tonumber);
    def age: if . < 0 then 0 else . end
      | if . < 120 then "\((. * 10 | floor) / 10)s ago"
        elif . < 7200 then "\(. / 60 | floor)m ago"
        else "\(. / 3600 | floor)h ago" end;
    .self as $self
    | .nodes | sort_by(.node_id, (.state != "up"), .started) | .[]
    | [(.node_id + (if .owner == $self then " *" else "" end)), .state, .shard_count, .address, (now - (.heartbeat | epoch) | age)]
    | @tsv' "$body")
  jq -r '"Shards \(.shard_count), unowned \(.unowned_shards), \(if .ready then "ready" else "NOT ready" end) (* = \(.self | sub("/.*$"; "")), the node that answered)"' "$body"
  say "Cluster was shown, UNOWNED_SHARDS=$(jq -r .unowned_shards "$body"), READY=$(jq -r .ready "$body")"
}

cluster_set_state() { # cluster_set_state drain|undrain NODE_ID
  local action="$1" node="$2" encoded
  encoded="$(jq -rn --arg v "$node" '$v | @uri')"
  cluster_request POST "/q/cluster/nodes/$encoded/$action" "cluster_${action}_$encoded"
  local state
  state="$(jq -r '.state // empty' "$CLUSTER_RESPONSE")"
  [[ -n "$state" ]] || fail "STATE was not received"
  if [[ "$action" == drain ]]; then
    say "Node is draining, its shards move to the other nodes (follow with: cluster show), NODE_ID=$node, STATE=$state"
  else
    say "Node was undrained, it takes shards again, NODE_ID=$node, STATE=$state"
  fi
}

cmd_cluster() {
  require curl jq
  local args=() url="${OMGSERVERSCTL_CLUSTER_URL:-http://127.0.0.1:8080}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --url) [[ $# -ge 2 ]] || { help_cluster; exit 1; }; url="$2"; shift 2 ;;
      --url=*) url="${1#--url=}"; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  CLUSTER_URL="$url"
  set -- "${args[@]}"
  local action="${1:-}"
  case "$action" in
    show) [[ $# -eq 1 ]] || { help_cluster; exit 1; }; cluster_show ;;
    drain|undrain) [[ $# -eq 2 && -n "$2" ]] || { help_cluster; exit 1; }; cluster_set_state "$action" "$2" ;;
    *) help_cluster; exit 1 ;;
  esac
}

# --- dispatch -----------------------------------------------------------------------------------------
main() {
  init_state
  local command="${1:-help}"
  shift || true
  case "$command" in
    help) cmd_help "$@" ;;
    embedded) cmd_embedded "$@" ;;
    cluster) cmd_cluster "$@" ;;
    *) help_all; exit 1 ;;
  esac
}

main "$@"
