#!/usr/bin/env bash
# omgserversctl.sh: the operator and developer CLI (bash, curl, jq; zip for uploadFilesArchive), after the upstream
# tool (contract section 8): the same commands, arguments, state directory, console lines and request bodies, plus
# this project's `embedded`, `cluster` and `developer createImage` commands.
#
# State lives in ${OMGSERVERSCTL_DIRECTORY:-.omgserversctl} under the current directory: temp/ (each response body,
# named after the operation and its arguments), versions/ (archives of uploadFilesArchive), environment (append-only
# `export OMGSERVERSCTL_<NAME>=<value>` lines, sourced before each command, so the last assignment wins) and logs
# (for every call: a blank line, the endpoint, the request JSON and the raw response).
set -euo pipefail
CTL_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CTL_VERSION="OMGSERVERS ctl, v1.0.0"
CTL_DIRECTORY="${OMGSERVERSCTL_DIRECTORY:-.omgserversctl}"
ENTRYPOINT="/service/v1/entrypoint"

# --- state --------------------------------------------------------------------------------------------
init_state() {
  mkdir -p "$CTL_DIRECTORY/temp" "$CTL_DIRECTORY/versions"
  local file
  for file in environment logs; do
    if [[ ! -f "$CTL_DIRECTORY/$file" ]]; then
      touch "$CTL_DIRECTORY/$file"
      chmod 600 "$CTL_DIRECTORY/$file" # passwords and tokens
    fi
  done
  # shellcheck disable=SC1091
  source "$CTL_DIRECTORY/environment"
}

# store NAME VALUE [secret]: appends `export OMGSERVERSCTL_NAME=VALUE` to the environment file (the last assignment
# wins) and exports it now. Secrets (passwords) are always single-quoted, as upstream writes them; other values are
# written as they are when that is safe to source, else single-quoted.
store() {
  local name="$1" value="$2" written
  if [[ "${3:-}" == secret || ! "$value" =~ ^[A-Za-z0-9_.:/@%+,=-]*$ ]]; then
    written="'${value//\'/\'\\\'\'}'"
  else
    written="$value"
  fi
  printf 'export OMGSERVERSCTL_%s=%s\n' "$name" "$written" >>"$CTL_DIRECTORY/environment"
  export "OMGSERVERSCTL_$name=$value"
}

# --- console ------------------------------------------------------------------------------------------
# say TEXT: "<date> <environment> <text>" like the upstream tool.
say() { echo "$(date) ${OMGSERVERSCTL_ENVIRONMENT_NAME:-} $*"; }

# fail TEXT: "<date> <environment> ERROR: <text>" on stderr, exit 1.
fail() {
  echo "$(date) ${OMGSERVERSCTL_ENVIRONMENT_NAME:-} ERROR: $*" >&2
  exit 1
}

# not_received NAME: a field the answer should have had is missing.
not_received() {
  echo "ERROR: $1 was not received" >&2
  exit 1
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is required but not installed"
  done
}

require_environment() {
  if [[ -z "${OMGSERVERSCTL_ENVIRONMENT_NAME:-}" || -z "${OMGSERVERSCTL_SERVICE_URL:-}" ]]; then
    echo "$(date) unknown ERROR: Environment was not configured" >&2
    exit 1
  fi
}

