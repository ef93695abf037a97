#!/usr/bin/env bash
# One-off job (temporalio/admin-tools): create the OMS namespace with an explicit retention and
# register the custom search attributes the workflows upsert. An unregistered attribute fails the
# workflow task, so api and worker start only after this job succeeds. Idempotent.
set -euo pipefail

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# How long closed workflow histories stay queryable; the OMS database keeps the order record and
# the (channel, external_id) unique constraint after that.
RETENTION="${TEMPORAL_RETENTION:-720h}"
# Must match workflows/search_attributes.py REGISTRY (tests/deploy checks it).
SEARCH_ATTRIBUTES=(OrderStatus=Keyword Channel=Keyword Location=KeywordList)

retry() {  # retry <what> <command...>: the frontend and the namespace cache take a moment
  for _ in $(seq 1 90); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 2; done
  echo "gave up waiting for $1" >&2; return 1
}

retry "the frontend" temporal operator cluster health
if ! temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "Order management system"
fi
retry "namespace $NAMESPACE" temporal operator search-attribute list --namespace "$NAMESPACE"

existing="$(temporal operator search-attribute list --namespace "$NAMESPACE")"
for entry in "${SEARCH_ATTRIBUTES[@]}"; do
  name="${entry%%=*}" type="${entry#*=}"
  if ! grep -qw "$name" <<<"$existing"; then
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
  fi
done
echo "namespace $NAMESPACE ready"
