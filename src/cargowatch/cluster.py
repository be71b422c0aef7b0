"""The distributed engine that computes the partitions of a job (a custody rebuild's ranges of
containers) when CARGOWATCH_CLUSTER names one: a Dask distributed scheduler
(`tcp://host:8786`), or `local:N` for N worker processes on this machine. The job queue still
schedules the job; the cluster only computes its parts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cargowatch.exceptions import InvalidInput


@contextmanager
def client_for(cluster: str) -> Iterator[Any]:
    """A Dask client of the cluster named, closed (and a local cluster stopped) after use."""
    from distributed import Client

    if cluster.startswith("local:"):
        size = cluster.removeprefix("local:")
        if not size.isdigit() or not 1 <= int(size) <= 256:
            raise InvalidInput(f"CARGOWATCH_CLUSTER {cluster!r}: local:N, N from 1 to 256")
        with local_cluster(int(size)) as local, Client(local) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    if not cluster.startswith(("tcp://", "tls://")):
        raise InvalidInput(
            f"CARGOWATCH_CLUSTER {cluster!r}: a scheduler (tcp://host:8786) or local:N"
        )
    with Client(cluster, timeout=30) as client:  # type: ignore[no-untyped-call]
        yield client


def local_cluster(workers: int) -> Any:
    """A Dask cluster of worker processes on this machine, one thread each (the parts are
    Python that holds the interpreter lock); a context manager that stops it."""
    from distributed import LocalCluster

    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
