#!/usr/bin/env bash
# Builds and starts the backend with the embedded defaults: PostgreSQL in ./.data (kept between runs),
# HTTP on port 8080 (OMGSERVERS_SERVER_PORT). Any OMGSERVERS_* variable overrides a setting (see hocon/omgservers.conf);
# arguments go to the server (for example --config my.conf).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONFIGURATION="${CONFIGURATION:-Release}"
PORT="${OMGSERVERS_SERVER_PORT:-8080}"

say() { echo "[run.sh] $*"; }

cd "$ROOT"
say "building src/OmgServers.Service ($CONFIGURATION)"
dotnet build src/OmgServers.Service -c "$CONFIGURATION" -nologo -clp:ErrorsOnly

if [[ -z "${OMGSERVERS_DATABASE_URL:-}" ]]; then
  say "database: embedded PostgreSQL in ${OMGSERVERS_DATA_DIR:-$ROOT/.data} (set OMGSERVERS_DATABASE_URL to use your own)"
else
  say "database: OMGSERVERS_DATABASE_URL"
fi
say "starting the server (logs follow)"
dotnet "src/OmgServers.Service/bin/$CONFIGURATION/net10.0/OmgServers.Service.dll" "$@" &
SERVER_PID=$!
trap 'kill -TERM "$SERVER_PID" 2>/dev/null || true' INT TERM

if command -v curl >/dev/null; then
  for _ in $(seq 1 1200); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" 2>/dev/null; then
      say "OmgServers is ready: http://localhost:$PORT  (health: http://localhost:$PORT/q/health, API docs: http://localhost:$PORT/q/swagger-ui)"
      if [[ -z "${OMGSERVERS_DATABASE_URL:-}" ]]; then
        say "default users: passwords in ${OMGSERVERS_DATA_DIR:-$ROOT/.data}/bootstrap/<role>.password (admin, support, ...); try: ./omgserversctl.sh environment useLocal"
      fi
      say "stop it with Ctrl-C, or: kill -TERM $SERVER_PID"
      break
    fi
    sleep 0.1
  done
else
  say "listening on http://localhost:$PORT once ready; stop it with Ctrl-C, or: kill -TERM $SERVER_PID"
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
