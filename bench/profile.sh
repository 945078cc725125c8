#!/bin/sh
# Profiles the gateway under load: builds, starts simulator + gateway with node --cpu-prof, loads it
# for 10 s at c=64, stops it cleanly and prints the top self-time functions of each thread.
# Extra flags go to the runner, e.g.: bench/profile.sh --threads 2 --profile-seconds 20 --stream
set -e
cd "$(dirname "$0")/.."
npm run -s build || true
exec node dist/bench/run.js --profile "$@"
