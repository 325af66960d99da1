#!/usr/bin/env bash
# losetup, mount, mkfs.ext4, fallocate and mountpoint, for the live tests that fill a small disk (a loop-device ext4
# volume, harness/loopVolume.ts): Debian's mount, e2fsprogs and util-linux packages, installed with apt
# when missing. Changes nothing on a machine that has them. Progress goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
need=()
{ command -v losetup && command -v mount && command -v umount; } >/dev/null || need+=(mount)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
{ command -v fallocate && command -v mountpoint; } >/dev/null || need+=(util-linux)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-loop-tools: ${need[*]} missing and this is not root: install them first" >&2
    exit 1
fi
echo "ensure-loop-tools: installing ${need[*]} with apt" >&2
bash "$HERE/apt-install.sh" "${need[@]}"
for tool in losetup mount umount mountpoint mkfs.ext4 fallocate; do
    command -v "$tool" >/dev/null || { echo "ensure-loop-tools: apt-get install ${need[*]} left no $tool on PATH" >&2; exit 1; }
done
