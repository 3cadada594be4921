"""Files written by real encoders become samples; damaged ones give their documented outcome.

The corpus (tests/encoders.py) comes from LAME, oggenc, opusenc, the FLAC CLI, FFmpeg's
encoders and SoX, fed with recorded speech from Debian packages: nothing here was shaped to
fit our decoder. The outcomes asserted for damaged files are the ones README's "Bad input"
table documents.
"""

from __future__ import annotations

import csv
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from encoders import (
    DamagedFile,
    EncodedFile,
    damaged_files,
    ffmpeg_decode,
    needs_encoders,
    real_encoder_files,
)
from helpers import snakemake_command

from fraudprep.extraction.audio_io import (
    FFMPEG,
    LIBSNDFILE,
    AudioError,
    DecodedAudio,
    load_mono,
    mix_to_mono,
)

pytestmark = needs_encoders()

# libsndfile reads these containers whole; MP3 and everything else goes to FFmpeg.
LIBSNDFILE_CONTAINERS = {"wav", "flac", "ogg", "opus"}
# The longest codec frame among the corpus's codecs (Vorbis: 2048): decoders may differ by
# the padding of one last frame (GSM in WAV: libsndfile keeps its 320-sample padding).
CODEC_FRAME = 2048
MAX_DIFFERENCE = 1e-4
# Containers whose index (the "moov" atom, written last by FFmpeg) is gone when cut.
INDEX_AT_END = {"m4a", "mp4", "mov"}
# Raw streams in which FFmpeg finds the next frame header past a destroyed start.
RESYNCING = {"mp3", "aac"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[EncodedFile], list[DamagedFile]]:
    directory = tmp_path_factory.mktemp("real-encoders")
    valid = real_encoder_files(directory / "valid")
    return valid, damaged_files(valid, directory / "damaged")


def decode(path: Path, rate: int = 16000) -> DecodedAudio:
    return load_mono(str(path), rate, max_seconds=60, min_seconds=0.1)


def reference_decode(encoded: EncodedFile) -> np.ndarray:
    """Mono float32 from an independent decoder: FFmpeg's CLI, but for the two codecs whose
    FFmpeg decoder is not the reference one. There libsndfile uses the reference decoder
    (libopus, as opusdec; IMA ADPCM as SoX decodes it) and FFmpeg's own differs from it (by up
    to 0.14 for Opus, 1e-3 for IMA ADPCM), so those are compared with the reference."""
    if encoded.container == "opus":
        # At the rate libsndfile decodes at: the input rate the header records.
        rate = str(sf.info(encoded.path).samplerate)
        out = encoded.path.with_suffix(".opusdec.wav")
        subprocess.run(
            ["opusdec", "--quiet", "--float", "--rate", rate, str(encoded.path), str(out)],
            check=True,
        )
        samples, _ = sf.read(out, dtype="float32", always_2d=True)
    elif encoded.codec == "adpcm_ima_wav":
        out = encoded.path.with_suffix(".sox.wav")
        subprocess.run(["sox", str(encoded.path), "-e", "floating-point", str(out)], check=True)
        samples, _ = sf.read(out, dtype="float32", always_2d=True)
    else:
        samples, _ = ffmpeg_decode(encoded.path)
    return mix_to_mono(samples)


