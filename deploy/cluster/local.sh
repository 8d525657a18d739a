#!/usr/bin/env bash
# A cluster of OmgServers nodes on this machine: one private PostgreSQL (initdb/pg_ctl) shared by N service
# processes, everything on 127.0.0.1.
#
#   deploy/cluster/local.sh start [N]        build once, start PostgreSQL and nodes node-0..node-(N-1) (default 3),
#                                            wait until every node is ready, print the nodes and their shards
#   deploy/cluster/local.sh status           PostgreSQL, each node's process and readiness, the cluster view
#   deploy/cluster/local.sh join             start one more node (the lowest free instance id) and wait for it
#   deploy/cluster/local.sh stop [node-id]   SIGTERM one node (a graceful leave: its shards move to the others),
#                                            or, without a node id, every node and then PostgreSQL
#
# Node i: instance id i, node id node-i, API on 127.0.0.1:(CLUSTER_API_PORT + i), node-to-node listener on
# 127.0.0.1:(CLUSTER_NODE_PORT + i). Environment (defaults in brackets; `start` keeps the ports for later commands):
#   CLUSTER_STATE_DIR  [<repo>/.cluster]  PostgreSQL data, the service binaries the nodes run, logs, cluster secret
#   CLUSTER_API_PORT   [8080]             first API port
#   CLUSTER_NODE_PORT  [8180]             first node-to-node (cluster) port
#   CLUSTER_PG_PORT    [5440]             PostgreSQL port
#   CONFIGURATION      [Release]          build configuration
# Other OMGSERVERS_* variables given to `start` or `join` reach the nodes it starts and, once they are ready, every node
# started later (kept in <state>/omgservers.env), e.g. OMGSERVERS_ACTORS_LEASE_TTL=3s; see hocon/omgservers.conf.
# As root, PostgreSQL runs as the postgres user, which must be able to traverse CLUSTER_STATE_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SELF="${BASH_SOURCE[0]}"
CONFIGURATION="${CONFIGURATION:-Release}"
STATE="${CLUSTER_STATE_DIR:-$ROOT/.cluster}"
DATABASE=omgservers

say() { echo "[local.sh] $*"; }
fail() { echo "[local.sh] ERROR: $*" >&2; exit 1; }

usage() {
  sed -n '5,10p' "$HERE/local.sh" | sed 's/^# \{0,1\}//'
  exit 1
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is required but not installed"
  done
}

# --- saved settings: env var > value saved by `start` > default ------------------------------------------
setting() { # setting NAME DEFAULT
  local name="$1" default="$2" saved=""
  if [[ -n "${!name:-}" ]]; then echo "${!name}"; return; fi
  [[ -f "$STATE/cluster.env" ]] && saved="$(sed -n "s/^$name=//p" "$STATE/cluster.env" | tail -n 1)"
  echo "${saved:-$default}"
}

load_settings() {
  API_PORT="$(setting CLUSTER_API_PORT 8080)"
  NODE_PORT="$(setting CLUSTER_NODE_PORT 8180)"
  PG_PORT="$(setting CLUSTER_PG_PORT 5440)"
  local value
  for value in "$API_PORT" "$NODE_PORT" "$PG_PORT"; do
    [[ "$value" =~ ^[0-9]+$ ]] || fail "ports must be numbers, got '$value'"
  done
}

