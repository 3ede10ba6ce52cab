#!/bin/sh
# A long fuzzing campaign of the message model and the filter grammar (CI runs 150 examples per target).
# Usage: bench/fuzz.sh [EXAMPLES]   (default 20000). A failure prints the smallest input that breaks a
# contract: add it to REGRESSIONS in tests/test_fuzz.py.
cd "$(dirname "$0")/.." || exit 1
FUZZ_EXAMPLES="${1:-20000}" exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
