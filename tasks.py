#!/usr/bin/env python3
"""Developer entry points: ``python3 tasks.py replicate`` and ``python3 tasks.py test``.

Each command creates (or refreshes) a local virtual environment in ``.venv`` with the
package and its development dependencies installed **at the versions pinned in
``requirements-lock.txt``**, then runs inside it. Only Python 3.11+ and access to the package
registry are needed. The environment is rebuilt from scratch when ``pyproject.toml``, the lock
file or the Python version changes (a hash of them is kept in ``.venv/.civmodels-stamp``).

The ranges in ``pyproject.toml`` stay open for users who ``pip install civmodels``; the lock file
pins the one set of versions that the test suite and CI were run with, so a fresh machine gets
exactly what was tested.

Commands
--------
replicate [args]  Run the replication of the report on the bundled data; the report is
                  written to ``replication-output/`` (extra arguments go to
                  ``civmodels replicate``).
test [args]       Run the fast test suite (everything not marked slow, docs, latex or
                  browser; a few minutes on 2 cores). Extra arguments go to pytest.
test --all        Run the full suite: the fast tests plus the slow, docs, LaTeX and browser
                  tests.
test --extra      Run only what the fast suite leaves out (``.ci/run`` runs ``test`` and then
                  ``test --extra``, which together are the full suite).
examples          Execute every file in ``examples/``.
bench NAME        Run ``benchmarks/bench_NAME.py``.
lock              Re-resolve the newest versions allowed by ``pyproject.toml`` in a throw-away
                  environment and rewrite ``requirements-lock.txt``. Run ``test --all``
                  afterwards and commit the lock file only if it passes.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements-lock.txt"
STAMP_NAME = ".civmodels-stamp"

#: Markers whose tests the default (fast) run leaves out; ``--all`` and ``--extra`` add them.
EXTRA_MARKERS = ("slow", "docs", "latex", "browser")
#: Packages that build or install others; pinned in the lock, installed before the rest.
BOOTSTRAP = ("pip", "setuptools", "wheel")


def _bin(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def _python(env: Path) -> Path:
    return _bin(env) / ("python.exe" if os.name == "nt" else "python")


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    if LOCK.exists():
        digest.update(LOCK.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _pip_install(py: Path, args: list[str], *, what: str) -> None:
    """Run ``pip install`` and print a one-line progress report every ten packages."""
    cmd = [
        str(py),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        *args,
    ]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen = 0
    log: list[str] = []
    for line in proc.stdout:
        log.append(line)
        if line.startswith("Collecting ") or line.startswith("Requirement already satisfied"):
            seen += 1
            if seen % 10 == 0:
                print(
                    f"[tasks]   {what}: {seen} requirements resolved "
                    f"({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
        elif line.startswith("Installing collected packages"):
            print(
                f"[tasks]   {what}: unpacking and installing ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    if proc.wait() != 0:
        sys.stdout.write("".join(log[-60:]))
        sys.exit(f"[tasks] pip failed while {what}; its last lines are above.")


def _pinned(names: tuple[str, ...]) -> list[str]:
    """The lock file's lines for ``names`` (e.g. ``pip==26.3``)."""
    found = []
    for line in LOCK.read_text().splitlines():
        name = re.split(r"[=<>!~ ;]", line.strip(), maxsplit=1)[0].lower()
        if name in names:
            found.append(line.strip())
    return found


def _n_locked() -> int:
    return sum(1 for ln in LOCK.read_text().splitlines() if ln.strip() and ln[0] != "#")


