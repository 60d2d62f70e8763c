"""Bulk tagging: stream records out of many (possibly gzipped) files, score them in parallel
(a local process pool or a Dask cluster), and write results in input order, resumably.

The parent process reads, validates and reports bad records (so messages keep their order)
and writes the output; workers only score. Every engine calls :meth:`Tagger.tag` through
:func:`tagger.bulk.scoring.score_batch`, so all engines give byte-identical output.

Names are imported lazily: ``tagger tag --help`` and small jobs should not pay for numpy and
the engines before they need them.
"""

from __future__ import annotations

__all__ = ["BulkJob", "Summary", "run_bulk"]


def __getattr__(name: str):
    if name in __all__:
        from tagger.bulk import runner

        return getattr(runner, name)
    raise AttributeError(name)
