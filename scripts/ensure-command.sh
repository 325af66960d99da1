#!/usr/bin/env bash
# ensure-command.sh NAME COMMAND PACKAGE: Debian's PACKAGE installed with apt when COMMAND is not on
# PATH, for the ensure-*.sh scripts that need one tool each (NAME prefixes their messages). Changes
# nothing on a machine that has it; refuses when it is missing and this is not root. Progress goes
# to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=$1 command=$2 package=$3
command -v "$command" >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "$name: $command is missing and this is not root: install Debian's $package package first" >&2
    exit 1
fi
echo "$name: installing $package with apt" >&2
# $BASH: the bash running this, wherever it is (PATH may not have it).
"$BASH" "$HERE/apt-install.sh" "$package"
command -v "$command" >/dev/null || { echo "$name: apt-get install $package left no $command on PATH" >&2; exit 1; }
