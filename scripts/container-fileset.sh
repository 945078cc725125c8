#!/usr/bin/env bash
# The runtime file set of the Switchyard image, assembled the way the Dockerfile's stages do; also
# what a systemd install copies to /opt/switchyard (docs/deployment.md).
#
#   container-fileset.sh context            the paths the Dockerfile's build stage copies, one a line
#   container-fileset.sh files BUILT OUT    copy the runtime files of a built tree BUILT to OUT   (build stage)
#   container-fileset.sh deps OUT           production node_modules in OUT from its package files (deps stage)
#   container-fileset.sh stage OUT          all three from this checkout: build in a scratch copy of the
#                                           build context (using this checkout's node_modules for the dev
#                                           dependencies), then files and deps into OUT
#
# deps compiles re2 from source where its prebuilt download is unreachable (about 2.5 min on 2 cores).
set -euo pipefail

# What the build stage COPYs, in this order; test/e2e/deploy-container.test.ts checks the Dockerfile agrees.
context=(package.json package-lock.json tsconfig.json scripts src workers ui config docs)

die() {
  echo "container-fileset: $*" >&2
  exit 1
}

# Everything the gateway reads at run time, and nothing else (no tests, benchmarks or sources).
files() {
  local built=$1 out=$2
  [ -f "$built/dist/src/cli.js" ] || die "$built/dist/src/cli.js is missing: run npm run build in $built first"
  [ -f "$built/dist/ui/index.html" ] || die "$built/dist/ui/index.html is missing: the admin UI was not built"
  mkdir -p "$out/dist"
  cp -R "$built/dist/src" "$built/dist/workers" "$built/dist/ui" "$out/dist/"
  cp -R "$built/config" "$out/"
  cp "$built/package.json" "$built/package-lock.json" "$out/"
  # The admin API's OpenAPI document, served by the admin listener, when the checkout has it.
  if [ -f "$built/docs/admin-api.yaml" ]; then
    mkdir -p "$out/docs"
    cp "$built/docs/admin-api.yaml" "$out/docs/"
  fi
}

deps() {
  local out=$1
  [ -f "$out/package-lock.json" ] || die "$out/package-lock.json is missing"
  (
    cd "$out"
    # prepare builds from sources (tsc, the UI), which a runtime tree has not got; the dependencies'
    # own install scripts (re2, msgpackr-extract) still run.
    npm pkg delete scripts.prepare
    npm ci --omit=dev --no-audit --no-fund
    # re2's compiler output and vendored sources; it loads build/Release/re2.node only.
    rm -rf node_modules/re2/build/Release/obj.target node_modules/re2/build/Release/.deps node_modules/re2/vendor
    node -e "require('re2'); require('uWebSockets.js')" || die "a native module does not load in $out"
  )
}

stage() {
  local out=$1 repo scratch
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ -d "$repo/node_modules" ] || die "$repo/node_modules is missing: run npm ci in $repo first"
  scratch=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the trap must remove this scratch dir
  trap "rm -rf '$scratch'" EXIT
  for path in "${context[@]}"; do
    [ -e "$repo/$path" ] || die "$repo/$path is missing"
    cp -R "$repo/$path" "$scratch/"
  done
  # Stands in for the build stage's npm ci: the same lockfile's dev dependencies, already installed.
  ln -s "$repo/node_modules" "$scratch/node_modules"
  (cd "$scratch" && npm run -s build)
  mkdir -p "$out"
  files "$scratch" "$out"
  deps "$out"
}

case "${1:-}" in
  context) printf '%s\n' "${context[@]}" ;;
  files) [ $# -eq 3 ] || die "usage: $0 files BUILT OUT"; files "$2" "$3" ;;
  deps) [ $# -eq 2 ] || die "usage: $0 deps OUT"; deps "$2" ;;
  stage) [ $# -eq 2 ] || die "usage: $0 stage OUT"; stage "$2" ;;
  *) die "usage: $0 context | files BUILT OUT | deps OUT | stage OUT" ;;
esac
