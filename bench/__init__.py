"""`make bench`: throughput and memory of fraudprep against the seed, as figures (not a test).

Run from the project root as ``python -m bench`` (see ``bench/README.md``). Modules:
``corpus`` (linked corpora and manifests), ``runner`` (measured processes), ``memory``
(peak RSS of Snakemake's jobs), ``seed_reference`` (the seed's librosa pipeline), ``inloop``
(a, b1, b and the speed-up per profile), ``stages`` (cProfile stage breakdown),
``workflow`` (end-to-end snakemake runs), ``models`` (the four-model comparison), ``scale``
(``snakemake -n`` on a large tree), ``report`` and ``plot`` (results.md, results.png).

Nothing is imported here: the bench's worker processes and the seed reference import this
package first, and what they import is part of what they measure.
"""
