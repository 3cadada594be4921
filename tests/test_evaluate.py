"""Detection metrics against values computed independently, and score files joined with the
manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from fraudprep.evaluate import (
    equal_error_rate,
    evaluate,
    join_scores,
    main,
    min_dcf,
    read_scores,
)
from fraudprep.manifest import ManifestRow, write_manifest


def brute_force(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[float, float]:
    """EER and ASVspoof 5 min DCF by trying every threshold one at a time."""
    thresholds = np.concatenate([[-np.inf], np.sort(np.concatenate([bonafide, spoof]))])
    best_gap, eer, costs = np.inf, 0.0, []
    for threshold in thresholds:
        miss = np.mean(bonafide <= threshold)  # bona fide called spoof
        false_alarm = np.mean(spoof > threshold)  # spoof called bona fide
        if abs(miss - false_alarm) < best_gap:
            best_gap, eer = abs(miss - false_alarm), (miss + false_alarm) / 2
        costs.append((1 * 0.95 * miss + 10 * 0.05 * false_alarm) / min(0.95, 0.5))
    return eer, min(costs)


@pytest.mark.parametrize("seed", range(5))
def test_eer_and_min_dcf_match_a_threshold_by_threshold_computation(seed: int):
    rng = np.random.default_rng(seed)
    bonafide = rng.normal(1.0, 1.0, 200 + 37 * seed)
    spoof = rng.normal(-1.0, 1.5, 300 + 11 * seed)
    eer, dcf = brute_force(bonafide, spoof)
    assert equal_error_rate(bonafide, spoof) == pytest.approx(eer)
    assert min_dcf(bonafide, spoof) == pytest.approx(dcf)


def test_known_values():
    assert equal_error_rate([3, 4, 5], [0, 1, 2]) == 0.0  # separated
    assert equal_error_rate([0, 1, 2], [3, 4, 5]) == 1.0  # inverted
    assert equal_error_rate([1, 2, 3, 4], [0, 2.5]) == pytest.approx(0.5)
    assert min_dcf([3, 4, 5], [0, 1, 2]) == 0.0


def rows(tmp_path: Path) -> list[ManifestRow]:
    made = []
    for i in range(8):
        made.append(ManifestRow(str(tmp_path / f"LA_E_{i:03d}.flac"), "testing", 0, 1, "s1", "-"))
    for i, attack in enumerate(["A01"] * 4 + ["A02"] * 4):
        made.append(
            ManifestRow(str(tmp_path / f"LA_E_{100 + i}.flac"), "testing", 1, 1, "", attack)
        )
    return made


def test_score_files_of_both_forms_join_the_manifest_and_group_by_attack(tmp_path: Path):
    manifest_rows = rows(tmp_path)
    scores = {
        Path(r.path).stem: (5.0 + i if r.label == 0 else 0.0) for i, r in enumerate(manifest_rows)
    }
    scores["LA_E_104"] = scores["LA_E_105"] = 9.0  # two A02 spoofs score as bona fide
    asvspoof = tmp_path / "scores.txt"
    asvspoof.write_text("".join(f"{key} {value}\n" for key, value in scores.items()))
    as_csv = tmp_path / "scores.csv"
    as_csv.write_text("path,score\n" + "".join(
        f"{r.path},{scores[Path(r.path).stem]}\n" for r in manifest_rows
    ))  # fmt: skip
    values = [sorted(s.value for s in read_scores(f).values()) for f in (asvspoof, as_csv)]
    assert values[0] == values[1]
    for score_file in (asvspoof, as_csv):
        scored = join_scores(read_scores(score_file), manifest_rows).scored
        assert len(scored) == 16
        results = {r.group: r for r in evaluate(scored)}
        assert list(results) == ["all", "split testing", "attack A01", "attack A02"]
        assert results["attack A01"].eer == 0.0 and results["attack A01"].spoof == 4
        bonafide = [s for r, s in scored if not r.label]
        spoofs = [s for r, s in scored if r.label and r.attack == "A02"]
        assert results["attack A02"].eer == pytest.approx(
            brute_force(np.array(bonafide), np.array(spoofs))[0]
        )
        assert results["all"].eer > 0


def test_command_line_prints_the_table_and_draws_the_det_curve(tmp_path: Path, capsys):
    manifest_rows = rows(tmp_path)
    write_manifest(manifest_rows, tmp_path / "out" / "manifest.csv")
    rng = np.random.default_rng(0)
    lines = [f"{Path(r.path).stem} {rng.normal(1 - 2 * r.label)}\n" for r in manifest_rows]
    (tmp_path / "scores.txt").write_text("".join(lines))
    det = tmp_path / "det.png"
    code = main([str(tmp_path / "scores.txt"), "--output-dir", str(tmp_path / "out"),
                 "--det", str(det)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "16 scored files" in printed and "attack A02" in printed and "EER %" in printed
    image = imread(det)
    assert image.shape[0] > 300 and image.std() > 0.01
