#!/usr/bin/env bash
# Checks the running system's API against its own OpenAPI document with schemathesis: every
# operation gets generated requests, and a response that is a server error (5xx) or that does
# not match the documented schema is a failure. Starts nothing itself: run it against a stack
# started with ./deploy/run.sh (or docker compose up); use a throw-away stack, since the
# generated requests write, change and delete data as the admin.
#
#   ./deploy/fuzz.sh [BASE_URL]   BASE_URL: the gateway's origin (default http://127.0.0.1:8005);
#                                 the document's paths already carry /api/mind
#
# Environment:
#   ENNEO_FUZZ_EXAMPLES  generated requests per operation (default 10)
#   ENNEO_FUZZ_SEED      the generator's seed (fixed by default, so a failure reproduces)
#   ENNEO_TOKEN          bearer token (default: .run/admin-token, written by deploy/run.sh)
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ENNEO_ROOT"

SCHEMATHESIS_VERSION="4.32.5"
base="${1:-http://127.0.0.1:8005}"
base="${base%/}"
token="${ENNEO_TOKEN:-}"
if [[ -z "$token" ]]; then
    [[ -r "$ENNEO_ROOT/.run/admin-token" ]] ||
        die "no ENNEO_TOKEN and no .run/admin-token: start the system with ./deploy/run.sh first"
    token="$(<"$ENNEO_ROOT/.run/admin-token")"
fi
curl -fsS -m 5 "$base/health" >/dev/null || die "nothing healthy answers at $base/health"

[[ -x "$ENNEO_VENV/bin/python" ]] || python3 -m venv "$ENNEO_VENV" ||
    die "could not create $ENNEO_VENV (python3-venv missing?)"
if ! "$ENNEO_VENV/bin/pip" show schemathesis 2>/dev/null | grep -qx "Version: $SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into .venv"
    quietly "$ENNEO_VENV/bin/pip" install --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" || die "could not install schemathesis from PyPI"
fi

log "fuzzing $base against $base/api/mind/docs/openapi.json"
exec "$ENNEO_VENV/bin/schemathesis" --config-file "$ENNEO_ROOT/deploy/schemathesis.toml" \
    run "$base/api/mind/docs/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${ENNEO_FUZZ_EXAMPLES:-10}" \
    --workers 2 \
    --seed "${ENNEO_FUZZ_SEED:-20261207}" \
    --no-color
