"""Shortcut warnings need enough files: each AUC carries a 95 % confidence interval, and a
property is flagged only when the interval's lower end is above shortcut_auc_warning."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudprep.extraction.properties import CATEGORICAL, PROPERTIES
from fraudprep.outputs.auc import auc_interval, hanley_mcneil_variance
from fraudprep.outputs.shortcuts import COMBINED, interval_text, shortcut_table
from fraudprep.report.report_shortcuts import write_shortcut_table

SPLITS = ("training", "validation", "testing")
Z = 1.959963984540054


def test_hanley_mcneil_standard_error_by_hand():
    # A = 0.8, 50 fakes, 50 reals: Q1 = 0.8 / 1.2 = 0.666667, Q2 = 2 * 0.64 / 1.8 = 0.711111;
    # var = (0.8 * 0.2 + 49 * (0.666667 - 0.64) + 49 * (0.711111 - 0.64)) / 2500
    #     = (0.16 + 1.306667 + 3.484444) / 2500 = 0.00198044; SE = 0.044502.
    assert math.sqrt(hanley_mcneil_variance(0.8, 50, 50)) == pytest.approx(0.044502, abs=1e-6)
    assert hanley_mcneil_variance(1.0, 3, 3) == 0.0  # why AUC +- 1.96 SE cannot be used at 1


def test_interval_of_three_files_per_class_in_perfect_order_by_hand():
    # The lower end L solves (1 - L)^2 = z^2 var(L). At 0.5, Q1 = Q2 = 1/3 and
    # var = (0.25 + 2 * (1/3 - 1/4) + 2 * (1/3 - 1/4)) / 9 = 0.0648148, z^2 var = 0.248971,
    # less than (1 - 0.5)^2 = 0.25: 0.5 is just outside. At 0.51, Q1 = 0.342282, Q2 =
    # 0.344503, var = (0.2499 + 2 * 0.082182 + 2 * 0.084403) / 9 = 0.064786, z^2 var =
    # 0.248871 > 0.2401 = 0.49^2: inside. So L is in (0.50, 0.51); solving gives 0.50102.
    low, high = auc_interval(1.0, 3, 3)
    assert high == 1.0
    assert 0.50 < low < 0.51
    assert low == pytest.approx(0.50102, abs=1e-5)
    assert (1 - low) ** 2 == pytest.approx(Z * Z * hanley_mcneil_variance(low, 3, 3), rel=1e-6)
    # Mirrored for every real above every fake; narrower with more files.
    assert auc_interval(0.0, 3, 3) == pytest.approx((0.0, 1 - low))
    assert auc_interval(1.0, 40, 40)[0] == pytest.approx(0.95015, abs=1e-5)


def test_interval_of_a_middling_auc_by_hand():
    # A = 0.95 on 200 and 200: the ends L, U solve (0.95 - t)^2 = z^2 var(t); at t = 0.9224,
    # Q1 = 0.855976, Q2 = 0.885166, var = (0.071578 + 199 * 0.005154 + 199 * 0.034344) / 40000
    # = 0.00019830, z * SE = 0.027600 ~ 0.95 - 0.9224 = 0.0276.
    low, high = auc_interval(0.95, 200, 200)
    assert low == pytest.approx(0.9224, abs=1e-4)
    assert high == pytest.approx(0.9677, abs=1e-4)
    for end in (low, high):
        assert (0.95 - end) ** 2 == pytest.approx(Z * Z * hanley_mcneil_variance(end, 200, 200))


def properties_csv(path: Path, per_class: int, shift: float, seed: int = 0) -> Path:
    """``per_class`` real and fake files per split; fakes' rms_dbfs shifted by ``shift``
    standard deviations (nothing else differs); shift None: every fake above every real."""
    rng = np.random.default_rng(seed)
    rows = []
    for split in SPLITS:
        for label in (0, 1):
            for index in range(per_class):
                row = {"path": f"{split}/{label}/{index}.wav", "split": split, "label": label}
                for name in PROPERTIES:
                    row[name] = "wav/pcm_16" if name in CATEGORICAL else rng.standard_normal()
                if shift is None:
                    row["rms_dbfs"] = -30.0 + 10 * label + index / per_class
                else:
                    row["rms_dbfs"] = -30.0 + rng.standard_normal() + shift * label
                rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_three_files_per_class_in_perfect_order_warn_of_nothing(tmp_path: Path):
    """The 18-file tree of the issue: AUC 1.00 on three files per class is not a warning."""
    table = shortcut_table(properties_csv(tmp_path / "p.csv", 3, None), threshold=0.8)
    rms = table["properties"]["rms_dbfs"]["by_split"]["testing"]
    assert rms["auc"] == 1.0 and rms["separation"] == 1.0
    assert rms["auc_low"] == pytest.approx(0.501, abs=1e-3) and rms["auc_high"] == 1.0
    assert rms["files"] == {"real": 3, "fake": 3}
    assert table["flagged"] == []


def test_many_files_clearly_apart_warn_with_the_interval(tmp_path: Path):
    table = shortcut_table(properties_csv(tmp_path / "p.csv", 200, 3.0), threshold=0.8)
    # The combined model (fit: 200 training files per class) finds the same level difference.
    assert {entry["property"] for entry in table["flagged"]} == {"rms_dbfs", COMBINED}
    [item] = [entry for entry in table["flagged"] if entry["property"] == "rms_dbfs"]
    assert item["property"] == "rms_dbfs" and item["separation_low"] > 0.8
    result = table["properties"]["rms_dbfs"]["by_split"][item["split"]]
    low, high = auc_interval(result["auc"], 200, 200)
    assert result["auc_low"] == round(low, 4) and result["auc_high"] == round(high, 4)
    assert item["message"].startswith(
        f"real and fake differ by RMS level (AUC {result['separation']:.2f}, 95% CI "
        f"{low:.2f} to {high:.2f}, 200 real and 200 fake files on {item['split']}; median "
    )


def test_an_auc_above_the_threshold_whose_interval_reaches_below_it_is_not_flagged(
    tmp_path: Path,
):
    """A shift of 1.3 standard deviations: AUC about 0.82 on 60 files per class, above 0.8,
    but its interval (about 0.74 to 0.88) is not."""
    table = shortcut_table(properties_csv(tmp_path / "p.csv", 60, 1.3, seed=3), threshold=0.8)
    rms = table["properties"]["rms_dbfs"]["by_split"]
    assert max(entry["separation"] for entry in rms.values()) > 0.8
    assert all(entry["separation_low"] <= 0.8 for entry in rms.values())
    assert table["flagged"] == []


def test_a_fake_below_every_real_is_flagged_with_the_mirrored_interval(tmp_path: Path):
    path = properties_csv(tmp_path / "p.csv", 200, -3.0)
    table = shortcut_table(path, threshold=0.8)
    [item] = [entry for entry in table["flagged"] if entry["property"] == "rms_dbfs"]
    result = table["properties"]["rms_dbfs"]["by_split"][item["split"]]
    assert result["auc"] < 0.1 and result["separation"] == round(1 - result["auc"], 4)
    assert result["separation_low"] == pytest.approx(1 - result["auc_high"], abs=1e-4)
    assert f"95% CI {1 - result['auc_high']:.2f} to {1 - result['auc_low']:.2f}" in interval_text(
        result
    )


def test_the_report_table_shows_each_auc_with_its_interval(tmp_path: Path):
    table = shortcut_table(properties_csv(tmp_path / "p.csv", 3, None))
    result = table["properties"]["rms_dbfs"]["by_split"]["training"]
    html = write_shortcut_table({"model": "m", "shortcuts": table}, tmp_path / "t.html")
    text = html.read_text()
    assert f"1.000 [{result['auc_low']:.3f}, 1.000]" in text
    assert "95 % confidence interval" in text
