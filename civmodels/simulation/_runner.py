"""The generic study runner: independent random streams, joblib or Dask, checkpoints."""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_positive_int
from ..exceptions import CivmodelsError
from ..results import Summary
from ._checkpoint import Checkpoint, canonical_parameters, code_hash, study_hash

__all__ = [
    "DaskClientError",
    "ReplicateFailureWarning",
    "SimulationResult",
    "Study",
    "StudyFailedError",
    "recorded_warnings",
    "replicate_rng",
    "run",
    "warning_text",
]

_BACKENDS = ("loky", "dask")
#: How long to wait for a Dask scheduler given by address before giving up.
CONNECT_TIMEOUT = "10s"


class ReplicateFailureWarning(UserWarning):
    """Some replicates of a simulation study raised; they are listed in ``result.failures``."""


class StudyFailedError(CivmodelsError, RuntimeError):
    """Every replicate of a study raised, so there is nothing to summarise."""


class DaskClientError(CivmodelsError, RuntimeError):
    """The Dask client passed to :func:`run` is closed, unreachable or has no workers."""


class Study:
    """A named, parametrised simulation study: one call is one replicate.

    Parameters
    ----------
    func : callable
        ``func(rng, **parameters)`` simulates and analyses one replicate and returns a
        ``dict`` (one tidy row) or a ``list`` of dicts (several rows, e.g. one per parameter or
        method). ``rng`` is a :class:`numpy.random.Generator` on the replicate's own stream; use
        ``rng.integers(2**32)`` if a library needs an integer seed.
    name : str, optional
        Name stored in checkpoints (default: the function's qualified name).
    parameters : mapping, optional
        Keyword arguments passed to ``func``. With the name and a hash of the study's code
        they make up the study's identity: a checkpoint written with other parameters or by
        other code is refused.

    Notes
    -----
    Subclasses may override :meth:`__call__` instead of passing ``func``; they must be
    picklable (with cloudpickle) to run in worker processes.
    """

    def __init__(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        if func is None and type(self).__call__ is Study.__call__:
            raise TypeError("Study needs func= unless a subclass defines __call__")
        if func is not None and not callable(func):
            raise TypeError(f"Study func must be callable, got {type(func).__name__}")
        self.func = func
        if name is None:
            name = (
                f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', 'study')}"
                if func is not None
                else type(self).__name__
            )
        self.name = str(name)
        self.parameters = dict(parameters or {})

    @property
    def code_hash(self) -> str:
        """Hash of the code that runs a replicate (``func``, or the subclass's ``__call__``):
        part of the study's identity in checkpoints."""
        return code_hash(self.func if self.func is not None else type(self))

    def __call__(self, rng: np.random.Generator) -> dict[str, Any] | list[dict[str, Any]]:
        """Run one replicate on the stream ``rng``."""
        assert self.func is not None
        return self.func(rng, **self.parameters)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, parameters={self.parameters!r})"


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect every warning raised inside the block (also where warnings are errors), so a
    study can record them in its rows instead of printing them from worker processes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def warning_text(caught: list[warnings.WarningMessage]) -> str | None:
    """Distinct warning messages as one string (``None`` if there were none)."""
    if not caught:
        return None
    msgs = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
    return " | ".join(msgs)


def replicate_rng(random_seed: int, index: int) -> np.random.Generator:
    """The random generator of replicate ``index`` of a study seeded with ``random_seed``.

    It equals ``default_rng(SeedSequence(random_seed).spawn(n)[index])`` for every
    ``n > index``, so a replicate's stream does not depend on how many replicates are run, on
    which worker runs it, or in which order.
    """
    return np.random.default_rng(np.random.SeedSequence(random_seed, spawn_key=(index,)))


def _run_one(
    study: Study, index: int, random_seed: int
) -> tuple[int, list[dict[str, Any]] | None, dict[str, Any] | None]:
    """Run replicate ``index``; never raise an ``Exception`` (return it as a failure)."""
    rng = replicate_rng(random_seed, index)
    try:
        out = study(rng)
        rows = _as_rows(out, study.name)
    except Exception as exc:
        failure = {
            "replicate": index,
            "error_type": type(exc).__name__,
            "message": str(exc),
            "seed_entropy": int(random_seed),
            "spawn_key": str((index,)),
        }
        return index, None, failure
    for row in rows:
        row["replicate"] = index
    return index, rows, None


def _run_chunk(
    study: Study, indices: list[int], random_seed: int
) -> list[tuple[int, list[dict[str, Any]] | None, dict[str, Any] | None]]:
    """Run several replicates in one task (amortises per-task scheduling cost)."""
    return [_run_one(study, i, random_seed) for i in indices]


