#!/usr/bin/env bash
# The one setup step of the test tiers (`npm test`, `npm run test:webview`, `npm run test:e2e` run it
# first): installs what they need on a Debian machine and reuses what is there.
#
#   bash scripts/testSetup.sh [webview] [e2e]     (no argument: every tier)
#
#   Every call first compiles the engine's native kernels when they are out of date
#   (scripts/buildNative.mjs; not fatal).
#
#   webview  Debian's chromium (/usr/bin/chromium), driven by playwright-core.
#   e2e      chromium, ripgrep and libkrb5-dev from apt, and code-server 4.100.3 (VS Code 1.100) in a
#            cache folder outside the project's node_modules (GROWTH_LAB_E2E_CACHE, default
#            .cache/e2e); the code-server path is printed on the last line of stdout.
#
# apt-get runs as root, or through sudo. Where neither is possible it prints what to install and exits
# 2; a failed install exits 3 (apt) or 4 (code-server). Everything but the code-server path goes to
# stderr.
#   GROWTH_LAB_CHROMIUM=/path   use that browser instead of Debian's chromium (it must exist).
#   GROWTH_LAB_E2E=skip         leave out the e2e tier (test/e2e then skips; `required`, set by .ci/run,
#                               makes a missing e2e tier a failure there).
#   GROWTH_LAB_E2E_CACHE=/dir   where code-server is installed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${GROWTH_LAB_E2E_CACHE:-$ROOT/.cache/e2e}"
CODE_SERVER_VERSION=4.100.3
RIPGREP_NPM_VERSION=1.15.11   # what code-server 4.100.3 ships as @vscode/ripgrep
say() { echo "test setup: $*" >&2; }

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(webview e2e)
webview=false e2e=false
for t in "${tiers[@]}"; do
  case "$t" in
    webview) webview=true ;;
    e2e) e2e=true ;;
    *) say "unknown tier '$t' (webview, e2e)"; exit 64 ;;
  esac
done
if $e2e && [ "${GROWTH_LAB_E2E:-}" = skip ]; then
  say "GROWTH_LAB_E2E=skip: leaving out the end-to-end tier"
  e2e=false
fi
# The engine's native kernels (dist/native/; nothing to do when they are up to date). Not fatal here: without
# a compiler their tests skip, or fail under GROWTH_LAB_NATIVE=required (.ci/run).
node "$ROOT/scripts/buildNative.mjs" >&2 || say "the native kernels did not build (scripts/buildNative.mjs); the engine uses its onnxruntime forms"

$webview || $e2e || exit 0

# --- apt packages ------------------------------------------------------------------------------
need=()
if [ -n "${GROWTH_LAB_CHROMIUM:-}" ]; then
  if [ ! -x "$GROWTH_LAB_CHROMIUM" ]; then
    say "GROWTH_LAB_CHROMIUM=$GROWTH_LAB_CHROMIUM is not an executable file (unset it to use Debian's chromium)"
    exit 2
  fi
elif [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
if $e2e; then
  command -v rg >/dev/null || need+=(ripgrep)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
fi

if [ ${#need[@]} -gt 0 ]; then
  SUDO=()
  can=true
  if ! command -v apt-get >/dev/null; then
    can=false
  elif [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then can=false
    elif [ -t 0 ]; then SUDO=(sudo)              # may ask for a password
    elif sudo -n true 2>/dev/null; then SUDO=(sudo -n)
    else can=false
    fi
  fi
  if ! $can; then
    say "missing ${need[*]}, and this shell cannot install them (it needs apt-get, as root or through sudo)."
    {
      echo "Install them as root:"
      echo "    apt-get update && apt-get install -y ${need[*]}"
      if [[ " ${need[*]} " == *" chromium "* ]]; then
        echo "Or, off Debian, install a Chromium (or Google Chrome) and set GROWTH_LAB_CHROMIUM to its path."
      fi
      if $e2e; then echo "To run every tier but the end-to-end one: GROWTH_LAB_E2E=skip npm test"; fi
    } >&2
    exit 2
  fi
  say "installing ${need[*]} with apt-get"
  if ! "${SUDO[@]}" apt-get update -qq >&2 ||
     ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2; then
    say "apt-get could not install ${need[*]}"
    exit 3
  fi
fi

# --- code-server (e2e) -------------------------------------------------------------------------
$e2e || exit 0
BIN="$CACHE/code-server/node_modules/.bin/code-server"
if [ ! -x "$BIN" ]; then
  # @vscode/ripgrep's postinstall downloads rg from GitHub; it looks in this cache first, so hand it
  # Debian's rg there (no download).
  RGCACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION"
  mkdir -p "$RGCACHE"
  TARBALL="$RGCACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -f "$TARBALL" ]; then
    STAGE="$(mktemp -d)"
    cp "$(command -v rg)" "$STAGE/rg"
    tar -czf "$TARBALL" -C "$STAGE" rg
    rm -rf "$STAGE"
  fi
  say "installing code-server $CODE_SERVER_VERSION into $CACHE/code-server (a few minutes)"
  mkdir -p "$CACHE/code-server"
  # Its own package.json makes that folder npm's project there (the project's .npmrc and allowScripts do
  # not apply), and approves the install scripts code-server needs (its postinstall, which installs VS
  # Code's native modules and the ripgrep binary; argon2's prebuilt binary) in this private folder only:
  # npm 11 runs them, older npm runs every script anyway. ignore-scripts is set explicitly, against an
  # npm_config_ignore_scripts that `npm run` may export.
  cat > "$CACHE/code-server/package.json" <<JSON
{"name":"e2e-code-server","private":true,"allowScripts":{"code-server":true,"argon2":true}}
JSON
  (
    cd "$CACHE/code-server"
    export npm_config_yes=true
    # As root, code-server's postinstall refuses to run unless npm_config_unsafe_perm=true (a setting
    # npm 7 dropped; npm 11 names it an unknown config while it installs code-server, once).
    if [ "$(id -u)" -eq 0 ]; then export npm_config_unsafe_perm=true; fi
    npm install --ignore-scripts=false --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >&2
    # Should a later code-server need another one, approve what npm 11 skipped, then run it.
    pending='const j = JSON.parse(require("fs").readFileSync(0, "utf8")); process.exit(Object.values(j).some((v) => Array.isArray(v) && v.length) ? 0 : 1)'
    if npm install-scripts ls --json 2>/dev/null | node -e "$pending" 2>/dev/null; then
      npm install-scripts approve --all >&2
      npm rebuild --ignore-scripts=false >&2
    fi
  ) || { say "code-server did not install (it needs the npm registry)"; exit 4; }
fi
[ -x "$BIN" ] || { say "code-server did not install: $BIN is missing"; exit 4; }
echo "$BIN"
