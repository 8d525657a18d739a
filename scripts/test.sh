#!/usr/bin/env bash
# Runs every test of the solution against ONE throwaway PostgreSQL cluster, then prints "N passed, N failed".
#   ./scripts/test.sh                       all tests
#   ./scripts/test.sh --filter Name~Health  extra arguments go to `dotnet test`
# Environment: CONFIGURATION (Debug), TEST_HANG_TIMEOUT (15m).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONFIGURATION="${CONFIGURATION:-Debug}"
RESULTS="$ROOT/artifacts/test-results"

say() { echo "[test.sh] $*"; }

# --- PostgreSQL binaries -------------------------------------------------------------------------------
find_pg_bin() {
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then echo /usr/lib/postgresql/15/bin; return; fi
  if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$newest" && -x "$newest/initdb" ]]; then echo "$newest"; return; fi
  return 1
}
PG_BIN="$(find_pg_bin)" || { say "PostgreSQL server binaries (initdb) not found; install postgresql (.ci/run does)"; exit 1; }

# As root, initdb/postgres must run as the postgres user.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- one throwaway cluster for the whole run --------------------------------------------------------------
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/omgservers-test.XXXXXX")"
chmod 755 "$SCRATCH"             # mktemp makes it 700; the postgres user must traverse it
PGROOT="$SCRATCH/pg"
mkdir -p "$PGROOT"
[[ $EUID -eq 0 ]] && chown postgres:postgres "$PGROOT"
PG_STARTED=0

stop_pg() {
  if [[ $PG_STARTED -eq 1 ]]; then
    say "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
    PG_STARTED=0
  fi
}

cleanup() {
  local status=$?
  stop_pg
  rm -rf "$SCRATCH"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

say "creating a throwaway PostgreSQL cluster in $PGROOT ($PG_BIN)"
if ! as_pg "$PG_BIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$SCRATCH/initdb.log" 2>&1; then
  rm -rf "$PGROOT/data"
  as_pg "$PG_BIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$SCRATCH/initdb.log" 2>&1 \
    || { cat "$SCRATCH/initdb.log"; exit 1; }
fi

PGPORT=""
for attempt in 1 2 3 4 5; do
  candidate=$(( 20000 + RANDOM % 20000 ))
  port_in_use "$candidate" && continue
  if as_pg "$PG_BIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
       -o "-c listen_addresses=127.0.0.1 -p $candidate -k $PGROOT -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
       start >/dev/null; then
    PGPORT=$candidate
    PG_STARTED=1
    break
  fi
  say "start on port $candidate failed (attempt $attempt); retrying"
done
[[ -n "$PGPORT" ]] || { say "PostgreSQL did not start:"; tail -n 20 "$PGROOT/server.log"; exit 1; }

"$PG_BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE omgservers_test" >/dev/null
export OMGSERVERS_TEST_DATABASE_URL="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=omgservers_test"
say "PostgreSQL is up on 127.0.0.1:$PGPORT; OMGSERVERS_TEST_DATABASE_URL=$OMGSERVERS_TEST_DATABASE_URL"

# --- build once, test ----------------------------------------------------------------------------------
cd "$ROOT"
say "building OmgServers.Akka.sln ($CONFIGURATION)"
dotnet build OmgServers.Akka.sln -c "$CONFIGURATION" -nologo -clp:ErrorsOnly

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
say "running dotnet test (results in ${RESULTS#"$ROOT"/})"
set +e
dotnet test OmgServers.Akka.sln -c "$CONFIGURATION" --no-build --nologo \
  --results-directory "$RESULTS" --logger "trx" --logger "console;verbosity=normal" \
  --blame-hang-timeout "${TEST_HANG_TIMEOUT:-15m}" --blame-hang-dump-type none "$@"
test_status=$?
set -e

# --- count outcomes from the .trx files: one <UnitTestResult ... outcome="..."> per test ------------------
passed=0; failed=0; skipped=0
shopt -s nullglob globstar
trx_files=("$RESULTS"/**/*.trx)
for trx in "${trx_files[@]}"; do
  while read -r outcome; do
    case "$outcome" in
      Passed) passed=$((passed + 1)) ;;
      NotExecuted|Inconclusive|Pending|Disconnected|Warning|NotRunnable) skipped=$((skipped + 1)) ;;
      *) failed=$((failed + 1)) ;;
    esac
  done < <(grep -o '<UnitTestResult [^>]*>' "$trx" | grep -o 'outcome="[A-Za-z]*"' | cut -d'"' -f2)
done
say "${#trx_files[@]} result file(s); dotnet test exit code $test_status"

stop_pg                          # before the summary, so that the summary stays the last line

summary="$passed passed, $failed failed"
[[ $skipped -gt 0 ]] && summary="$summary, $skipped skipped"
exit_code=0
if [[ $failed -gt 0 || $((passed + failed)) -eq 0 || $test_status -ne 0 ]]; then exit_code=1; fi
echo "$summary"
exit "$exit_code"