def _as_rows(out: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(out, Mapping):
        rows = [dict(out)]
    elif isinstance(out, list) and all(isinstance(r, Mapping) for r in out):
        rows = [dict(r) for r in out]
    else:
        raise TypeError(
            f"study {name!r} returned {type(out).__name__}; a study must return a dict "
            "(one row) or a list of dicts"
        )
    for r in rows:
        if "replicate" in r:
            raise ValueError(
                f"study {name!r} returned a column named 'replicate', which the runner "
                "adds itself; rename it"
            )
    return rows


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`run`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy rows of the successful replicates, column ``replicate`` first, sorted by replicate
        (rows of one replicate keep the order the study returned them in).
    failures : pandas.DataFrame
        One row per failed replicate: ``replicate``, ``error_type``, ``message``,
        ``seed_entropy`` and ``spawn_key`` (rerun it with ``replicate_rng(seed, replicate)``).
    study : str
        The study's name.
    parameters : dict
        The study's parameters.
    random_seed : int
        The root seed (drawn from the OS and recorded here when none was given).
    n_sims : int
        Number of replicates asked for.
    n_resumed : int
        Replicates taken from the checkpoint rather than computed in this call.
    backend, n_workers, elapsed
        How and how long (seconds) this call ran; ``backend`` is ``"sequential"`` (this
        process), ``"isolated"`` (``n_jobs=1, isolate=True``), ``"loky"`` or ``"dask"``.
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    study: str
    parameters: dict[str, Any]
    random_seed: int
    n_sims: int
    n_resumed: int
    backend: str
    n_workers: int
    elapsed: float
    checkpoint: str | None = None
    _extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_failed(self) -> int:
        """Number of replicates that raised."""
        return len(self.failures)

    @property
    def n_succeeded(self) -> int:
        """Number of replicates that returned rows (or an empty list)."""
        return self.n_sims - self.n_failed

    def summary(self) -> Summary:
        """Run information and the failures, as a :class:`~civmodels.results.Summary`."""
        info = {
            "study": self.study,
            "random_seed": self.random_seed,
            "replicates": self.n_sims,
            "succeeded": self.n_succeeded,
            "failed": self.n_failed,
            "resumed from checkpoint": self.n_resumed,
            "backend": f"{self.backend} (workers: {self.n_workers})",
            "elapsed (s)": round(self.elapsed, 2),
        }
        blocks: dict[str, pd.DataFrame] = {}
        notes: tuple[str, ...] = ()
        if self.n_failed:
            counts = self.failures.groupby("error_type").size().rename("n").reset_index()
            blocks["failures by error type"] = counts
            notes = (
                f"{self.n_failed} of {self.n_sims} replicates failed and are excluded from "
                "the table; see result.failures",
            )
        return Summary(title="Simulation study", info=info, blocks=blocks, notes=notes)

    def __repr__(self) -> str:
        return (
            f"SimulationResult(study={self.study!r}, n_sims={self.n_sims}, "
            f"n_failed={self.n_failed}, rows={len(self.table)}, random_seed={self.random_seed})"
        )


def _as_study(study: Any) -> Study:
    if isinstance(study, Study):
        return study
    if callable(study):
        return Study(study)
    raise TypeError(
        f"study must be a Study or a callable rng -> dict | list[dict], got {type(study).__name__}"
    )


def _check_seed(random_seed: Any) -> int | None:
    if random_seed is None:
        return None
    if isinstance(random_seed, bool) or not isinstance(random_seed, (int, np.integer)):
        raise TypeError(f"random_seed must be a non-negative integer or None, got {random_seed!r}")
    if random_seed < 0:
        raise ValueError(f"random_seed must be a non-negative integer, got {random_seed}")
    return int(random_seed)


def _n_workers(n_jobs: int) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be a non-zero integer (1 = sequential, -1 = all cores), got {n_jobs!r}"
        )
    cpus = os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cpus + 1 + int(n_jobs))


