#!/usr/bin/env bash
# Regenerates src/tympan/assets/speech.flac, the bundled speech clip used by the demo, docs and tests:
# espeak-ng speaks a sentence, sox converts it to 16 kHz mono 16-bit FLAC.
# Needs: apt-get install espeak-ng sox
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/speech.wav" \
  "The quick brown fox jumps over the lazy dog. Tympan turns sound into features."
sox "$tmp/speech.wav" -r 16000 -c 1 -b 16 "$here/src/tympan/assets/speech.flac" norm -1
soxi "$here/src/tympan/assets/speech.flac"
