#!/bin/sh
# import.sh: bring the released TVR features (the MS-SL / DL-DKD bundle) into the project and run
# the main table on them. Usage: examples/import.sh ROOT   (ROOT/tvr as in doc/import.md)
set -e
cd "$(dirname "$0")/.."
make
bin/prvr-import -r "${1:?usage: import.sh ROOT}/tvr" -o data/tvr-import
make main DATA=data/tvr-import DATASET=tvr SCALE=full
