#!/usr/bin/env bash
# Starts what `npm start` runs (bin/rollcall.js serve: the sources through tsx outside production)
# with no DATABASE_URL (embedded PGlite), walks the README's curl lines (org → endpoint → SCIM
# token → SCIM calls: lookup, create, lookup), then sends SIGTERM and expects a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
port=${SMOKE_PORT:-18089}
log="$data/server.log"
ROLLCALL_DATA_DIR="$data" PORT=$port DATABASE_URL= ROLLCALL_ADMIN_KEY= node bin/rollcall.js serve >"$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do curl -fs "localhost:$port/readyz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "localhost:$port/readyz"; echo
key=$(grep -o 'ROLLCALL_ADMIN_KEY=[^ ]*' "$log" | head -n 1 | cut -d= -f2)
[ -n "$key" ] || { echo "no generated admin key printed"; cat "$log"; exit 1; }
org=$(curl -fsS -X POST "localhost:$port/v1/organizations" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"name":"Smoke Test Inc"}' | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).id))')
curl -fsS "localhost:$port/v1/organizations/$org/scim/endpoint" -H "Authorization: Bearer $key"; echo
token=$(curl -fsS -X POST "localhost:$port/v1/organizations/$org/scim/tokens" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"name":"smoke"}' | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).token))')
curl -fsS "localhost:$port/scim/v2/ServiceProviderConfig" -H "Authorization: Bearer $token" >/dev/null
# An IdP's first user: lookup (none), create, lookup again (one), on the embedded database.
lookup() {
  curl -fsS "localhost:$port/scim/v2/Users?filter=userName%20eq%20%22Smoke.User%40example.com%22" -H "Authorization: Bearer $token" |
    node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).totalResults))'
}
[ "$(lookup)" = "0" ] || { echo "expected no user before the create"; exit 1; }
curl -fsS -X POST "localhost:$port/scim/v2/Users" -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"smoke.user@example.com","externalId":"00usmoke","emails":[{"value":"smoke.user@example.com","primary":true}],"active":true}' >/dev/null
[ "$(lookup)" = "1" ] || { echo "the created user was not found by userName"; exit 1; }
kill -TERM $pid
for _ in $(seq 1 30); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
if kill -0 $pid 2>/dev/null; then echo "server did not stop on SIGTERM"; exit 1; fi
wait $pid && status=0 || status=$?
[ "$status" -eq 0 ] || { echo "server exited with $status"; cat "$log"; exit 1; }
grep -q '"rollcall stopped"' "$log" || { echo "no clean shutdown logged"; cat "$log"; exit 1; }
echo "smoke: ok (org $org)"
