#!/usr/bin/env bash
# What the full-disk live tests (test/live/check-full-disk.test.ts, test/live/backup-faults.test.ts,
# test/live/restore-disk.test.ts)
# use to make a small ext4 volume on a loop device: truncate, fallocate, mkfs.ext4, losetup, mount,
# umount, mountpoint and findmnt. All are in Debian's required packages (coreutils, e2fsprogs,
# mount, util-linux), so every Debian system has them; a trimmed one gets them from apt. Changes nothing on a machine that has them.
# Progress goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
missing=()
for tool in truncate fallocate mkfs.ext4 losetup mount umount mountpoint findmnt; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-disk-tools: ${missing[*]} missing and this is not root: install Debian's e2fsprogs, mount and util-linux first" >&2
    exit 1
fi
echo "ensure-disk-tools: ${missing[*]} missing: installing e2fsprogs, mount and util-linux with apt" >&2
bash "$HERE/apt-install.sh" e2fsprogs mount util-linux
for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null || { echo "ensure-disk-tools: apt-get install left no $tool on PATH" >&2; exit 1; }
done
