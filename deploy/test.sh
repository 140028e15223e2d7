#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL and RabbitMQ on this machine.
#
#   ./deploy/test.sh [ARGS...]   ARGS go to the test runner (cargo nextest run / cargo test)
#
# Environment:
#   ENNEO_TEST_AMQP_URL  broker for the tests (amqp://guest:guest@127.0.0.1:5672/%2f)
#   (the local embeddings server is installed and started like PostgreSQL: ENNEO_TEST_EMBEDDINGS_URL,
#   and so is a small chat model for the LLM path: ENNEO_TEST_LLM_URL; page tests use Debian's
#   chromium, installed when missing, or ENNEO_TEST_CHROMIUM)
#   TEST_LINT=0          skip cargo fmt --check and cargo clippy after the tests
#
# The tests create one database per test (enneo_t_*) through ENNEO_TEST_ADMIN_URL
# and RabbitMQ queues/exchanges prefixed t_; leftovers from aborted runs are
# removed before and after the run.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ENNEO_ROOT"

ensure_packages
ensure_rust
ensure_postgres
ensure_rabbitmq
ensure_admin_role
ensure_embeddings
ensure_test_llm
ensure_chromium

export ENNEO_TEST_ADMIN_URL="$ENNEO_BOOTSTRAP_URL"
export ENNEO_TEST_EMBEDDINGS_URL="http://127.0.0.1:$ENNEO_EMBEDDINGS_PORT/v1"
export ENNEO_TEST_LLM_URL="http://127.0.0.1:$ENNEO_LLM_PORT/v1"
export ENNEO_TEST_AMQP_URL="${ENNEO_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

# Test resource names must look like this before they are put into SQL or
# Erlang below; anything else is left alone.
SAFE_NAME='^[A-Za-z0-9_.:-]+$'

drop_test_databases() {
    local db role
    # LIKE: '\_' is a literal underscore.
    while read -r db; do
        [[ "$db" =~ $SAFE_NAME ]] || continue
        debug "dropping database $db"
        # WITH (FORCE) disconnects sessions a killed test run may have left behind.
        psql -X -q "$ENNEO_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" ||
            warn "could not drop database $db"
    done < <(psql -X -At "$ENNEO_TEST_ADMIN_URL" \
        -c "SELECT datname FROM pg_database WHERE datname LIKE 'enneo\_t\_%'")

    # Roles are cluster-wide, so per-test roles outlive their database. A role
    # that still owns objects elsewhere cannot be dropped; that is not an error.
    while read -r role; do
        [[ "$role" =~ $SAFE_NAME ]] || continue
        debug "dropping role $role"
        psql -X -q "$ENNEO_TEST_ADMIN_URL" -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null 2>&1 || true
    done < <(psql -X -At "$ENNEO_TEST_ADMIN_URL" \
        -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 'enneo\_t\_%'")
}

rabbitmqctl_q() {
    as_root rabbitmqctl -q "$@"
}

# Prints the names of the given kind (queues|exchanges) that start with t_.
list_test_amqp() {
    local name
    # -s: no table headers.
    while read -r name; do
        if [[ "$name" == t_* && "$name" =~ $SAFE_NAME ]]; then
            printf '%s\n' "$name"
        fi
    done < <(rabbitmqctl_q "list_$1" -p / -s name 2>/dev/null || true)
}

# Erlang list of binaries: <<"a">>, <<"b">> (names are checked against SAFE_NAME).
erlang_binaries() {
    local out="" name
    for name in "$@"; do
        out+="${out:+, }<<\"$name\">>"
    done
    printf '%s' "$out"
}

# Each rabbitmqctl call starts an Erlang VM (about half a second), so the broker
# objects are deleted in one `rabbitmqctl eval` call through its internal API.
# That API is not a stable interface: if the call fails, queues are deleted one
# by one with `rabbitmqctl delete_queue`; exchanges, for which rabbitmqctl has
# no command, are left in place (they hold no messages).
delete_test_amqp_objects() {
    local queues=() exchanges=() name
    mapfile -t queues < <(list_test_amqp queues)
    mapfile -t exchanges < <(list_test_amqp exchanges)

    if ((${#queues[@]} > 0)); then
        debug "deleting ${#queues[@]} queue(s): ${queues[*]}"
        if ! rabbitmqctl_q eval "[case rabbit_amqqueue:lookup(rabbit_misc:r(<<\"/\">>, queue, N)) of
                {ok, Q} -> rabbit_amqqueue:delete(Q, false, false, <<\"enneo-test\">>); _ -> ok end
            || N <- [$(erlang_binaries "${queues[@]}")]]." >/dev/null 2>&1; then
            for name in "${queues[@]}"; do
                rabbitmqctl_q delete_queue -p / "$name" >/dev/null || warn "could not delete queue $name"
            done
        fi
    fi

    if ((${#exchanges[@]} > 0)); then
        debug "deleting ${#exchanges[@]} exchange(s): ${exchanges[*]}"
        rabbitmqctl_q eval "[rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, N), false, <<\"enneo-test\">>)
            || N <- [$(erlang_binaries "${exchanges[@]}")]]." >/dev/null 2>&1 ||
            warn "could not delete test exchanges (left in place): ${exchanges[*]}"
    fi
}

cleanup() {
    log "removing test databases and broker objects"
    drop_test_databases || true
    delete_test_amqp_objects || true
}

cleanup
trap cleanup EXIT

if is_ci; then
    debug "$(rustc --version)"
    debug "$(psql -X -At "$ENNEO_TEST_ADMIN_URL" -c 'SHOW server_version')"
fi

failed=()

if cargo nextest --version >/dev/null 2>&1; then
    log "cargo nextest run --workspace"
    cargo nextest run --workspace --no-fail-fast "$@" || failed+=("tests")
else
    log "cargo test --workspace (cargo-nextest not installed)"
    cargo test --workspace --no-fail-fast "$@" || failed+=("tests")
fi

if [[ "${TEST_LINT:-1}" != "0" ]]; then
    log "cargo fmt --all -- --check"
    cargo fmt --all -- --check || failed+=("rustfmt")
    log "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings || failed+=("clippy")
fi

if ((${#failed[@]} > 0)); then
    die "failed: ${failed[*]}"
fi
log "all checks passed"
