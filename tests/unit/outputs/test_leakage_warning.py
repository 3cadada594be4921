"""The leakage warning is a sentence, not a Python dict."""

from __future__ import annotations

from fraudprep.outputs.dataset_stats import leak_text


def test_the_leakage_summary_reads_as_a_sentence():
    summary = {"split_leaks": 2, "label_conflicts": 1, "files_involved": 5}
    assert leak_text(summary) == (
        "identical audio across splits or labels: 2 recordings in two or more splits, "
        "1 recording under both labels (5 files)"
    )
    assert "{" not in leak_text(summary) and "split_leaks" not in leak_text(summary)


def test_corpus_kinds_are_named_and_empty_counts_left_out():
    summary = {"split_leaks": 0, "label_conflicts": 0, "files_involved": 3,
               "corpus_duplicates": 1, "shared_speakers": 2, "shared_sources": 0,
               "files_per_corpus": {"a": 2, "b": 1}}  # fmt: skip
    assert leak_text(summary).endswith(
        ": 1 recording in two or more corpora, 2 speakers in training and testing (3 files)"
    )


def test_shared_sources_alone_count_no_files():
    """A declared shared source names corpora, not files: no "(0 files)"."""
    summary = {"files_involved": 0, "shared_sources": 1, "split_leaks": 0, "label_leaks": 0}
    assert leak_text(summary).endswith("1 source shared by corpora")
