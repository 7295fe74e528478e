#!/bin/bash
# The README's "Your own method" walkthrough, run verbatim (the ```bash block after the marker
# "<!-- own-method walkthrough"), then checked:
#   - the installed binary runs from the prefix alone: its core and sentencepiece shim resolve there, and
#     neither it nor the core names the build tree in its RUNPATH;
#   - the plugin was configured from the prefix's CMake package, not the build tree;
#   - `ls plugins` showed it; every cell of the experiment finished; the plugin's cells are in the
#     database (read back by `report`) next to RTN and OmniQuant, with the plugin's hash in provenance;
#   - the report is the README's figure of it, digit for digit.
# The commands run in a scratch copy of the repository's layout: `build` (this build), `experiments`
# (linked) and `examples/plugin` (copied, so that its build directory lands in the scratch copy), with
# HOME in the scratch directory.
# Usage: plugin_walkthrough.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
fail() { echo "plugin walkthrough: $*" >&2; exit 1; }

block=$(awk '/<!-- own-method walkthrough/ {m = 1; next} m && /^```bash/ {b = 1; next} b && /^```/ {exit} b {print}' "$src/README.md")
[ -n "$block" ] || fail "README.md has no \"<!-- own-method walkthrough\" marker followed by a \`\`\`bash block"
command -v cmake >/dev/null || fail "cmake is not installed"

root=$(mktemp -d "${TMPDIR:-/tmp}/ptq-plugin-walkthrough.XXXXXX")
[ "${PTQ_KEEP_WALKTHROUGH:-0}" = 1 ] || trap 'rm -rf "$root"' EXIT  # PTQ_KEEP_WALKTHROUGH=1 keeps it
mkdir -p "$root/home" "$root/examples"
ln -s "$build" "$root/build"
ln -s "$src/experiments" "$root/experiments"
cp -r "$src/examples/plugin" "$root/examples/plugin"
rm -rf "$root/examples/plugin/build"
cd "$root"
echo "plugin walkthrough: running the README block in $root:"
echo "$block"
start=$SECONDS
if ! HOME="$root/home" bash -euo pipefail -c "$block" > walkthrough.log 2>&1; then
  cat walkthrough.log
  fail "the README block failed"
fi

prefix="$root/home/.local/ptqbench"
bin="$prefix/bin/ptqbench"
[ -x "$bin" ] || fail "the block installed no $bin"
core=$(ldd "$bin" | awk '/libptqbench_core.so/ {print $3}')
[ -n "$core" ] && [ "$(readlink -f "$core")" = "$(readlink -f "$prefix/lib/libptqbench_core.so")" ] ||
  fail "$bin does not load the prefix's libptqbench_core.so: $(ldd "$bin" | grep ptqbench_core)"
for f in "$bin" "$prefix"/lib/libptqbench_core.so; do
  if readelf -d "$f" | grep -E 'RUNPATH|RPATH' | grep -qF "$(readlink -f "$build")"; then
    fail "$f names the build tree in its RUNPATH: $(readelf -d "$f" | grep -E 'RUNPATH|RPATH')"
  fi
done
[ -f "$prefix/lib/libptq_spm_shim.so" ] || fail "the sentencepiece shim is not installed in $prefix/lib"
grep -q "^ptqbench_DIR:PATH=$prefix/" examples/plugin/build/CMakeCache.txt ||
  fail "examples/plugin was not configured from the prefix: $(grep '^ptqbench_DIR' examples/plugin/build/CMakeCache.txt)"

# Every installed header, included in one translation unit, compiles against the prefix alone: the
# install holds the public headers' whole include closure.
mkdir -p headers
(cd "$prefix/include/ptqbench" && find . -name '*.h' | sort | sed 's|^\./\(.*\)|#include "\1"|') > headers/all_headers.cpp
[ "$(wc -l < headers/all_headers.cpp)" -ge 10 ] || fail "only $(wc -l < headers/all_headers.cpp) headers installed"
cat > headers/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(installed_headers LANGUAGES CXX)
find_package(ptqbench CONFIG REQUIRED)
add_library(installed_headers OBJECT all_headers.cpp)
target_link_libraries(installed_headers PRIVATE ptqbench::core)
CMAKE
if ! { cmake -S headers -B headers/build -DCMAKE_PREFIX_PATH="$prefix" && cmake --build headers/build; } > headers.log 2>&1; then
  tail -30 headers.log
  fail "the installed headers do not compile against the prefix"
fi

grep -q "^example-methods 1.0.0" walkthrough.log || { cat walkthrough.log; fail "ls plugins did not list example-methods 1.0.0"; }
# Every cell finished (9: FP, then RTN, rtn_mse, adaround and OmniQuant at two settings).
done_cells=$(ls results/runs/*/DONE 2>/dev/null | wc -l)
[ "$done_cells" -eq 9 ] || { cat walkthrough.log; fail "$done_cells of 9 cells finished"; }
grep -l -E '"method": "(rtn_mse|adaround)"' results/runs/*/result.json > plugin_cells.txt || fail "no result of the plugin's methods"
[ "$(wc -l < plugin_cells.txt)" -eq 4 ] || fail "$(wc -l < plugin_cells.txt) results of the plugin's methods, expected 4"
while read -r f; do
  grep -q '"sha256": "'"$(sha256sum examples/plugin/build/libexample_methods.so | cut -d' ' -f1)"'"' "$f" ||
    fail "$f: the provenance lacks the plugin file's sha256"
done < plugin_cells.txt
# The rows come back from the database.
echo "plugin walkthrough: the README block took $((SECONDS - start)) s"
"$bin" report --experiment example-plugin > report.md
for row in "RTN-MSE" "AdaRound" "RTN" "OmniQuant" "FP"; do
  grep -q "| $row " report.md || { cat report.md; fail "the report has no $row row"; }
done
# The README's figure of this report, to the last digit (reproducible numerics).
"$bin" report --experiment example-plugin --no-costs > figure.txt
awk '/^\$ ptqbench report --experiment example-plugin --no-costs$/ {f = 1; next} f && /^```/ {exit} f {print}' \
  "$src/README.md" > readme_figure.txt
[ -s readme_figure.txt ] || fail "README.md has no figure of 'ptqbench report --experiment example-plugin --no-costs'"
diff readme_figure.txt figure.txt > figure.diff || { cat figure.diff; fail "the README's figure differs from this run's report (< README, > now)"; }
echo "plugin walkthrough: ok"
cat report.md
