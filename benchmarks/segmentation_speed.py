"""Word segmentation speed: reviews per second of each segmenter on a training split.

Reads the training split named by a config (its data section, as ``acsa train``
does), then segments every review with each segmenter in turn (the package's
import and model load timed apart), and prints wall and CPU seconds, reviews
per second (wall and CPU) and the share of tokens joined into words. CPU time
is this process's: on a shared machine it is what the segmenter costs, the wall
time also counts waiting for a core (give the load average beside it).

    python benchmarks/segmentation_speed.py configs/quickstart.yaml \
        --data-dir ../shared/data/vi-smartphone-reviews [--segmenters pyvi underthesea]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from acsa.data import load_and_validate
from acsa.data.segmentation import load_segmenter, segment_texts
from acsa.training.config import load_config


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--segmenters", nargs="+", default=["pyvi", "underthesea"])
    args = parser.parse_args()

    overrides = {} if args.data_dir is None else {"data.dir": str(args.data_dir.resolve())}
    config = load_config(args.config, overrides)
    splits, _ = load_and_validate(config.data, Path.cwd())
    texts = splits["train"].texts
    syllables = sum(len(t.split()) for t in texts)
    load = os.getloadavg()
    print(f"{len(texts)} training reviews, {syllables} space-separated units; load {load}")
    print("| segmenter | load s (wall) | wall s | CPU s | reviews/s (wall) | reviews/s (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.segmenters:
        wall0, _ = _clock()
        load_segmenter(name)
        load_wall = time.perf_counter() - wall0
        wall0, cpu0 = _clock()
        segmented = segment_texts(texts, name)
        wall1, cpu1 = _clock()
        joined = sum(t.count("_") for t in segmented)
        wall, cpu = wall1 - wall0, cpu1 - cpu0
        print(
            f"| {name} | {load_wall:.1f} | {wall:.1f} | {cpu:.1f} | {len(texts) / wall:,.0f} |"
            f" {len(texts) / cpu:,.0f} |  ({joined} syllable joins)"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
