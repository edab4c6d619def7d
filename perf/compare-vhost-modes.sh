#!/usr/bin/env bash
# orion-perf against qemu-storage-daemon null-co and orion-vhost null:1G in kick, adaptive and polled modes, 4 KiB
# randread at QD1 and QD32, interleaved over rounds (medians and ranges), plus each back-end's idle CPU with a
# connected front-end; prints a Markdown table. Options go to perf/compare_vhost_modes.py, e.g.
#
#   perf/compare-vhost-modes.sh --rounds 3 --runtime 3
#   perf/compare-vhost-modes.sh --windows "20us 50us 200us 1ms" --modes adaptive --idle 10   # choose the poll window
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
dotnet build tools/Orion.Vhost/Orion.Vhost.csproj -c Release -nologo -v:quiet >/dev/null
dotnet build tools/Orion.Perf/Orion.Perf.csproj -c Release -nologo -v:quiet >/dev/null
exec python3 perf/compare_vhost_modes.py "$@"
