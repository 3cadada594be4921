"""The seed's per-file pipeline, re-created with librosa as the speed reference for `make bench`.

Not part of fraudprep: this is what the preprocessing scripts fraudprep replaced did for the
ResNet input, file by file in one process:

    librosa.load(sr=16000, mono=True) -> effects.trim(top_db=20) -> util.fix_length(10 s)
    -> feature.melspectrogram(n_fft=2048, hop_length=512, n_mels=128) -> power_to_db(ref=max)
    -> scipy.ndimage.zoom(order=1) to 224 x 224 -> 3 channels, float32
    -> batches of 8 pickled as {'data', 'labels'} per split

The other seed scripts (MobileNet, UNETR, low memory) ran the same sequence with their own
settings; ``--profile`` takes them as JSON (sample_rate, duration, trim_top_db, n_fft,
hop_length, n_mels, height, width, channels; the bench passes each fraudprep profile's).

Usage: python -m bench.seed_reference MANIFEST_CSV OUTPUT_DIR [--batch-size 8] [--profile JSON]
MANIFEST_CSV has at least path,split,label columns (fraudprep's manifest does). The last line
printed is a JSON summary (files, failures, import and loop seconds, peak RSS) for the bench.
"""

from __future__ import annotations

# fraudprep.base.memory imports no numpy: it can set the threads before numpy is imported.
from fraudprep.base.memory import limit_threads, peak_rss_mb

# As the seed did: one BLAS/OpenMP thread, so that the reference uses one core like one
# fraudprep job does. Must be set before numpy is imported.
limit_threads()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

_IMPORT_START = time.perf_counter()
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _IMPORT_START

RESNET = {
    "sample_rate": 16000,
    "duration": 10.0,
    "trim_top_db": 20,
    "n_fft": 2048,
    "hop_length": 512,
    "n_mels": 128,
    "height": 224,
    "width": 224,
    "channels": 3,
}
LABELS = {"0": 0, "1": 1, "real": 0, "fake": 1}


def seed_features(path: str, profile: dict = RESNET) -> np.ndarray:
    """One file -> (height, width[, 3]) float32, exactly the seed's sequence of librosa calls."""
    rate = profile["sample_rate"]
    audio, _ = librosa.load(path, sr=rate, mono=True)
    audio, _ = librosa.effects.trim(audio, top_db=profile["trim_top_db"])
    audio = librosa.util.fix_length(audio, size=int(rate * profile["duration"]))
    mel = librosa.feature.melspectrogram(
        y=audio, sr=rate, n_fft=profile["n_fft"], hop_length=profile["hop_length"],
        n_mels=profile["n_mels"],
    )  # fmt: skip
    mel_db = librosa.power_to_db(mel, ref=np.max)
    factors = (profile["height"] / mel_db.shape[0], profile["width"] / mel_db.shape[1])
    image = scipy.ndimage.zoom(mel_db, factors, order=1)
    if profile["channels"] == 3:
        image = np.stack([image, image, image], axis=-1)
    return image.astype(np.float32)


def read_rows(manifest_csv: Path) -> list[tuple[str, str, int]]:
    """(path, split, label) rows; relative paths are relative to the CSV, as in fraudprep."""
    base = manifest_csv.parent
    with open(manifest_csv, newline="", encoding="utf-8") as handle:
        return [
            (str(base / row["path"]), row["split"], LABELS[row["label"].strip().lower()])
            for row in csv.DictReader(handle)
        ]


def write_batch(output_dir: Path, split: str, index: int, data: list, labels: list) -> None:
    batch = {"data": np.stack(data), "labels": np.asarray(labels, dtype=np.int64)}
    with open(output_dir / f"{split}_batch_{index}.pkl", "wb") as handle:
        pickle.dump(batch, handle, protocol=pickle.HIGHEST_PROTOCOL)


def run(manifest_csv: Path, output_dir: Path, batch_size: int, profile: dict = RESNET) -> dict:
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = read_rows(manifest_csv)
    # librosa compiles its numba kernels on first use (1-2 s): paid once per process, it is
    # start-up, not per-file cost. The first file is run once before the clock starts.
    warm_started = time.perf_counter()
    if rows:
        # A bad first file is counted as a failure in the loop.
        with contextlib.suppress(Exception):
            seed_features(rows[0][0], profile)
    warm_up_s = time.perf_counter() - warm_started
    started = time.perf_counter()
    failures = 0
    batches: dict[str, int] = {}
    data: list[np.ndarray] = []
    labels: list[int] = []
    split = None
    for path, row_split, label in rows:
        # The seed wrote batches per split: a split change flushes the partial batch.
        if row_split != split and data:
            write_batch(output_dir, split, batches.get(split, 0), data, labels)
            batches[split] = batches.get(split, 0) + 1
            data, labels = [], []
        split = row_split
        try:
            data.append(seed_features(path, profile))
        except Exception:  # the seed skipped files it could not read
            failures += 1
            continue
        labels.append(label)
        if len(data) == batch_size:
            write_batch(output_dir, split, batches.get(split, 0), data, labels)
            batches[split] = batches.get(split, 0) + 1
            data, labels = [], []
    if data:
        write_batch(output_dir, split, batches.get(split, 0), data, labels)
        batches[split] = batches.get(split, 0) + 1
    return {
        "files": len(rows),
        "failures": failures,
        "batches": sum(batches.values()),
        "import_s": IMPORT_SECONDS,
        "warm_up_s": warm_up_s,
        "loop_s": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="CSV with path,split,label columns")
    parser.add_argument("output_dir", type=Path, help="where the batch pickles go")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--profile", type=json.loads, default=RESNET, help="feature settings as JSON"
    )
    args = parser.parse_args()
    profile = {**RESNET, **args.profile}
    print(json.dumps(run(args.manifest, args.output_dir, args.batch_size, profile)))


if __name__ == "__main__":
    main()
