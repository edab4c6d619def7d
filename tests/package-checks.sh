#!/usr/bin/env bash
# Ships Orion.Pmd the way a user gets it, and checks each form works: the NuGet packages (metadata, README, XML docs,
# symbols) restored from a folder feed by samples/Consumer, which must run and exit 0; orion-perf and orion-vhost
# installed as .NET tools into a temporary tool path and run; orion-perf published with NativeAOT and run on null:
# for a second (skipped with the reason when the native toolchain is missing). Needs the Release build of
# Orion.Pmd.sln (tests/run.sh builds it first). Prints PASS/FAIL/SKIP per check and, last,
# "package checks: N passed, N failed, N skipped"; the exit code is 1 when any check failed.
#   tests/package-checks.sh [--no-native]
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDTERMINALLOGGER=off
native=1; [ "${1:-}" = "--no-native" ] && native=0

work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
feed="$work/feed"; log="$work/log"
passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -s "$log" ] && tail -25 "$log" | sed 's/^/  | /'; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }
# The consumer's restore and the tool installs use a package folder of their own (so a package packed here is never
# shadowed by an older copy of the same version in ~/.nuget/packages), with the user's package folder as an extra
# offline source for the third-party dependencies, beside the configured feeds. Everything that builds in the work
# tree (pack, the native publish) keeps the user's folder, which its obj/ assets point to.
user_packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
restore_sources="$feed%3B$user_packages"
own_packages="$work/packages"

version="$(dotnet msbuild engine/Orion.Pmd.Engine/Orion.Pmd.Engine.csproj -getProperty:Version 2>/dev/null)"

# ---- 1. the packages -------------------------------------------------------------------------------------------------
if ! dotnet pack Orion.Pmd.sln -c Release --no-build --nologo -v:q -o "$feed" > "$log" 2>&1; then
  fail "dotnet pack Orion.Pmd.sln (needs the Release build: dotnet build Orion.Pmd.sln -c Release)"
  echo "package checks: $passed passed, $((failed)) failed, $skipped skipped"; exit 1
fi
: > "$log"
problems=""
for id in Orion.Pmd.Engine Orion.Pmd.Storage Orion.Pmd.Hosting Orion.Pmd.Transport Orion.Pmd.Device Orion.Pmd.Virtio Orion.Pmd.Reactors Orion.Pmd.Linux; do
  nupkg="$feed/$id.$version.nupkg"
  if [ ! -f "$nupkg" ]; then problems+=" $id: no $id.$version.nupkg;"; continue; fi
  [ -f "$feed/$id.$version.snupkg" ] || problems+=" $id: no symbols package (.snupkg);"
  files="$(unzip -Z1 "$nupkg")"
  grep -qx "README.md" <<<"$files" || problems+=" $id: no README.md;"
  grep -qx "lib/net10.0/$id.dll" <<<"$files" || problems+=" $id: no lib/net10.0/$id.dll;"
  grep -qx "lib/net10.0/$id.xml" <<<"$files" || problems+=" $id: no XML docs;"
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
  for want in '<license type="expression">' '<readme>README.md</readme>' '<description>' '<repository type="git"'; do
    grep -qF "$want" <<<"$nuspec" || problems+=" $id: nuspec lacks $want;"
  done
done
if [ -z "$problems" ]; then pass "packages: 8 libraries $version with README, license, XML docs, repository and .snupkg symbols"
else echo "$problems" | tr ';' '\n' > "$log"; fail "packages"; fi

# The sample consumer, copied out of the tree so its bin/ and obj/ never land in the work tree.
: > "$log"
cp -r samples "$work/samples"
if (cd "$work/samples/Consumer" &&
    NUGET_PACKAGES="$own_packages" timeout 300 dotnet run -c Release -p:RestoreAdditionalProjectSources="$restore_sources" -p:OrionPmdVersion="$version" > "$log" 2>&1) &&
   grep -q "log: record 1 appended and recovered" "$log"; then
  pass "samples/Consumer restored Orion.Pmd $version from the folder feed, wrote, read back and exited 0"
else
  fail "samples/Consumer (restore from $feed, run on mem:)"
fi

