#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# accuracy_parity.sh - trains the same architecture with the same recipe in
# lmnas' engine and in the PyTorch reference (tools/train_torch.py) on the
# real CIFAR-100 and compares test top-1 (issue 4: within 1 point).
#   tools/accuracy_parity.sh [ARCH.json] [EPOCHS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-tools/parity_arch.json}
epochs=${2:-15}
threads=${3:-2}
data=${LMNAS_CIFAR100:-../shared/data/cifar-100-binary}
[[ -f $data/train.bin ]] || { echo "accuracy_parity: $data/train.bin missing" >&2; exit 2; }
make --no-print-directory build >/dev/null
out=$(mktemp -d /tmp/lmnas-parity.XXXXXX)
echo "== lmnas ($arch, $epochs epochs, $threads threads)"
/usr/bin/time -f "lmnas: %e s, max RSS %M KB" build/release/lmnas --log-format text train \
	--arch "$arch" --data "$data" --out "$out/lmnas" --epochs "$epochs" \
	--threads "$threads" --loader-threads 1 | tee "$out/lmnas.log" | grep -v '"progress"'
echo "== PyTorch"
/usr/bin/time -f "torch: %e s, max RSS %M KB" /usr/bin/python3 tools/train_torch.py "$arch" "$data" \
	--epochs "$epochs" --threads "$threads" | tee "$out/torch.log"
ours=$(python3 -c "import json;print(json.load(open('$out/lmnas/result.json'))['test']['top1'])")
ref=$(tail -n 1 "$out/torch.log" | python3 -c "import json,sys;print(json.load(sys.stdin)['test_top1'])")
python3 - "$ours" "$ref" <<'PY'
import sys
ours, ref = float(sys.argv[1]), float(sys.argv[2])
print(f"test top-1: lmnas {100*ours:.2f}%  PyTorch {100*ref:.2f}%  difference {100*(ours-ref):+.2f} points")
print("PASS" if abs(ours - ref) <= 0.01 else "FAIL (more than 1 point apart)")
PY
