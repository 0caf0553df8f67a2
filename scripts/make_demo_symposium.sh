#!/usr/bin/env bash
# Regenerate the demo symposium (about 8 minutes, floor and interpretation tracks) and its
# ground truth, voice-similarity report and configs/demo*.yaml. Same setup as the demo clip:
# see scripts/make_demo_clip.sh. Usage (from anywhere):  bash scripts/make_demo_symposium.sh
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/make_demo_clip.sh" symposium
