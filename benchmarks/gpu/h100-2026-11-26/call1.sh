#!/bin/bash
# The one device call of stop 19: card facts, versions, the precision probe,
# then the accelerator check exactly as a user runs it (default 480 s budget).
set -o pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."
T0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > $OUT/nvsmi.txt 2>&1
python3 -c "import sys,jax,jaxlib,optax,flax,chex,numpy,scipy,torch;print(sys.version.split()[0],'jax',jax.__version__,'jaxlib',jaxlib.__version__,'optax',optax.__version__,'flax',flax.__version__,'chex',chex.__version__,'numpy',numpy.__version__,'scipy',scipy.__version__,'torch',torch.__version__,'cudnn',torch.backends.cudnn.version(),jax.devices())" > $OUT/versions.txt 2>&1
echo "versions done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log.txt
PYTHONPATH=$PWD timeout 60 python3 .gpu/precision_probe.py > $OUT/precision.txt 2>&1
echo "probe done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log.txt
timeout 500 python3 benchmarks/accelerator.py --out-dir /tmp/acc 2>&1 | tee -a $OUT/log.txt
echo "accelerator done at $(( $(date +%s) - T0 )) s" | tee -a $OUT/log.txt
cp /tmp/acc/accelerator.json /tmp/acc/accelerator.md $OUT/ 2>/dev/null
cd /tmp/acc && tar czf $OUT/rest.tgz --exclude='*.npz' --exclude='*.npy' --exclude=accelerator.json --exclude=accelerator.md . 2>/dev/null
ls -la $OUT
