#!/usr/bin/env bash
# One command on a fresh machine: install, ingest the sample corpus into ./data (skipped
# when unchanged), then start the app on the embedded defaults (Qdrant Edge + SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CORPUS=${KB_SAMPLE_CORPUS:-../shared/corpus/sample}
if [ -d "$CORPUS" ]; then
  .venv/bin/kb ingest "$CORPUS"
else
  echo "note: sample corpus not found at $CORPUS (set KB_SAMPLE_CORPUS); starting with what ./data holds" >&2
fi
exec .venv/bin/streamlit run app/main.py --server.headless true --server.port "${PORT:-8501}" \
  --browser.gatherUsageStats false
