#!/usr/bin/env bash
# The end-to-end ASR tests (and, with --accuracy, the clip-by-clip benchmark) under each
# CTranslate2 CPU kernel setting, so that no threshold holds on one kind of CPU only.
# Not part of CI (it runs the slow tests several times):
#
#   bash scripts/kernel_matrix.sh              # tests only
#   bash scripts/kernel_matrix.sh --accuracy   # also benchmarks/asr_accuracy.py per setting
#   KERNEL_MATRIX_ONLY="avx512 mkl-forced" bash scripts/kernel_matrix.sh   # some settings only
#
# Settings (issue 7): CI's pinned AVX2 without MKL; AVX512; MKL off with the ISA left to
# CTranslate2; and MKL forced on (what an Intel machine picks by itself). CTranslate2 reports
# the kernels it selected (CT2_VERBOSE=1); a setting that selects exactly the kernels of an
# earlier row on this CPU is not run again, its row says which one it equals. An empty value
# means "unset" to CTranslate2 and keeps tests/conftest.py from pinning that variable.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ACCURACY=0
[[ "${1:-}" == "--accuracy" ]] && ACCURACY=1
OUT=${KERNEL_MATRIX_OUT:-outputs/kernel-matrix}
mkdir -p "$OUT"
TESTS=(tests/test_transcription_e2e.py tests/test_accuracy_vs_baselines.py tests/test_invention.py)

SETTINGS=(
  "pinned-avx2-nomkl|CT2_FORCE_CPU_ISA=AVX2 CT2_USE_MKL=0"
  "avx512|CT2_FORCE_CPU_ISA=AVX512 CT2_USE_MKL="
  "nomkl-auto-isa|CT2_FORCE_CPU_ISA= CT2_USE_MKL=0"
  "mkl-forced|CT2_FORCE_CPU_ISA= CT2_USE_MKL=1"
)

kernels() {  # the ISA and GEMM backends CTranslate2 selects under the given environment
  env "$@" CT2_VERBOSE=1 "$PY" -c "
import ctranslate2
from pipeline.asr import models
ctranslate2.models.Whisper(str(models.packaged_ct2_base()), device='cpu', compute_type='int8')
" 2>&1 | sed -n 's/.*\(Selected ISA: [A-Z0-9]*\).*/\1/p; s/.*\(Use Intel MKL: [a-z]*\).*/\1/p; s/.*\(GEMM_S8 backend: [A-Za-z]*\).*/\1/p' | paste -sd ';' -
}

declare -A SEEN
ROWS=()
for entry in "${SETTINGS[@]}"; do
  name=${entry%%|*}
  if [[ -n "${KERNEL_MATRIX_ONLY:-}" && " $KERNEL_MATRIX_ONLY " != *" $name "* ]]; then
    continue
  fi
  read -r -a vars <<< "${entry#*|}"
  selected=$(kernels "${vars[@]}")
  if [[ -n "${SEEN[$selected]:-}" ]]; then
    ROWS+=("| $name | ${entry#*|} | $selected | same kernels as ${SEEN[$selected]} | | |")
    continue
  fi
  SEEN[$selected]=$name
  echo "== $name: ${entry#*|} ($selected)" >&2
  started=$(date +%s)
  env "${vars[@]}" nice -n 10 "$PY" -m pytest -q -m slow -p no:cacheprovider -rA "${TESTS[@]}" \
    > "$OUT/$name.tests.log" 2>&1
  seconds=$(( $(date +%s) - started ))
  summary=$(grep -E "^(=+ )?[0-9]+ (passed|failed)" "$OUT/$name.tests.log" | tail -1 | tr -d '=' | xargs)
  failed=$(grep -E "^FAILED" "$OUT/$name.tests.log" | sed 's/^FAILED tests\///; s/ - .*//' | paste -sd ',' -)
  cer=$(grep -o "CER over [0-9]* characters: ours [0-9.]*, plain faster-whisper [0-9.]*" "$OUT/$name.tests.log" | head -1)
  ROWS+=("| $name | ${entry#*|} | $selected | $summary in ${seconds}s | ${failed:-none} | $cer |")
  if [[ $ACCURACY == 1 ]]; then
    env "${vars[@]}" nice -n 10 "$PY" benchmarks/asr_accuracy.py --json "$OUT/$name.accuracy.json" \
      > "$OUT/$name.accuracy.log" 2>&1
  fi
done

echo
echo "| setting | environment | kernels selected | tests | failed | Common Voice ja |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [[ $ACCURACY == 1 ]]; then
  for entry in "${SETTINGS[@]}"; do
    name=${entry%%|*}
    [[ -f "$OUT/$name.accuracy.log" ]] || continue
    echo
    echo "### $name"
    sed -n '/^| clip/,$p' "$OUT/$name.accuracy.log"
  done
fi