# --- help ---------------------------------------------------------------------------------------------
# One line per usage line: topic|line|notes. A topic's group is its first word; `help` prints every line,
# `help <group>` the group's lines, `help <group> <command>` that line and its notes ("produces:" lists etc.,
# written as section:item,item;section:item). The upstream lines come first, in upstream's order, then ours.
help_table() {
  cat <<'TABLE'
help| ./omgserversctl.sh help|
logs| ./omgserversctl.sh logs|
environment reset| ./omgserversctl.sh environment reset|
environment printCurrent| ./omgserversctl.sh environment printCurrent|
environment printVariable| ./omgserversctl.sh environment printVariable <variable>|
environment useEnvironment| ./omgserversctl.sh environment useEnvironment <name> <service_url>|produces:ENVIRONMENT_NAME,SERVICE_URL
environment usePublic| ./omgserversctl.sh environment usePublic|produces:ENVIRONMENT_NAME,SERVICE_URL
environment useLocal| ./omgserversctl.sh environment useLocal|produces:ENVIRONMENT_NAME,SERVICE_URL
admin useCredentials| ./omgserversctl.sh admin useCredentials <user> <password>|produces:ADMIN_USER,ADMIN_PASSWORD
admin printCurrent| ./omgserversctl.sh admin printCurrent|
admin createToken| ./omgserversctl.sh admin createToken|produces:ADMIN_TOKEN
admin calculateShard| ./omgserversctl.sh admin calculateShard <shard_key>|produces:SHARD_INDEX,SERVER_URI
admin generateId| ./omgserversctl.sh admin generateId|produces:GENERATED_ID
admin bcryptHash| ./omgserversctl.sh admin bcryptHash <value>|produces:BCRYPTED_HASH
admin pingDockerHost| ./omgserversctl.sh admin pingDockerHost <docker_daemon_uri>|produces:SUCCESSFUL
support useCredentials| ./omgserversctl.sh support useCredentials <user> <password>|produces:SUPPORT_USER,SUPPORT_PASSWORD
support printCurrent| ./omgserversctl.sh support printCurrent|
support createToken| ./omgserversctl.sh support createToken|produces:SUPPORT_TOKEN
support createTenant| ./omgserversctl.sh support createTenant|produces:TENANT
support createTenantAlias| ./omgserversctl.sh support createTenantAlias <tenant_id> <alias>|
support deleteTenant| ./omgserversctl.sh support deleteTenant <tenant>|produces:DELETED
support createProject| ./omgserversctl.sh support createProject <tenant>|produces:PROJECT,STAGE
support createProjectAlias| ./omgserversctl.sh support createProjectAlias <tenant> <project_id> <alias>|
support deleteProject| ./omgserversctl.sh support deleteProject <tenant> <project>|produces:DELETED
support createDeveloper| ./omgserversctl.sh support createDeveloper|produces:DEVELOPER_USER,DEVELOPER_PASSWORD
support createTenantPermission| ./omgserversctl.sh support createTenantPermission <tenant> <user> <permission>|permission:PROJECT_MANAGER,TENANT_VIEWER
support deleteTenantPermission| ./omgserversctl.sh support deleteTenantPermission <tenant> <user> <permission>|permission:PROJECT_MANAGER,TENANT_VIEWER
support createProjectPermission| ./omgserversctl.sh support createProjectPermission <tenant> <project> <user> <permission>|permission:STAGE_MANAGER,VERSION_MANAGER,PROJECT_VIEWER
support deleteProjectPermission| ./omgserversctl.sh support deleteProjectPermission <tenant> <project> <user> <permission>|permission:STAGE_MANAGER,VERSION_MANAGER,PROJECT_VIEWER
support createStagePermission| ./omgserversctl.sh support createStagePermission <tenant> <project> <stage> <user> <permission>|permission:DEPLOYMENT_MANAGER,STAGE_VIEWER
support deleteStagePermission| ./omgserversctl.sh support deleteStagePermission <tenant> <project> <stage> <user> <permission>|permission:DEPLOYMENT_MANAGER,STAGE_VIEWER
developer useCredentials| ./omgserversctl.sh developer useCredentials <user> <password>|produces:DEVELOPER_USER,DEVELOPER_PASSWORD
developer printCurrent| ./omgserversctl.sh developer printCurrent|
developer createToken| ./omgserversctl.sh developer createToken|produces:DEVELOPER_TOKEN
developer getTenantDetails| ./omgserversctl.sh developer getTenantDetails <tenant>|
developer createProject| ./omgserversctl.sh developer createProject <tenant>|produces:PROJECT,STAGE
developer createProjectAlias| ./omgserversctl.sh developer createProjectAlias <tenant> <project_id> <alias>|
developer getProjectDetails| ./omgserversctl.sh developer getProjectDetails <tenant> <project>|
developer deleteProject| ./omgserversctl.sh developer deleteProject <tenant> <project>|produces:DELETED
developer createStage| ./omgserversctl.sh developer createStage <tenant> <project>|produces:STAGE
developer createStageAlias| ./omgserversctl.sh developer createStageAlias <tenant> <stage_id> <alias>|
developer getStageDetails| ./omgserversctl.sh developer getStageDetails <tenant> <project> <stage>|
developer deleteStage| ./omgserversctl.sh developer deleteStage <tenant> <project> <stage>|produces:DELETED
developer createVersion| ./omgserversctl.sh developer createVersion <tenant> <project> <config_path>|produces:VERSION
developer uploadFilesArchive| ./omgserversctl.sh developer uploadFilesArchive <tenant> <version> <files_directory_path>|produces:FILES_ARCHIVE
developer getVersionDetails| ./omgserversctl.sh developer getVersionDetails <tenant> <version>|
developer deleteVersion| ./omgserversctl.sh developer deleteVersion <tenant> <version>|produces:DELETED
developer deployVersion| ./omgserversctl.sh developer deployVersion <tenant> <project> <stage> <version>|produces:DEPLOYMENT
developer getDeploymentDetails| ./omgserversctl.sh developer getDeploymentDetails <tenant> <deployment>|
developer deleteDeployment| ./omgserversctl.sh developer deleteDeployment <tenant> <deployment>|produces:DELETED
developer createLobbyRequest| ./omgserversctl.sh developer createLobbyRequest <tenant> <deployment>|
developer deleteLobby| ./omgserversctl.sh developer deleteLobby <lobby>|produces:DELETED
developer createMatchmakerRequest| ./omgserversctl.sh developer createMatchmakerRequest <tenant> <deployment>|
developer deleteMatchmaker| ./omgserversctl.sh developer deleteMatchmaker <matchmaker>|produces:DELETED
embedded start| ./omgserversctl.sh embedded start [port]   build and start the server with embedded PostgreSQL (data in .data/), wait until ready|produces:ENVIRONMENT_NAME,SERVICE_URL,EMBEDDED_PORT
embedded stop| ./omgserversctl.sh embedded stop           stop it gracefully (SIGTERM), waiting for the exit|
embedded status| ./omgserversctl.sh embedded status         whether it runs, and its readiness (/q/health/ready)|
cluster show| ./omgserversctl.sh cluster show [--url URL]               the nodes (state, shards, address, heartbeat age), unowned shards, readiness|
cluster drain| ./omgserversctl.sh cluster drain <node-id> [--url URL]    move the node's shards to the other nodes; it keeps running (before maintenance)|
cluster undrain| ./omgserversctl.sh cluster undrain <node-id> [--url URL]  let the node take shards again|
cluster|   URL: the API of any node, called from that node's machine (the endpoints answer loopback callers only);|
cluster|   default $OMGSERVERSCTL_CLUSTER_URL, else http://127.0.0.1:8080|
developer createImage| ./omgserversctl.sh developer createImage <tenant> <version> <qualifier> <image_id>|qualifier:UNIVERSAL,LOBBY,MATCH;produces:IMAGE
developer getMatchmakerDetails| ./omgserversctl.sh developer getMatchmakerDetails <tenant> <matchmaker>|
environment useDemoServer| ./omgserversctl.sh environment useDemoServer|produces:ENVIRONMENT_NAME,SERVICE_URL
environment useLocalServer| ./omgserversctl.sh environment useLocalServer|produces:ENVIRONMENT_NAME,SERVICE_URL
TABLE
}

