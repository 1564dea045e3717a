"""Batch prediction over files of any size: streamed, resumable, on this machine or on Ray.

``acsa predict --input FILE`` runs :func:`predict_stream`. Modules, one concept each:

* :mod:`~acsa.batch.formats`: formats by suffix, the text column;
* :mod:`~acsa.batch.readers`: streaming readers (CSV, JSON lines, Parquet, text), chunks;
* :mod:`~acsa.batch.records`: a predicted chunk and its bytes in each output layout;
* :mod:`~acsa.batch.manifest`: the resume manifest beside a partial output;
* :mod:`~acsa.batch.output`: stdout, or a resumable file (``.partial``, then renamed);
* :mod:`~acsa.batch.local`: the local engine; :mod:`~acsa.batch.ray_engine` and
  :mod:`~acsa.batch.ray_tasks`: the Ray Data engine;
* :mod:`~acsa.batch.options`: the typed options of a run;
* :mod:`~acsa.batch.progress`: the progress bar; :mod:`~acsa.batch.run`: the loop.
"""

from __future__ import annotations

from acsa.batch.options import PredictOptions
from acsa.batch.run import DEFAULT_CHUNK_SIZE, StreamSummary, predict_stream

__all__ = ["DEFAULT_CHUNK_SIZE", "PredictOptions", "StreamSummary", "predict_stream"]
