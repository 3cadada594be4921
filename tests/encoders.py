"""A corpus of audio files written by real encoders, damaged copies of it, and a reference decoder.

soundfile-written test audio only proves we read what libsndfile writes. Real datasets hold
files from LAME, oggenc, opusenc, the FLAC CLI, FFmpeg's AAC/AC-3/WMA encoders and SoX's
telephony codecs, each with its own headers, padding and quirks, so the tests build such files
with the Debian command-line tools (tools/install-system-deps.sh installs them) from real
recorded speech that ships in Debian packages. ``ffmpeg_decode`` decodes with Debian's ffmpeg
CLI, an FFmpeg build independent of PyAV's, so agreement between the two means something.

Everything is deterministic: SoX runs in repeatable mode (fixed dither seed), the Ogg encoders
get fixed stream serial numbers, FFmpeg muxers run bit-exact, and the damage uses seeded
randomness. The whole corpus builds in a few seconds.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# Real recorded speech from Debian packages (see tools/install-system-deps.sh).
ALSA_SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")  # alsa-utils, 48 kHz mono, 1.4 s
CODEC2_SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # codec2-examples, 16 kHz mono
ESPEAK_TEXT = "Please confirm the transfer to account number four two seven."

TOOLS = ("sox", "espeak-ng", "lame", "oggenc", "opusenc", "flac", "ffmpeg", "ffprobe")
SOURCE_FILES = (ALSA_SPEECH, CODEC2_SPEECH)

# What a web server or a broken download leaves behind under an audio file name.
TEXT_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    "<body><h1>Not Found</h1>\n<p>The requested URL /clips/0042 was not found on this server.</p>\n"
    "</body></html>\n"
)
DAMAGES = ("cut-middle", "garbage-tail", "zeroed-header")
GARBAGE_BYTES = 4096
HEADER_BYTES = 512


@dataclass(frozen=True)
class EncodedFile:
    path: Path
    name: str  # short id, e.g. "mp3-lame-vbr-xing-44k-stereo"
    container: str  # file extension without the dot: "mp3", "ogg", "m4a", "mp4", "webm", ...
    codec: str  # ffprobe's codec_name of the first audio stream: "mp3", "aac", "gsm_ms", ...
    sample_rate: int  # as written in the file (ffprobe's sample_rate; 48000 for every Opus)
    channels: int
    encoder: str  # the command that wrote it, e.g. "lame 3.100 -V 5"


@dataclass(frozen=True)
class DamagedFile:
    path: Path
    name: str  # e.g. "mp3-lame-cbr128-44k-stereo-cut-middle"
    source: EncodedFile  # the valid file it was made from (for "text": one with its extension)
    damage: str  # one of "cut-middle", "garbage-tail", "zeroed-header", "text"


class CommandError(RuntimeError):
    """An external tool failed; the message carries the command line and its stderr."""

    def __init__(self, args: Sequence[str], detail: str) -> None:
        super().__init__(f"command failed: {' '.join(args)}\n{detail}")
        self.command = list(args)


def run(cmd: Sequence[str | Path]) -> bytes:
    """Run a tool, return its stdout; raise CommandError with the command and stderr if it fails."""
    args = [str(part) for part in cmd]
    try:
        proc = subprocess.run(args, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise CommandError(args, "not installed: run tools/install-system-deps.sh") from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace").strip()
        raise CommandError(args, f"exit status {exc.returncode}; stderr:\n{stderr}") from None
    return proc.stdout


def missing_tools() -> list[str]:
    """Tools and source recordings this module needs that are not installed (empty when ready)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return missing + [str(path) for path in SOURCE_FILES if not path.is_file()]


def needs_encoders() -> pytest.MarkDecorator:
    """The ``pytestmark`` of a test module that uses this corpus: locally a missing tool only
    skips, in CI it must fail (as in tests/repo/test_demo_corpus.py)."""
    missing = missing_tools()
    return pytest.mark.skipif(
        bool(missing) and not os.environ.get("CI"),
        reason=f"missing {', '.join(missing)}: run tools/install-system-deps.sh",
    )


