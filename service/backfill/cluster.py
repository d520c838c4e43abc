"""The back-fill on a Dask cluster: each worker loads the model once and tags blocks of articles.

Why Dask rather than Ray: it is pure Python and small (the ``[backfill]`` extra adds a few MiB, Ray
a wheel of well over 100 MiB with its own object store and daemons), its local cluster starts in
seconds on a laptop, and the clusters newsroom data teams already run (``dask-jobqueue`` on
SLURM/PBS, ``dask-kubernetes``, Coiled, a ``dask scheduler`` plus ``dask worker`` by hand) all
take the same ``tcp://`` address. Nothing here needs Ray's actors: a worker plugin holds the
model, and plain tasks call it.

Every worker runs :class:`TaggerPlugin` once when it joins: the service's app in-process
(:func:`service.backfill.backends.in_process_client`) with as many torch threads as the worker has
Dask threads, so ``dask worker --nthreads 4`` gives its model 4 cores. A worker tags one block at a
time (a lock: its torch threads already use its cores); the runner keeps two blocks per worker in
flight so none waits for the next. Workers need this package installed and the model at the same
path (``--model``, or their own ``TAGGER_MODEL``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from service.backfill.backends import in_process_client
from service.backfill.batching import tag_documents
from service.client import BatchItem
from service.tagging.cpus import available_cpus

PLUGIN = "newsroom-tagger"


class TaggerPlugin(WorkerPlugin):
    """Loads the tagging app once on each worker that joins the cluster."""

    def __init__(self, overrides: Mapping[str, Any], max_batch: int) -> None:
        self.overrides = dict(overrides)
        self.max_batch = max_batch
        self.client: Any = None
        self.lock = threading.Lock()

    def setup(self, worker: Any) -> None:
        """Build the app and load the model, with the worker's thread count as torch threads."""
        settings = {"TORCH_THREADS": int(worker.state.nthreads), **self.overrides}
        self.client = in_process_client(settings, max_batch=self.max_batch)

    def __getstate__(self) -> dict[str, Any]:
        # sent to the workers before set-up: the settings only, never a loaded app or a lock
        return {"overrides": self.overrides, "max_batch": self.max_batch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["overrides"], state["max_batch"])  # type: ignore[misc]


def tag_on_worker(docs: list[Any], options: Mapping[str, Any], max_batch: int) -> list[BatchItem]:
    """A Dask task: one block tagged by this worker's app (one block at a time per worker)."""
    plugin: TaggerPlugin = get_worker().plugins[PLUGIN]  # type: ignore[assignment]
    with plugin.lock:
        return tag_documents(plugin.client, docs, options, max_batch=max_batch)


def local_threads(workers: int) -> int:
    """Cores per worker when ``workers`` share this machine."""
    return max(1, available_cpus() // max(workers, 1))


class DaskCluster:
    """A local cluster of ``workers`` processes, or the cluster whose scheduler is at ``scheduler``."""

    def __init__(
        self,
        *,
        workers: int,
        scheduler: str | None,
        overrides: Mapping[str, Any],
        options: Mapping[str, Any],
        max_batch: int,
        start_timeout_s: float = 600.0,
    ) -> None:
        t0 = time.perf_counter()
        self.cluster: LocalCluster | None = None
        if scheduler:
            self.client = Client(scheduler, timeout=start_timeout_s)
            where = f"Dask cluster {scheduler}"
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=local_threads(workers),
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            self.client = Client(self.cluster, timeout=start_timeout_s)
            where = "local Dask cluster"
        try:
            # runs set-up on every worker now (and on any that joins later): the models load here
            self.client.register_plugin(TaggerPlugin(overrides, max_batch), name=PLUGIN)
            self.client.wait_for_workers(1, timeout=start_timeout_s)
        except BaseException:
            self.close()
            raise
        n = len(self.client.scheduler_info()["workers"])
        self.window = 2 * max(n, 1)
        self.options = dict(options)
        self.max_batch = max_batch
        self.load_seconds = time.perf_counter() - t0
        self.description = f"{where}, {n} worker(s)"

    def submit(self, docs: list[Any]) -> Any:
        """A Dask future of the block's batch items."""
        return self.client.submit(tag_on_worker, docs, self.options, self.max_batch, pure=False)

    def retried_503(self) -> int:
        """None: the workers call their own app, which never sheds load."""
        return 0

    def close(self) -> None:
        """Drop the tasks not done, disconnect, and stop the local cluster if this started one."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
