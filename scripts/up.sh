#!/usr/bin/env bash
# `npm run up [-- PULUMI_UP_OPTIONS...]`: the whole fleet from a fresh clone, after `npm install`.
#
# - State: the local file backend in .pulumi-state/ (created here), unless PULUMI_BACKEND_URL
#   names another backend (the pipeline sets it), which is then used as it is.
# - Stack: PULUMI_STACK, default dev; selected, or created when it does not exist yet.
# - Passphrase of the stack's secrets (the Redis passwords): PULUMI_CONFIG_PASSPHRASE if set
#   and not empty, else the file PULUMI_CONFIG_PASSPHRASE_FILE names, else .pulumi-passphrase
#   in the project, generated on the first run (mode 0600, git-ignored) and re-used after.
# - Then `pulumi up`, with any extra arguments (`npm run up -- --yes`).
#
# Exit codes: 2 without the Pulumi CLI or with a passphrase file that cannot be read;
# otherwise Pulumi's.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "up: $*" >&2; }

if ! command -v pulumi >/dev/null 2>&1; then
  say "the Pulumi CLI (pulumi) is not on PATH. Install it, then run \`npm run up\` again:
  curl -fsSL https://get.pulumi.com | sh     # then open a new shell, or add ~/.pulumi/bin to PATH
  (other ways: https://www.pulumi.com/docs/install/)"
  exit 2
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi

if [ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
  # The variable wins; a file named as well must not be read instead.
  unset PULUMI_CONFIG_PASSPHRASE_FILE
elif [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -r "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
    say "PULUMI_CONFIG_PASSPHRASE_FILE is $PULUMI_CONFIG_PASSPHRASE_FILE, which cannot be read"
    exit 2
  fi
else
  unset PULUMI_CONFIG_PASSPHRASE
  passphrase_file="$PWD/.pulumi-passphrase"
  if [ ! -e "$passphrase_file" ]; then
    # 30 random bytes, 40 characters, no newline; mode 0600 from the start, and renamed into
    # place only when whole, so an interrupted run never leaves an empty passphrase to re-use.
    (umask 077 && head -c 30 /dev/urandom | base64 | tr -d '\n' > "$passphrase_file.tmp")
    mv "$passphrase_file.tmp" "$passphrase_file"
    say "generated the passphrase of the stack's secrets in $passphrase_file (mode 0600, ignored by git).
    Keep it, and back it up: without it the stack's secrets (the Redis passwords) cannot be decrypted.
    Set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to use another."
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
fi

stack=${PULUMI_STACK:-dev}
pulumi stack select --create "$stack"
exec pulumi up "$@"