def ensure_env() -> None:
    """Create ``.venv`` with ``civmodels[dev]`` at the locked versions, unless it is current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be run by an older python3
        sys.exit(f"civmodels needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not LOCK.exists():
        sys.exit(
            f"[tasks] {LOCK.name} is missing; restore it from git or run `python3 tasks.py lock`."
        )
    py, stamp = _python(VENV), VENV / STAMP_NAME
    if py.exists() and stamp.exists() and stamp.read_text() == _stamp():
        return
    n = _n_locked()
    reason = "first run" if not py.exists() else "pyproject.toml or the lock file changed"
    print(
        f"[tasks] {reason}: building {VENV.name}/ from {LOCK.name} ({n} pinned packages, "
        "about 1.5 GB). This takes about 3-6 minutes and happens once; later runs start "
        "at once.",
        flush=True,
    )
    started = time.monotonic()
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _pip_install(py, ["-c", str(LOCK), *_pinned(BOOTSTRAP)], what="step 1/2, pip and build tools")
    # No build isolation: civmodels itself is built with the locked setuptools too.
    _pip_install(
        py,
        ["-c", str(LOCK), "--no-build-isolation", "-e", f"{ROOT}[dev]"],
        what="step 2/2, civmodels and its dependencies",
    )
    stamp.write_text(_stamp())
    print(f"[tasks] environment ready in {time.monotonic() - started:.0f} s", flush=True)


def lock() -> int:
    """Resolve ``civmodels[dev]`` afresh in a throw-away environment; rewrite the lock file."""
    with tempfile.TemporaryDirectory(prefix="civmodels-lock-") as tmp:
        env = Path(tmp) / "venv"
        print(f"[tasks] resolving civmodels[dev] afresh in {env} (a few minutes)", flush=True)
        venv.EnvBuilder(with_pip=True).create(env)
        py = _python(env)
        _pip_install(py, ["--upgrade", *BOOTSTRAP], what="build tools")
        _pip_install(py, [f"{ROOT}[dev]"], what="resolving")
        frozen = subprocess.run(
            [str(py), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    pins = sorted((ln for ln in frozen if not ln.lower().startswith("civmodels")), key=str.lower)
    header = [
        "# The tested dependency set of civmodels[dev]: tasks.py installs exactly these",
        "# versions (pip install -c requirements-lock.txt). pyproject.toml keeps open ranges",
        "# for users. Refresh: python3 tasks.py lock, then python3 tasks.py test --all.",
        f"# Resolved with Python {sys.version.split()[0]} on {time.strftime('%Y-%m-%d')}.",
    ]
    LOCK.write_text("\n".join([*header, *pins]) + "\n")
    print(f"[tasks] wrote {LOCK.name}: {len(pins)} pinned packages", flush=True)
    return 0


def run(*cmd: str) -> int:
    """Run a command with the virtual environment first on PATH; return its exit code."""
    env = dict(os.environ)
    env["PATH"] = f"{_bin(VENV)}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONHASHSEED", "0")
    return subprocess.run(list(cmd), cwd=ROOT, env=env).returncode


def pytest_args(rest: list[str]) -> list[str]:
    """Translate ``test`` options: the fast suite by default, ``--all`` or ``--extra``."""
    rest = list(rest)
    everything = "--all" in rest
    extra = "--extra" in rest
    rest = [a for a in rest if a not in ("--all", "--extra")]
    if everything and extra:
        sys.exit("use either --all or --extra, not both")
    if any(a == "-m" or a.startswith("-m") for a in rest):
        return rest  # the caller chose the markers
    if everything:
        return rest
    joined = " or ".join(EXTRA_MARKERS)
    return ["-m", f"({joined})" if extra else f"not ({joined})", *rest]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "lock":
        return lock()
    if command not in {"test", "replicate", "examples", "bench"}:
        sys.exit(f"unknown command {command!r}; use one of: replicate, test, examples, bench, lock")
    ensure_env()
    py = str(_python(VENV))
    if command == "test":
        code = run(py, "-m", "pytest", *pytest_args(rest))
        # pytest exits 5 when a marker selection collects nothing: not a failure of the code
        return 0 if code == 5 and "--extra" in rest else code
    if command == "replicate":
        args = rest or ["--out", "replication-output", "--overwrite"]
        return run(py, "-m", "civmodels", "replicate", *args)
    if command == "examples":
        code = 0
        for path in sorted((ROOT / "examples").glob("*.py")):
            print(f"[tasks] running {path.name}", flush=True)
            code = code or run(py, str(path))
        return code
    if not rest:
        sys.exit("usage: python3 tasks.py bench NAME  (runs benchmarks/bench_NAME.py)")
    return run(py, str(ROOT / "benchmarks" / f"bench_{rest[0]}.py"), *rest[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
