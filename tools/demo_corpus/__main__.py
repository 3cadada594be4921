"""``python -m tools.demo_corpus OUT_DIR [--small] [--seed N] [--protocol FILE]``, run from the
project root."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.demo_corpus.assemble import (
    DEFAULT_FILES,
    SMALL_FILES,
    build_demo_corpus,
    write_protocol,
)
from tools.demo_corpus.errors import DemoCorpusError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo_corpus",
        description="Build the offline demo corpus of real and synthetic speech (FoR layout).",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--small", action="store_true", help="36 files instead of 300 (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    parser.add_argument(
        "--protocol", type=Path, metavar="CSV",
        help="also write a path,split,label,speaker,attack listing of the corpus to CSV",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    files = SMALL_FILES if args.small else DEFAULT_FILES
    try:
        counts = build_demo_corpus(args.out_dir, files, seed=args.seed)
    except DemoCorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(counts))
    if args.protocol:
        listed = write_protocol(args.out_dir, args.protocol)
        print(f"demo corpus: listed {listed} files with their TTS engine in {args.protocol}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
