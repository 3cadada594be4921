"""Detection metrics against values computed independently, and score files joined with the
manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from fraudprep.inputs.manifest import ManifestRow, write_manifest
from fraudprep.report.evaluate import (
    equal_error_rate,
    evaluate,
    join_scores,
    main,
    min_dcf,
    read_scores,
)


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


def test_tied_scores_known_values():
    # One threshold cannot split trials of equal score: constant scores are chance.
    assert equal_error_rate([0.5] * 12, [0.5] * 12) == pytest.approx(0.5)
    assert min_dcf([0.5] * 12, [0.5] * 12) == pytest.approx(1.0)  # the default decision
    # Half of each class tied at 0.5: ROC points (FA, miss) (1, 0), (0.5, 0), (0, 0.5), (0, 1),
    # the crossing at 25 % (sklearn's roc_curve has the same points).
    bonafide, spoof = [1.0] * 6 + [0.5] * 6, [0.0] * 6 + [0.5] * 6
    assert equal_error_rate(bonafide, spoof) == pytest.approx(0.25)
    assert min_dcf(bonafide, spoof) == pytest.approx(0.5)
    assert equal_error_rate([1, 1], [1, 0]) == pytest.approx(0.25)


def reachable(bonafide: np.ndarray, spoof: np.ndarray) -> set[tuple[float, float]]:
    """(false alarm, miss) at every threshold a detector can set: below all scores, or at
    one, trials of equal score called alike."""
    thresholds = np.concatenate([[-np.inf], np.unique(np.concatenate([bonafide, spoof]))])
    return {
        (round(float(np.mean(spoof > t)), 9), round(float(np.mean(bonafide <= t)), 9))
        for t in thresholds
    }


@pytest.mark.parametrize("seed", range(6))
def test_tied_scores_match_a_threshold_by_threshold_computation(seed: int):
    from fraudprep.report.evaluate import error_rates

    rng = np.random.default_rng(seed)
    levels = 2 + seed  # few distinct values: most trials tie, across the two classes
    bonafide = rng.integers(1, levels + 1, 40 + 7 * seed).astype(float)
    spoof = rng.integers(0, levels, 30 + 5 * seed).astype(float)
    eer, dcf = brute_force(bonafide, spoof)
    assert equal_error_rate(bonafide, spoof) == pytest.approx(eer)
    assert min_dcf(bonafide, spoof) == pytest.approx(dcf)
    miss, false_alarm = error_rates(bonafide, spoof)
    points = {
        (round(float(f), 9), round(float(m), 9)) for f, m in zip(false_alarm, miss, strict=True)
    }
    assert points == reachable(bonafide, spoof)
    assert len(miss) == len(np.unique(np.concatenate([bonafide, spoof]))) + 1


def test_the_det_curve_of_tied_scores_plots_reachable_points_only(tmp_path: Path, monkeypatch):
    from matplotlib.figure import Figure
    from scipy.stats import norm

    from fraudprep.report.evaluate import plot_det

    drawn, savefig = [], Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda self, *a, **k: drawn.append(self) or savefig(self, *a, **k)
    )
    manifest_rows = rows(tmp_path)
    scores = [0.5 if i % 2 else 1.0 - r.label for i, r in enumerate(manifest_rows)]
    plot_det(list(zip(manifest_rows, scores, strict=True)), tmp_path / "det.png", False)
    [figure] = drawn
    [curve] = figure.axes[0].lines
    x, y = norm.cdf(curve.get_xdata()), norm.cdf(curve.get_ydata())
    plotted = {(round(float(a), 9), round(float(b), 9)) for a, b in zip(x, y, strict=True)}
    bonafide = np.array([s for r, s in zip(manifest_rows, scores, strict=True) if not r.label])
    spoof = np.array([s for r, s in zip(manifest_rows, scores, strict=True) if r.label])
    clipped = {
        (round(float(np.clip(f, 1e-4, 1 - 1e-4)), 9), round(float(np.clip(m, 1e-4, 1 - 1e-4)), 9))
        for f, m in reachable(bonafide, spoof)
    }
    assert plotted == clipped
    assert figure.axes[0].get_title() == "DET, EER 25.00 %"


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


def test_command_line_prints_the_table_and_draws_the_det_curve(tmp_path: Path, capsys, monkeypatch):
    from matplotlib.figure import Figure
    from scipy.stats import norm

    drawn, savefig = [], Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda self, *a, **k: drawn.append(self) or savefig(self, *a, **k)
    )
    manifest_rows = rows(tmp_path)
    write_manifest(manifest_rows, tmp_path / "out" / "manifest.csv")
    rng = np.random.default_rng(0)
    scores = [rng.normal(1 - 2 * r.label) for r in manifest_rows]
    lines = [f"{Path(r.path).stem} {s}\n" for r, s in zip(manifest_rows, scores, strict=True)]
    (tmp_path / "scores.txt").write_text("".join(lines))
    det = tmp_path / "det.png"
    code = main([str(tmp_path / "scores.txt"), "--output-dir", str(tmp_path / "out"),
                 "--det", str(det)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "16 scored files" in printed and "attack A02" in printed and "EER %" in printed
    image = imread(det)
    assert image.shape[0] > 300 and image.std() > 0.01
    # A curve that is drawn can still be the wrong one: every point plotted is the (false
    # alarm, miss) pair of some threshold over these scores, the EER's among them.
    [figure] = drawn
    [curve] = figure.axes[0].lines
    bonafide = np.array([s for r, s in zip(manifest_rows, scores, strict=True) if not r.label])
    spoof = np.array([s for r, s in zip(manifest_rows, scores, strict=True) if r.label])

    def pair(false_alarm: float, miss: float) -> tuple[float, float]:
        return round(float(np.clip(false_alarm, 1e-4, 1 - 1e-4)), 6), round(
            float(np.clip(miss, 1e-4, 1 - 1e-4)), 6
        )

    thresholds = np.concatenate([[-np.inf], np.sort(np.concatenate([bonafide, spoof]))])
    rates = [(np.mean(spoof > t), np.mean(bonafide <= t)) for t in thresholds]
    x, y = norm.cdf(curve.get_xdata()), norm.cdf(curve.get_ydata())
    plotted = {pair(*xy) for xy in zip(x, y, strict=True)}
    assert plotted <= {pair(*rate) for rate in rates}
    eer, _ = brute_force(bonafide, spoof)
    closest = min(rates, key=lambda rate: abs(rate[0] - rate[1]))
    assert pair(*closest) in plotted
    assert figure.axes[0].get_title() == f"DET, EER {100 * eer:.2f} %"


# Issue 26, item 2: nothing wrong goes unnoticed. Each case goes through the command line, as a
# user meets it: an error is one "fraudprep:" line and exit status 1, a warning is counted.


def run(tmp_path: Path, lines: list[str], capsys, *options: str) -> tuple[int, str, str]:
    """Evaluate a score file of these lines against the rows() manifest: (status, out, err)."""
    manifest = tmp_path / "out" / "manifest.csv"
    if not manifest.exists():
        write_manifest(rows(tmp_path), manifest)
    score_file = tmp_path / "scores.csv"
    score_file.write_text("".join(f"{line}\n" for line in lines))
    code = main([str(score_file), "--output-dir", str(tmp_path / "out"), *options])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def score_lines(tmp_path: Path, bonafide: str | None = None, spoof: str | None = None) -> list[str]:
    """``path,score`` lines of every rows() file: a perfect detector, unless a class's score
    is replaced."""
    lines = ["path,score"]
    for i, row in enumerate(rows(tmp_path)):
        perfect = str(5.0 + i if row.label == 0 else float(-i))
        lines.append(f"{row.path},{(spoof if row.label else bonafide) or perfect}")
    return lines


def assert_one_line_error(code: int, out: str, err: str, *parts: str) -> None:
    assert code == 1 and "EER %" not in out, out
    assert err.startswith("fraudprep: ") and err.count("\n") == 1 and "Traceback" not in err
    for part in parts:
        assert part in err, err


@pytest.mark.parametrize(
    ("bonafide", "spoof", "shown"),
    [("nan", None, "'nan'"), ("nan", "nan", "'nan'"), (None, "inf", "'inf'"),
     ("high", None, "'high' of"), (None, "-Infinity", "'-Infinity'")],
)  # fmt: skip
def test_a_score_that_is_not_a_finite_number_is_an_error_naming_line_and_value(
    tmp_path: Path, capsys, bonafide: str | None, spoof: str | None, shown: str
):
    code, out, err = run(tmp_path, score_lines(tmp_path, bonafide, spoof), capsys)
    line = 2 if bonafide else 10  # the first bona fide file, or the first spoof
    assert_one_line_error(code, out, err, f"scores.csv line {line}: score {shown}", "LA_E_")
    assert "8 lines have a problem" in err or "16 lines" in err


def test_the_ranking_functions_refuse_a_nan_score(tmp_path: Path):
    scored = [(row, float("nan") if row.label == 0 else 1.0) for row in rows(tmp_path)]
    with pytest.raises(ValueError, match="not a finite number"):
        evaluate(scored)


@pytest.mark.parametrize("repeated", ["100.0", "-8.0"])  # conflicting, then the same value
def test_a_file_scored_twice_is_an_error_naming_both_lines(tmp_path: Path, capsys, repeated: str):
    lines = score_lines(tmp_path)
    lines.append(f"{rows(tmp_path)[8].path},{repeated}")  # line 10 is this file's first score
    code, out, err = run(tmp_path, lines, capsys)
    assert_one_line_error(code, out, err, "line 18:", "LA_E_100.flac", "first at line 10")


def test_a_file_scored_under_two_keys_is_an_error(tmp_path: Path, capsys):
    lines = [*score_lines(tmp_path), "LA_E_100,3.0"]  # its path is on line 10 already
    code, out, err = run(tmp_path, lines, capsys)
    assert_one_line_error(code, out, err, "lines 10 and 18", "LA_E_100")


def test_scores_matching_no_file_are_counted_left_out_and_named(tmp_path: Path, capsys):
    lines = [*score_lines(tmp_path), "LA_E_999,3.0", "elsewhere/x.wav,1.0"]
    code, out, err = run(tmp_path, lines, capsys)
    assert code == 0 and "16 scored files" in out
    assert "warning: 2 of 18 scores in" in err and "line 18: LA_E_999" in err
    assert results_of(out)["all"] == ["8", "8", "0.00", "0.0000"]


def results_of(out: str) -> dict[str, list[str]]:
    """The printed table: group -> bona fide, spoof, EER %, min DCF as printed."""
    table = out.split("min DCF\n", 1)[1].splitlines()
    return {" ".join(line.split()[:-4]): line.split()[-4:] for line in table if line.strip()}


def test_scores_of_one_class_only_are_an_error(tmp_path: Path, capsys):
    lines = score_lines(tmp_path)[:6]  # 5 of the 8 bona fide files, no spoof
    code, out, err = run(tmp_path, lines, capsys)
    assert code == 1 and "EER %" not in out
    assert "warning: 11 of 16 testing files" in err
    assert err.splitlines()[-1].startswith("fraudprep: ")
    assert "5 scored files are all bona fide" in err and "need both classes" in err


def test_files_of_a_scored_split_without_a_score_are_counted(tmp_path: Path, capsys):
    lines = [*score_lines(tmp_path)[:4], *score_lines(tmp_path)[10:12]]  # 3 bona fide, 2 spoofs
    code, out, err = run(tmp_path, lines, capsys)
    assert code == 0 and "5 scored files" in out
    assert "warning: 11 of 16 testing files" in err and "metrics cover the 5 scored" in err
    assert results_of(out)["all"][:2] == ["3", "2"]


def test_a_group_with_one_class_shows_n_a_instead_of_disappearing(tmp_path: Path, capsys):
    manifest_rows = rows(tmp_path)
    extra = [ManifestRow(str(tmp_path / f"T_{i}.flac"), "training", 0, 1) for i in range(3)]
    write_manifest(manifest_rows + extra, tmp_path / "out" / "manifest.csv")
    lines = [*score_lines(tmp_path), *(f"{row.path},1.0" for row in extra)]
    code, out, err = run(tmp_path, lines, capsys)
    assert code == 0 and err == ""
    table = results_of(out)
    assert table["split training"] == ["3", "0", "n/a", "n/a"]
    assert table["split testing"] == ["8", "8", "0.00", "0.0000"]


def test_a_name_naming_files_of_several_splits_is_ambiguous_unless_one_split_is_picked(
    tmp_path: Path, capsys
):
    manifest_rows = rows(tmp_path)
    # the same file names under a training folder, as the demo corpus has them
    training = [r._replace(path=str(tmp_path / "train" / Path(r.path).name), split="training")
                for r in manifest_rows]  # fmt: skip
    write_manifest(training + manifest_rows, tmp_path / "out" / "manifest.csv")
    lines = [f"{Path(r.path).stem} {5.0 + i if r.label == 0 else -i}" for i, r in
             enumerate(manifest_rows)]  # fmt: skip
    code, out, err = run(tmp_path, lines, capsys)
    assert_one_line_error(code, out, err, "line 1: LA_E_000 names 2 manifest files", "--split")
    code, out, err = run(tmp_path, lines, capsys, "--split", "testing")
    assert code == 0 and err == "" and "16 scored files" in out
    assert list(results_of(out)) == ["all", "split testing", "attack A01", "attack A02"]
    assert results_of(out)["all"] == ["8", "8", "0.00", "0.0000"]


def test_a_name_naming_two_files_of_one_split_is_ambiguous(tmp_path: Path, capsys):
    manifest_rows = rows(tmp_path)
    twin = manifest_rows[0]._replace(path=str(tmp_path / "other" / "LA_E_000.wav"))
    write_manifest([*manifest_rows, twin], tmp_path / "out" / "manifest.csv")
    lines = [f"{Path(r.path).stem} {1 - 2 * r.label}" for r in manifest_rows]
    code, out, err = run(tmp_path, lines, capsys)
    assert_one_line_error(code, out, err, "LA_E_000 names 2 manifest files", "score by path")
    assert "--split" not in err  # both files are testing files: picking a split cannot help


@pytest.mark.parametrize("lines", [["path,score"], [], ["path,score", "LA_E_000"]])
def test_an_empty_or_truncated_score_file_is_an_error(tmp_path: Path, capsys, lines: list[str]):
    code, out, err = run(tmp_path, lines, capsys)
    assert_one_line_error(code, out, err, "scores.csv")


def test_the_usage_line_names_the_sub_command(capsys):
    from fraudprep.cli.command import main as fraudprep

    with pytest.raises(SystemExit) as exited:
        fraudprep(["evaluate", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: fraudprep evaluate [-h]")
    with pytest.raises(SystemExit):
        fraudprep(["evaluate"])  # no score file
    assert capsys.readouterr().err.startswith("usage: fraudprep evaluate [-h]")


def test_one_folder_listed_as_two_corpora_is_scored_by_corpus(tmp_path: Path, capsys):
    """Each file is in the manifest twice, once per corpus: a path scored twice says how to
    tell the corpus, and the documented form (a corpus column) then scores both."""
    twice = [row._replace(corpus=corpus) for corpus in ("a", "b") for row in rows(tmp_path)]
    write_manifest(twice, tmp_path / "out" / "manifest.csv", with_corpus=True)
    perfect = score_lines(tmp_path)[1:]
    code, out, err = run(tmp_path, ["path,score", *perfect, *perfect], capsys)
    assert_one_line_error(
        code, out, err, "line 18: ", "LA_E_000.flac is scored again (first at line 2)",
        "names files of 2 corpora (a, b)", "a corpus column (corpus,path,score)",
    )  # fmt: skip
    assert "score each file once" not in err
    code, out, err = run(tmp_path, ["path,score", *perfect], capsys)  # each path once
    assert_one_line_error(code, out, err, "names 2 manifest files", "(corpus,path,score)")
    qualified = [f"{corpus},{line}" for corpus in ("a", "b") for line in perfect]
    code, out, err = run(tmp_path, ["corpus,path,score", *qualified], capsys)
    assert code == 0 and err == "" and "32 scored files" in out
    assert (
        results_of(out)["corpus a"] == results_of(out)["corpus b"] == ["8", "8", "0.00", "0.0000"]
    )


def test_a_path_scored_twice_in_one_corpus_still_says_score_each_file_once(tmp_path, capsys):
    write_manifest([row._replace(corpus="a") for row in rows(tmp_path)],
                   tmp_path / "out" / "manifest.csv", with_corpus=True)  # fmt: skip
    lines = score_lines(tmp_path)
    code, out, err = run(tmp_path, [*lines, lines[1]], capsys)
    assert_one_line_error(code, out, err, "first at line 2); score each file once")
