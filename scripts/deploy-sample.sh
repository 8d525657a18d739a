#!/usr/bin/env bash
# Deploys the sample game (samples/OmgServers.Samples.Lobby) to a running server through omgserversctl.sh, and prints
# how a player connects. scripts/run.sh calls it once the server is ready; it can also be run on its own:
#   scripts/deploy-sample.sh [service_url]        default http://localhost:${OMGSERVERS_SERVER_PORT:-8080}
#
# It logs in as the support user: OMGSERVERS_BOOTSTRAP_SUPPORT_USER_ALIAS (default support) with
# OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD, else the password the embedded installation generated in
# <data-dir>/bootstrap/support.password (data dir: OMGSERVERS_DATA_DIR, default .data, relative to the checkout).
# Then: a tenant (alias `sample`), a developer with PROJECT_MANAGER and TENANT_VIEWER on it, a project
# (`sample-game`) with its first stage (`default`), a version with samples/OmgServers.Samples.Lobby/version.json as its
# config, the image `process:sample-lobby` (UNIVERSAL) for that version, and a deployment of it on the stage.
#
# Idempotent: every step done is recorded in <data-dir>/sample/state, next to the CLI's own state
# (<data-dir>/sample/omgserversctl: the developer's credentials, logs of every call), so a second run creates
# nothing new. A changed version.json gets a new version and deployment; a deployment deleted by hand is redeployed.
# Exit codes: 0 deployed (or already), 1 a step failed, 3 no support password known (nothing was done).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"

URL="${1:-http://localhost:${OMGSERVERS_SERVER_PORT:-8080}}"
URL="${URL%/}"
DATA_DIR="$(realpath -m "${OMGSERVERS_DATA_DIR:-.data}")"
STATE_DIR="$DATA_DIR/sample"
STATE="$STATE_DIR/state"
CTL="$ROOT/omgserversctl.sh"
CONFIG="$ROOT/samples/OmgServers.Samples.Lobby/version.json"
TENANT=sample
PROJECT=sample-game
STAGE=default
IMAGE=process:sample-lobby
SUPPORT_USER="${OMGSERVERS_BOOTSTRAP_SUPPORT_USER_ALIAS:-support}"

say() { echo "[deploy-sample] $*"; }

# --- state: KEY=value lines, appended, the last one wins ------------------------------------------------
mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"
touch "$STATE"
# shellcheck disable=SC1090
source "$STATE"
record() {
  printf '%s=%s\n' "$1" "$2" >>"$STATE"
  printf -v "$1" '%s' "$2"
}

# --- the CLI, with its own state directory --------------------------------------------------------------
export OMGSERVERSCTL_DIRECTORY="$STATE_DIR/omgserversctl"
OUT="$STATE_DIR/last-step.out"

# hint QUALIFIER TEXT: what the next ctl call's failure with that error qualifier probably means.
hint() { HINT_ON="$1" HINT="$2"; }

# ctl TEXT ARGS...: runs `omgserversctl.sh ARGS...` quietly; on failure prints TEXT, the CLI's error (the request and
# the answer, passwords masked), the hint that applies, and exits 1.
ctl() {
  local text="$1"
  shift
  if ! "$CTL" "$@" >"$OUT" 2>&1; then
    {
      say "FAILED: $text (omgserversctl.sh $1 $2)"
      sed -E 's/("password": *")[^"]*"/\1***"/g; s/^/    /' "$OUT"
      if grep -q 'HTTP_CODE=000' "$OUT"; then
        say "no answer from $URL: is the server running there?"
      elif [[ -n "${HINT_ON:-}" ]] && grep -q "\"qualifier\":\"$HINT_ON\"" "$OUT"; then
        say "$HINT"
      fi
      say "every call and answer: $OMGSERVERSCTL_DIRECTORY/logs"
    } >&2
    exit 1
  fi
  HINT_ON=""
}

# var NAME: a value the CLI stored (environment printVariable).
var() { "$CTL" environment printVariable "$1"; }

