"""Wall time of ``Predictor.explain`` on one CPU thread: one review at a time and the whole
shared smartphone test split (issue 23's targets: under 150 ms per review, under a minute
for the 1,492 test reviews).

    python benchmarks/explain_speed.py runs/quickstart [OTHER_MODEL ...]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from acsa import api

TEST = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "vi-smartphone-reviews" / "test.csv"
)


def main() -> None:
    torch.set_num_threads(1)
    texts = pd.read_csv(TEST)["data"].astype(str).tolist()
    for path in sys.argv[1:]:
        predictor = api.load(path)
        predictor.explain(texts[:2])  # warm-up
        one = []
        for text in texts[:30]:
            start = time.perf_counter()
            predictor.explain([text])
            one.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        predictor.explain(texts)
        print(
            f"{path}: one review median {1000 * statistics.median(one):.0f} ms wall; "
            f"{len(texts):,} reviews {time.perf_counter() - start:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU"
        )


if __name__ == "__main__":
    main()
