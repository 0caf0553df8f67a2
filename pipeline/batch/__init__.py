"""Many recordings on Dask: ``python -m pipeline batch RECORDINGS... --config C --out OUT_ROOT``.

Each recording gets ``OUT_ROOT/<name>`` with exactly what ``run`` writes; each of its stages is
a Dask task that waits for the stages writing what it reads (read from the stage table), so
recordings run side by side on a ``LocalCluster`` of processes or on an existing cluster
(``--scheduler``). See docs/batch.md.
"""

from .run import print_table, run_batch

__all__ = ["print_table", "run_batch"]