save_settings() {
  printf 'CLUSTER_API_PORT=%s\nCLUSTER_NODE_PORT=%s\nCLUSTER_PG_PORT=%s\n' "$API_PORT" "$NODE_PORT" "$PG_PORT" >"$STATE/cluster.env"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- PostgreSQL ------------------------------------------------------------------------------------------
PGROOT="$STATE/postgres"
PGDATA="$PGROOT/data"

find_pg_bin() {
  if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$newest" && -x "$newest/initdb" ]]; then echo "$newest"; return; fi
  if command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  return 1
}

# initdb and postgres refuse to run as root: as root they run as the postgres user.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_running() {
  [[ -f "$PGDATA/postmaster.pid" ]] || return 1
  local pid
  pid="$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# The port of the running PostgreSQL (line 4 of postmaster.pid), which wins over the settings.
pg_running_port() { sed -n 4p "$PGDATA/postmaster.pid"; }

pg_password() { cat "$STATE/postgres-password"; }

psql_cmd() {
  PGPASSWORD="$(pg_password)" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
}

pg_start() {
  PG_BIN="$(find_pg_bin)" || fail "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql (apt-get install -y postgresql)"
  if pg_running; then
    PG_PORT="$(pg_running_port)"
    say "PostgreSQL already runs on 127.0.0.1:$PG_PORT (data ${PGDATA#"$ROOT"/})"
    return
  fi

  mkdir -p "$PGROOT"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PGROOT"
    runuser -u postgres -- test -x "$PGROOT" \
      || fail "the postgres user cannot reach $PGROOT: run 'chmod o+x' on its parent directories, or set CLUSTER_STATE_DIR to a place like /var/tmp/omgservers-cluster"
  fi

  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    [[ -f "$STATE/postgres-password" ]] || (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$STATE/postgres-password")
    local pwfile="$PGROOT/pwfile"
    (umask 077 && pg_password >"$pwfile")
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$pwfile"
    say "creating the PostgreSQL cluster in ${PGDATA#"$ROOT"/} ($PG_BIN)"
    if ! as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PGROOT/initdb.log" 2>&1; then
      rm -rf "$PGDATA"
      as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --no-locale >"$PGROOT/initdb.log" 2>&1 \
        || { rm -f "$pwfile"; cat "$PGROOT/initdb.log"; fail "initdb failed"; }
    fi
    rm -f "$pwfile"
  fi

  port_in_use "$PG_PORT" && fail "port $PG_PORT is in use: set CLUSTER_PG_PORT to a free port"
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT (log ${PGROOT#"$ROOT"/}/server.log)"
  # No unix socket: the nodes and psql connect over TCP on loopback only.
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='' -c max_connections=300" start >/dev/null \
    || { tail -n 20 "$PGROOT/server.log"; fail "PostgreSQL did not start"; }

  if [[ "$(psql_cmd -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]]; then
    say "creating database $DATABASE"
    psql_cmd -c "CREATE DATABASE $DATABASE" >/dev/null
  fi
}

pg_stop() {
  if ! pg_running; then
    say "PostgreSQL is not running"
    return
  fi
  PG_BIN="$(find_pg_bin)" || fail "pg_ctl not found"
  say "stopping PostgreSQL"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
}

# --- nodes -----------------------------------------------------------------------------------------------
BIN="$STATE/bin"
node_dir() { echo "$STATE/nodes/node-$1"; }

node_field() { # node_field INDEX NAME: a value of nodes/node-i/node.env
  local file
  file="$(node_dir "$1")/node.env"
  [[ -f "$file" ]] && sed -n "s/^$2=//p" "$file" | tail -n 1
}

# The PID of node i if its process runs (and is our service, not a reused PID).
node_pid() {
  local pid
  pid="$(node_field "$1" PID)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'OmgServers.Service.dll' || return 1
  echo "$pid"
}

known_nodes() { # indexes of every node directory, in order
  local dir
  for dir in "$STATE"/nodes/node-*; do
    [[ -d "$dir" ]] && echo "${dir##*/node-}"
  done | sort -n
}

running_nodes() {
  local i
  for i in $(known_nodes); do
    node_pid "$i" >/dev/null && echo "$i"
  done
  return 0
}

api_url() { echo "http://127.0.0.1:$(node_field "$1" API_PORT)"; }

node_ready() { curl -fsS -m 2 -o /dev/null "$(api_url "$1")/q/health/ready" 2>/dev/null; }

build() {
  require dotnet
  say "building src/OmgServers.Service ($CONFIGURATION), log ${STATE#"$ROOT"/}/build.log"
  dotnet build "$ROOT/src/OmgServers.Service" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly >"$STATE/build.log" 2>&1 \
    || { tail -n 20 "$STATE/build.log"; fail "build failed, see $STATE/build.log"; }
  # The nodes run a copy, so that rebuilding the checkout does not change the binaries under running nodes.
  rm -rf "$BIN"
  cp -r "$ROOT/src/OmgServers.Service/bin/$CONFIGURATION/net10.0" "$BIN"
}

# The variables start_node sets itself; the rest of OMGSERVERS_* is the user's and is remembered.
MANAGED_VARIABLES=" OMGSERVERS_SERVER_INSTANCE_ID OMGSERVERS_SERVER_HOST OMGSERVERS_SERVER_PORT OMGSERVERS_SERVER_URI \
OMGSERVERS_ACTORS_NODE_ID OMGSERVERS_ACTORS_CLUSTER_PORT OMGSERVERS_ACTORS_CLUSTER_BIND_ADDRESS OMGSERVERS_ACTORS_NODE_ADDRESS \
OMGSERVERS_ACTORS_CLUSTER_SECRET OMGSERVERS_DATABASE_URL OMGSERVERS_DATABASE_USERNAME OMGSERVERS_DATABASE_PASSWORD "

# Keeps the OMGSERVERS_* variables of this call (after its nodes became ready) in <state>/omgservers.env, for every
# node started from now on: the shard count, for one, must stay the same for the life of the database. A variable
# given to a later call wins over the kept value. Delete the file to forget them.
remember_variables() {
  local file="$STATE/omgservers.env" name
  for name in $(compgen -e | grep '^OMGSERVERS_' || true); do
    [[ "$MANAGED_VARIABLES" == *" $name "* ]] && continue
    (
      umask 077
      { grep -v "^$name=" "$file" 2>/dev/null || true; printf '%s=%q\n' "$name" "${!name}"; } >"$file.new"
    )
    mv "$file.new" "$file"
    say "every node started from now on gets $name (kept in ${file#"$ROOT"/})"
  done
}

# Exports the kept variables that the environment does not set (inside start_node's subshell).
apply_remembered_variables() {
  local file="$STATE/omgservers.env" line name
  [[ -f "$file" ]] || return 0
  while IFS= read -r line; do
    name="${line%%=*}"
    [[ "$name" =~ ^OMGSERVERS_[A-Z0-9_]+$ && -z "${!name+set}" ]] || continue
    eval "export $line" # NAME=<value quoted with printf %q by remember_variables>
  done <"$file"
}

secret() {
  if [[ ! -s "$STATE/cluster-secret" ]]; then
    say "generating the cluster secret (${STATE#"$ROOT"/}/cluster-secret)"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$STATE/cluster-secret")
  fi
  cat "$STATE/cluster-secret"
}

start_node() { # start_node INDEX
  local i="$1" dir api node
  dir="$(node_dir "$i")"
  api=$((API_PORT + i))
  node=$((NODE_PORT + i))
  port_in_use "$api" && fail "port $api (API of node-$i) is in use: set CLUSTER_API_PORT"
  port_in_use "$node" && fail "port $node (cluster port of node-$i) is in use: set CLUSTER_NODE_PORT"
  mkdir -p "$dir"
  say "starting node-$i: API http://127.0.0.1:$api, cluster port $node, log ${dir#"$ROOT"/}/node.log"
  local cluster_secret
  cluster_secret="$(secret)"
  local log_from=1
  [[ -f "$dir/node.log" ]] && log_from=$(($(stat -c %s "$dir/node.log") + 1))
  (
    cd "$dir"
    apply_remembered_variables
    export OMGSERVERS_SERVER_INSTANCE_ID="$i"
    export OMGSERVERS_SERVER_HOST=127.0.0.1
    export OMGSERVERS_SERVER_PORT="$api"
    export OMGSERVERS_SERVER_URI="http://127.0.0.1:$api"
    export OMGSERVERS_ACTORS_NODE_ID="node-$i"
    export OMGSERVERS_ACTORS_CLUSTER_PORT="$node"
    export OMGSERVERS_ACTORS_CLUSTER_BIND_ADDRESS=127.0.0.1
    export OMGSERVERS_ACTORS_NODE_ADDRESS="http://127.0.0.1:$node"
    export OMGSERVERS_ACTORS_CLUSTER_SECRET="$cluster_secret"
    export OMGSERVERS_DATABASE_URL="postgresql://127.0.0.1:$PG_PORT/$DATABASE"
    export OMGSERVERS_DATABASE_USERNAME=postgres
    OMGSERVERS_DATABASE_PASSWORD="$(pg_password)"
    export OMGSERVERS_DATABASE_PASSWORD
    echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) start" >>node.log
    exec nohup dotnet "$BIN/OmgServers.Service.dll" </dev/null >>node.log 2>&1
  ) &
  printf 'PID=%s\nAPI_PORT=%s\nNODE_PORT=%s\nLOG_FROM=%s\n' "$!" "$api" "$node" "$log_from" >"$dir/node.env"
}

wait_ready() { # wait_ready INDEX...
  local i deadline=$((SECONDS + 120))
  for i in "$@"; do
    local log from critical
    log="$(node_dir "$i")/node.log"
    until node_ready "$i"; do
      node_pid "$i" >/dev/null || { tail -n 20 "$log"; fail "node-$i exited during start, see $log"; }
      # A critical error is final (for example a shard count that differs from the database's): stop the node.
      from="$(node_field "$i" LOG_FROM || true)"
      if critical="$(grep -m 1 -E ' crit: |"LogLevel":"Critical"' < <(tail -c +"${from:-1}" "$log"))"; then
        echo "${critical:0:400}"
        # SIGTERM once the host listens: a stop while it is still starting ends in an unhandled cancellation.
        local pid listening=$((SECONDS + 10))
        until curl -fsS -m 1 -o /dev/null "$(api_url "$i")/q/health/live" 2>/dev/null || ((SECONDS >= listening)); do sleep 0.1; done
        pid="$(node_pid "$i")" && kill -TERM "$pid" && wait_exit "$pid" "node-$i"
        fail "node-$i cannot start (the line above); see $log. Other nodes keep running ('$SELF stop' stops everything)"
      fi
      ((SECONDS < deadline)) || fail "node-$i was not ready within 120 s, see $(node_dir "$i")/node.log"
      sleep 0.2
    done
    say "node-$i is ready"
  done
}

# GET /q/cluster from the first node that answers.
cluster_view() {
  local i
  for i in $(running_nodes); do
    curl -fsS -m 5 "$(api_url "$i")/q/cluster" 2>/dev/null && return 0
  done
  return 1
}

# True when every running node is ready, no shard is unowned and every running node holds shards: the state
# after a rebalance.
balanced() {
  local i view="" running
  running="$(running_nodes | sed 's/^/node-/' | jq -R . | jq -sc .)"
  for i in $(running_nodes); do
    view="$(curl -fsS -m 5 "$(api_url "$i")/q/cluster" 2>/dev/null)" || return 1
    jq -e '.ready' <<<"$view" >/dev/null || return 1
  done
  [[ -n "$view" ]] && jq -e --argjson running "$running" '
    .unowned_shards == 0 and
    ([.nodes[] | select(.state == "up" and .shard_count > 0) | .node_id] as $holding
     | all($running[]; . as $n | $holding | any(. == $n)))' <<<"$view" >/dev/null
}

# Waits up to 30 s for balanced. Not an error when it takes longer: the table then shows where the cluster is.
wait_balanced() {
  local deadline=$((SECONDS + 30))
  until balanced; do
    if ((SECONDS >= deadline)); then
      say "the shards are not balanced yet (see the table)"
      return 0
    fi
    sleep 0.3
  done
}

print_table() {
  local view
  view="$(cluster_view)" || { say "no node answers /q/cluster"; return 1; }
  printf '%-10s %-8s %6s  %-8s %-23s %-23s %s\n' NODE STATE SHARDS PID API "CLUSTER ADDRESS" LOG
  local node_id state shards address i pid api log
  while IFS=$'\t' read -r node_id state shards address; do
    i="${node_id#node-}"
    pid="-"; api="-"; log="-"
    if [[ "$node_id" == node-* && -d "$(node_dir "$i")" ]]; then
      if [[ "$state" != dead ]]; then pid="$(node_pid "$i" || echo -)"; fi
      api="$(api_url "$i")"
      log="$(node_dir "$i")/node.log"
      log="${log#"$ROOT"/}"
    fi
    printf '%-10s %-8s %6s  %-8s %-23s %-23s %s\n' "$node_id" "$state" "$shards" "$pid" "$api" "$address" "$log"
  done < <(jq -r '.nodes | sort_by(.node_id | ltrimstr("node-") | tonumber? // 0) | .[] | [.node_id, .state, .shard_count, .address] | @tsv' <<<"$view")
  jq -r '"\(.shard_count) shards, \(.unowned_shards) unowned, \(if .ready then "ready" else "not ready" end) (as seen by \(.self | sub("/.*$"; "")))"' <<<"$view"
}

# --- commands --------------------------------------------------------------------------------------------
cmd_start() {
  local count="${1:-3}"
  [[ "$count" =~ ^[1-9][0-9]*$ ]] || usage
  require curl jq
  mkdir -p "$STATE"
  [[ $EUID -eq 0 ]] && chmod o+x "$STATE" # the postgres user traverses it to its data directory
  load_settings

  local running
  running="$(running_nodes)"
  if [[ -z "$running" ]]; then
    build
  else
    say "nodes already run ($(sed 's/^/node-/' <<<"$running" | paste -sd ' ')): keeping their binaries, no build"
    [[ -f "$BIN/OmgServers.Service.dll" ]] || fail "$BIN/OmgServers.Service.dll is missing"
  fi
  pg_start
  save_settings

  local i
  for ((i = 0; i < count; i++)); do
    if node_pid "$i" >/dev/null; then
      say "node-$i already runs"
    else
      start_node "$i"
    fi
  done
  # shellcheck disable=SC2046 # one index per word
  wait_ready $( (seq 0 $((count - 1)); running_nodes) | sort -nu)
  remember_variables
  wait_balanced
  echo
  print_table
  echo
  say "cluster view: ./omgserversctl.sh cluster show --url http://127.0.0.1:$API_PORT"
  say "add a node: $SELF join;  stop one: $SELF stop node-<i>;  stop everything: $SELF stop"
}

cmd_status() {
  require curl jq
  load_settings
  local status=0
  if pg_running; then
    say "PostgreSQL runs on 127.0.0.1:$(pg_running_port) (data ${PGDATA#"$ROOT"/})"
  else
    say "PostgreSQL is not running"
    status=3
  fi
  local i pid any=0
  for i in $(known_nodes); do
    if pid="$(node_pid "$i")"; then
      any=1
      if node_ready "$i"; then
        say "node-$i runs, PID=$pid, API=$(api_url "$i"), READY=UP"
      else
        say "node-$i runs, PID=$pid, API=$(api_url "$i"), READY=DOWN"
      fi
    else
      say "node-$i is stopped"
    fi
  done
  if [[ $any -eq 0 ]]; then
    say "no node runs (start: $SELF start)"
    return 3
  fi
  echo
  print_table
  return "$status"
}

cmd_join() {
  require curl jq
  load_settings
  [[ -f "$BIN/OmgServers.Service.dll" ]] || fail "no cluster here yet: run '$SELF start' first"
  pg_running || fail "PostgreSQL is not running: run '$SELF start' first"
  PG_PORT="$(pg_running_port)"
  local i=0
  while node_pid "$i" >/dev/null; do i=$((i + 1)); done
  start_node "$i"
  wait_ready "$i"
  remember_variables
  wait_balanced
  echo
  print_table
}

cmd_stop() {
  local target="${1:-}"
  load_settings
  if [[ -n "$target" ]]; then
    local i="${target#node-}"
    [[ "$i" =~ ^[0-9]+$ ]] || fail "unknown node '$target' (node ids look like node-1)"
    [[ -d "$(node_dir "$i")" ]] || fail "unknown node node-$i (known: $(known_nodes | sed 's/^/node-/' | paste -sd ' '))"
    local pid
    if ! pid="$(node_pid "$i")"; then
      say "node-$i is not running"
      return 0
    fi
    say "stopping node-$i (SIGTERM, PID=$pid): it hands its shards to the other nodes"
    kill -TERM "$pid"
    wait_exit "$pid" "node-$i"
    if [[ -n "$(running_nodes)" ]]; then
      wait_balanced
      echo
      print_table
    fi
    return 0
  fi

  local i pid pids=() names=()
  for i in $(running_nodes); do
    pid="$(node_pid "$i")" || continue
    say "stopping node-$i (SIGTERM, PID=$pid)"
    kill -TERM "$pid"
    pids+=("$pid")
    names+=("node-$i")
  done
  for i in "${!pids[@]}"; do
    wait_exit "${pids[$i]}" "${names[$i]}"
  done
  pg_stop
  say "stopped; state, data and logs stay in ${STATE#"$ROOT"/} (delete it to start from scratch)"
}

wait_exit() { # wait_exit PID NAME
  local deadline=$((SECONDS + 60))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$2 (PID=$1) did not stop within 60 s"
    sleep 0.2
  done
  say "$2 stopped"
}

main() {
  local command="${1:-}"
  shift || true
  case "$command" in
    start) cmd_start "$@" ;;
    status) cmd_status ;;
    join) cmd_join ;;
    stop) cmd_stop "$@" ;;
    *) usage ;;
  esac
}

main "$@"
