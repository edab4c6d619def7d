#!/usr/bin/env bash
# Ceph RBD four ways on one image in one run: orion-perf --device=rbd: (native, embedded), orion-perf -> orion-vhost
# --device rbd:, orion-perf -> qemu-storage-daemon driver=rbd, and fio --ioengine=rbd; 4 KiB randread/randwrite at QD1
# and QD32, interleaved rounds, medians, CPU per I/O; prints a Markdown table. Options go to perf/compare_rbd.py, e.g.
#
#   perf/compare-rbd.sh --start-cluster --rounds 5 --runtime 10            # a throw-away single-node cluster in /tmp
#   perf/compare-rbd.sh --conf /etc/ceph/ceph.conf --pool rbd --image bench # an existing cluster
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
dotnet build tools/Orion.Vhost/Orion.Vhost.csproj -c Release -nologo -v:quiet >/dev/null
dotnet build tools/Orion.Perf/Orion.Perf.csproj -c Release -nologo -v:quiet >/dev/null
exec python3 perf/compare_rbd.py "$@"