# usage [TOPIC]: the usage lines of TOPIC (all when empty); returns 1, printing everything, for an unknown topic.
usage() {
  local topic="${1:-}" key line notes section items item text=""
  while IFS='|' read -r key line notes; do
    if [[ -z "$topic" || "$topic" == "$key" || "$topic" == "${key%% *}" ]]; then
      text+="$line"$'\n'
      if [[ "$topic" == "$key" && -n "$notes" ]]; then
        while IFS=':' read -r section items; do
          text+="   $section:"$'\n'
          for item in ${items//,/ }; do
            text+="     - $item"$'\n'
          done
        done <<<"${notes//;/$'\n'}"
      fi
    fi
  done < <(help_table)

  echo "$CTL_VERSION"
  echo "Usage:"
  if [[ -z "$text" ]]; then
    help_table | cut -d '|' -f 2
    return 1
  fi
  printf '%s' "$text"
}

# need TOPIC COUNT ARGS...: the command's help and exit 1 unless its first COUNT arguments are given (not empty).
need() {
  local topic="$1" count="$2" i
  shift 2
  for ((i = 1; i <= count; i++)); do
    if [[ -z "${!i:-}" ]]; then
      usage "$topic"
      exit 1
    fi
  done
}

cmd_help() { usage "$*"; }

cmd_logs() { cat "$CTL_DIRECTORY/logs"; }

# --- HTTP ---------------------------------------------------------------------------------------------
# JSON pieces for request bodies. Ids keep every digit: they are written as they were typed, never parsed.
jstr() { jq -cn --arg v "$1" '$v'; }
# jnum VALUE: VALUE as a JSON number when it is an integer (the unquoted ids of contract 8.4), else as a string,
# so that an alias or a typo gives the server's 400 instead of a body that is not JSON.
jnum() { if [[ "$1" =~ ^(0|-?[1-9][0-9]*)$ ]]; then printf '%s' "$1"; else jstr "$1"; fi; }
# jobj KEY JSON [KEY JSON ...]: {"KEY": JSON, ...}, spaced like upstream's bodies.
jobj() {
  local out="" separator=""
  while (($# >= 2)); do
    out+="$separator\"$1\": $2"
    separator=", "
    shift 2
  done
  printf '{%s}' "$out"
}

# temp_file NAME...: the temp/ file of an operation and its arguments (characters unsafe in a file name become _).
temp_file() {
  local IFS=_
  local name="$*"
  echo "$CTL_DIRECTORY/temp/${name//[^A-Za-z0-9._-]/_}.json"
}

# token_of ROLE: sets TOKEN to the stored token of admin, support or developer.
token_of() {
  local variable="OMGSERVERSCTL_${1^^}_TOKEN"
  TOKEN="${!variable:-}"
  [[ -n "$TOKEN" ]] || fail "Current $1 token was not found"
}

# post ROLE OPERATION FILE BODY [public|form ARGS...]: POST $SERVICE_URL/service/v1/entrypoint/ROLE/request/OPERATION
# with BODY as JSON (or the curl form ARGS of a multipart upload) and, unless public, the stored token of ROLE.
# The call is appended to `logs` and the answer kept in FILE ($RESPONSE). An HTTP status >= 400, or no answer at all,
# prints the ERROR line and the last two log lines and exits 1.
post() {
  local role="$1" operation="$2" body="$4" kind="${5:-token}"
  RESPONSE="$3"
  shift 5 || shift $#
  local endpoint="${OMGSERVERSCTL_SERVICE_URL%/}$ENTRYPOINT/$role/request/$operation"
  local logs="$CTL_DIRECTORY/logs" errors="$RESPONSE.curl" code
  local arguments=(-s -S --connect-timeout 10 --max-time 120 -X POST -o "$RESPONSE" -w "%{http_code}")
  if [[ "$kind" != public ]]; then
    token_of "$role"
    # The token goes through a file descriptor, not the command line that every local user can read.
    arguments+=(-H "@/dev/fd/3")
  fi
  if [[ "$kind" == form ]]; then
    arguments+=("$@")
  else
    arguments+=(-H "Content-type: application/json" --data-binary @-)
  fi

  rm -f "$RESPONSE"
  printf '\n%s\n%s\n' "$endpoint" "$body" >>"$logs"
  code="$(printf '%s' "$body" | curl "${arguments[@]}" "$endpoint" 2>"$errors" 3< <(printf 'Authorization: Bearer %s\n' "${TOKEN:-}"))" || true
  # The raw answer, then curl's own error if any, each ending the line (an empty answer leaves an empty line).
  {
    if [[ -s "$RESPONSE" ]]; then
      cat "$RESPONSE"
      [[ "$(tail -c 1 "$RESPONSE")" == "" ]] || echo
    fi
    if [[ -s "$errors" ]]; then
      cat "$errors"
    elif [[ ! -s "$RESPONSE" ]]; then
      echo
    fi
  } >>"$logs"
  rm -f "$errors"
  if [[ ! "$code" =~ ^[0-9]{3}$ || "$code" == 000 || "$code" -ge 400 ]]; then
    echo "$(date) ${OMGSERVERSCTL_ENVIRONMENT_NAME:-} ERROR: Operation was failed, HTTP_CODE=${code:-000}, $endpoint" >&2
    tail -n 2 "$logs" >&2
    exit 1
  fi
}

# field KEY: the answer's KEY as text (strings as they are, other values as JSON); empty when absent or null.
field() {
  jq -r --arg k "$1" 'if type == "object" and .[$k] != null then .[$k] | (if type == "string" then . else tojson end) else empty end' \
    "$RESPONSE" 2>/dev/null || true
}

# received NAME KEY: sets VALUE to the answer's KEY, or stops with "ERROR: NAME was not received".
received() {
  VALUE="$(field "$2")"
  [[ -n "$VALUE" ]] || not_received "$1"
}

# receive NAME KEY [secret]: received, then stored as NAME.
receive() {
  received "$1" "$2"
  store "$1" "$VALUE" "${3:-}"
}

# show_details: the answer, pretty-printed (opened instead on a macOS terminal, as upstream does).
show_details() {
  if [[ -t 1 && "$(uname -s)" == Darwin ]] && command -v open >/dev/null; then
    open "$RESPONSE"
  else
    jq . "$RESPONSE"
  fi
}

# say_deleted WHAT DETAILS: after a delete-* call; stores DELETED.
say_deleted() {
  receive DELETED deleted
  if [[ "$VALUE" == true ]]; then
    say "$1 was deleted, $2"
  else
    say "$1 was not deleted, $2"
  fi
}

# --- environment --------------------------------------------------------------------------------------
environment_reset() { rm -f "$CTL_DIRECTORY/environment"; }

environment_printCurrent() {
  require_environment
  env | grep '^OMGSERVERSCTL_' || true
}

environment_printVariable() {
  need "environment printVariable" 1 "$@"
  require_environment
  local name="OMGSERVERSCTL_$1"
  if [[ ! "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ || -z "${!name:-}" ]]; then
    fail "Variable was not found, VARIABLE_NAME=$name"
  fi
  printf '%s' "${!name}"
}

environment_useEnvironment() {
  need "environment useEnvironment" 2 "$@"
  store ENVIRONMENT_NAME "$1"
  store SERVICE_URL "$2"
  say "Environment was set, NAME=$1, SERVICE_URL=$2"
}

environment_usePublic() { environment_useEnvironment public https://api.omgservers.com; }

environment_useDemoServer() { environment_useEnvironment demo https://demoserver.omgservers.com; }

# local_password ROLE: the generated password our embedded installation keeps in <data-dir>/bootstrap/ROLE.password,
# else the role's name (upstream's `admin admin` / `support support`).
local_password() {
  local directory file
  for directory in ${OMGSERVERS_DATA_DIR:+"$OMGSERVERS_DATA_DIR"} .data "$CTL_HOME/.data"; do
    file="$directory/bootstrap/$1.password"
    if [[ -r "$file" ]]; then
      tr -d '\r\n' <"$file"
      return
    fi
  done
  printf '%s' "$1"
}

environment_useLocal() {
  local admin_password support_password
  admin_password="$(local_password admin)"
  support_password="$(local_password support)"
  environment_useEnvironment local http://localhost:8080
  admin_useCredentials admin "$admin_password"
  support_useCredentials support "$support_password"
}

# --- credentials of admin, support and developer ------------------------------------------------------
# use_credentials ROLE Title USER PASSWORD
use_credentials() {
  local role="$1" title="$2" upper="${1^^}"
  shift 2
  need "$role useCredentials" 2 "$@"
  require_environment
  store "${upper}_USER" "$1"
  store "${upper}_PASSWORD" "$2" secret
  say "$title credentials were set, ${upper}_USER=$1"
  "${role}_createToken"
}

# print_current ROLE Title MISSING_TEXT
print_current() {
  local role="$1" title="$2" upper="${1^^}"
  require_environment
  local user="OMGSERVERSCTL_${upper}_USER" password="OMGSERVERSCTL_${upper}_PASSWORD" token="OMGSERVERSCTL_${upper}_TOKEN"
  [[ -n "${!user:-}" && -n "${!password:-}" ]] || fail "$3"
  if [[ -z "${!token:-}" ]]; then
    say "Current $role was found, ${upper}_USER=${!user}, (without token)"
  else
    say "Current $role was found, ${upper}_USER=${!user}, (token exists)"
  fi
}

# create_token ROLE Title USER_FIELD: POST ROLE/request/create-token, stores ROLE_TOKEN.
create_token() {
  local role="$1" title="$2" user_field="$3" upper="${1^^}"
  require_environment
  local user="OMGSERVERSCTL_${upper}_USER" password="OMGSERVERSCTL_${upper}_PASSWORD"
  [[ -n "${!user:-}" && -n "${!password:-}" ]] || fail "Current $role credentials were not found"
  say "Using $role, ${upper}_USER=${!user}"
  post "$role" create-token "$(temp_file "$role-create-token" "${!user}")" \
    "$(jobj "$user_field" "$(jstr "${!user}")" password "$(jstr "${!password}")")" public
  receive "${upper}_TOKEN" raw_token
  say "$title token was created"
}

# --- admin --------------------------------------------------------------------------------------------
admin_useCredentials() { use_credentials admin Admin "$@"; }
admin_printCurrent() { print_current admin Admin "Current admin was not set"; }
admin_createToken() { create_token admin Admin user; }

admin_calculateShard() {
  need "admin calculateShard" 1 "$@"
  require_environment
  post admin calculate-shard "$(temp_file admin-calculate-shard "$1")" "$(jobj shard_key "$(jstr "$1")")"
  receive SHARD_INDEX shard_index
  receive SERVER_URI server_uri
  say "Shard was calculated, SHARD_INDEX=$OMGSERVERSCTL_SHARD_INDEX, SERVER_URI=$OMGSERVERSCTL_SERVER_URI"
}

admin_generateId() {
  require_environment
  post admin generate-id "$(temp_file admin-generate-id)" "{}"
  receive GENERATED_ID id
  say "Id was generated, GENERATED_ID=$VALUE"
}

admin_bcryptHash() {
  need "admin bcryptHash" 1 "$@"
  require_environment
  post admin bcrypt-hash "$(temp_file admin-bcrypt-hash)" "$(jobj value "$(jstr "$1")")"
  receive BCRYPTED_HASH hash
  say "Value was bcrypted, BCRYPTED_HASH=$VALUE"
}

admin_pingDockerHost() {
  need "admin pingDockerHost" 1 "$@"
  require_environment
  post admin ping-docker-host "$(temp_file admin-ping-docker-host)" "$(jobj docker_daemon_uri "$(jstr "$1")")"
  receive SUCCESSFUL successful
  local successful="$VALUE"
  received FROM_SERVER from_server
  if [[ "$successful" == true ]]; then
    say "Docker host was pinged, FROM_SERVER=$VALUE, DOCKER_DAEMON_URI=$1"
  else
    say "Docker host was not pinged, FROM_SERVER=$VALUE, DOCKER_DAEMON_URI=$1"
  fi
}

# --- support ------------------------------------------------------------------------------------------
support_useCredentials() { use_credentials support Support "$@"; }
support_printCurrent() { print_current support Support "Current support was not found"; }
support_createToken() { create_token support Support user; }

support_createTenant() {
  require_environment
  post support create-tenant "$(temp_file support-create-tenant)" "{}"
  receive TENANT id
  say "Tenant was created, TENANT=$VALUE"
}

support_createTenantAlias() {
  need "support createTenantAlias" 2 "$@"
  require_environment
  say "Using tenant id, TENANT_ID=$1"
  say "Using alias, ALIAS=$2"
  post support create-tenant-alias "$(temp_file support-create-tenant-alias "$1" "$2")" \
    "$(jobj tenant_id "$(jnum "$1")" alias "$(jstr "$2")")"
  say "Tenant alias was created"
}

support_deleteTenant() {
  need "support deleteTenant" 1 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  post support delete-tenant "$(temp_file support-delete-tenant "$1")" "$(jobj tenant "$(jstr "$1")")"
  say_deleted Tenant "TENANT=$1"
}

support_createProject() {
  need "support createProject" 1 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  post support create-project "$(temp_file support-create-project "$1")" "$(jobj tenant "$(jstr "$1")")"
  receive PROJECT project_id
  receive STAGE stage_id
  say "Project was created, PROJECT=$OMGSERVERSCTL_PROJECT, STAGE=$OMGSERVERSCTL_STAGE"
}

support_createProjectAlias() {
  need "support createProjectAlias" 3 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project id, PROJECT_ID=$2"
  say "Using alias, ALIAS=$3"
  post support create-project-alias "$(temp_file support-create-project-alias "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" project_id "$(jstr "$2")" alias "$(jstr "$3")")"
  say "Project alias was created"
}

support_deleteProject() {
  need "support deleteProject" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  post support delete-project "$(temp_file support-delete-project "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")")"
  say_deleted Project "TENANT=$1, PROJECT=$2"
}

support_createDeveloper() {
  require_environment
  post support create-developer "$(temp_file support-create-developer)" "{}"
  receive DEVELOPER_USER user_id
  receive DEVELOPER_PASSWORD password secret
  say "Developer was created, DEVELOPER_USER=$OMGSERVERSCTL_DEVELOPER_USER, DEVELOPER_PASSWORD=$OMGSERVERSCTL_DEVELOPER_PASSWORD"
}

# permissions create|delete LEVEL SAID USER_ID_JSON USER PERMISSION [NAME VALUE]...: the six permission commands.
# The NAME VALUE pairs (tenant, project, stage) are sent as strings; the answer's list of permissions is printed.
permissions() {
  local action="$1" level="$2" said="$3" user_json="$4" user="$5" permission="$6"
  shift 6
  local body_fields=() names=() list
  while (($# >= 2)); do
    body_fields+=("$1" "$(jstr "$2")")
    names+=("$2")
    say "Using $1, ${1^^}=$2"
    shift 2
  done
  say "Using user, USER=$user"
  say "Using permission, PERMISSION=$permission"
  body_fields+=(user_id "$user_json" "permissions_to_$action" "[$(jstr "$permission")]")
  post support "$action-$level-permissions" "$(temp_file "support-$action-$level-permissions" "${names[@]}" "$user" "$permission")" \
    "$(jobj "${body_fields[@]}")"
  list="$(jq -c ".${action}d_permissions" "$RESPONSE" 2>/dev/null || true)"
  say "$said, ${action^^}D_PERMISSION=$list"
}

support_createTenantPermission() {
  need "support createTenantPermission" 3 "$@"
  require_environment
  permissions create tenant "Created permissions" "$(jstr "$2")" "$2" "$3" tenant "$1"
}

support_deleteTenantPermission() {
  need "support deleteTenantPermission" 3 "$@"
  require_environment
  permissions delete tenant "Deleted permissions" "$(jstr "$2")" "$2" "$3" tenant "$1"
}

support_createProjectPermission() {
  need "support createProjectPermission" 4 "$@"
  require_environment
  permissions create project "Created tenant project permissions" "$(jstr "$3")" "$3" "$4" tenant "$1" project "$2"
}

support_deleteProjectPermission() {
  need "support deleteProjectPermission" 4 "$@"
  require_environment
  permissions delete project "Deleted tenant project permissions" "$(jstr "$3")" "$3" "$4" tenant "$1" project "$2"
}

support_createStagePermission() {
  need "support createStagePermission" 5 "$@"
  require_environment
  permissions create stage "Created tenant stage permissions" "$(jstr "$4")" "$4" "$5" tenant "$1" project "$2" stage "$3"
}

# Upstream sends this one's user_id unquoted (contract 8.4); kept.
support_deleteStagePermission() {
  need "support deleteStagePermission" 5 "$@"
  require_environment
  permissions delete stage "Deleted tenant stage permissions" "$(jnum "$4")" "$4" "$5" tenant "$1" project "$2" stage "$3"
}

# --- developer ----------------------------------------------------------------------------------------
developer_useCredentials() { use_credentials developer Developer "$@"; }
developer_printCurrent() { print_current developer Developer "Current developer was not found"; }
developer_createToken() { create_token developer Developer user_id; }

developer_getTenantDetails() {
  need "developer getTenantDetails" 1 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  post developer get-tenant-details "$(temp_file developer-get-tenant-details "$1")" "$(jobj tenant "$(jstr "$1")")"
  show_details
}

developer_createProject() {
  need "developer createProject" 1 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  post developer create-project "$(temp_file developer-create-project "$1")" "$(jobj tenant "$(jstr "$1")")"
  receive PROJECT project_id
  receive STAGE stage_id
  say "Project was created, PROJECT=$OMGSERVERSCTL_PROJECT, STAGE=$OMGSERVERSCTL_STAGE"
}

developer_createProjectAlias() {
  need "developer createProjectAlias" 3 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project id, PROJECT_ID=$2"
  say "Using alias, ALIAS=$3"
  post developer create-project-alias "$(temp_file developer-create-project-alias "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" project_id "$(jnum "$2")" alias "$(jstr "$3")")"
  say "Project alias was created"
}

developer_getProjectDetails() {
  need "developer getProjectDetails" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  post developer get-project-details "$(temp_file developer-get-project-details "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")")"
  show_details
}

developer_deleteProject() {
  need "developer deleteProject" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  post developer delete-project "$(temp_file developer-delete-project "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")")"
  say_deleted Project "TENANT=$1, PROJECT=$2"
}

developer_createStage() {
  need "developer createStage" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  post developer create-stage "$(temp_file developer-create-stage "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")")"
  receive STAGE stage_id
  say "Stage was created, STAGE=$VALUE"
}

developer_createStageAlias() {
  need "developer createStageAlias" 3 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using stage id, STAGE_ID=$2"
  say "Using alias, ALIAS=$3"
  post developer create-stage-alias "$(temp_file developer-create-stage-alias "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" stage_id "$(jstr "$2")" alias "$(jstr "$3")")"
  say "Stage alias was created"
}

developer_getStageDetails() {
  need "developer getStageDetails" 3 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  say "Using stage, STAGE=$3"
  post developer get-stage-details "$(temp_file developer-get-stage-details "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")" stage "$(jstr "$3")")"
  show_details
}

developer_deleteStage() {
  need "developer deleteStage" 3 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  say "Using stage, STAGE=$3"
  post developer delete-stage "$(temp_file developer-delete-stage "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")" stage "$(jstr "$3")")"
  say_deleted Stage "TENANT=$1, STAGE=$3"
}

developer_createVersion() {
  need "developer createVersion" 3 "$@"
  require_environment
  local config_path="$3" config
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  say "Using config path, CONFIG_PATH=$config_path"
  [[ -f "$config_path" ]] || fail "Config file was not found, CONFIG_PATH=$config_path"
  config="$(tr -d '\r\n' <"$config_path")"
  [[ -n "${config//[[:space:]]/}" ]] || { echo "ERROR: Version config is empty" >&2; exit 1; }
  jq -e 'type == "object"' "$config_path" >/dev/null 2>&1 || fail "Config file is not a JSON object, CONFIG_PATH=$config_path"
  # Compacted with `jq -c` as upstream, unless a number is too long for jq 1.6's doubles (it would round it):
  # then the file's own text is sent on one line.
  [[ "$config" =~ [0-9]{16} ]] || config="$(jq -c . "$config_path")"
  post developer create-version "$(temp_file developer-create-version "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")" config "$config")"
  receive VERSION version_id
  say "Version was created, VERSION=$VALUE"
}

developer_uploadFilesArchive() {
  need "developer uploadFilesArchive" 3 "$@"
  require_environment
  local tenant="$1" version="$2" directory="$3" archive
  say "Using tenant, TENANT=$tenant"
  say "Using version, VERSION=$version"
  say "Using files directory path, FILES_DIRECTORY_PATH=$directory"
  require zip
  [[ -d "$directory" ]] || fail "Files directory was not found, FILES_DIRECTORY_PATH=$directory"
  archive="$(cd "$CTL_DIRECTORY/versions" && pwd)/version_${tenant//[^A-Za-z0-9._-]/_}_${version//[^A-Za-z0-9._-]/_}.zip"
  say "Using archive path, ARCHIVE_PATH=$archive"
  rm -f "$archive"
  (cd "$directory" && find . -type f -name "*.lua" | sort | zip -q -@ "$archive") ||
    fail "No *.lua files were archived, FILES_DIRECTORY_PATH=$directory"
  post developer upload-files-archive "$(temp_file developer-upload-files-archive "$tenant" "$version")" \
    "tenant=$tenant, tenantVersionId=$version, version.zip=@$archive" form \
    -F "tenant=$tenant" -F "tenantVersionId=$version" -F "version.zip=@$archive"
  receive FILES_ARCHIVE files_archive_id
  say "Files archive was uploaded, FILES_ARCHIVE=$VALUE"
}

developer_getVersionDetails() {
  need "developer getVersionDetails" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using version, VERSION=$2"
  post developer get-version-details "$(temp_file developer-get-version-details "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" version_id "$(jnum "$2")")"
  show_details
}

# Upstream sends {"tenant", "version_id"}, which the server refuses (defect 12.7); the server's field is `id`.
developer_deleteVersion() {
  need "developer deleteVersion" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using version, VERSION=$2"
  post developer delete-version "$(temp_file developer-delete-version "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" id "$(jstr "$2")")"
  say_deleted Version "TENANT=$1, VERSION=$2"
}

# Ours (later upstream's create-image): the image a version's runtimes run, e.g. `process:<name>` for the process host.
developer_createImage() {
  need "developer createImage" 4 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using version, VERSION=$2"
  say "Using qualifier, QUALIFIER=$3"
  say "Using image id, IMAGE_ID=$4"
  post developer create-image "$(temp_file developer-create-image "$1" "$2" "$3")" \
    "$(jobj tenant "$(jstr "$1")" version_id "$(jnum "$2")" qualifier "$(jstr "$3")" image_id "$(jstr "$4")")"
  receive IMAGE image_id
  say "Image was created, IMAGE=$VALUE"
}

developer_deployVersion() {
  need "developer deployVersion" 4 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using project, PROJECT=$2"
  say "Using stage, STAGE=$3"
  say "Using version, VERSION=$4"
  post developer deploy-version "$(temp_file developer-deploy-version "$1" "$2" "$3" "$4")" \
    "$(jobj tenant "$(jstr "$1")" project "$(jstr "$2")" stage "$(jstr "$3")" version_id "$(jnum "$4")")"
  receive DEPLOYMENT deployment_id
  say "Deployment was created, DEPLOYMENT=$VALUE"
}

developer_getDeploymentDetails() {
  need "developer getDeploymentDetails" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using deployment, DEPLOYMENT=$2"
  post developer get-deployment-details "$(temp_file developer-get-deployment-details "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" deployment_id "$(jnum "$2")")"
  show_details
}

developer_deleteDeployment() {
  need "developer deleteDeployment" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using deployment, DEPLOYMENT=$2"
  post developer delete-deployment "$(temp_file developer-delete-deployment "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" id "$(jstr "$2")")"
  say_deleted Deployment "TENANT=$1, DEPLOYMENT=$2"
}

developer_createLobbyRequest() {
  need "developer createLobbyRequest" 2 "$@"
  require_environment
  post developer create-lobby-request "$(temp_file developer-create-lobby-request "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" deployment_id "$(jstr "$2")")"
  echo "Lobby request created successfully."
}

developer_deleteLobby() {
  need "developer deleteLobby" 1 "$@"
  require_environment
  say "Using lobby, LOBBY_ID=$1"
  post developer delete-lobby "$(temp_file developer-delete-lobby "$1")" "$(jobj lobby_id "$(jstr "$1")")"
  say_deleted Lobby "LOBBY_ID=$1"
}

developer_createMatchmakerRequest() {
  need "developer createMatchmakerRequest" 2 "$@"
  require_environment
  post developer create-matchmaker-request "$(temp_file developer-create-matchmaker-request "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" deployment_id "$(jstr "$2")")"
  echo "Matchmaker request created successfully."
}

developer_deleteMatchmaker() {
  need "developer deleteMatchmaker" 1 "$@"
  require_environment
  say "Using matchmaker, MATCHMAKER_ID=$1"
  post developer delete-matchmaker "$(temp_file developer-delete-matchmaker "$1")" "$(jobj matchmaker_id "$(jstr "$1")")"
  say_deleted Matchmaker "MATCHMAKER_ID=$1"
}

# Ours: a matchmaker's queue per mode, its matches (status, players per group) and its latest refused requests.
developer_getMatchmakerDetails() {
  need "developer getMatchmakerDetails" 2 "$@"
  require_environment
  say "Using tenant, TENANT=$1"
  say "Using matchmaker, MATCHMAKER_ID=$2"
  post developer get-matchmaker-details "$(temp_file developer-get-matchmaker-details "$1" "$2")" \
    "$(jobj tenant "$(jstr "$1")" matchmaker_id "$(jstr "$2")")"
  show_details
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
  [[ "$port" =~ ^[0-9]+$ ]] || { usage "embedded start"; exit 1; }
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
    *) usage embedded; exit 1 ;;
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
      --url) [[ $# -ge 2 ]] || { usage cluster; exit 1; }; url="$2"; shift 2 ;;
      --url=*) url="${1#--url=}"; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  CLUSTER_URL="$url"
  set -- "${args[@]}"
  local action="${1:-}"
  case "$action" in
    show) [[ $# -eq 1 ]] || { usage cluster; exit 1; }; cluster_show ;;
    drain|undrain) [[ $# -eq 2 && -n "$2" ]] || { usage cluster; exit 1; }; cluster_set_state "$action" "$2" ;;
    *) usage cluster; exit 1 ;;
  esac
}

# --- aliases: the names of the later upstream (contract 8.1) -------------------------------------------
environment_useLocalServer() { environment_useLocal; }

# --- dispatch -----------------------------------------------------------------------------------------
main() {
  init_state
  local group="${1:-}"
  case "$group" in
    "") usage ;;
    help) shift; cmd_help "$@" ;;
    logs) cmd_logs ;;
    embedded) shift; cmd_embedded "$@" ;;
    cluster) shift; cmd_cluster "$@" ;;
    environment | admin | support | developer)
      local action="${2:-}"
      if [[ "$action" =~ ^[A-Za-z]+$ ]] && declare -F "${group}_$action" >/dev/null; then
        shift 2
        "${group}_$action" "$@"
      else
        usage "$group"
        exit 1
      fi
      ;;
    *) usage; exit 1 ;;
  esac
}

main "$@"
