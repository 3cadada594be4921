"""Train a small CNN on fraudprep's outputs, score the testing split, print EER and min DCF.

    make demo
    .venv/bin/python examples/train_detector.py --output-dir data/preprocessed

A worked example of using the outputs, not a detector to deploy: it reads the training split
shuffled in bounded memory (``fraudprep.iter_shuffled``; with ``format: shards``, a torch
DataLoader with ``--workers`` processes over ``fraudprep.ShardDataset``), standardises with the
training statistics, scores every testing sample with its path (``with_info``), writes
``scores.csv`` (``path,score``; higher = more bona fide, as ASVspoof scores) and evaluates it
with ``fraudprep.report.evaluate`` (overall, per split, per attack when the dataset names attacks).
Needs PyTorch (CPU is enough; ``make test`` installs it); fraudprep itself does not.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

import fraudprep
from fraudprep.outputs.restoring import normalized
from fraudprep.report import evaluate


def small_cnn(channels: int) -> nn.Module:
    """Two strided convolutions with batch norm and a linear layer: learns in seconds."""
    return nn.Sequential(
        nn.Conv2d(channels, 16, kernel_size=5, stride=2, padding=2),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 2),
    )


def as_images(batch: np.ndarray) -> torch.Tensor:
    """(n, H, W, C) or (n, H, W) features as an (n, C, H, W) float tensor."""
    tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
    return tensor.unsqueeze(1) if tensor.ndim == 3 else tensor.permute(0, 3, 1, 2)


def file_batches(
    out: Path, model: str, stats: dict, epoch: int, batch_size: int, workers: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of the training split from pickle or npy batch files, shuffled in one process."""
    samples = fraudprep.iter_shuffled(out, model, "training", seed=0, epoch=epoch)
    while chunk := list(itertools.islice(samples, batch_size)):
        x = as_images(normalized(np.stack([s for s, _ in chunk]), stats, "channel"))
        yield x, torch.tensor([label for _, label in chunk])


def shard_batches(
    out: Path, model: str, stats: dict, epoch: int, batch_size: int, workers: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of the training split streamed from its shards by ``workers`` DataLoader
    processes (each reads its own shards), sent as stored (uint8 images: a twelfth of the
    bytes of float32 RGB) and restored here: float32, three channels, standardised."""
    dataset = fraudprep.ShardDataset(out, model, "training", seed=0, as_stored=True)
    dataset.set_epoch(epoch)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    for stored, y in loader:
        yield as_images(fraudprep.restored(stored.numpy(), stats, normalize="channel")), y


def train(out: Path, model: str, epochs: int, batch_size: int, workers: int = 2) -> nn.Module:
    stats = fraudprep.read_dataset_stats(out, model)
    shape = stats["feature_shape"]
    net = small_cnn(shape[2] if len(shape) == 3 else 1)
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_of = nn.CrossEntropyLoss()
    batches = shard_batches if stats["settings"]["storage_format"] == "shards" else file_batches
    for epoch in range(epochs):
        losses = []
        for x, y in batches(out, model, stats, epoch, batch_size, workers):
            optimiser.zero_grad()
            loss = loss_of(net(x), y)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        print(f"epoch {epoch + 1}/{epochs}: training loss {np.mean(losses):.3f}")
    return net


def write_scores(net: nn.Module, out: Path, model: str, path: Path) -> int:
    """Score every testing sample: logit(real) - logit(fake), higher = more bona fide."""
    written = 0
    net.eval()
    with torch.no_grad(), open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "score"))
        batches = fraudprep.iter_batches(out, model, "testing", normalize="channel", with_info=True)
        for data, _, info in batches:
            logits = net(as_images(data))
            scores = (logits[:, 0] - logits[:, 1]).tolist()
            writer.writerows(zip(info["path"], scores, strict=True))
            written += len(scores)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="data/preprocessed", type=Path)
    parser.add_argument("--model", default="resnet_low_memory")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--scores", default="scores.csv", type=Path)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (shards)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # as the workflow's jobs: results do not depend on the cores
    net = train(args.output_dir, args.model, args.epochs, args.batch_size, args.workers)
    count = write_scores(net, args.output_dir, args.model, args.scores)
    print(f"scored {count} testing samples into {args.scores}")
    return evaluate.main([str(args.scores), "--output-dir", str(args.output_dir)])


if __name__ == "__main__":
    sys.exit(main())
