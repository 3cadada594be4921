"""Three corpora in three layouts, small, for the ``corpora`` tests (unit and workflow).

- ``la19``: an ASVspoof 2019 LA tree (protocols + flac), its own splits.
- ``mlaad``: an MLAAD-like set (a CSV listing with speakers, as the MLAAD reader's stand-in),
  re-split by speaker. Its speaker ``LA_0014`` is planted: la19 has it in testing, and the
  re-split puts it in training (it holds most of mlaad's files), in the shared namespace vctk.
- ``itw``: an In-the-Wild folder (``meta.csv``), all of it for testing; its ``copy.wav`` is a
  byte copy of a la19 training file (a planted cross-corpus duplicate).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import write_audio

LA19_PROTOCOLS = {
    "train": ("train.trn", ["LA_0079 LA_T_1000001 - - bonafide",
                            "LA_0079 LA_T_1000002 - A01 spoof",
                            "LA_0080 LA_T_1000003 - - bonafide",
                            "LA_0080 LA_T_1000004 - A02 spoof"]),
    "dev": ("dev.trl", ["LA_0069 LA_D_1000001 - - bonafide", "LA_0070 LA_D_1000002 - A02 spoof"]),
    "eval": ("eval.trl", ["LA_0014 LA_E_1000001 - - bonafide", "LA_0014 LA_E_1000002 - A11 spoof",
                          "LA_0039 LA_E_1000003 - - bonafide", "LA_0039 LA_E_1000004 - A12 spoof"]),
}  # fmt: skip
# (file, speaker, label): LA_0014 holds most files, so the re-split puts it in training.
MLAAD_FILES = [
    *((f"en/tts_a/{i}.wav", "LA_0014", "fake" if i % 2 else "real") for i in range(6)),
    ("de/tts_b/0.wav", "m_anna", "real"),
    ("de/tts_b/1.wav", "m_anna", "fake"),
    ("fr/tts_c/0.wav", "m_paul", "real"),
    ("fr/tts_c/1.wav", "m_paul", "fake"),
]
ITW_FILES = [("0.wav", "Barack Obama", "bona-fide"), ("1.wav", "Barack Obama", "spoof"),
             ("2.wav", "Alan Watts", "bona-fide"), ("3.wav", "Alan Watts", "spoof"),
             ("4.wav", "Ayn Rand", "spoof")]  # fmt: skip
DUPLICATED = "ASVspoof2019_LA_train/flac/LA_T_1000001.flac"  # copied into itw as copy.wav


def build_corpora(root: Path) -> dict[str, Path]:
    """The three corpora under ``root``; returns name -> folder (mlaad: its listing)."""
    la19 = root / "LA"
    protocols = la19 / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir(parents=True)
    seed = 0
    for part, (suffix, lines) in LA19_PROTOCOLS.items():
        (protocols / f"ASVspoof2019.LA.cm.{suffix}.txt").write_text("\n".join(lines) + "\n")
        for line in lines:
            path = la19 / f"ASVspoof2019_LA_{part}" / "flac" / f"{line.split()[1]}.flac"
            write_audio(path, seconds=0.4, seed=seed, fmt="FLAC")
            seed += 1
    mlaad = root / "MLAAD"
    listing = ["path,speaker,label,split"]
    for name, speaker, label in MLAAD_FILES:
        write_audio(mlaad / name, seconds=0.4, seed=seed)
        seed += 1
        listing.append(f"{name},{speaker},{label},train")
    (mlaad / "listing.csv").write_text("\n".join(listing) + "\n")
    itw = root / "release_in_the_wild"
    meta = ["file,speaker,label"]
    for name, speaker, label in ITW_FILES:
        write_audio(itw / name, seconds=0.4, seed=seed)
        seed += 1
        meta.append(f"{name},{speaker},{label}")
    shutil.copy(la19 / DUPLICATED, itw / "copy.flac")
    meta.append("copy.flac,Copycat,bona-fide")
    (itw / "meta.csv").write_text("\n".join(meta) + "\n")
    return {"la19": la19, "mlaad": mlaad / "listing.csv", "itw": itw}


def corpora_config(trees: dict[str, Path], itw_max_files: int | None = None) -> list[dict]:
    """The ``corpora`` list over the three trees, as a user would write it."""
    itw = {"name": "itw", "dataset": "itw", "input_dir": str(trees["itw"]), "split": "testing"}
    if itw_max_files is not None:
        itw["max_files"] = {"testing": itw_max_files}
    return [
        {"name": "la19", "dataset": "asvspoof2019", "input_dir": str(trees["la19"]),
         "speaker_namespace": "vctk", "sources": ["vctk"]},
        {"name": "mlaad", "dataset": "csv", "listing": str(trees["mlaad"]),
         "split": {"training": 0.8, "validation": 0.1, "testing": 0.1},
         "speaker_namespace": "vctk", "sources": ["vctk"]},
        itw,
    ]  # fmt: skip
