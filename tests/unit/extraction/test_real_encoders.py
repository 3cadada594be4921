"""Files written by real encoders become samples; damaged ones give their documented outcome.

The corpus (tests/encoders.py) comes from LAME, oggenc, opusenc, the FLAC CLI, FFmpeg's
encoders and SoX, fed with recorded speech from Debian packages: nothing here was shaped to
fit our decoder. The outcomes asserted for damaged files are the ones README's "Bad input"
table documents.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from encoders import (
    LIBSNDFILE_CONTAINERS,
    DamagedFile,
    EncodedFile,
    damaged_files,
    expected_outcome,
    ffmpeg_decode,
    needs_encoders,
    real_encoder_files,
)

from fraudprep.extraction.audio_io import (
    FFMPEG,
    LIBSNDFILE,
    AudioError,
    DecodedAudio,
    load_mono,
    mix_to_mono,
)

pytestmark = needs_encoders()

# The longest codec frame among the corpus's codecs (Vorbis: 2048): decoders may differ by
# the padding of one last frame (GSM in WAV: libsndfile keeps its 320-sample padding).
CODEC_FRAME = 2048
MAX_DIFFERENCE = 1e-4


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
