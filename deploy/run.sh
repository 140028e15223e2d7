#!/usr/bin/env bash
# Sets up and runs the whole Enneo Mind system on this machine.
#
#   ./deploy/run.sh [start]   install/start PostgreSQL + RabbitMQ, build, migrate,
#                             (re)start all services, print URL and admin token
#   ./deploy/run.sh stop      stop the services started by this script
#   ./deploy/run.sh status    show which services run and the gateway health
#
# State lives in .run/: <name>.pid, <name>.log, jwt-secret, settings-secret-key, admin-token.
# Service configuration comes from the environment (see README.md); set
# ENNEO_ENV_FILE to a file of VAR=value lines to load it first, ENNEO_CONFIG_DIR to a
# directory of <binary>.toml files (see deploy/config/) that the binaries read under the
# environment, and ENNEO_SKIP_BUILD=1 to run the binaries already in target/release.
# ENNEO_PROFILE=debug builds and runs the debug binaries instead (CI: they share the tests'
# build, so the stack for deploy/fuzz.sh costs no release build).
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ENNEO_ROOT"

SERVICES=(ticket-svc agent-svc quality-svc settings-svc)
# The gateway starts last: it reports healthy only once every service answers.
BINARIES=("${SERVICES[@]}" gateway)
RUN_DIR="$ENNEO_ROOT/.run"
ENNEO_PROFILE="${ENNEO_PROFILE:-release}"
case "$ENNEO_PROFILE" in
    release) BUILD_FLAGS=(--release) ;;
    debug) BUILD_FLAGS=() ;;
    *) die "ENNEO_PROFILE must be release or debug, not $ENNEO_PROFILE" ;;
esac
BIN_DIR="${CARGO_TARGET_DIR:-$ENNEO_ROOT/target}/$ENNEO_PROFILE"
HEALTH_TIMEOUT=60
STOP_TIMEOUT=10

if [[ -n "${ENNEO_ENV_FILE:-}" ]]; then
    [[ -r "$ENNEO_ENV_FILE" ]] || die "ENNEO_ENV_FILE=$ENNEO_ENV_FILE is not readable"
    set -a
    # shellcheck disable=SC1090
    source "$ENNEO_ENV_FILE"
    set +a
fi

# The TOML file of a binary in ENNEO_CONFIG_DIR, or nothing; passed as ENNEO_CONFIG so that
# each binary reads its own file.
config_file() {
    local file="${ENNEO_CONFIG_DIR:-}/$1.toml"
    if [[ -n "${ENNEO_CONFIG_DIR:-}" && -r "$file" ]]; then
        printf '%s\n' "$file"
    fi
}

# Runs a binary of BIN_DIR with its configuration file.
run_binary() {
    local name="$1"
    shift
    ENNEO_CONFIG="$(config_file "$name")" "$BIN_DIR/$name" "$@"
}

# URL to reach the gateway from this machine; a wildcard bind address becomes loopback.
# The address is the gateway's own effective one (file and environment) once it is built.
gateway_url() {
    local addr=""
    if [[ -x "$BIN_DIR/gateway" ]]; then
        addr="$(run_binary gateway config 2>/dev/null | sed -n 's/^http_addr = "\(.*\)"$/\1/p')"
    fi
    addr="${addr:-${GATEWAY_HTTP_ADDR:-127.0.0.1:8005}}"
    local host="${addr%:*}" port="${addr##*:}"
    case "$host" in
        "" | 0.0.0.0) host=127.0.0.1 ;;
        "[::]") host="[::1]" ;;
    esac
    printf 'http://%s:%s' "$host" "$port"
}