@functools.cache
def tool_version(tool: str) -> str:
    """The version a tool reports, e.g. "3.100" for lame; recorded in EncodedFile.encoder."""
    flag = "-version" if tool in ("ffmpeg", "ffprobe") else "--version"
    # The first dotted number: "LAME 64bits version 3.100", "sox:      SoX v14.4.2", ...
    match = re.search(r"\d+\.\d+(?:\.\d+)?", run([tool, flag]).decode(errors="replace"))
    return match.group(0) if match else "unknown"


@functools.cache
def _ffmpeg_has_encoder(name: str) -> bool:
    listing = run(["ffmpeg", "-hide_banner", "-encoders"]).decode(errors="replace")
    return re.search(rf"^\s*\S{{6}}\s+{re.escape(name)}\s", listing, re.MULTILINE) is not None


def ffprobe_audio(path: Path) -> dict[str, str | int]:
    """codec_name, sample_rate and channels of the first audio stream, as ffprobe reports them."""
    out = run([
        "ffprobe", "-v", "error", "-select_streams", "a:0",
        "-show_entries", "stream=codec_name,sample_rate,channels", "-of", "json", path,
    ])  # fmt: skip
    streams = json.loads(out).get("streams", [])
    if not streams:
        raise CommandError(["ffprobe", str(path)], "no audio stream")
    stream = streams[0]
    return {
        "codec": stream["codec_name"],
        "sample_rate": int(stream["sample_rate"]),
        "channels": int(stream["channels"]),
    }