# --- log in -----------------------------------------------------------------------------------------------
SUPPORT_PASSWORD="${OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD:-}"
if [[ -z "$SUPPORT_PASSWORD" && -r "$DATA_DIR/bootstrap/support.password" ]]; then
  SUPPORT_PASSWORD="$(tr -d '\r\n' <"$DATA_DIR/bootstrap/support.password")"
fi
if [[ -z "$SUPPORT_PASSWORD" ]]; then
  say "no support password: neither OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD nor $DATA_DIR/bootstrap/support.password; the sample game was not deployed"
  exit 3
fi
for tool in curl jq; do
  command -v "$tool" >/dev/null || { say "$tool is required (apt-get install $tool)"; exit 1; }
done

say "deploying the sample game to $URL (state in $STATE_DIR)"
ctl "select the server" environment useEnvironment sample "$URL"
hint WRONG_CREDENTIALS "is the support password right? (OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD or $DATA_DIR/bootstrap/support.password)"
ctl "support login ($SUPPORT_USER)" support useCredentials "$SUPPORT_USER" "$SUPPORT_PASSWORD"

# --- tenant and developer -------------------------------------------------------------------------------
if [[ -z "${TENANT_ID:-}" ]]; then
  ctl "create the tenant" support createTenant
  record TENANT_ID "$(var TENANT)"
  say "tenant $TENANT_ID created"
fi
if [[ -z "${TENANT_ALIAS:-}" ]]; then
  hint DB_CONSTRAINT_VIOLATED "another tenant of this server has the alias '$TENANT' already (one this state does not know): delete that tenant (./omgserversctl.sh support deleteTenant $TENANT) and run again"
  ctl "alias '$TENANT' for tenant $TENANT_ID" support createTenantAlias "$TENANT_ID" "$TENANT"
  record TENANT_ALIAS "$TENANT"
  say "tenant alias '$TENANT' created"
fi
if [[ -z "${DEVELOPER_ID:-}" ]]; then
  ctl "create the developer" support createDeveloper
  record DEVELOPER_ID "$(var DEVELOPER_USER)"
  say "developer $DEVELOPER_ID created"
fi
if [[ -z "${DEVELOPER_PERMISSIONS:-}" ]]; then
  for permission in PROJECT_MANAGER TENANT_VIEWER; do
    ctl "grant $permission" support createTenantPermission "$TENANT" "$DEVELOPER_ID" "$permission"
  done
  record DEVELOPER_PERMISSIONS PROJECT_MANAGER,TENANT_VIEWER
  say "developer $DEVELOPER_ID may manage projects of '$TENANT'"
fi
hint OBJECT_NOT_FOUND "this server does not know the developer of $STATE (was its database reset?): delete $STATE_DIR and run again"
ctl "developer login ($DEVELOPER_ID)" developer createToken

# --- project, stage, aliases ----------------------------------------------------------------------------
if [[ -z "${PROJECT_ID:-}" ]]; then
  ctl "create the project" developer createProject "$TENANT"
  record PROJECT_ID "$(var PROJECT)"
  record STAGE_ID "$(var STAGE)"
  say "project $PROJECT_ID created, with stage $STAGE_ID"
fi
if [[ -z "${PROJECT_ALIAS:-}" ]]; then
  ctl "alias '$PROJECT' for project $PROJECT_ID" developer createProjectAlias "$TENANT" "$PROJECT_ID" "$PROJECT"
  record PROJECT_ALIAS "$PROJECT"
  say "project alias '$PROJECT' created"
fi
if [[ -z "${STAGE_ALIAS:-}" ]]; then
  ctl "alias '$STAGE' for stage $STAGE_ID" developer createStageAlias "$TENANT" "$STAGE_ID" "$STAGE"
  record STAGE_ALIAS "$STAGE"
  say "stage alias '$STAGE' created"
fi

