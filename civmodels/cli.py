"""The ``civmodels`` command line: ``describe``, ``simulate`` and ``replicate``.

``civmodels replicate`` is the package's main job: it replicates the report's findings on the
bundled (synthetic) survey or on the real export, and writes a report folder (``report.html``,
``report.md``, ``findings.csv``, LaTeX tables, figures and the report-style cross-tabulations).
Every command is also reachable as ``python -m civmodels``; :func:`main` returns the exit code
(0 success, 1 a failure while running, 2 bad input).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """Bad input from the command line; printed and mapped to exit code 2."""


def _parser() -> argparse.ArgumentParser:
    from .replication._registry import METHODS

    p = argparse.ArgumentParser(
        prog="civmodels",
        description=(
            "Statistical inference for the KORA 2016 survey of Danish municipalities' "
            "collaboration with civil-society actors."
        ),
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("describe", help="summarise the codebook, the frame and the survey data")
    d.add_argument("--data", type=Path, help="survey export (CSV, SPSS .sav, Stata .dta)")

    s = sub.add_parser("simulate", help="simulate a survey data set from the calibrated model")
    s.add_argument("--seed", type=int, required=True, help="random seed")
    s.add_argument("--out", type=Path, required=True, help="CSV file to write")
    s.add_argument("--overwrite", action="store_true", help="replace an existing file")

    r = sub.add_parser(
        "replicate",
        help="replicate the report's findings and write a report folder",
        description=(
            "Test every finding of the report with the report's kind of test and with "
            "model-based inference, and write report.html, report.md, findings.csv, LaTeX "
            "tables and the report-style cross-tabulations to --out."
        ),
    )
    r.add_argument("--data", type=Path, help="survey export (default: the bundled synthetic data)")
    r.add_argument("--out", type=Path, default=Path("replication-output"), help="output folder")
    r.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        metavar="METHOD",
        help=f"methods to run (default all): {', '.join(METHODS)}",
    )
    r.add_argument("--fast", action="store_true", help="skip MCMC (the bayes method)")
    r.add_argument("--seed", type=int, default=2016, help="random seed (default 2016)")
    r.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _load_data(path: Path | None) -> Any:
    """The survey: the bundled data, or ``path`` read by the loader (errors -> exit 2)."""
    try:
        from . import data as cmdata
    except ImportError as err:
        raise RuntimeError(f"civmodels.data is not available: {err}") from err
    if path is None:
        return cmdata.load_survey()
    if not path.exists():
        raise _UsageError(f"--data {path}: no such file")
    try:
        return cmdata.read_survey(path)
    except (ValueError, KeyError, OSError) as err:
        # DataError is a ValueError; the loader's message names the column/value and the fix.
        raise _UsageError(f"--data {path} was rejected by the loader:\n{err}") from err


def _describe(args: argparse.Namespace) -> int:
    from . import data as cmdata

    cb = cmdata.codebook
    questions = [cb[key] for key in cb]
    print(f"Codebook ({len(questions)} items)")
    print("========")
    for q in questions:
        flags = [] if q.confirmed else ["labels not confirmed"]
        if not q.simulated:
            flags.append("not in the synthetic data")
        note = f"  [{'; '.join(flags)}]" if flags else ""
        print(f"  {q.id:<34} {q.type:<9} {q.label_en}{note}")
    print()
    frame = cmdata.load_frame()
    mun = cmdata.load_municipalities()
    print("Frame")
    print("=====")
    print(f"  municipalities: {len(mun)}; invited positions: {len(frame)}")
    if "responded" in frame.columns:
        rr = frame["responded"].astype(float).mean()
        print(f"  responded: {int(frame['responded'].sum())} ({rr:.0%})")
    if "area" in frame.columns:
        print("  positions by area:")
        for area, n in frame["area"].value_counts().sort_index().items():
            print(f"    {area!s:<28} {n}")
    survey = _load_data(args.data)
    source = (
        str(args.data) if args.data else "bundled synthetic survey (civmodels.data.load_survey)"
    )
    print()
    print("Survey")
    print("======")
    print(f"  source: {source}")
    print(f"  respondents: {len(survey)}; columns: {survey.shape[1]}")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from . import data as cmdata

    out: Path = args.out
    if out.exists() and not args.overwrite:
        raise _UsageError(f"--out {out} exists; pass --overwrite to replace it")
    sim = cmdata.simulate_survey(random_seed=args.seed)
    df = sim.data
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"wrote {len(df)} simulated respondents (seed {args.seed}) to {out}")
    return EXIT_OK


def _methods(requested: Sequence[str], fast: bool) -> tuple[str, ...]:
    from .replication._registry import METHODS

    names: list[str] = []
    for item in requested:
        names += [m.strip() for m in item.split(",") if m.strip()]
    bad = [m for m in names if m not in METHODS]
    if bad:
        raise _UsageError(
            f"unknown method(s): {', '.join(bad)}. Valid methods are: {', '.join(METHODS)}"
        )
    if fast:
        names = [m for m in names if m != "bayes"]
    if not names:
        raise _UsageError("no methods left to run (--fast removes 'bayes')")
    return tuple(dict.fromkeys(names))


def _replicate(args: argparse.Namespace) -> int:
    from . import replication

    methods = _methods(args.methods, args.fast)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise _UsageError(
            f"--out {out} exists and is not empty; pass --overwrite to write into it, or "
            "choose another folder"
        )
    t0 = time.perf_counter()
    data = _load_data(args.data)
    results: dict = {}
    table = replication.run(
        data,
        methods=methods,
        random_seed=args.seed,
        progress=not args.no_progress,
        results=results,
    )
    tables, tests = replication.crosstabs(data)
    source = (
        f"file {args.data}"
        if args.data
        else "the bundled synthetic survey (civmodels.data.load_survey)"
    )
    paths = replication.write_report(
        table,
        out,
        crosstabs=(tables, tests),
        results=results,
        data_source=source,
        synthetic=args.data is None,
        methods=methods,
        random_seed=args.seed,
        elapsed=time.perf_counter() - t0,
    )
    # the same counts as the report's "Verdict counts" table
    counts = replication.verdict_counts(table).stack()
    print(f"civmodels replicate: {len(table)} rows, methods {', '.join(methods)}")
    for (method, verdict), n in counts.items():
        if n:
            print(f"  {method:<9} {verdict:<16} {n}")
    print(
        f"report written to {paths['html']} (and report.md, findings.csv) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 success, 1 a failure while running, 2 bad input (unknown method, a data
        file the loader rejects, a non-empty output folder without ``--overwrite``).
    """
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler = {"describe": _describe, "simulate": _simulate, "replicate": _replicate}
    try:
        return handler[args.command](args)
    except _UsageError as err:
        print(f"civmodels {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as err:
        print(f"civmodels {args.command}: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
