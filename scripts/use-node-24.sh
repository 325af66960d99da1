# Sourced, not run, by scripts/test.sh and .ci/run: everything after it (npm ci, tsc, vitest,
# the benchmarks) runs on Node.js 24, the LTS line the project is tested on.
#
# If `node` on PATH is already 24.x, it is used as it is. Otherwise the newest 24.x is
# installed from the npm registry (the package node-linux-<arch>, which ships the official
# binary) into .node/ in the project, which git ignores, and .node/bin goes first on PATH
# for this shell and its children. Nothing outside the project changes. An existing .node/
# is re-used without asking the registry; delete it to move to a newer 24.x.
# shellcheck shell=bash

nexus_node_major=24
nexus_node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.node"

nexus_node_is_major() { # $1: a node binary
  [ "$("$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$nexus_node_major" ]
}

nexus_node_install() {
  local arch tmp
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *)
      echo "node: no node-linux package for $(uname -m); install Node.js $nexus_node_major yourself" >&2
      return 1
      ;;
  esac
  command -v npm >/dev/null 2>&1 || {
    echo "node: npm is needed to install Node.js $nexus_node_major into $nexus_node_dir" >&2
    return 1
  }
  echo "node: installing node-linux-$arch@$nexus_node_major from the npm registry into $nexus_node_dir" >&2
  # Unpacked next to its final place, then renamed, so an interrupted download never
  # leaves a .node/ that looks installed.
  tmp=$(mktemp -d "$nexus_node_dir.tmp.XXXXXX") || return 1
  if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$nexus_node_major" >/dev/null && tar -xzf node-linux-*.tgz --strip-components=1 && rm -f node-linux-*.tgz) ||
    ! nexus_node_is_major "$tmp/bin/node"; then
    rm -rf "$tmp"
    echo "node: could not install Node.js $nexus_node_major from the npm registry" >&2
    return 1
  fi
  rm -rf "$nexus_node_dir"
  chmod 755 "$tmp"
  mv "$tmp" "$nexus_node_dir"
}

if ! nexus_node_is_major node; then
  if ! nexus_node_is_major "$nexus_node_dir/bin/node"; then
    nexus_node_install || exit 1
  fi
  export PATH="$nexus_node_dir/bin:$PATH"
fi
echo "node: running on Node.js $(node --version) ($(command -v node))" >&2