def run(
    study: Study | Callable[[np.random.Generator], Any],
    n_sims: int,
    *,
    n_jobs: int = -1,
    backend: str = "loky",
    client: Any = None,
    random_seed: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    isolate: bool = False,
) -> SimulationResult:
    """Run ``n_sims`` independent replicates of a simulation study, in parallel.

    Replicate ``i`` always draws from child ``i`` of ``numpy.random.SeedSequence(random_seed)``
    (see :func:`replicate_rng`), so the table is the same for any ``n_jobs``, backend or order
    of completion, and a study extended from 100 to 200 replicates reuses the first 100.

    Parameters
    ----------
    study : Study or callable
        One replicate: ``study(rng) -> dict | list[dict]``. A :class:`Study` adds a name and
        parameters (its identity in checkpoints).
    n_sims : int
        Number of replicates (a positive integer).
    n_jobs : int, default -1
        Worker count; ``-1`` uses every core, ``1`` runs sequentially in this process.
    backend : {"loky", "dask"}, default "loky"
        ``"loky"``: joblib processes on this machine. ``"dask"``: tasks on a
        ``dask.distributed`` cluster, the one of ``client`` or else a ``LocalCluster`` with
        ``n_jobs`` single-threaded worker processes that is closed afterwards.
    client : distributed.Client or str, optional
        Dask client (or scheduler address) to use with ``backend="dask"``.
    random_seed : int, optional
        Root seed. ``None`` draws one from the OS and records it in the result (not allowed
        with ``checkpoint``, whose identity includes the seed).
    checkpoint : path, optional
        Parquet file. Finished replicates are written to it as the study runs; if it exists and
        belongs to the same study (name, parameters, seed) only the missing replicates are run.
        A file from another study or seed is refused with the reason.
    checkpoint_every : int, optional
        Rewrite the checkpoint after this many finished replicates (default: about every 2%
        of ``n_sims``, and at least every 30 seconds; always at the end or on interruption).
    chunk_size : int, optional
        Replicates per task. Default: joblib's automatic batching for loky; for Dask about
        eight tasks per worker (at most 100 replicates each), since each Dask task costs
        milliseconds of scheduling. Has no effect on the results.
    progress : bool, default True
        Show a tqdm progress bar.
    isolate : bool, default False
        With ``n_jobs=1``, run each replicate in a separate worker process (one at a time,
        the process reused while it lives), so that a replicate that kills the process running
        it - a segfault in compiled code, the out-of-memory killer, ``os._exit`` - is recorded
        as a failure with its seed (``error_type`` ``"WorkerDied"``) and the run goes on.
        Without it, ``n_jobs=1`` runs in this process: such a replicate ends the whole
        program (what was checkpointed survives, but a resume would meet the same replicate
        again). With ``n_jobs > 1`` or ``backend="dask"`` replicates always run in worker
        processes and a dying worker is handled this way anyway.

    Returns
    -------
    SimulationResult
        ``.table`` (tidy rows with a ``replicate`` column), ``.failures`` and run information.

    Raises
    ------
    ValueError
        ``n_sims`` not a positive integer; unknown ``backend``; bad ``n_jobs``.
    CheckpointMismatchError
        ``checkpoint`` belongs to another study or seed.
    DaskClientError
        The Dask client is closed, unreachable or has no workers.
    StudyFailedError
        Every replicate raised (the first errors are quoted).

    Warns
    -----
    ReplicateFailureWarning
        When some replicates raised: they are counted, listed in ``result.failures`` with their
        seed, and left out of ``result.table``.

    Examples
    --------
    >>> from civmodels.simulation import run
    >>> res = run(lambda rng: {"x": rng.normal()}, 4, n_jobs=1, random_seed=1, progress=False)
    >>> res.table.shape
    (4, 2)
    """
    n_sims = check_positive_int(n_sims, "n_sims")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if client is not None and backend != "dask":
        raise ValueError("client= is only used with backend='dask'; pass backend='dask'")
    n_workers = _n_workers(n_jobs)
    if not isinstance(isolate, bool):
        raise TypeError(f"isolate must be True or False, got {isolate!r}")
    seed = _check_seed(random_seed)
    if seed is None:
        if checkpoint is not None:
            raise ValueError(
                "checkpoint= needs a fixed random_seed (the seed is part of the study's "
                "identity); pass random_seed=<int>"
            )
        seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    the_study = _as_study(study)
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size")
    if checkpoint_every is not None:
        checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    else:
        checkpoint_every = max(1, math.ceil(n_sims / 50))

    params_json = canonical_parameters(the_study.parameters)
    code = the_study.code_hash
    state = Checkpoint(
        path=None,  # type: ignore[arg-type]
        name=the_study.name,
        parameters_json=params_json,
        parameters_hash=study_hash(the_study.name, the_study.parameters, code),
        random_seed=seed,
        n_sims=n_sims,
        code=code,
    )
    if checkpoint is not None:
        state = Checkpoint.open(
            checkpoint,
            name=state.name,
            parameters_json=params_json,
            parameters_hash=state.parameters_hash,
            random_seed=seed,
            n_sims=n_sims,
            code=code,
        )
    n_resumed = len([i for i in state.completed if i < n_sims])
    todo = [i for i in range(n_sims) if i not in state.completed]

    from tqdm.auto import tqdm

    start = time.perf_counter()
    bar = tqdm(
        total=n_sims, initial=n_resumed, desc=the_study.name, unit="rep", disable=not progress
    )
    since_write, last_write = 0, time.monotonic()
    try:
        if todo:
            if backend == "dask":
                results = _iter_dask(the_study, todo, seed, client, n_workers, chunk_size)
            elif n_workers == 1 and isolate:
                results = _isolate(the_study, todo, seed)
            elif n_workers == 1:
                results = (_run_one(the_study, i, seed) for i in todo)
            else:
                results = _iter_loky(the_study, todo, seed, n_workers, chunk_size)
            for index, rows, failure in results:
                state.add(index, rows, failure)
                bar.update(1)
                since_write += 1
                if checkpoint is not None and (
                    since_write >= checkpoint_every or time.monotonic() - last_write > 30
                ):
                    state.write()
                    since_write, last_write = 0, time.monotonic()
    finally:
        bar.close()
        if checkpoint is not None and (since_write or not state.path.exists()):
            state.write()
    elapsed = time.perf_counter() - start

    if backend == "loky" and n_workers == 1 and isolate:
        backend = "isolated"
    return _assemble(the_study, state, n_sims, n_resumed, backend, n_workers, elapsed, checkpoint)


