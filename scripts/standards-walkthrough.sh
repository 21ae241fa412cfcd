#!/usr/bin/env bash
# The standards of SPEC "Events API and SCIM standards", walked with curl from an empty server:
# an organization and a SCIM token, SCIM creates, If-None-Match, RFC 9865 cursors on /Users,
# /Groups and the root /.search, Bulk (bulkId references, failOnErrors, circular references, 413s),
# webhook endpoints (scim-events, PATCH, rotate_secret, the secret only on create/rotate), the
# JWKS, the Events API (after/limit/types, the webhook ids) and the OpenAPI document; and the
# discovery documents checked against what the server does. Exits non-zero at the first
# unexpected answer, printing it. test/integration/standardsWalkthrough.test.ts runs it against a
# fresh server, so it stays true.
#
#   ROLLCALL_URL=http://localhost:8080 ROLLCALL_ADMIN_KEY=rk_… scripts/standards-walkthrough.sh
#
# Needs curl and jq. Optional: WEBHOOK_URL (default http://127.0.0.1:9/hook, an address nothing
# answers: deliveries are created and fail, which is all this walk needs; a production server
# refuses private URLs, so give it a public one there). The expiredCursor check waits for the
# cursor timeout, so it runs only when ServiceProviderConfig advertises one of at most 15 seconds
# (ROLLCALL_SCIM_CURSOR_TIMEOUT_SECONDS=10); the Bulk payload check sends maxPayloadSize + 1 bytes.
set -euo pipefail

URL="${ROLLCALL_URL:?set ROLLCALL_URL, e.g. http://localhost:8080}"
KEY="${ROLLCALL_ADMIN_KEY:?set ROLLCALL_ADMIN_KEY}"
WEBHOOK_URL="${WEBHOOK_URL:-http://127.0.0.1:9/hook}"
URL="${URL%/}"
for tool in curl jq; do command -v "$tool" >/dev/null || { echo "standards-walkthrough: $tool is required" >&2; exit 2; }; done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BODY="$WORK/body"
HEADERS="$WORK/headers"
STATUS=0
STEP=""
CHECKS=0

step() { STEP="$1"; echo "== $1"; }
fail() {
  echo "FAIL [$STEP] $1" >&2
  echo "  last answer: HTTP $STATUS" >&2
  head -c 2000 "$BODY" >&2 || true
  echo >&2
  exit 1
}
ok() { CHECKS=$((CHECKS + 1)); }

