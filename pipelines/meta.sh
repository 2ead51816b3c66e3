#!/bin/sh
# meta.sh: the provenance block every results table carries, as "key: value" lines on stdout.
# Usage: meta.sh TARGET DATASET DATA-DESCRIPTION SEEDS EPOCHS-DESCRIPTION
# The git revision is `git describe --always --dirty` of the tree the pipeline runs in.
[ $# -eq 5 ] || { echo "usage: meta.sh target dataset data seeds epochs" >&2; exit 1; }
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
printf 'target: %s\n' "$1"
printf 'dataset: %s\n' "$2"
printf 'data: %s\n' "$3"
printf 'seeds: %s\n' "$4"
printf 'epochs: %s\n' "$5"
printf 'git: %s\n' "$rev"
printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