def _assemble(
    study: Study,
    state: Checkpoint,
    n_sims: int,
    n_resumed: int,
    backend: str,
    n_workers: int,
    elapsed: float,
    checkpoint: Any,
) -> SimulationResult:
    records = [r for r in state.records if r["replicate"] < n_sims]
    # A stable sort keeps each replicate's rows in the order the study returned them.
    records.sort(key=lambda r: r["replicate"])
    # Rows may differ in keys; give every row every column (None where absent) so that a
    # table rebuilt from a checkpoint is identical to one computed in memory.
    columns = list(dict.fromkeys(k for r in records for k in r))
    records = [{k: r.get(k) for k in columns} for r in records]
    table = (
        pd.DataFrame.from_records(records, columns=columns)
        if records
        else pd.DataFrame({"replicate": pd.Series([], dtype="int64")})
    )
    table = table[["replicate", *[c for c in table.columns if c != "replicate"]]]
    table = table.reset_index(drop=True)
    fail_cols = ["replicate", "error_type", "message", "seed_entropy", "spawn_key"]
    failures = sorted(
        (f for f in state.failures if f["replicate"] < n_sims), key=lambda f: f["replicate"]
    )
    fail_df = pd.DataFrame.from_records(failures, columns=fail_cols)
    if len(fail_df) == n_sims:
        first = "; ".join(
            f"replicate {f['replicate']}: {f['error_type']}: {f['message']}" for f in failures[:3]
        )
        raise StudyFailedError(
            f"all {n_sims} replicates of study {study.name!r} failed (first: {first})"
        )
    if len(fail_df):
        types = fail_df["error_type"].value_counts()
        warnings.warn(
            f"{len(fail_df)} of {n_sims} replicates of study {study.name!r} failed "
            f"({', '.join(f'{k}: {v}' for k, v in types.items())}); they are listed with their "
            "seeds in result.failures and left out of result.table",
            ReplicateFailureWarning,
            stacklevel=3,
        )
    return SimulationResult(
        table=table,
        failures=fail_df,
        study=study.name,
        parameters=dict(study.parameters),
        random_seed=state.random_seed,
        n_sims=n_sims,
        n_resumed=n_resumed,
        backend=backend if n_workers > 1 or backend != "loky" else "sequential",
        n_workers=n_workers,
        elapsed=elapsed,
        checkpoint=None if checkpoint is None else str(checkpoint),
    )


def _chunks(todo: list[int], size: int) -> list[list[int]]:
    return [todo[k : k + size] for k in range(0, len(todo), size)]


#: ``error_type`` of a replicate whose worker process died while running it.
WORKER_DIED = "WorkerDied"


def _worker_died(index: int, seed: int, exc: BaseException) -> dict[str, Any]:
    return {
        "replicate": index,
        "error_type": WORKER_DIED,
        "message": (
            "the worker process died while running this replicate (killed by a signal, out of "
            f"memory, or a crash in compiled code): {type(exc).__name__}: "
            + (str(exc).strip().splitlines() or [""])[0]
        ),
        "seed_entropy": int(seed),
        "spawn_key": str((index,)),
    }


