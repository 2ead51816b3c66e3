#!/bin/sh
# meta.sh: the provenance block every results table carries, as "key: value" lines on stdout.
# Usage: meta.sh TARGET DATASET DATA-DESCRIPTION SEEDS EPOCHS-DESCRIPTION COMMAND
# COMMAND is the make command line that makes the table again (the pipelines' `command`).
# The git revision is `git describe --always --dirty` of the tree the pipeline runs in.
[ $# -eq 6 ] || { echo "usage: meta.sh target dataset data seeds epochs command" >&2; exit 1; }
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
printf 'target: %s\n' "$1"
printf 'dataset: %s\n' "$2"
printf 'data: %s\n' "$3"
printf 'seeds: %s\n' "$4"
printf 'epochs: %s\n' "$5"
printf 'command: %s\n' "$6"
printf 'git: %s\n' "$rev"
printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
