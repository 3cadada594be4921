#!/usr/bin/env bash
# Install the Debian packages the demo corpus and the audio tooling need.
#
# Idempotent: when every command and data file below is already present it does nothing,
# so CI and developers can run it unconditionally. Otherwise, as root, it runs
# `apt-get update` and installs the packages without recommends (recommends would pull in
# sound servers and documentation we do not use). libsndfile is not listed: the soundfile
# wheel bundles its own copy.
#
#   sox             - command-line resampling/inspection of audio files
#   espeak-ng       - formant TTS, source of "fake" speech
#   flite           - CMU Flite TTS (kal, kal16, awb, rms, slt voices), source of "fake" speech
#   alsa-utils      - ships /usr/share/sounds/alsa/*.wav, real recorded speech (GPL-2)
#   codec2-examples - ships /usr/share/codec2/{raw,wav}, real recorded speech (LGPL-2.1)
#
# The real encoders tests/encoders.py uses to write its corpus of MP3/Vorbis/Opus/FLAC/AAC/...
# files (files written by the tools that wrote real datasets, not by libsndfile):
#   lame            - LAME MP3 encoder (CBR, VBR with and without the Xing/LAME header, ID3 tags)
#   ffmpeg          - ffmpeg and ffprobe: AAC (.m4a/.aac/.mp4/.mov), Opus/Vorbis in WebM and
#                     Matroska, AC-3, WMA; also the independent reference decoder in the tests
#   flac            - reference FLAC encoder
#   vorbis-tools    - oggenc, reference Ogg Vorbis encoder
#   opus-tools      - opusenc, reference Ogg Opus encoder
# sox (above) writes the GSM, mu-law, A-law and IMA-ADPCM WAVs and the AMR-NB file (through
# libsox-fmt-base, a dependency of sox, which wraps opencore-amrnb: Debian's ffmpeg has no
# AMR encoder).
set -euo pipefail

PACKAGES=(sox espeak-ng flite alsa-utils codec2-examples lame ffmpeg flac vorbis-tools opus-tools)
COMMANDS=(sox espeak-ng flite lame ffmpeg ffprobe flac oggenc opusenc)
# One representative file per data package; tools.demo_corpus checks every file it uses.
FILES=(
    /usr/share/sounds/alsa/Front_Center.wav
    /usr/share/codec2/raw/hts.raw
    /usr/share/codec2/raw/ve9qrp.raw
    /usr/share/codec2/raw/speech_orig_16k.wav
    /usr/share/codec2/wav/wia_16kHz.wav
)

missing=()
for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("command $cmd")
done
for file in "${FILES[@]}"; do
    [[ -f "$file" ]] || missing+=("file $file")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-system-deps: all present (${PACKAGES[*]}); nothing to do"
    exit 0
fi

echo "install-system-deps: missing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "install-system-deps: not root; please install these Debian packages:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${PACKAGES[@]}"

# Verify, so a package that installed but lacks the expected file fails loudly here.
for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "install-system-deps: $cmd still missing" >&2; exit 1; }
done
for file in "${FILES[@]}"; do
    [[ -f "$file" ]] || { echo "install-system-deps: $file still missing" >&2; exit 1; }
done
echo "install-system-deps: installed ${PACKAGES[*]}"
