#!/usr/bin/env bash
# `npm run drift [-- --stack NAME ...]`: does the deployed fleet still match the program?
#
# Two halves, both always run, so one report shows everything:
#
# 1. `pulumi preview --refresh --expect-no-changes --diff`: the Docker provider reads every
#    resource back (in memory only: preview never writes the state) and Pulumi diffs the
#    program against it. It sees only what the provider's Read reads back: a container
#    removed or stopped, its image, command, ports, restart policy, memory; not its env,
#    labels, mounts or uploaded files (docs/pipeline-and-drift.md, the drift section, has the table). Extra
#    arguments go to `pulumi preview`.
# 2. `./bin/nexus-redis.js check` (with the same --stack): what each server runs against what
#    the program declares (its config file's settings, CONFIG SET or REPLICAOF by hand, the
#    link, persistence), which no Read sees.
#
# Exit codes:
#   0  the preview planned no change and check found every environment healthy
#   1  drift: the preview planned a change (or failed: Pulumi's message says which), or
#      check found a problem
#   2  usage or configuration error: no Pulumi CLI, or check could not read the stack's
#      outputs (its exit 2); nothing was judged by check
#   3  check failed inside (a bug in nexus-redis; its stack trace is on stderr)
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "drift: $*" >&2; }

if ! command -v pulumi >/dev/null 2>&1; then
  say "the Pulumi CLI (pulumi) is not on PATH; install it where the stack is deployed"
  exit 2
fi

# The stack, for check too: --stack NAME, --stack=NAME or -s NAME, as pulumi takes it.
stack=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --stack | -s) [ $((i + 1)) -lt ${#args[@]} ] && stack=(--stack "${args[$((i + 1))]}") ;;
    --stack=*) stack=(--stack "${args[$i]#--stack=}") ;;
  esac
done

say "pulumi preview --refresh --expect-no-changes --diff $*"
pulumi preview --refresh --expect-no-changes --diff "$@"
preview=$?

say "./bin/nexus-redis.js check ${stack[*]}"
node ./bin/nexus-redis.js check "${stack[@]}"
check=$?

if [ "$preview" -ne 0 ]; then
  say "the preview exited $preview: the stack's resources differ from the program (or the preview failed)"
fi
if [ "$check" -ge 2 ]; then
  exit "$check"
fi
if [ "$preview" -ne 0 ] || [ "$check" -ne 0 ]; then
  exit 1
fi
exit 0
