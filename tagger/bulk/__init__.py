"""Bulk tagging: stream records out of many (possibly gzipped) files, score them in parallel
(a local process pool or a Dask cluster), and write results in input order, resumably.

The parent process reads, validates and reports bad records (so messages keep their order)
and writes the output; workers only score. Every engine calls :meth:`Tagger.tag` through
:func:`tagger.bulk.scoring.score_batch`, so all engines give byte-identical output.
"""

from tagger.bulk.runner import BulkJob, Summary, run_bulk

__all__ = ["BulkJob", "Summary", "run_bulk"]