def _isolate(study: Study, indices: list[int], seed: int) -> Iterator[tuple[int, Any, Any]]:
    """Run replicates one at a time in a single fresh worker, so a replicate that kills its
    worker is identified (and recorded as a failure) without taking the others with it."""
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    for i in indices:
        executor = get_reusable_executor(max_workers=1)
        try:
            yield executor.submit(_run_one, study, i, seed).result()
        except TerminatedWorkerError as exc:
            yield i, None, _worker_died(i, seed, exc)


def _iter_loky(
    study: Study, todo: list[int], seed: int, n_workers: int, chunk_size: int | None
) -> Iterator[tuple[int, Any, Any]]:
    """Chunks of replicates on loky worker processes, at most two chunks per worker in flight.

    When a worker dies (a replicate segfaults, is OOM-killed or calls ``os._exit``), every chunk
    in flight fails with it; their replicates are rerun one by one in an isolated worker, so
    only the replicate that kills its worker is recorded as a failure (with its seed) and the
    run goes on.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    if chunk_size is None:
        chunk_size = min(20, max(1, len(todo) // (8 * n_workers)))
    pending = _chunks(todo, chunk_size)[::-1]
    window = 2 * n_workers
    while pending:
        executor = get_reusable_executor(max_workers=n_workers)
        running: dict[Any, list[int]] = {}
        crashed: list[int] = []
        try:
            while pending or running:
                while pending and len(running) < window and not crashed:
                    chunk = pending.pop()
                    running[executor.submit(_run_chunk, study, chunk, seed)] = chunk
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    chunk = running.pop(fut)
                    try:
                        yield from fut.result()
                    except TerminatedWorkerError:
                        crashed += chunk
        finally:
            # on interruption, drop the queued chunks so the workers are not left busy
            for fut in running:
                fut.cancel()
        if crashed:
            yield from _isolate(study, sorted(crashed), seed)


def _connect(client: Any, n_workers: int) -> tuple[Any, Any]:
    """Return (client, closer); closer is None unless this function created a cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is an optional dependency
        raise ImportError(
            "backend='dask' needs dask.distributed; install it with pip install 'civmodels[dask]'"
        ) from exc
    if client is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )
        own = Client(cluster)

        def close() -> None:
            own.close()
            cluster.close()

        return own, close
    if isinstance(client, str):
        try:
            made = Client(client, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise DaskClientError(
                f"cannot reach the Dask scheduler at {client!r} ({type(exc).__name__}: {exc}); "
                "check the address and that the scheduler is running, or omit client= to use "
                "a local cluster"
            ) from exc
        return made, made.close
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client or a scheduler address, "
            f"got {type(client).__name__}"
        )
    return client, None


def _check_client(client: Any) -> None:
    status = getattr(client, "status", None)
    if status != "running":
        raise DaskClientError(
            f"the Dask client is {status!r}, not 'running'; create a new "
            "distributed.Client (or omit client= to use a local cluster)"
        )
    try:
        client.wait_for_workers(1, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise DaskClientError(
            f"the Dask cluster behind {client!r} has no worker or is unreachable "
            f"({type(exc).__name__}: {exc}); start workers or use another client"
        ) from exc


def _iter_dask(
    study: Study,
    todo: list[int],
    seed: int,
    client: Any,
    n_workers: int,
    chunk_size: int | None,
) -> Iterator[tuple[int, Any, Any]]:
    from distributed import KilledWorker, as_completed

    dclient, close = _connect(client, n_workers)
    futures: list[Any] = []
    try:
        _check_client(dclient)
        if chunk_size is None:
            n_dask = max(1, len(dclient.scheduler_info(n_workers=-1).get("workers", {})))
            chunk_size = min(100, max(1, len(todo) // (8 * n_dask)))
        chunks = _chunks(todo, chunk_size)
        # The study travels inside each task rather than as scattered data: scattered data
        # lives on the workers, so a worker that dies takes it along and every other task
        # would then be cancelled for "lost dependencies" instead of going on.
        futures = dclient.map(
            _run_chunk, [study] * len(chunks), chunks, [seed] * len(chunks), pure=False
        )
        chunk_of = dict(zip(futures, chunks, strict=True))
        for fut in as_completed(futures):
            try:
                yield from fut.result()
            except KilledWorker:
                # the chunk killed its workers: rerun its replicates one by one, so that only
                # the replicate that kills its worker is recorded as a failure
                for i in chunk_of[fut]:
                    single = dclient.submit(_run_chunk, study, [i], seed, pure=False)
                    try:
                        yield from single.result()
                    except KilledWorker as exc:
                        yield i, None, _worker_died(i, seed, exc)
    finally:
        # On interruption, drop queued work so the cluster is not left busy.
        pending = [f for f in futures if not f.done()]
        if pending:
            dclient.cancel(pending)
        if close is not None:
            close()
