#!/usr/bin/env bash
# Leave-one-source-out runs of the tumornet-v2 recipe, one source after another (each trains the
# same recipe without that source and tests on all of it; results in loso/loso-SOURCE.json).
#   bash native-models/training/run_loso.sh [EPOCHS] [SAMPLES_PER_EPOCH] [SOURCES...]
set -euo pipefail
cd "$(dirname "$0")"
EPOCHS=${1:-12}
SAMPLES=${2:-4800}
shift 2 || true
SOURCES=${*:-tcga-lgg sartaj br35h figshare}
for s in $SOURCES; do
  /usr/bin/python3 train.py --exclude-source "$s" --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" --max-minutes 0
done