# Prints the pid recorded for a binary if that process is still the binary
# (guards against a recycled pid after a reboot or a crash).
running_pid() {
    local name="$1" pidfile="$RUN_DIR/$1.pid" pid exe
    [[ -r "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    # A rebuilt binary shows up as "<path> (deleted)", so compare the name only.
    [[ "$(basename "${exe% (deleted)}")" == "$name" ]] || return 1
    printf '%s\n' "$pid"
}

stop_all() {
    local name pid
    local -A names=() # pid -> binary name, for the messages below
    for name in "${BINARIES[@]}"; do
        if pid="$(running_pid "$name")"; then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            names[$pid]="$name"
        fi
    done

    local i alive=()
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        alive=()
        for pid in "${!names[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                alive+=("$pid")
            fi
        done
        ((${#alive[@]} > 0)) || break
        sleep 0.1
    done
    for pid in ${alive[@]+"${alive[@]}"}; do
        warn "${names[$pid]} (pid $pid) did not stop within ${STOP_TIMEOUT}s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$RUN_DIR"/*.pid
}

status() {
    local name pid url resp
    for name in "${BINARIES[@]}"; do
        if pid="$(running_pid "$name")"; then
            printf '%-13s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-13s stopped\n' "$name"
        fi
    done
    url="$(gateway_url)"
    # Body and status code in one go: the code is the last line.
    if resp="$(curl -s -m 5 -w '\n%{http_code}' "$url/health")"; then
        printf '\n%s/health -> %s %s\n' "$url" "${resp##*$'\n'}" "${resp%$'\n'*}"
    else
        printf '\n%s/health -> not reachable\n' "$url"
    fi
}

print_logs() {
    local name
    for name in "${BINARIES[@]}"; do
        if [[ -f "$RUN_DIR/$name.log" ]]; then
            printf '\n----- %s (last 30 lines of .run/%s.log) -----\n' "$name" "$name" >&2
            tail -n 30 "$RUN_DIR/$name.log" >&2
        fi
    done
}

wait_healthy() {
    local url="$1/health" i name code=""
    for ((i = 0; i < HEALTH_TIMEOUT; i++)); do
        code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url" || true)"
        if [[ "$code" == "200" ]]; then
            debug "gateway healthy after ${i}s"
            return 0
        fi
        # Fail fast when a process has already exited. Only liveness is checked
        # here: right after the start the pid may still be nohup, not the binary.
        for name in "${BINARIES[@]}"; do
            if ! kill -0 "$(<"$RUN_DIR/$name.pid")" 2>/dev/null; then
                print_logs
                die "$name exited during startup (see .run/$name.log)"
            fi
        done
        sleep 1
    done
    print_logs
    die "gateway not healthy at $url after ${HEALTH_TIMEOUT}s (last status: ${code:-none})"
}

start() {
    ensure_packages
    ensure_rust
    ensure_postgres
    ensure_rabbitmq
    ensure_admin_role
    ensure_embeddings

    mkdir -p "$RUN_DIR"
    chmod 700 "$RUN_DIR"

    # One secret per checkout, kept across restarts so issued tokens stay valid.
    if [[ ! -s "$RUN_DIR/jwt-secret" ]]; then
        log "generating .run/jwt-secret"
        (umask 077 && head -c 48 /dev/urandom | base64 -w 0 >"$RUN_DIR/jwt-secret")
    fi
    chmod 600 "$RUN_DIR/jwt-secret"
    if [[ -z "${GATEWAY_JWT_SECRET:-}" ]]; then
        GATEWAY_JWT_SECRET="$(<"$RUN_DIR/jwt-secret")"
    fi
    export GATEWAY_JWT_SECRET

    # Encrypts mailbox OAuth tokens at rest and signs the OAuth state (settings-svc).
    if [[ ! -s "$RUN_DIR/settings-secret-key" ]]; then
        log "generating .run/settings-secret-key"
        (umask 077 && head -c 48 /dev/urandom | base64 -w 0 >"$RUN_DIR/settings-secret-key")
    fi
    chmod 600 "$RUN_DIR/settings-secret-key"
    if [[ -z "${SETTINGS_SECRET_KEY:-}" ]]; then
        SETTINGS_SECRET_KEY="$(<"$RUN_DIR/settings-secret-key")"
    fi
    export SETTINGS_SECRET_KEY

    # agent-svc detects with the local embeddings server and keeps example vectors here, so a
    # restart does not embed the agent catalogue again.
    export AGENT_EMBEDDINGS_URL="${AGENT_EMBEDDINGS_URL:-http://127.0.0.1:$ENNEO_EMBEDDINGS_PORT/v1}"
    export AGENT_EMBEDDINGS_CACHE_DIR="${AGENT_EMBEDDINGS_CACHE_DIR:-$RUN_DIR/embeddings-cache}"

    local name
    if [[ "${ENNEO_SKIP_BUILD:-0}" == "1" ]]; then
        log "ENNEO_SKIP_BUILD=1: using the binaries in $BIN_DIR"
    else
        log "building (cargo build ${BUILD_FLAGS[*]})"
        cargo build "${BUILD_FLAGS[@]}" --workspace --bins
    fi
    for name in "${BINARIES[@]}"; do
        [[ -x "$BIN_DIR/$name" ]] || die "$BIN_DIR/$name not found"
    done

    stop_all

    for name in "${SERVICES[@]}"; do
        log "migrating $name"
        run_binary "$name" migrate --bootstrap-url "$ENNEO_BOOTSTRAP_URL"
    done

    for name in "${BINARIES[@]}"; do
        log "starting $name (log: .run/$name.log)"
        ENNEO_CONFIG="$(config_file "$name")" nohup "$BIN_DIR/$name" serve \
            >"$RUN_DIR/$name.log" 2>&1 </dev/null &
        printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
    done

    local url
    url="$(gateway_url)"
    wait_healthy "$url"

    (umask 077 && run_binary gateway issue-token --user-id 1 --role admin --ttl-hours 720 \
        >"$RUN_DIR/admin-token.tmp")
    mv "$RUN_DIR/admin-token.tmp" "$RUN_DIR/admin-token"
    chmod 600 "$RUN_DIR/admin-token"

    seed_welcome_ticket "$url"
    create_first_admin "$url"

    cat <<EOF

Enneo Mind is running.

  Gateway:      $url  (health: $url/health, API docs: $url/api/mind/docs)
  Admin token:  .run/admin-token  (valid 30 days)
  Log in:       POST $url/api/mind/auth/login  {"email": "$ADMIN_EMAIL", "password": "<.run/admin-password>"}
  Logs:         .run/<service>.log
  Stop:         ./deploy/run.sh stop

Try:
  curl -H "Authorization: Bearer \$(cat .run/admin-token)" $url/api/mind/ticket/1
EOF
}

# The first administrator, to log in with (POST /api/mind/auth/login). The operator token
# is user 1, and so is this profile on a fresh database. Created once; the password stays in
# .run/admin-password.
create_first_admin() {
    local email="${ENNEO_ADMIN_EMAIL:-admin@enneo.local}" password code
    if [[ ! -s "$RUN_DIR/admin-password" ]]; then
        (umask 077 && head -c 18 /dev/urandom | base64 -w 0 | tr '+/' '-_' >"$RUN_DIR/admin-password")
    fi
    password="$(<"$RUN_DIR/admin-password")"
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$1/api/mind/profile" \
        -H "Authorization: Bearer $(cat "$RUN_DIR/admin-token")" \
        -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"firstName\":\"Admin\",\"password\":\"$password\",\"settings\":{\"roleId\":1}}")" || true
    case "$code" in
        200) log "created the first administrator $email" ;;
        409) debug "administrator $email exists" ;;
        *) warn "could not create the first administrator (HTTP ${code:-none})" ;;
    esac
    ADMIN_EMAIL="$email"
}

# A first ticket to look at. Its externalTicketId makes the create an upsert, so
# running this again never duplicates it; on a fresh database it is ticket 1.
seed_welcome_ticket() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$1/api/mind/ticket" \
        -H "Authorization: Bearer $(cat "$RUN_DIR/admin-token")" \
        -H 'Content-Type: application/json' \
        -d '{"channel":"email","externalTicketId":"enneo-welcome","from":"welcome@enneo.example","fromName":"Enneo Mind","subject":"Welcome to Enneo Mind","body":"<p>This ticket was created by deploy/run.sh. Try PATCH /api/mind/ticket/1 or POST /api/mind/ticket/search.</p>","bodyPlain":"This ticket was created by deploy/run.sh. Try PATCH /api/mind/ticket/1 or POST /api/mind/ticket/search."}')" || true
    [[ "$code" == 200 ]] || warn "could not create the welcome ticket (HTTP ${code:-none})"
}

case "${1:-start}" in
    start | restart) start ;;
    stop) stop_all ;;
    status) status ;;
    -h | --help | help) sed -n '2,12s/^# \{0,1\}//p' "$0" ;;
    *) die "unknown command '$1' (use start, stop or status)" ;;
esac
