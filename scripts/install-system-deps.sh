#!/usr/bin/env bash
# Installs the system packages the test suites use, with Debian's apt-get, when they are missing:
# Chromium (the playground page is tested in a real browser) and redis-server (the Redis session
# store and the cluster tests start their own server). Fails loudly when it cannot.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

chromium --version
redis-server --version
