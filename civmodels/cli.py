"""The ``civmodels`` command line: ``describe``, ``simulate`` and ``replicate``.

``civmodels replicate`` is the package's main job: it replicates the report's findings on the
bundled (synthetic) survey or on the real export, and writes a report folder (``report.html``,
``report.md``, ``findings.csv``, LaTeX tables, figures and the report-style cross-tabulations).
Every command is also reachable as ``python -m civmodels``; :func:`main` returns the exit code
(0 success, 1 a failure while running, 2 bad input).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """Bad input from the command line; printed and mapped to exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def _rename(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old.strip() or not new.strip():
        raise argparse.ArgumentTypeError(
            f"expects OLD=NEW (a column of the file and its civmodels name), got {text!r}"
        )
    return old.strip(), new.strip()


def _loader_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--columns",
        type=_rename,
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a column of the export (repeatable), e.g. --columns kommune=municipality",
    )
    p.add_argument(
        "--numeric-codes",
        action="store_true",
        help="read numbers without value labels as the codebook's codes (9 = 'Ved ikke')",
    )
    p.add_argument("--sep", help="field separator of a CSV export: ';' or 'tab' (default: a comma)")


def _parser() -> argparse.ArgumentParser:
    from .replication._registry import METHODS

    p = _Parser(
        prog="civmodels",
        description=(
            "Statistical inference for the KORA 2016 survey of Danish municipalities' "
            "collaboration with civil-society actors."
        ),
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("describe", help="summarise the codebook, the frame and the survey data")
    d.add_argument("--data", type=Path, help="survey export (CSV, SPSS .sav, Stata .dta)")
    _loader_arguments(d)

    s = sub.add_parser("simulate", help="simulate a survey data set from the calibrated model")
    s.add_argument("--seed", type=_seed, required=True, help="random seed (0 or more)")
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
    _loader_arguments(r)
    r.add_argument(
        "--frame",
        type=Path,
        metavar="FILE",
        help=(
            "CSV of the invited positions (columns municipality, area, responded); default: "
            "the export's own response column if it has one, else the 838-position frame "
            "allocation filled by the export's respondents"
        ),
    )
    r.add_argument("--out", type=Path, default=Path("replication-output"), help="output folder")
    r.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        metavar="METHOD",
        help=f"methods to run (default all): {', '.join(METHODS)}",
    )
    r.add_argument("--fast", action="store_true", help="skip MCMC (the bayes method)")
    r.add_argument("--seed", type=_seed, default=2016, help="random seed (default 2016)")
    r.add_argument(
        "--overwrite", action="store_true", help="replace the report files in a non-empty --out"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _loader_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for read_survey / read_frame from --columns, --numeric-codes, --sep."""
    renames = dict(args.columns)
    if len(renames) < len(args.columns):
        twice = sorted(
            {old for old, _ in args.columns if [o for o, _ in args.columns].count(old) > 1}
        )
        raise _UsageError(f"--columns renames {', '.join(map(repr, twice))} more than once")
    options: dict[str, Any] = {"columns": renames or None, "numeric_codes": args.numeric_codes}
    if args.sep is not None:
        sep = "\t" if args.sep in ("\\t", "tab") else args.sep
        if len(sep) != 1:
            raise _UsageError(f"--sep must be one character, e.g. ';' or '\\t', got {args.sep!r}")
        options["sep"] = sep
    return options


def _input_file(flag: str, path: Path) -> Path:
    if path.is_dir():
        raise _UsageError(f"{flag} {path} is a folder; give the file")
    if not path.exists():
        raise _UsageError(f"{flag} {path}: no such file")
    return path


def _load_data(path: Path | None, options: dict[str, Any] | None = None) -> Any:
    """The survey: the bundled data, or ``path`` read by the loader (errors -> exit 2)."""
    from . import data as cmdata

    if path is None:
        return cmdata.load_survey()
    _input_file("--data", path)
    try:
        return cmdata.read_survey(path, **{k: v for k, v in (options or {}).items() if v})
    except (ValueError, KeyError, OSError) as err:
        # DataError is a ValueError; the loader's message names the column/value and the fix.
        raise _UsageError(f"--data {path} was rejected by the loader:\n{err}") from err


def _writable(flag: str, target: Path) -> None:
    """Refuse a target whose folder cannot be created or written (before any work)."""
    anchor = target.parent
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        raise _UsageError(f"{flag} {target}: {anchor} is a file, not a folder")
    try:
        tempfile.TemporaryDirectory(dir=anchor).cleanup()
    except OSError as err:
        raise _UsageError(f"{flag} {target}: {anchor} is not writable ({err.strerror})") from None


def _check_out_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir():
        if any(out.iterdir()) and not overwrite:
            raise _UsageError(
                f"--out {out} exists and is not empty; pass --overwrite to replace the report "
                "files in it, or choose another folder"
            )
        _writable("--out", out / "probe")
    else:
        _writable("--out", out)


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
    survey = _load_data(args.data, _loader_options(args))
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
    if out.is_dir():
        raise _UsageError(f"--out {out} is a folder; give the CSV file to write")
    if out.exists() and not args.overwrite:
        raise _UsageError(f"--out {out} exists; pass --overwrite to replace it")
    _writable("--out", out)
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


def _frame_for(args: argparse.Namespace, data: Any, options: dict[str, Any]) -> Any:
    """The invited positions: --frame, else the export's own rows when it has a response column."""
    from .exceptions import DataError
    from .replication import read_frame
    from .replication._frame import response_column

    if args.frame is not None:
        path, flag = _input_file("--frame", args.frame), "--frame"
    elif args.data is not None and response_column(data) is not None:
        path, flag = args.data, "--data"  # the export holds nonrespondents: it is the frame
    else:
        return None
    try:
        return read_frame(path, **options)
    except DataError as err:
        raise _UsageError(
            f"{flag} {path} was rejected as a frame of invited positions:\n{err}"
        ) from None


def _replicate(args: argparse.Namespace) -> int:
    from . import replication
    from .replication._frame import FrameError

    methods = _methods(args.methods, args.fast)
    out: Path = args.out
    _check_out_folder(out, args.overwrite)
    options = _loader_options(args)
    if args.data is None and (options["columns"] or options["numeric_codes"] or "sep" in options):
        raise _UsageError("--columns, --numeric-codes and --sep apply to --data, which is missing")
    t0 = time.perf_counter()
    data = _load_data(args.data, options)
    frame = _frame_for(args, data, options)
    results: dict = {}
    try:
        table = replication.run(
            None if args.data is None else data,
            methods=methods,
            frame=frame,
            random_seed=args.seed,
            progress=not args.no_progress,
            results=results,
        )
    except FrameError as err:
        raise _UsageError(
            f"the data cannot be placed in the frame of invited positions:\n{err}"
        ) from None
    tables, tests = replication.crosstabs(replication.respondents_of(data))
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
    print(f"  frame: {table.attrs.get('frame_source', 'unknown')}")
    for (method, verdict), n in counts.items():
        if n:
            print(f"  {method:<9} {verdict:<16} {n}")
    print(
        f"report written to {paths['html']} (and report.md, findings.csv) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return EXIT_OK


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _show_warnings(command: str, caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning once, as a one-line note (no source line, no stack)."""
    seen: set[str] = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text in seen:
            continue
        seen.add(text)
        print(f"civmodels {command}: note: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 success, 1 a failure while running, 2 bad input (unknown method or
        argument, a data or frame file the loader rejects, respondents without a position of
        the frame, an unwritable or non-empty output folder without ``--overwrite``). Errors
        are one line (or the loader's message) on stderr, never a traceback; set the
        environment variable ``CIVMODELS_TRACEBACK=1`` to see one.
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
    name = f"civmodels {args.command}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return handler[args.command](args)
        except _UsageError as err:
            print(f"{name}: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:  # output piped into e.g. `head`, which closed early
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except KeyboardInterrupt:
            print(f"{name}: interrupted; nothing was written", file=sys.stderr)
            return 130
        except Exception as err:
            if os.environ.get("CIVMODELS_TRACEBACK"):
                raise
            print(f"{name}: failed: {_first_line(err)}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            _show_warnings(args.command, caught)
