# Sourced, not run: `source scripts/use-node.sh WANTED DIR` puts Node.js WANTED first on PATH
# for this shell and its children. WANTED is a major version (24: any 24.x) or an exact one
# (22.13.0); DIR is a folder of the project named .node or .node-<something>, which git
# ignores. scripts/use-node-24.sh sources it for the test command and CI (24 .node);
# scripts/test-oldest-node.sh for the oldest Node the package supports.
#
# If `node` on PATH already is WANTED, it is used as it is. Otherwise WANTED (for a major, its
# newest release) is installed from the npm registry (the package node-linux-<arch>, which
# ships the official binary) into DIR, and DIR/bin goes first on PATH. Nothing outside the
# project changes. A DIR holding WANTED is re-used without asking the registry; one holding
# another version is replaced. Delete DIR to move to a newer release of a major.
# shellcheck shell=bash

if [ $# -ne 2 ] || ! [[ $1 =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]] || ! [[ $2 =~ ^\.node(-[A-Za-z0-9._]+)?$ ]]; then
  echo "use-node.sh: usage: source scripts/use-node.sh WANTED DIR, WANTED a major version (24) or an exact one (22.13.0), DIR .node or .node-NAME; got: $*" >&2
  exit 2
fi
nexus_node_wanted=$1
nexus_node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$2"

nexus_node_is_wanted() { # $1: a node binary
  local version
  version=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  case "$nexus_node_wanted" in
    *.*) [ "$version" = "$nexus_node_wanted" ] ;;
    *) [ "${version%%.*}" = "$nexus_node_wanted" ] ;;
  esac
}

nexus_node_install() {
  local arch tmp
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *)
      echo "node: no node-linux package for $(uname -m); install Node.js $nexus_node_wanted yourself" >&2
      return 1
      ;;
  esac
  command -v npm >/dev/null 2>&1 || {
    echo "node: npm is needed to install Node.js $nexus_node_wanted into $nexus_node_dir" >&2
    return 1
  }
  echo "node: installing node-linux-$arch@$nexus_node_wanted from the npm registry into $nexus_node_dir" >&2
  # Unpacked next to its final place, then renamed, so an interrupted download never
  # leaves a DIR that looks installed.
  tmp=$(mktemp -d "$nexus_node_dir.tmp.XXXXXX") || return 1
  if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$nexus_node_wanted" >/dev/null && tar -xzf node-linux-*.tgz --strip-components=1 && rm -f node-linux-*.tgz) ||
    ! nexus_node_is_wanted "$tmp/bin/node"; then
    rm -rf "$tmp"
    echo "node: could not install Node.js $nexus_node_wanted from the npm registry" >&2
    return 1
  fi
  chmod 755 "$tmp"
  # Only a DIR of another version is removed, never one another run has just put in place
  # (two first installs at once: the second to finish finds the first's and uses it). mv -T
  # refuses to move into a folder that exists, instead of moving the new one inside it.
  if [ -e "$nexus_node_dir" ] && ! nexus_node_is_wanted "$nexus_node_dir/bin/node"; then
    rm -rf "$nexus_node_dir" || return 1
  fi
  if ! mv -T "$tmp" "$nexus_node_dir" 2>/dev/null; then
    rm -rf "$tmp"
  fi
  nexus_node_is_wanted "$nexus_node_dir/bin/node" || {
    echo "node: $nexus_node_dir does not hold Node.js $nexus_node_wanted after the install" >&2
    return 1
  }
}

if ! nexus_node_is_wanted node; then
  if ! nexus_node_is_wanted "$nexus_node_dir/bin/node"; then
    nexus_node_install || exit 1
  fi
  export PATH="$nexus_node_dir/bin:$PATH"
fi
echo "node: running on Node.js $(node --version) ($(command -v node))" >&2
