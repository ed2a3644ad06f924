#!/usr/bin/env bash
# crash_loop_short_loses_and_duplicates_nothing: the short crash loop
# (tests/soak/run.sh short): 20k events from 3 publishers plus a watcher's
# growing feed, while the broker, the watcher and a subscriber are
# kill -9'd and restarted at random moments; every sink must end with
# lost=0 duplicated=0 (the script prints the ids otherwise).
set -euo pipefail
exec bash "$VEILLE_SRC/tests/soak/run.sh" "$VEILLE_BIN" short