def ffmpeg_decode(path: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream with the ffmpeg CLI at the file's own rate and channel
    count; return float32 samples shaped (frames, channels) and the rate."""
    info = ffprobe_audio(path)
    rate, channels = int(info["sample_rate"]), int(info["channels"])
    # -ar/-ac pin the output to what ffprobe reported, so ffmpeg never resamples or remixes.
    raw = run([
        "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
        "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(rate), "-ac", str(channels), "-",
    ])  # fmt: skip
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).astype(np.float32), rate


# --- sources ------------------------------------------------------------------------------


def _sox(*args: str | Path) -> None:
    # -R: repeatable mode, i.e. a fixed seed for SoX's dither, so every build is byte-identical.
    run(["sox", "-R", "-V1", *args])


def _make_sources(directory: Path) -> dict[str, Path]:
    """Uncompressed speech WAVs to feed the encoders, keyed "mono16", "stereo44", ...

    Stereo files carry two *different* recordings (ALSA's "front center" left, espeak right),
    so a swapped, duplicated or down-mixed channel shows up in the decoded audio."""
    directory.mkdir(parents=True, exist_ok=True)
    src = {"mono48": ALSA_SPEECH}
    src["mono16"] = directory / "codec2-16k-mono.wav"
    _sox(CODEC2_SPEECH, src["mono16"], "trim", "0", "2.5")
    espeak_raw = directory / "espeak-raw.wav"
    run(["espeak-ng", "-w", espeak_raw, ESPEAK_TEXT])
    src["mono22"] = directory / "espeak-22k-mono.wav"  # espeak-ng writes 22.05 kHz
    _sox(espeak_raw, src["mono22"], "trim", "0", "2.5")
    src["mono44"] = directory / "alsa-44k-mono.wav"
    _sox(ALSA_SPEECH, "-r", "44100", src["mono44"])
    for rate in (32000, 44100, 48000):
        left, right = directory / f"left-{rate}.wav", directory / f"right-{rate}.wav"
        _sox(ALSA_SPEECH, "-r", str(rate), left)
        _sox(src["mono22"], "-r", str(rate), right)
        src[f"stereo{rate // 1000}"] = directory / f"stereo-{rate}.wav"
        _sox("-M", left, right, src[f"stereo{rate // 1000}"], "trim", "0", "2")
    # Real 24-bit content: the gain change makes the low byte non-zero.
    src["stereo48-24bit"] = directory / "stereo-48000-24bit.wav"
    _sox(src["stereo48"], "-b", "24", src["stereo48-24bit"], "gain", "-1")
    return src


# --- encoders ------------------------------------------------------------------------------


def _file(
    path: Path, container: str, codec: str, rate: int, channels: int, tool: str, opts: list[str]
) -> EncodedFile:
    return EncodedFile(
        path=path,
        name=path.stem,
        container=container,
        codec=codec,
        sample_rate=rate,
        channels=channels,
        encoder=" ".join([tool, tool_version(tool), *opts]),
    )


def _lame_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    tags = ["--tt", "Transfer request", "--ta", "Caller 42"]
    # (name, source, rate, channels, options); "-m j" joint stereo, "-m m" mono.
    specs = [
        ("mp3-lame-cbr128-44k-stereo", "stereo44", 44100, 2, ["--cbr", "-b", "128", "-m", "j"]),
        # LAME writes a Xing/"LAME" info frame by default: frame count, encoder delay, padding.
        ("mp3-lame-vbr-xing-44k-stereo", "stereo44", 44100, 2, ["-V", "5", "-m", "j"]),
        # -t: no info frame, so a VBR file's length is only known by scanning every frame.
        ("mp3-lame-vbr-noxing-44k-stereo", "stereo44", 44100, 2, ["-V", "5", "-t", "-m", "j"]),
        ("mp3-lame-cbr-id3v1-44k-mono", "mono44", 44100, 1,
         ["--cbr", "-b", "64", "-m", "m", "--id3v1-only", *tags]),
        ("mp3-lame-cbr-id3v2-48k-mono", "mono48", 48000, 1,
         ["--cbr", "-b", "64", "-m", "m", "--id3v2-only", *tags]),
        # 8 kHz is MPEG-2.5, 16/22.05 kHz MPEG-2: other frame sizes and header bits than MPEG-1.
        ("mp3-lame-8k-mono", "mono16", 8000, 1, ["--resample", "8", "-b", "16", "-m", "m"]),
        ("mp3-lame-16k-mono", "mono16", 16000, 1, ["--resample", "16", "-b", "32", "-m", "m"]),
        ("mp3-lame-22k-mono", "mono22", 22050, 1, ["--resample", "22.05", "-b", "48", "-m", "m"]),
        ("mp3-lame-32k-stereo", "stereo32", 32000, 2, ["--resample", "32", "-b", "96", "-m", "j"]),
    ]  # fmt: skip
    files = []
    for name, source, rate, channels, opts in specs:
        path = out / f"{name}.mp3"
        run(["lame", "--quiet", *opts, src[source], path])
        files.append(_file(path, "mp3", "mp3", rate, channels, "lame", opts))
    return files


def _oggenc_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    files = []
    for name, source, rate, channels in [
        ("ogg-oggenc-vorbis-44k-stereo", "stereo44", 44100, 2),
        ("ogg-oggenc-vorbis-16k-mono", "mono16", 16000, 1),
    ]:
        path = out / f"{name}.ogg"
        opts = ["-q", "3"]
        # --serial: oggenc otherwise picks a random Ogg stream serial number on every run.
        run(["oggenc", "--quiet", "--serial", "4242", *opts, "-o", path, src[source]])
        files.append(_file(path, "ogg", "vorbis", rate, channels, "oggenc", opts))
    return files


def _opusenc_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    files = []
    # Opus always runs at 48 kHz; opusenc stores the input rate (16000) only as a hint in the
    # OpusHead "input sample rate" field, and ffprobe/decoders report 48000 for both files.
    for name, source in [
        ("opus-opusenc-48k-mono", "mono48"),
        ("opus-opusenc-from16k-mono", "mono16"),
    ]:
        path = out / f"{name}.opus"
        opts = ["--bitrate", "24"]
        run(["opusenc", "--quiet", "--serial", "4242", *opts, src[source], path])
        files.append(_file(path, "opus", "opus", 48000, 1, "opusenc", opts))
    return files


def _flac_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    files = []
    for name, source, rate, channels in [
        ("flac-16k-mono", "mono16", 16000, 1),
        ("flac-44k-stereo", "stereo44", 44100, 2),
        ("flac-24bit-48k-stereo", "stereo48-24bit", 48000, 2),
    ]:
        path = out / f"{name}.flac"
        opts = ["-5"]
        run(["flac", "--silent", "--force", *opts, "-o", path, src[source]])
        files.append(_file(path, "flac", "flac", rate, channels, "flac", opts))
    return files


def _testsrc(seconds: float) -> list[str]:
    """A tiny lavfi test-pattern video input, for files whose first stream is video."""
    return ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}"]


def _ffmpeg_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    # Phone videos carry H.264; fall back to MPEG-4 part 2 if this ffmpeg lacks libx264.
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    video = h264 if _ffmpeg_has_encoder("libx264") else ["-c:v", "mpeg4"]
    # (name, extension, codec, rate, channels, inputs, options)
    specs = [
        ("m4a-aac-44k-stereo", "m4a", "aac", 44100, 2, ["-i", src["stereo44"]],
         ["-c:a", "aac", "-b:a", "96k"]),
        # Raw ADTS: no container, every frame carries its own header.
        ("aac-adts-16k-mono", "aac", "aac", 16000, 1, ["-i", src["mono16"]],
         ["-c:a", "aac", "-b:a", "32k", "-f", "adts"]),
        ("webm-opus-48k-mono", "webm", "opus", 48000, 1, ["-i", src["mono48"]],
         ["-c:a", "libopus", "-b:a", "32k"]),
        ("webm-vorbis-44k-stereo", "webm", "vorbis", 44100, 2, ["-i", src["stereo44"]],
         ["-c:a", "libvorbis", "-q:a", "3"]),
        ("ac3-48k-stereo", "ac3", "ac3", 48000, 2, ["-i", src["stereo48"]],
         ["-c:a", "ac3", "-b:a", "192k"]),
        ("wma-wmav2-44k-stereo", "wma", "wmav2", 44100, 2, ["-i", src["stereo44"]],
         ["-c:a", "wmav2", "-b:a", "64k"]),
        # Video stream first, audio second: "the first stream" is not the audio.
        ("mp4-video-aac-48k-mono", "mp4", "aac", 48000, 1, [*_testsrc(1.5), "-i", src["mono48"]],
         ["-map", "0:v", "-map", "1:a", *video, "-c:a", "aac", "-b:a", "64k", "-shortest"]),
        ("mkv-video-vorbis-22k-mono", "mkv", "vorbis", 22050, 1,
         [*_testsrc(2.5), "-i", src["mono22"]],
         ["-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "libvorbis", "-q:a", "3",
          "-shortest"]),
        ("mov-aac-22k-mono", "mov", "aac", 22050, 1, ["-i", src["mono22"]],
         ["-c:a", "aac", "-b:a", "48k"]),
    ]  # fmt: skip
    files = []
    for name, ext, codec, rate, channels, inputs, opts in specs:
        path = out / f"{name}.{ext}"
        # bitexact: no encoder version strings or random Matroska UIDs, so builds are identical.
        run([
            "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *opts,
            "-fflags", "+bitexact", "-flags", "+bitexact", path,
        ])  # fmt: skip
        files.append(_file(path, ext, codec, rate, channels, "ffmpeg", [str(o) for o in opts]))
    return files


def _sox_files(out: Path, src: dict[str, Path]) -> list[EncodedFile]:
    # Telephony WAVs (8 kHz mono) with non-PCM format tags, plus plain and 24-bit PCM WAVs.
    narrowband = ["-r", "8000", "-c", "1"]
    specs = [
        ("wav-sox-gsm-8k-mono", "gsm_ms", "mono16", 8000, 1, [*narrowband, "-e", "gsm-full-rate"]),
        ("wav-sox-ulaw-8k-mono", "pcm_mulaw", "mono16", 8000, 1, [*narrowband, "-e", "u-law"]),
        ("wav-sox-alaw-8k-mono", "pcm_alaw", "mono16", 8000, 1, [*narrowband, "-e", "a-law"]),
        ("wav-sox-ima-adpcm-8k-mono", "adpcm_ima_wav", "mono16", 8000, 1,
         [*narrowband, "-e", "ima-adpcm"]),
        ("wav-sox-pcm16-16k-mono", "pcm_s16le", "mono16", 16000, 1, []),
        # SoX writes 24-bit as WAVE_FORMAT_EXTENSIBLE.
        ("wav-sox-pcm24-48k-stereo", "pcm_s24le", "stereo48-24bit", 48000, 2, []),
    ]  # fmt: skip
    files = []
    for name, codec, source, rate, channels, opts in specs:
        path = out / f"{name}.wav"
        _sox(src[source], *opts, path)
        files.append(_file(path, "wav", codec, rate, channels, "sox", opts))
    # Debian's ffmpeg is built without the opencore-amrnb *encoder* (it only decodes AMR), so
    # the AMR-NB file comes from SoX, whose amr-nb format (libsox-fmt-base) wraps the same
    # opencore-amrnb library. -C 7 selects the 12.2 kbit/s mode.
    path = out / "amr-nb-sox-8k-mono.amr"
    opts = [*narrowband, "-t", "amr-nb", "-C", "7"]
    _sox(src["mono16"], *opts, path)
    files.append(_file(path, "amr", "amr_nb", 8000, 1, "sox", opts))
    return files


def real_encoder_files(directory: Path) -> list[EncodedFile]:
    """Every valid file, written by its real encoder into `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    src = _make_sources(directory / "sources")
    return [
        *_lame_files(directory, src),
        *_oggenc_files(directory, src),
        *_opusenc_files(directory, src),
        *_flac_files(directory, src),
        *_ffmpeg_files(directory, src),
        *_sox_files(directory, src),
    ]


# --- damage --------------------------------------------------------------------------------


def _damaged_bytes(data: bytes, damage: str, seed: int) -> bytes:
    if damage == "cut-middle":  # an interrupted download or copy
        return data[: len(data) // 2]
    if damage == "garbage-tail":  # junk appended after the last frame
        return data + np.random.default_rng(seed).bytes(GARBAGE_BYTES)
    if damage == "zeroed-header":  # a lost first block: magic numbers and headers gone
        n = min(HEADER_BYTES, len(data))
        return bytes(n) + data[n:]
    raise ValueError(f"unknown damage {damage!r}")


def damaged_files(valid: list[EncodedFile], directory: Path) -> list[DamagedFile]:
    """For each valid file: cut in the middle (first half of its bytes), garbage tail
    (valid file + 4 KB of seeded random bytes), zeroed header (first 512 bytes set to 0).
    Plus one text file saved as `.m4a`, one as `.mp3`, one as `.opus` (damage "text")."""
    directory.mkdir(parents=True, exist_ok=True)
    damaged = []
    for source in valid:
        data = source.path.read_bytes()
        for damage in DAMAGES:
            name = f"{source.name}-{damage}"
            path = directory / f"{name}{source.path.suffix}"
            # Seeded from the name, so a file's garbage does not depend on the corpus order.
            path.write_bytes(_damaged_bytes(data, damage, zlib.crc32(name.encode())))
            damaged.append(DamagedFile(path, name, source, damage))
    for container in ("m4a", "mp3", "opus"):
        source = next((f for f in valid if f.container == container), None)
        if source is None:  # only when the caller passed a subset of the corpus
            continue
        name = f"text-as-{container}"
        path = directory / f"{name}.{container}"
        path.write_text(TEXT_PAGE)
        damaged.append(DamagedFile(path, name, source, "text"))
    return damaged


# What each file of the corpus is to the decoders: the oracle of the tests that read it (the
# decoder alone, unit/extraction/test_real_encoders.py; the workflow, workflow/
# test_encoded_tree.py).

# libsndfile reads these containers whole; MP3 and everything else goes to FFmpeg.
LIBSNDFILE_CONTAINERS = {"wav", "flac", "ogg", "opus"}
# Containers whose index (the "moov" atom, written last by FFmpeg) is gone when cut.
INDEX_AT_END = {"m4a", "mp4", "mov"}
# Raw streams in which FFmpeg finds the next frame header past a destroyed start.
RESYNCING = {"mp3", "aac"}


def expected_outcome(damaged: DamagedFile) -> str:
    """README's "Bad input" policy: "sample", or "failure: <reason fragment>"."""
    source = damaged.source
    if damaged.damage == "text":
        return "failure: not audio"
    if damaged.damage == "garbage-tail":
        return "sample"
    if damaged.damage == "zeroed-header":
        return "sample" if source.container in RESYNCING else "failure"
    # Cut in the middle.
    if source.container == "wav":
        return "failure: truncated: the header promises"
    if source.container == "flac":
        return "failure: truncated or corrupt audio data"
    if source.container in INDEX_AT_END:
        return "failure: not audio"
    if source.name == "opus-opusenc-48k-mono":
        return "failure"  # nothing decodes: its first audio page is longer than the half left
    return "sample"
