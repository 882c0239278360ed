#!/usr/bin/env bash
# The reference table of ../shared/seed/CLAIMS.md, measured by the lab on a machine with many
# cores: the gil experiment out to 32 workers (fork), the cpu workload on spawn, the start
# methods experiment, and the fidelity benchmark. Results land as tarballs under OUT.
#   OUT=/tmp/big bash benchmarks/big_machine.sh
# Where hydra-core and omegaconf are not installed, WHEELS=DIR installs them from wheels first.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/big}
mkdir -p "$OUT"
work=$(mktemp -d)
if [ -n "${WHEELS:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" PYTHONUNBUFFERED=1
{ nproc; python3 --version; uptime; } | tee "$OUT/log.txt"
step() {  # name, seconds, command...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$work/$name.out" 2>&1
    echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$OUT/log.txt"
    tail -n 40 "$work/$name.out" >>"$OUT/log.txt"
}
step gil 220 python3 -m runner -m +experiment=gil workers=1,2,4,8,16,32 "hydra.sweep.dir=$work/gil"
step spawn 100 python3 -m runner -m workload=cpu executor=process start_method=spawn workers=1,2,4,8,16,32 "hydra.sweep.dir=$work/spawn"
step start_methods 80 python3 -m runner -m +experiment=start_methods "hydra.sweep.dir=$work/start_methods"
step fidelity 140 python3 benchmarks/fidelity.py --rounds 1
cp "$work/fidelity.out" "$OUT/fidelity.txt"
for sweep in gil spawn start_methods; do
    [ -d "$work/$sweep" ] && tar -C "$work" --exclude=cells -czf "$OUT/$sweep.tar.gz" "$sweep"
done
ls -la "$OUT"
