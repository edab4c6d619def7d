#!/usr/bin/env bash
# orion-perf against qemu-storage-daemon (null-co) and orion-vhost (null), 4 KiB randread/randwrite at QD1 and
# QD32, with fio --ioengine=null at the same depth in the same run as the yardstick (issue 4's table in RESULTS.md).
#
#   perf/compare-vhost.sh [--runtime S] [--depths "1 32"] [--rw "randread randwrite"] [--targets "qsd orion-vhost"]
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=5
if [[ "${1:-}" == "--runtime" ]]; then runtime="${2:?seconds}"; shift 2; fi
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
dotnet build Orion.Pmd.sln -c Release -nologo -v:quiet >/dev/null
exec python3 perf/compare_vhost.py "$runtime" "$@"
