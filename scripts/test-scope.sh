#!/usr/bin/env bash
# Which tests `npm test -- ARGS...` asks for, from the vitest arguments alone: prints "unit"
# when every --project it names is the unit project (so no Docker engine or image is needed),
# else "all". Kept apart from scripts/test.sh so the decision is tested without running it.
#   --project unit, --project=unit (repeatable), with any other vitest flags  -> unit
#   no --project, or any other project (live, a pattern)                     -> all
set -euo pipefail

projects=()
while [ $# -gt 0 ]; do
  case "$1" in
    --project=*) projects+=("${1#--project=}") ;;
    --project)
      if [ $# -lt 2 ]; then echo all; exit 0; fi
      projects+=("$2")
      shift
      ;;
  esac
  shift
done

if [ ${#projects[@]} -eq 0 ]; then echo all; exit 0; fi
for project in "${projects[@]}"; do
  if [ "$project" != unit ]; then echo all; exit 0; fi
done
echo unit
