#!/usr/bin/env bash
# Checks the Prometheus alert rules the Helm chart ships: `promtool check rules` (syntax, PromQL,
# templates) and `promtool test rules` (the unit tests, each alert firing and not firing).
# Installs Debian's prometheus package for promtool when it is missing (needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."

rules=helm/files/rollcall.rules.yml
tests=helm/files/rollcall.rules.test.yml

if ! command -v promtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "check-alerts: promtool is not installed and apt-get is not available to install it" >&2
    exit 1
  fi
  echo "check-alerts: installing promtool (Debian package prometheus)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  # The package's post-install script cannot start the service in a container (no init); that is
  # fine, only the promtool binary is needed.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool --version 2>&1 | head -n 1
promtool check rules "$rules"
promtool test rules "$tests"