# --- version, image, deployment -------------------------------------------------------------------------
config_sum="$(sha256sum "$CONFIG" | cut -d ' ' -f 1)"
if [[ -z "${VERSION_ID:-}" || "${VERSION_CONFIG:-}" != "$config_sum" ]]; then
  ctl "create a version from ${CONFIG#"$ROOT"/}" developer createVersion "$TENANT" "$PROJECT" "$CONFIG"
  record VERSION_ID "$(var VERSION)"
  record VERSION_CONFIG "$config_sum"
  say "version $VERSION_ID created from ${CONFIG#"$ROOT"/}"
fi
if [[ "${IMAGE_VERSION:-}" != "$VERSION_ID" ]]; then
  ctl "image $IMAGE for version $VERSION_ID" developer createImage "$TENANT" "$VERSION_ID" UNIVERSAL "$IMAGE"
  record IMAGE_VERSION "$VERSION_ID"
  say "image $IMAGE (UNIVERSAL) added to version $VERSION_ID"
fi
if [[ "${DEPLOYED_VERSION:-}" == "$VERSION_ID" ]]; then
  # Deployed before: check that the deployment is still the stage's latest (it may have been deleted by hand).
  ctl "look up stage '$STAGE'" developer getStageDetails "$TENANT" "$PROJECT" "$STAGE"
  latest="$(jq -r '[.details.deployments[]? | .id] | max_by([length, .]) // empty' "$OMGSERVERSCTL_DIRECTORY/temp/developer-get-stage-details_${TENANT}_${PROJECT}_${STAGE}.json")"
  if [[ "$latest" != "$DEPLOYMENT_ID" ]]; then
    say "deployment $DEPLOYMENT_ID is no longer the latest of stage '$STAGE' (latest: ${latest:-none}); deploying again"
    DEPLOYED_VERSION=""
  fi
fi
if [[ "${DEPLOYED_VERSION:-}" != "$VERSION_ID" ]]; then
  ctl "deploy version $VERSION_ID" developer deployVersion "$TENANT" "$PROJECT" "$STAGE" "$VERSION_ID"
  record DEPLOYMENT_ID "$(var DEPLOYMENT)"
  record DEPLOYED_VERSION "$VERSION_ID"
  say "version $VERSION_ID deployed: deployment $DEPLOYMENT_ID"
else
  say "already deployed: deployment $DEPLOYMENT_ID of version $VERSION_ID (nothing created)"
fi
rm -f "$OUT"

# --- how to connect a player ----------------------------------------------------------------------------
cat <<EOF
[deploy-sample] the sample game is deployed: tenant '$TENANT', project '$PROJECT', stage '$STAGE' (ids $TENANT_ID, $PROJECT_ID, $STAGE_ID)
  Connect a player in bash (curl, jq); it polls until the lobby greets. README "Talk to it with curl" goes on from there:

    S=$URL/service/v1/entrypoint/player/request; H='Content-Type: application/json'
    PLAYER=\$(curl -s \$S/create-user -H "\$H" -d '{}')
    TOKEN=\$(curl -s \$S/create-token -H "\$H" -d "\$PLAYER" | jq -r .raw_token); A="Authorization: Bearer \$TOKEN"
    CLIENT=\$(curl -s \$S/create-client -H "\$H" -H "\$A" -d '{"tenant":"$TENANT","project":"$PROJECT","stage":"$STAGE"}' | jq -r .client_id)
    for i in \$(seq 20); do
      IN=\$(curl -s \$S/interchange -H "\$H" -H "\$A" -d '{"client_id":"'\$CLIENT'","outgoing_messages":[],"consumed_messages":[]}')
      [[ \$IN == *'"text":"welcome"'* ]] && break; sleep 1
    done; echo "\$IN" | jq -c '.incoming_messages[]'

  As the sample's developer: OMGSERVERSCTL_DIRECTORY=$OMGSERVERSCTL_DIRECTORY $CTL developer getStageDetails $TENANT $PROJECT $STAGE
EOF
