"""Parquet checkpoints of a simulation study.

A checkpoint is one Parquet file. Its rows are the tidy rows the study returned (plus the
``replicate`` column); its key-value metadata hold the study's identity (name, hash of the
parameters, hash of the study's code, seed), the number of replicates asked for, the indices
of every finished replicate (including those that returned no rows and those that failed or
killed their worker) and the failures. The file is always replaced
atomically (written beside, then renamed), so an interruption can lose at most the replicates
finished since the last write, never the file.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import marshal
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import CivmodelsError

__all__ = ["Checkpoint", "CheckpointMismatchError", "code_hash", "study_hash"]

_KEY = b"civmodels.simulation"
_FORMAT = 1


class CheckpointMismatchError(CivmodelsError, ValueError):
    """A checkpoint file belongs to a different study, parameter set or seed."""


def _jsonable(obj: Any) -> Any:
    # Parameters may hold numpy scalars, arrays, frames or functions; they only need a stable
    # text form for hashing, and a function is identified by where it is defined.
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if callable(obj):
        # where it is defined and what its code is: two lambdas never share an identity
        where = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        return f"{where}#{code_hash(obj)}"
    if hasattr(obj, "to_dict"):
        try:
            return obj.to_dict()
        except Exception:  # pragma: no cover - an exotic object; fall back to its text
            return repr(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return repr(obj)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is in the dev and dask extras
        raise ImportError(
            "checkpoint= writes Parquet files and needs pyarrow; install it with "
            "pip install pyarrow (or pip install 'civmodels[dask]')"
        ) from exc
    return pa, pq


def code_hash(obj: Any) -> str:
    """SHA-256 (hex, 16 characters) of the code of a study function or callable object.

    The source text when it can be read (so an edit to the function changes the hash), else
    the compiled code; a callable object is identified by its class's code, a
    ``functools.partial`` by its function's code and its bound arguments.
    """
    if isinstance(obj, functools.partial):
        inner = code_hash(obj.func)
        text = (
            f"partial:{inner}:{canonical_parameters({str(k): v for k, v in enumerate(obj.args)})}:"
        )
        text += canonical_parameters(obj.keywords)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
    target = obj
    if not (inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isclass(obj)):
        target = type(obj)
    try:
        raw = inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        raw = marshal.dumps(code) if code is not None else repr(target).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical_parameters(parameters: Mapping[str, Any]) -> str:
    """Stable JSON text of a parameter mapping (sorted keys, numpy values as Python)."""
    return json.dumps(dict(parameters), sort_keys=True, default=_jsonable)


def study_hash(name: str, parameters: Mapping[str, Any], code: str = "") -> str:
    """SHA-256 (hex, 16 characters) of a study's name, canonical parameters and code hash."""
    text = json.dumps({"name": name, "parameters": canonical_parameters(parameters), "code": code})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Checkpoint:
    """In-memory state of a checkpoint file (see the module docstring)."""

    path: Path
    name: str
    parameters_json: str
    parameters_hash: str
    random_seed: int
    n_sims: int
    code: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    completed: set[int] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str,
        parameters_json: str,
        parameters_hash: str,
        random_seed: int,
        n_sims: int,
        code: str = "",
    ) -> Checkpoint:
        """Load ``path`` if it exists and belongs to this study, else start an empty one.

        Raises
        ------
        CheckpointMismatchError
            If the file was written by another study, parameter set or seed.
        """
        path = Path(path)
        new = cls(
            path=path,
            name=name,
            parameters_json=parameters_json,
            parameters_hash=parameters_hash,
            random_seed=random_seed,
            n_sims=n_sims,
            code=code,
        )
        _, pq = _pyarrow()
        if not path.exists():
            return new

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise CheckpointMismatchError(
                f"checkpoint {str(path)!r} is not a readable Parquet file ({exc}); "
                "delete it or pass another checkpoint= path"
            ) from exc
        meta_raw = (table.schema.metadata or {}).get(_KEY)
        if meta_raw is None:
            raise CheckpointMismatchError(
                f"checkpoint {str(path)!r} was not written by civmodels.simulation.run "
                "(no study metadata); pass another checkpoint= path"
            )
        meta = json.loads(meta_raw)
        reasons = []
        if meta["name"] != name:
            reasons.append(f"study name {meta['name']!r} (this run: {name!r})")
        if meta["parameters_hash"] != parameters_hash:
            reasons.append(f"parameters {meta['parameters']} (this run: {parameters_json})")
        if meta.get("code") != code:
            reasons.append(
                f"study code {meta.get('code') or '(none recorded: an older civmodels)'} "
                f"(this run: {code}); the study function or its class was changed or replaced"
            )
        if int(meta["random_seed"]) != int(random_seed):
            reasons.append(f"random_seed={meta['random_seed']} (this run: {random_seed})")
        if reasons:
            raise CheckpointMismatchError(
                f"checkpoint {str(path)!r} belongs to a different study: it was written with "
                + "; ".join(reasons)
                + ". Resuming would mix replicates of two studies. Use the original settings, "
                "or pass another checkpoint= path (or delete the file) to start afresh."
            )
        new.records = table.to_pylist()
        new.completed = {int(i) for i in meta["completed"]}
        new.failures = list(meta["failures"])
        return new

    def add(self, index: int, rows: list[dict[str, Any]] | None, failure: dict | None) -> None:
        """Record one finished replicate (its rows, or its failure)."""
        self.completed.add(index)
        if failure is not None:
            self.failures.append(failure)
        elif rows:
            self.records.extend(rows)

    def write(self) -> None:
        """Atomically replace the file with the current state."""
        pa, pq = _pyarrow()

        meta = {
            "format": _FORMAT,
            "name": self.name,
            "parameters": self.parameters_json,
            "parameters_hash": self.parameters_hash,
            "code": self.code,
            "random_seed": int(self.random_seed),
            "n_sims": int(self.n_sims),
            "completed": sorted(self.completed),
            "failures": self.failures,
        }
        # from_pylist takes the columns of the first row only; rows may differ in keys.
        columns = list(dict.fromkeys(k for r in self.records for k in r))
        rows = [{k: r.get(k) for k in columns} for r in self.records]
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
        table = table.replace_schema_metadata({_KEY: json.dumps(meta, default=_jsonable)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)