# call METHOD PATH [JSON body] [extra curl args…]: the answer's status in $STATUS, body in $BODY, headers in $HEADERS.
call() {
  local method="$1" path="$2" data="${3-}"
  shift 3 2>/dev/null || shift $#
  local args=(-s -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$method" "$URL$path")
  if [[ -n "$data" ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
  : >"$BODY" # curl writes nothing for a bodiless answer (a 304): never show the previous one
  STATUS="$(curl "${args[@]}" "$@")"
}
admin() { local m="$1" p="$2" d="${3-}"; shift 3 2>/dev/null || shift $#; call "$m" "$p" "$d" -H "Authorization: Bearer $KEY" "$@"; }
scim() {
  local m="$1" p="$2" d="${3-}"; shift 3 2>/dev/null || shift $#
  local args=(-s -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$m" "$URL/scim/v2$p" -H "Authorization: Bearer $TOKEN")
  if [[ -n "$d" ]]; then args+=(-H 'Content-Type: application/scim+json' --data-binary "$d"); fi
  : >"$BODY" # curl writes nothing for a bodiless answer (a 304): never show the previous one
  STATUS="$(curl "${args[@]}" "$@")"
}
expect_status() { [[ "$STATUS" == "$1" ]] || fail "expected HTTP $1: $2"; ok; }
# expect_jq 'jq expression that must be true' 'what it means' [jq args…]
expect_jq() { local expr="$1" what="$2"; shift 2; jq -e "$@" "$expr" "$BODY" >/dev/null 2>&1 || fail "$what ($expr)"; ok; }
jqr() { jq -r "$@" "$BODY"; }
header() { grep -i "^$1:" "$HEADERS" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
scim_error() { expect_status "$1" "$3"; expect_jq ".scimType == \"$2\" and (.schemas == [\"urn:ietf:params:scim:api:messages:2.0:Error\"])" "$3"; }

USER_SCHEMA=urn:ietf:params:scim:schemas:core:2.0:User
GROUP_SCHEMA=urn:ietf:params:scim:schemas:core:2.0:Group
SEARCH=urn:ietf:params:scim:api:messages:2.0:SearchRequest
BULK=urn:ietf:params:scim:api:messages:2.0:BulkRequest
RUN="$(date +%s)-$RANDOM"

step "an organization, its SCIM base URL and a SCIM token (README Walkthrough)"
admin POST /v1/organizations "{\"name\":\"Walkthrough $RUN\"}"
expect_status 201 "create an organization"
ORG="$(jqr .slug)"
ORG_ID="$(jqr .id)"
admin GET "/v1/organizations/$ORG/scim/endpoint"
expect_status 200 "the SCIM endpoint"
expect_jq '.endpoint_url | endswith("/scim/v2/")' "endpoint_url is the SCIM base"
admin POST "/v1/organizations/$ORG/scim/tokens" '{"name":"Okta"}'
expect_status 201 "create a SCIM token"
expect_jq '.token | startswith("scim_")' "the token's plaintext is in the create answer"
TOKEN="$(jqr .token)"

step "discovery: ServiceProviderConfig, ResourceTypes, Schemas"
scim GET /ServiceProviderConfig
expect_status 200 "ServiceProviderConfig"
SPC="$(cat "$BODY")"
expect_jq '.patch.supported and .bulk.supported and .filter.supported and .sort.supported and .etag.supported and (.changePassword.supported | not)' "the features this server implements"
expect_jq '.pagination == {cursor: true, index: true, defaultPaginationMethod: "index", defaultPageSize: .filter.maxResults, maxPageSize: .filter.maxResults, cursorTimeout: .pagination.cursorTimeout} and (.pagination.cursorTimeout > 0)' "RFC 9865 pagination block"
expect_jq '(.bulk.maxOperations | type) == "number" and (.bulk.maxPayloadSize | type) == "number"' "bulk limits advertised"
MAX_RESULTS="$(jqr .filter.maxResults)"
MAX_OPERATIONS="$(jqr .bulk.maxOperations)"
MAX_PAYLOAD="$(jqr .bulk.maxPayloadSize)"
CURSOR_TIMEOUT="$(jqr .pagination.cursorTimeout)"
scim GET /ResourceTypes
expect_status 200 "ResourceTypes"
expect_jq '[.Resources[] | [.id, .endpoint, .schema]] == [["User", "/Users", "urn:ietf:params:scim:schemas:core:2.0:User"], ["Group", "/Groups", "urn:ietf:params:scim:schemas:core:2.0:Group"]]' "User and Group at /Users and /Groups"
TYPE_SCHEMAS="$(jq -c '[.Resources[] | .schema, (.schemaExtensions // [] | .[].schema)] | sort' "$BODY")"
for type in User Group; do
  scim GET "/ResourceTypes/$type"
  expect_status 200 "ResourceTypes/$type"
  expect_jq ".id == \"$type\"" "ResourceTypes/$type names itself"
done
scim GET /Schemas
expect_status 200 "Schemas"
expect_jq "[.Resources[].id] | sort == $TYPE_SCHEMAS" "/Schemas holds exactly the schemas the resource types name"
for id in $(jq -r '.[]' <<<"$TYPE_SCHEMAS"); do
  scim GET "/Schemas/$id"
  expect_status 200 "Schemas/$id"
  expect_jq "(.id == \"$id\") and (.attributes | length > 0)" "Schemas/$id describes its attributes"
done

step "webhook endpoints: scim-events, PATCH, rotate_secret; the secret only on create and rotate"
admin POST "/v1/organizations/$ORG/webhook_endpoints" "{\"url\":\"$WEBHOOK_URL\",\"format\":\"scim-events\",\"scim_events_mode\":\"full\"}"
expect_status 201 "create a scim-events endpoint"
expect_jq '.format == "scim-events" and .scim_events_mode == "full" and (.secret | startswith("whsec_"))' "format, mode and the secret on create"
SET_ENDPOINT="$(jqr .id)"
FIRST_SECRET="$(jqr .secret)"
admin GET "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT"
expect_status 200 "read the endpoint"
expect_jq 'has("secret") | not' "no secret in GET"
admin PATCH "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT" '{"scim_events_mode":"notice","events":["scimUser.provisioned","scimGroup.created"],"enabled":false}'
expect_status 200 "PATCH events, enabled, mode"
expect_jq '.scim_events_mode == "notice" and .events == ["scimUser.provisioned","scimGroup.created"] and .enabled == false and (has("secret") | not)' "PATCH applied, no secret"
admin PATCH "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT" '{"events":["reconciler.drift_detected"]}'
expect_status 400 "a scim-events endpoint cannot subscribe to an event without an RFC 9967 counterpart"
admin PATCH "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT" "{\"url\":\"$WEBHOOK_URL?patched=1\",\"enabled\":true,\"format\":\"standard-webhooks\"}"
expect_status 200 "PATCH url, enabled, format"
expect_jq ".url == \"$WEBHOOK_URL?patched=1\" and .enabled and .format == \"standard-webhooks\"" "PATCH url, enabled, format applied"
# README "Rotating an endpoint's secret": without a body, and with one.
admin POST "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT/rotate_secret"
expect_status 200 "rotate_secret without a body"
expect_jq ".secret != \"$FIRST_SECRET\" and (.secret | startswith(\"whsec_\")) and (.previous_secret_expires_at | type) == \"number\"" "a new secret and the overlap's end"
admin POST "/v1/organizations/$ORG/webhook_endpoints/$SET_ENDPOINT/rotate_secret" '{"overlap_seconds":0}'
expect_status 200 "rotate_secret with overlap_seconds"
expect_jq '.previous_secret_expires_at == null' "overlap 0: the previous secret stops at once"
admin GET "/v1/organizations/$ORG/webhook_endpoints"
expect_status 200 "list endpoints"
expect_jq '[.data[] | has("secret")] | any | not' "no secret in lists"
admin POST "/v1/organizations/$ORG/webhook_endpoints" "{\"url\":\"$WEBHOOK_URL\",\"format\":\"json\"}"
expect_status 400 "an unknown format"
admin POST "/v1/organizations/$ORG/webhook_endpoints" "{\"url\":\"$WEBHOOK_URL\"}"
expect_status 201 "a standard-webhooks endpoint (the default format)"
expect_jq '.format == "standard-webhooks"' "standard-webhooks is the default"

step "JWKS: the SCIM events signing key, public part only, no auth"
call GET /.well-known/jwks.json
expect_status 200 "/.well-known/jwks.json"
expect_jq '(.keys | length) >= 1 and all(.keys[]; .kty == "EC" and .crv == "P-256" and .alg == "ES256" and .use == "sig" and (.kid | length) > 0 and (has("d") | not))' "ES256 public keys with kids, no private part"
[[ "$(header Content-Type)" == application/jwk-set+json* ]] || fail "JWKS Content-Type is application/jwk-set+json"; ok

step "SCIM creates, ETags and If-None-Match"
USERS=()
for i in 1 2 3 4 5; do
  scim POST /Users "{\"schemas\":[\"$USER_SCHEMA\"],\"userName\":\"walk$i.$RUN@acme.com\",\"name\":{\"givenName\":\"Walk\",\"familyName\":\"Er$i\"},\"emails\":[{\"value\":\"walk$i.$RUN@acme.com\",\"primary\":true}]}"
  expect_status 201 "create user $i"
  USERS+=("$(jqr .id)")
done
scim POST /Groups "{\"schemas\":[\"$GROUP_SCHEMA\"],\"displayName\":\"Walk Eng $RUN\",\"members\":[{\"value\":\"${USERS[0]}\"}]}"
expect_status 201 "create a group with a member"
GROUP1="$(jqr .id)"
scim POST /Groups "{\"schemas\":[\"$GROUP_SCHEMA\"],\"displayName\":\"Walk Ops $RUN\"}"
expect_status 201 "create a group"
GROUP2="$(jqr .id)"
scim GET "/Users/${USERS[1]}"
expect_status 200 "read a user"
ETAG="$(header ETag)"
[[ -n "$ETAG" ]] || fail "GET /Users/:id carries an ETag"; ok
expect_jq ".meta.version == $(jq -Rn --arg e "$ETAG" '$e')" "the ETag is meta.version"
scim GET "/Users/${USERS[1]}" "" -H "If-None-Match: $ETAG"
expect_status 304 "If-None-Match with the current ETag"
[[ ! -s "$BODY" ]] || fail "a 304 has no body"; ok
scim GET "/Users/${USERS[1]}" "" -H "If-None-Match: *"
expect_status 304 "If-None-Match: *"
scim GET "/Groups/$GROUP1" "" -H "If-None-Match: W/\"999\""
expect_status 200 "If-None-Match with another version"
GROUP_ETAG="$(header ETag)"
scim GET "/Groups/$GROUP1" "" -H "If-None-Match: $GROUP_ETAG"
expect_status 304 "If-None-Match on a group"
scim PATCH "/Users/${USERS[1]}" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Changed"}]}'
expect_status 200 "PATCH a user"
scim GET "/Users/${USERS[1]}" "" -H "If-None-Match: $ETAG"
expect_status 200 "a changed user is sent again"
[[ "$(header ETag)" != "$ETAG" ]] || fail "the ETag changes with the user"; ok

step "RFC 9865 cursors on /Users, /Groups, their .search and the root /.search"
walk_ids() { # walk_ids METHOD PATH-or-body-template COUNT: prints the ids of every page, fails on a page without a cursor rule
  local method="$1" target="$2" count="$3" cursor="" pages=0
  : >"$WORK/ids"
  while :; do
    if [[ "$method" == GET ]]; then
      scim GET "$target&count=$count&cursor=$(jq -rn --arg c "$cursor" '$c|@uri')"
    else
      scim POST "$target" "$(jq -c --arg c "$cursor" --argjson n "$count" '. + {cursor: $c, count: $n}' <<<"$SEARCH_BODY")"
    fi
    expect_status 200 "a cursor page of $target"
    expect_jq 'has("startIndex") | not' "a cursor page has no startIndex"
    jqr '.Resources[].id' >>"$WORK/ids"
    pages=$((pages + 1))
    [[ $pages -lt 200 ]] || fail "the walk of $target does not end"
    if ! jq -e 'has("nextCursor")' "$BODY" >/dev/null; then break; fi
    cursor="$(jqr .nextCursor)"
    [[ "$cursor" =~ ^[A-Za-z0-9._~-]+$ ]] || fail "nextCursor uses only unreserved characters"
  done
}
FILTER="$(jq -rn --arg f "userName ew \"$RUN@acme.com\"" '$f|@uri')"
walk_ids GET "/Users?filter=$FILTER" 2
[[ "$(paste -sd' ' "$WORK/ids")" == "${USERS[*]}" ]] || fail "the /Users walk returns every user once, in creation order"; ok
scim GET "/Users?cursor=&count=2&filter=$FILTER"
expect_jq '.totalResults == 5 and .itemsPerPage == 2 and (.nextCursor | length) > 0' "the first page: totalResults of all matches, a nextCursor"
FIRST_CURSOR="$(jqr .nextCursor)"
scim GET "/Groups?cursor=&count=1&filter=$(jq -rn --arg f "displayName ew \"$RUN\"" '$f|@uri')"
expect_status 200 "a /Groups cursor page"
expect_jq ".Resources[0].id == \"$GROUP1\" and (.nextCursor | length) > 0" "the first group, and a cursor"
scim GET "/Users?cursor=not-a-cursor"
scim_error 400 invalidCursor "a made-up cursor"
scim GET "/Users?cursor=$FIRST_CURSOR&filter=$(jq -rn '"userName pr"|@uri')"
scim_error 400 invalidCursor "a cursor with another filter"
scim GET "/Groups?cursor=$FIRST_CURSOR"
scim_error 400 invalidCursor "a /Users cursor on /Groups"
scim GET "/Users?cursor=&startIndex=1"
scim_error 400 invalidValue "cursor and startIndex together"
SEARCH_BODY="{\"schemas\":[\"$SEARCH\"],\"filter\":\"userName ew \\\"$RUN@acme.com\\\"\",\"attributes\":[\"userName\"]}"
walk_ids POST /Users/.search 3
[[ "$(paste -sd' ' "$WORK/ids")" == "${USERS[*]}" ]] || fail "the POST /Users/.search walk"; ok
SEARCH_BODY="{\"schemas\":[\"$SEARCH\"],\"filter\":\"displayName ew \\\"$RUN\\\"\"}"
walk_ids POST /Groups/.search 1
[[ "$(paste -sd' ' "$WORK/ids")" == "$GROUP1 $GROUP2" ]] || fail "the POST /Groups/.search walk"; ok
# The root /.search: users and groups in one creation order; an attribute a type lacks does not match there.
SEARCH_BODY="{\"schemas\":[\"$SEARCH\"],\"filter\":\"userName ew \\\"$RUN@acme.com\\\" or displayName ew \\\"$RUN\\\"\",\"attributes\":[\"userName\",\"displayName\"]}"
walk_ids POST /.search 3
[[ "$(paste -sd' ' "$WORK/ids")" == "${USERS[*]} $GROUP1 $GROUP2" ]] || fail "the root /.search walk: users, then the groups created after them"; ok
scim POST /.search "$(jq -c '. + {startIndex: 5, count: 2}' <<<"$SEARCH_BODY")"
expect_status 200 "root /.search with index paging"
expect_jq ".totalResults == 7 and .startIndex == 5 and ([.Resources[] | [.id, .meta.resourceType]] == [[\"${USERS[4]}\", \"User\"], [\"$GROUP1\", \"Group\"]])" "index paging over both types"
scim POST /.search "{\"schemas\":[\"$SEARCH\"],\"filter\":\"members[value eq \\\"${USERS[0]}\\\"]\"}"
expect_status 200 "root /.search on a Group attribute"
expect_jq ".totalResults == 1 and .Resources[0].id == \"$GROUP1\"" "only groups have members"
scim POST /.search "{\"schemas\":[\"$SEARCH\"],\"filter\":\"meta.resourceType eq \\\"Group\\\" and displayName ew \\\"$RUN\\\"\"}"
expect_status 200 "root /.search for one type"
expect_jq "[.Resources[].id] == [\"$GROUP1\", \"$GROUP2\"]" "meta.resourceType picks the groups"
scim POST /.search "{\"schemas\":[\"$SEARCH\"],\"filter\":\"favouriteColour eq \\\"blue\\\"\"}"
scim_error 400 invalidFilter "an attribute neither type defines"
# README "SCIM semantics worth knowing": the root /.search example.
scim POST /.search "{\"schemas\":[\"$SEARCH\"],\"filter\":\"userName sw \\\"walk1.$RUN\\\" or displayName sw \\\"Walk Eng $RUN\\\"\",\"cursor\":\"\",\"count\":50}"
expect_status 200 "the README's root /.search example"
expect_jq "[.Resources[].id] == [\"${USERS[0]}\", \"$GROUP1\"] and .totalResults == 2 and (has(\"nextCursor\") | not)" "one user and one group, the last page"
if [[ "$CURSOR_TIMEOUT" -le 15 ]]; then
  scim GET "/Users?cursor=&count=1"
  OLD_CURSOR="$(jqr .nextCursor)"
  sleep $((CURSOR_TIMEOUT + 2))
  scim GET "/Users?cursor=$OLD_CURSOR&count=1"
  scim_error 400 expiredCursor "a cursor older than cursorTimeout"
else
  echo "   (expiredCursor not checked: cursorTimeout is $CURSOR_TIMEOUT s; run the server with ROLLCALL_SCIM_CURSOR_TIMEOUT_SECONDS=10 to check it)"
fi

step "Bulk: bulkId references, failOnErrors, circular references, limits (README SCIM Bulk)"
scim POST /Bulk "{
  \"schemas\": [\"$BULK\"], \"failOnErrors\": 1,
  \"Operations\": [
    {\"method\": \"POST\", \"path\": \"/Users\", \"bulkId\": \"u1\",
     \"data\": {\"schemas\": [\"$USER_SCHEMA\"], \"userName\": \"ada.$RUN@acme.com\"}},
    {\"method\": \"POST\", \"path\": \"/Groups\", \"bulkId\": \"g1\",
     \"data\": {\"schemas\": [\"$GROUP_SCHEMA\"], \"displayName\": \"Engineering $RUN\",
              \"members\": [{\"value\": \"bulkId:u1\"}]}}]}"
expect_status 200 "the README's Bulk example"
expect_jq '.schemas == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"] and ([.Operations[] | [.method, .bulkId, .status]] == [["POST","u1","201"],["POST","g1","201"]]) and all(.Operations[]; (.location | length) > 0 and (.version | startswith("W/")))' "two 201s with locations and versions"
BULK_USER="$(jqr '.Operations[0].location | split("/") | last')"
BULK_GROUP_LOCATION="$(jqr '.Operations[1].location')"
scim GET "/Groups/${BULK_GROUP_LOCATION##*/}"
expect_status 200 "the group Bulk created"
expect_jq "[.members[].value] == [\"$BULK_USER\"]" "bulkId:u1 resolved to the new user"
scim POST /Bulk "{\"schemas\":[\"$BULK\"],\"failOnErrors\":1,\"Operations\":[
  {\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"bad\",\"data\":{\"schemas\":[\"$USER_SCHEMA\"]}},
  {\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"never\",\"data\":{\"schemas\":[\"$USER_SCHEMA\"],\"userName\":\"never.$RUN@acme.com\"}}]}"
expect_status 200 "failOnErrors"
expect_jq '(.Operations | length) == 1 and .Operations[0].status == "400" and .Operations[0].response.scimType == "invalidValue"' "failOnErrors 1 stops after the first failure"
scim GET "/Users?filter=$(jq -rn --arg f "userName eq \"never.$RUN@acme.com\"" '$f|@uri')"
expect_jq '.totalResults == 0' "the operation after the failure did not run"
scim POST /Bulk "{\"schemas\":[\"$BULK\"],\"Operations\":[
  {\"method\":\"POST\",\"path\":\"/Groups\",\"bulkId\":\"a\",\"data\":{\"schemas\":[\"$GROUP_SCHEMA\"],\"displayName\":\"Cycle A $RUN\",\"members\":[{\"value\":\"bulkId:b\"}]}},
  {\"method\":\"POST\",\"path\":\"/Groups\",\"bulkId\":\"b\",\"data\":{\"schemas\":[\"$GROUP_SCHEMA\"],\"displayName\":\"Cycle B $RUN\",\"members\":[{\"value\":\"bulkId:a\"}]}},
  {\"method\":\"PATCH\",\"path\":\"/Users/bulkId:nobody\",\"data\":{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":false}]}},
  {\"method\":\"DELETE\",\"path\":\"/Groups/$GROUP2\",\"version\":\"W/\\\"999\\\"\"}]}"
expect_status 200 "circular references, an unknown bulkId, a stale version"
expect_jq '[.Operations[].status] == ["409","409","400","412"]' "cycle 409s, unknown bulkId 400, stale version 412"
scim GET "/Groups?filter=$(jq -rn --arg f "displayName sw \"Cycle\" and displayName ew \"$RUN\"" '$f|@uri')"
expect_jq '.totalResults == 0' "nothing of a cycle is written"
OPS="$(jq -cn --argjson n "$((MAX_OPERATIONS + 1))" --arg s "$USER_SCHEMA" --arg run "$RUN" '[range($n) | {method: "POST", path: "/Users", bulkId: "o\(.)", data: {schemas: [$s], userName: "over\(.).\($run)@acme.com"}}]')"
scim POST /Bulk "{\"schemas\":[\"$BULK\"],\"Operations\":$OPS}"
expect_status 413 "more operations than maxOperations"
expect_jq ".status == \"413\" and (.detail | contains(\"maxOperations\"))" "the 413 names maxOperations"
scim GET "/Users?filter=$(jq -rn --arg f "userName sw \"over0.$RUN\"" '$f|@uri')"
expect_jq '.totalResults == 0' "a refused Bulk runs no operation"
jq -cn --argjson size "$MAX_PAYLOAD" --arg s "$USER_SCHEMA" '{schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [{method: "POST", path: "/Users", data: {schemas: [$s], userName: "big@acme.com", nickName: ("x" * ($size + 1))}}]}' >"$WORK/big.json"
STATUS="$(curl -s -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X POST "$URL/scim/v2/Bulk" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/scim+json' --data-binary @"$WORK/big.json")"
expect_status 413 "a body over maxPayloadSize"
expect_jq '.status == "413" and (.detail | contains("maxPayloadSize"))' "the 413 names maxPayloadSize"

step "Events API: every event once, in order, by cursor; the ids the webhooks carry"
admin GET "/v1/organizations/$ORG/events?limit=100&types=scimUser.provisioned,scimUser.deprovisioned"
expect_status 200 "the README's Events API example"
expect_jq '.object == "list" and all(.data[]; .type == "scimUser.provisioned" or .type == "scimUser.deprovisioned") and (.next_cursor | length) > 0' "only the types asked for, and a next_cursor"
expect_jq '[.data[] | select(.type == "scimUser.provisioned")] | length == 6' "six users provisioned (five, and the Bulk one)"
: >"$WORK/events"
AFTER=""
PAGES=0
while :; do
  admin GET "/v1/organizations/$ORG/events?limit=3${AFTER:+&after=$AFTER}"
  expect_status 200 "an Events API page"
  expect_jq 'all(.data[]; .object == "event" and (.id | startswith("msg_")) and (.timestamp | length) > 0 and (.created_at | type) == "number")' "events in the webhook body's shape"
  jqr '.data[].id' >>"$WORK/events"
  PAGES=$((PAGES + 1))
  [[ $PAGES -lt 200 ]] || fail "the events walk does not end"
  AFTER="$(jqr .next_cursor)"
  jq -e '.has_more' "$BODY" >/dev/null || break
done
EVENTS="$(wc -l <"$WORK/events" | tr -d ' ')"
[[ "$EVENTS" -eq 10 ]] || fail "the 10 changes above (7 creates, a PATCH, 2 Bulk creates) are the events (got $EVENTS)"; ok
[[ "$(sort "$WORK/events" | uniq | wc -l | tr -d ' ')" == "$EVENTS" ]] || fail "every event once"; ok
admin GET "/v1/organizations/$ORG/events?after=$AFTER"
expect_status 200 "polling past the end"
expect_jq ".data == [] and .has_more == false and .next_cursor == \"$AFTER\"" "an empty page keeps the cursor"
scim DELETE "/Users/${USERS[4]}"
expect_status 204 "delete a user"
# An event is listed once every write transaction that began before it has ended: poll briefly.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  admin GET "/v1/organizations/$ORG/events?after=$AFTER"
  jq -e '.data != []' "$BODY" >/dev/null && break
  sleep 0.5
done
expect_jq '[.data[].type] == ["scimUser.deprovisioned"]' "the poll from the cursor sees only what committed since"
admin GET "/v1/organizations/$ORG/events?types=nope"
expect_status 400 "an unknown event type"
admin GET "/v1/organizations/$ORG/events?after=garbage"
expect_status 400 "a malformed cursor"
admin GET "/v1/organizations/$ORG/webhook_deliveries?limit=200"
expect_status 200 "deliveries"
jqr '.data[].event_id' | sort -u >"$WORK/delivered"
[[ -s "$WORK/delivered" ]] || fail "the endpoints got deliveries"; ok
admin GET "/v1/organizations/$ORG/events?limit=1000"
jqr '.data[].id' | sort -u >"$WORK/all-events"
[[ -z "$(comm -23 "$WORK/delivered" "$WORK/all-events")" ]] || fail "every delivery's event id (its webhook-id) is an Events API id"
ok

step "OpenAPI 3.1 document of the admin API, no auth"
call GET /v1/openapi.json
expect_status 200 "/v1/openapi.json"
expect_jq '.openapi == "3.1.0"' "OpenAPI 3.1"
expect_jq '.paths["/v1/organizations/{org}/events"].get and .paths["/v1/organizations/{org}/webhook_endpoints/{id}"].patch and .paths["/v1/organizations/{org}/webhook_endpoints/{id}/rotate_secret"].post and .paths["/v1/organizations"].post' "the standards' admin routes are documented"
expect_jq '.paths["/v1/organizations/{org}/webhook_endpoints/{id}/rotate_secret"].post.requestBody.required == false' "rotate_secret needs no body, as above"

step "tenant isolation: another organization's token sees none of it"
admin POST /v1/organizations "{\"name\":\"Walkthrough other $RUN\"}"
expect_status 201 "a second organization"
OTHER="$(jqr .slug)"
admin POST "/v1/organizations/$OTHER/scim/tokens" '{"name":"other"}'
OTHER_TOKEN="$(jqr .token)"
SAVED_TOKEN="$TOKEN"
TOKEN="$OTHER_TOKEN"
scim POST /.search "{\"schemas\":[\"$SEARCH\"]}"
expect_jq '.totalResults == 0' "the other organization's root /.search is empty"
scim GET "/Users?cursor=$FIRST_CURSOR"
scim_error 400 invalidCursor "another organization's cursor"
scim GET "/Users/${USERS[0]}"
expect_status 404 "another organization's user"
TOKEN="$SAVED_TOKEN"
admin GET "/v1/organizations/$OTHER/events"
expect_jq '.data == []' "the other organization has no events"

echo "standards walkthrough: $CHECKS checks passed against $URL (organization $ORG_ID)"
