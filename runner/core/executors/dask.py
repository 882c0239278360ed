"""``executor=dask``: tasks on dask.distributed, embedded or on a running cluster.

Not part of the standard-library core: the cell imports this module only when a
spec names the dask executor, and dask itself is an optional extra
(``pip install concurrency-lab[dask]``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

from runner.core.executors.base import SubmittingPool


class DaskPool(SubmittingPool):
    """A dask client's concurrent.futures view, ready once every worker has joined."""

    def __init__(self, workers: int, start_method: str, options: Mapping[str, Any]) -> None:
        import dask
        from distributed import Client, LocalCluster

        self._cluster = None
        address = options.get("address")
        if address:
            self._client = Client(address, timeout="30s")
        else:
            # dask starts its worker processes with this method; honour the lab's axis
            dask.config.set({"distributed.worker.multiprocessing-method": start_method or "spawn"})
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=int(options.get("threads_per_worker", 1)),
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            self._client = Client(self._cluster)
            self._client.wait_for_workers(workers, timeout=120)
        info = self._client.scheduler_info(n_workers=-1)["workers"]
        # what the cluster had, which for a running one is not what `workers` asked for
        self._metrics = {
            "dask_workers": float(len(info)),
            "dask_threads": float(sum(w.get("nthreads", 0) for w in info.values())),
        }
        # pure=False: dask would otherwise run identical calls once and share the result
        super().__init__(self._client.get_executor(pure=False), set())

    def metrics(self) -> dict[str, float]:
        return self._metrics

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def start_dask(workers: int, start_method: str, options: Mapping[str, Any]) -> DaskPool:
    return DaskPool(workers, start_method, options)


def refuses(workload: str, others: Sequence[str]) -> str | None:
    if importlib.util.find_spec("distributed") is None:
        return "dask needs dask.distributed, an optional extra; allowed: pip install 'concurrency-lab[dask]'"
    return None