def aligned_difference(ours: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """(lag, max abs difference) at the lag within one codec frame that correlates best."""
    size = 2 * max(len(ours), len(reference))
    correlation = np.fft.irfft(np.fft.rfft(ours, size) * np.conj(np.fft.rfft(reference, size)))
    lags = np.r_[0 : CODEC_FRAME + 1, -CODEC_FRAME:0]
    lag = int(lags[np.argmax(correlation[lags])])
    a, b = (ours[lag:], reference) if lag >= 0 else (ours, reference[-lag:])
    common = min(len(a), len(b))
    return lag, float(np.max(np.abs(a[:common] - b[:common])))


def test_every_valid_file_becomes_a_finite_sample(corpus):
    valid, _ = corpus
    for encoded in valid:
        audio = decode(encoded.path)
        assert np.isfinite(audio.samples).all(), encoded.name
        assert np.abs(audio.samples).max() > 0.01, encoded.name  # speech, not silence
        expected = LIBSNDFILE if encoded.container in LIBSNDFILE_CONTAINERS else FFMPEG
        assert audio.decoder == expected, encoded.name
        assert audio.channels == encoded.channels, encoded.name


def test_decoded_samples_match_an_independent_decoder(corpus):
    valid, _ = corpus
    for encoded in valid:
        reference = reference_decode(encoded)
        # Decode at the file's own rate, so that no resampler stands between the two.
        audio = decode(encoded.path, audio_rate(encoded))
        assert abs(len(audio.samples) - len(reference)) <= CODEC_FRAME, encoded.name
        if encoded.container == "opus" and audio_rate(encoded) != 48000:
            # libopus decodes at 16 kHz itself; opusdec decodes at 48 and resamples.
            continue
        lag, difference = aligned_difference(audio.samples, reference)
        assert difference <= MAX_DIFFERENCE, (encoded.name, lag, difference)


def audio_rate(encoded: EncodedFile) -> int:
    """The rate the decoders give: an Opus header records its input's rate, and libopus
    decodes at it, while ffprobe reports Opus's internal 48 kHz."""
    return sf.info(encoded.path).samplerate if encoded.container == "opus" else encoded.sample_rate


def test_vbr_mp3_without_xing_header_is_decoded_whole(corpus):
    """Regression: libsndfile estimates an MP3's length from its first frames and never reads
    past the estimate; a LAME VBR file without Xing header lost 30 % of its audio."""
    valid, _ = corpus
    (encoded,) = [f for f in valid if f.name == "mp3-lame-vbr-noxing-44k-stereo"]
    reference = reference_decode(encoded)
    assert sf.info(encoded.path).frames < 0.9 * len(reference)  # libsndfile's estimate
    audio = decode(encoded.path, encoded.sample_rate)
    assert len(audio.samples) == len(reference)
    assert audio.duration == pytest.approx(len(reference) / encoded.sample_rate)


def test_no_valid_mp3_is_called_truncated(corpus):
    """Regression: valid MP3s from LAME were failures ("header promises N frames, only M
    decode") because libsndfile's frame count is an estimate."""
    valid, _ = corpus
    mp3s = [f for f in valid if f.container == "mp3"]
    assert len(mp3s) >= 8
    for encoded in mp3s:
        assert decode(encoded.path).duration > 0.5, encoded.name


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


def test_damaged_files_give_their_documented_outcome(corpus):
    _, damaged = corpus
    for broken in damaged:
        expected = expected_outcome(broken)
        try:
            audio = decode(broken.path)
        except AudioError as error:
            reason = str(error)
            assert expected.startswith("failure"), (broken.name, reason)
            assert expected.removeprefix("failure").removeprefix(": ") in reason, broken.name
            assert not reason.startswith("unexpected"), (broken.name, reason)
            continue
        assert expected == "sample", (broken.name, expected)
        assert np.isfinite(audio.samples).all(), broken.name
        source_seconds = decode(broken.source.path).duration
        one_frame = CODEC_FRAME / broken.source.sample_rate
        if broken.damage == "garbage-tail":  # all of the audio, and perhaps the garbage
            assert audio.duration >= source_seconds - one_frame, broken.name
        else:  # the decodable part: never more than the whole
            assert 0.1 <= audio.duration <= source_seconds + one_frame, broken.name
        if broken.damage == "cut-middle":
            assert audio.duration < source_seconds, broken.name


@pytest.fixture(scope="module")
def workflow_run(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """snakemake --cores 2 over a FoR tree of every valid file (in each split), the damaged
    ones, and files that are not audio at all."""
    valid, damaged = corpus
    workdir = tmp_path_factory.mktemp("real-encoders-run")
    tree = workdir / "corpus"
    for index, encoded in enumerate(valid):
        for split in ("training", "validation", "testing"):
            label = ("real", "fake")[index % 2]
            target = tree / split / label / encoded.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(encoded.path, target)
    for broken in damaged:
        target = tree / "testing" / "fake" / "damaged" / broken.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(broken.path, target)
    (tree / "training" / "real" / "transcripts.txt").write_text("please confirm the transfer\n")
    (tree / "testing" / "fake" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not audio")
    run = subprocess.run(
        snakemake_command(
            workdir, "--cores", "2", "--config", "input_dir=corpus", "models=[unetr]",
            "max_failure_fraction=1.0", "report_figures=False",
        ),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return workdir / "data" / "preprocessed", run


def test_workflow_accounts_for_every_file_of_the_tree(corpus, workflow_run):
    valid, damaged = corpus
    out, run = workflow_run
    with open(out / "unetr" / "failures.csv", newline="", encoding="utf-8") as handle:
        failed = {Path(row["path"]).name: row["reason"] for row in csv.DictReader(handle)}
    expected_failures = {
        broken.path.name for broken in damaged if expected_outcome(broken) != "sample"
    }
    assert set(failed) == expected_failures  # no valid file among them
    with open(out / "skipped.csv", newline="", encoding="utf-8") as handle:
        skipped = list(csv.DictReader(handle))
    assert [(Path(r["path"]).name, r["split"], r["reason"]) for r in skipped] == [
        ("transcripts.txt", "training", "not an audio extension"),
        ("cover.jpg", "testing", "not an audio extension"),
    ]
    assert "2 file(s) under the input's class folders skipped" in run.stdout

    with open(out / "unetr" / "dataset_stats.pkl", "rb") as handle:
        stats = pickle.load(handle)
    samples = 3 * len(valid) + len(damaged) - len(expected_failures)
    assert stats["total_files"] == samples + len(expected_failures)
    assert stats["total_samples"] == samples
    ffmpeg_valid = sum(f.container not in LIBSNDFILE_CONTAINERS for f in valid)
    assert stats["decoders"][FFMPEG] >= 3 * ffmpeg_valid
    assert sum(stats["decoders"].values()) == samples
    assert stats["formats"]["mp3/mp3"] >= 3 * sum(f.container == "mp3" for f in valid)
