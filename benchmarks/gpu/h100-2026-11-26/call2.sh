#!/bin/bash
# Second device call of stop 19: the kernel step after its fix (true float32),
# then where a quick experiment's time goes on the GPU (compile vs run),
# with XLA's GPU autotuning on (default) and off.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD
T0=$(date +%s)
BENCH_OUT_DIR=/tmp/k timeout 45 python3 benchmarks/scaling.py --only ntk --quick > $OUT/kernel.txt 2>&1
cp /tmp/k/scaling_ntk.json $OUT/ 2>/dev/null
echo "kernel done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log2.txt
timeout 72 python3 .gpu/compile_probe.py default linearization ms=32 > $OUT/probe_default.txt 2>&1
echo "probe default done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log2.txt
XLA_FLAGS=--xla_gpu_autotune_level=0 timeout 72 python3 .gpu/compile_probe.py noautotune linearization ms=32 > $OUT/probe_noat.txt 2>&1
echo "probe noautotune done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log2.txt
grep -h "POINT\|SUMMARY\|Error" $OUT/probe_*.txt | cut -c1-300
tail -5 $OUT/kernel.txt
