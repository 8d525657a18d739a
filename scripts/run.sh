#!/usr/bin/env bash
# Builds and starts the backend with the embedded defaults: PostgreSQL in ./.data (kept between runs),
# HTTP on port 8080 (OMGSERVERS_SERVER_PORT). Once it is ready, deploys the sample game
# (samples/OmgServers.Samples.Lobby, through scripts/deploy-sample.sh, idempotent) and prints how to connect a player.
# Any OMGSERVERS_* variable overrides a setting (see hocon/omgservers.conf); arguments go to the server (for example
# --config my.conf). Environment: CONFIGURATION (Release), DEPLOY_SAMPLE=0 to start the backend alone.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONFIGURATION="${CONFIGURATION:-Release}"
PORT="${OMGSERVERS_SERVER_PORT:-8080}"
DEPLOY_SAMPLE="${DEPLOY_SAMPLE:-1}"

say() { echo "[run.sh] $*"; }
# missing_tools: the tools of omgserversctl.sh (it deploys the sample) that are not installed.
missing_tools() { local tool; for tool in curl jq; do command -v "$tool" >/dev/null || echo "$tool"; done; }

cd "$ROOT"
DATA_DIR="$(realpath -m "${OMGSERVERS_DATA_DIR:-.data}")"
SAMPLE_DLL="$ROOT/samples/OmgServers.Samples.Lobby/bin/$CONFIGURATION/net10.0/OmgServers.Samples.Lobby.dll"

say "building src/OmgServers.Service ($CONFIGURATION)"
dotnet build src/OmgServers.Service -c "$CONFIGURATION" -nologo -clp:ErrorsOnly
if [[ "$DEPLOY_SAMPLE" != 0 ]]; then
  say "building samples/OmgServers.Samples.Lobby ($CONFIGURATION)"
  dotnet build samples/OmgServers.Samples.Lobby -c "$CONFIGURATION" -nologo -clp:ErrorsOnly

  # The sample's image, process:sample-lobby, runs the sample as a local process (unless images are configured).
  if [[ -n "$(compgen -e OMGSERVERS_RUNTIMES_PROCESS_IMAGES_ || true)" ]]; then
    say "runtime images: your OMGSERVERS_RUNTIMES_PROCESS_IMAGES_* (the sample needs one named sample-lobby)"
  else
    export OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__NAME=sample-lobby
    export OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__COMMAND=dotnet
    export OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__ARGUMENTS="$SAMPLE_DLL"
    say "runtime image process:sample-lobby = dotnet ${SAMPLE_DLL#"$ROOT"/}"
  fi
  # curl and jq drive the deployment (omgserversctl.sh); as root, install them as the server does PostgreSQL.
  missing="$(missing_tools | xargs)"
  if [[ -n "$missing" && $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing $missing (apt-get), needed to deploy the sample game"
    # shellcheck disable=SC2086
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } </dev/null >/dev/null || true
  fi
fi

if [[ -z "${OMGSERVERS_DATABASE_URL:-}" ]]; then
  say "database: embedded PostgreSQL in $DATA_DIR (set OMGSERVERS_DATABASE_URL to use your own)"
else
  say "database: OMGSERVERS_DATABASE_URL"
fi
say "starting the server (logs follow)"
dotnet "src/OmgServers.Service/bin/$CONFIGURATION/net10.0/OmgServers.Service.dll" "$@" &
SERVER_PID=$!
STOPPING=""
trap 'STOPPING=1; kill -TERM "$SERVER_PID" 2>/dev/null || true' INT TERM

# ready: waits for /q/health/ready (false when the server exited or is stopping first, or curl is missing).
ready() {
  command -v curl >/dev/null || return 1
  while [[ -z "$STOPPING" ]] && kill -0 "$SERVER_PID" 2>/dev/null; do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

if ready; then
  say "OmgServers is ready: http://localhost:$PORT  (health: http://localhost:$PORT/q/health, API docs: http://localhost:$PORT/q/swagger-ui)"
  if [[ -z "${OMGSERVERS_DATABASE_URL:-}" ]]; then
    say "default users: passwords in $DATA_DIR/bootstrap/<role>.password (admin, support, ...); try: ./omgserversctl.sh environment useLocal"
  fi
  if [[ "$DEPLOY_SAMPLE" != 0 ]]; then
    missing="$(missing_tools | xargs)"
    retry="OMGSERVERS_DATA_DIR=$DATA_DIR scripts/deploy-sample.sh http://localhost:$PORT"
    if [[ -n "$missing" ]]; then
      say "the sample game was not deployed: install $missing, then run: $retry"
    elif ! OMGSERVERS_DATA_DIR="$DATA_DIR" "$HERE/deploy-sample.sh" "http://localhost:$PORT" && [[ -z "$STOPPING" ]]; then
      # Its own process: a failure is reported and leaves the server running.
      say "the sample game was not (fully) deployed (see above); the server keeps running. Retry: $retry"
    fi
  fi
  [[ -n "$STOPPING" ]] || say "stop it with Ctrl-C, or: kill -TERM $SERVER_PID"
elif kill -0 "$SERVER_PID" 2>/dev/null; then
  say "listening on http://localhost:$PORT once ready; stop it with Ctrl-C, or: kill -TERM $SERVER_PID"
  [[ "$DEPLOY_SAMPLE" == 0 ]] || say "the sample game was not deployed: install curl and jq, then run: OMGSERVERS_DATA_DIR=$DATA_DIR scripts/deploy-sample.sh http://localhost:$PORT"
fi

# Wait for the server; a signal to this script is forwarded above and the loop keeps waiting for the graceful exit.
set +e
while true; do
  wait "$SERVER_PID"
  status=$?
  kill -0 "$SERVER_PID" 2>/dev/null || break
done
say "server exited with code $status"
exit "$status"