# ---- 2. the .NET tools -------------------------------------------------------------------------------------------------
: > "$log"
tools="$work/tools"
if ! { NUGET_PACKAGES="$own_packages" dotnet tool install Orion.Perf --version "$version" --tool-path "$tools" --add-source "$feed" &&
       NUGET_PACKAGES="$own_packages" dotnet tool install Orion.Vhost --version "$version" --tool-path "$tools" --add-source "$feed"; } > "$log" 2>&1; then
  fail "dotnet tool install Orion.Perf and Orion.Vhost from the folder feed"
else
  : > "$log"
  if [ "$("$tools/orion-perf" --version 2>>"$log")" = "orion-perf-$version" ] &&
     timeout 60 "$tools/orion-perf" --rw=randread --bs=4k --iodepth=4 --runtime=200ms --device=null:16M \
       --output-format=json > "$work/tool-perf.json" 2>>"$log" &&
     grep -q '"iops"' "$work/tool-perf.json"; then
    pass "orion-perf as a .NET tool: --version and a 200 ms run on null:"
  else
    fail "orion-perf as a .NET tool (--version must print orion-perf-$version; the run must print JSON with iops)"
  fi
  : > "$log"
  sock="$work/vu.sock"
  if [ "$("$tools/orion-vhost" --version 2>>"$log")" = "orion-vhost $version" ] &&
     "$tools/orion-vhost" --help 2>>"$log" | grep -q -- "--socket PATH"; then
    "$tools/orion-vhost" --socket "$sock" --device mem:16M > "$work/vhost.out" 2>>"$log" &
    vpid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/vhost.out" 2>/dev/null && break; sleep 0.1; done
    if grep -q "listening on $sock" "$work/vhost.out" &&
       timeout 60 "$tools/orion-perf" --rw=randrw --bs=4k --iodepth=4 --runtime=200ms --device="vhost-user:$sock" \
         --output-format=json > "$work/tool-vhost.json" 2>>"$log" && grep -q '"iops"' "$work/tool-vhost.json"; then
      kill -TERM "$vpid"; wait "$vpid"; vrc=$?
      if [ "$vrc" = 0 ] && [ ! -e "$sock" ]; then pass "orion-vhost as a .NET tool: --version, --help, served orion-perf, SIGTERM exit 0"
      else echo "orion-vhost exit status $vrc after SIGTERM (socket left: $([ -e "$sock" ] && echo yes || echo no))" >> "$log"; fail "orion-vhost as a .NET tool"; fi
    else
      kill -TERM "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null
      fail "orion-vhost as a .NET tool (serving orion-perf on vhost-user:$sock)"
    fi
  else
    fail "orion-vhost as a .NET tool (--version must print orion-vhost $version, --help the usage)"
  fi
fi

# ---- 3. NativeAOT: orion-perf compiled native (the ILCompiler package comes from the feed, clang links it) --------------
# One native publish only (a minute or two): orion-vhost's is the same toolchain on the same libraries, and both
# projects are checked for trim/AOT problems by their analyzers on every build.
: > "$log"
if (( native == 0 )); then
  skip "NativeAOT orion-perf: --no-native"
elif ! command -v clang >/dev/null 2>&1; then
  skip "NativeAOT orion-perf: clang is not installed (Debian: apt-get install clang zlib1g-dev; tests/run.sh does it as root)"
else
  started=$SECONDS
  if ! timeout 900 dotnet publish tools/Orion.Perf -c Release -r linux-x64 -p:PublishAot=true -nologo -v:minimal \
         -o "$work/native" > "$log" 2>&1; then
    fail "NativeAOT publish of orion-perf"
  elif grep -qE "warning (IL|SYSLIB)[0-9]+" "$log"; then
    grep -E "warning (IL|SYSLIB)[0-9]+" "$log" > "$log.w"; mv "$log.w" "$log"
    fail "NativeAOT publish of orion-perf left trim/AOT warnings"
  else
    echo "  (native publish: $((SECONDS - started)) s)"
    : > "$log"
    if timeout 60 "$work/native/orion-perf" --rw=randread --bs=4k --iodepth=8 --runtime=1 --time_based --device=null:64M \
         --output-format=json > "$work/native.json" 2>>"$log" &&
       python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]; assert j["error"]==0 and j["read"]["iops"]>0, j["read"]' \
         "$work/native.json" 2>>"$log"; then
      pass "NativeAOT orion-perf: published without warnings, ran 1 s on null: and wrote fio JSON with iops"
    else
      fail "NativeAOT orion-perf run (1 s on null:64M, JSON with iops)"
    fi
  fi
fi

echo "package checks: $passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
