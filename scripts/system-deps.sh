#!/usr/bin/env bash
# System packages the test suite needs (Debian): a PostgreSQL server, and Java + Maven for
# Apache Iceberg's REST catalog test server (its jars come from Maven Central on first use).
# Idempotent.
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v java >/dev/null || need+=(default-jre-headless)
command -v mvn >/dev/null || need+=(maven)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-deps: please install: ${need[*]} (needs root)" >&2
    exit 1
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
