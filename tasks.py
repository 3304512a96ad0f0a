#!/usr/bin/env python3
"""Developer entry points: ``python3 tasks.py replicate`` and ``python3 tasks.py test``.

Each command creates (or refreshes) a local virtual environment in ``.venv`` with the
package and its development dependencies installed, then runs inside it. Only Python 3.11+
and access to the package registry are needed. The environment is reinstalled when
``pyproject.toml`` changes (a hash of it is kept in ``.venv/.civmodels-stamp``).

Commands
--------
replicate [args]  Run the replication of the report on the bundled data; the report is
                  written to ``replication-output/`` (extra arguments go to
                  ``civmodels replicate``).
test [args]       Run the test suite (extra arguments go to pytest).
examples          Execute every file in ``examples/``.
bench NAME        Run ``benchmarks/bench_NAME.py``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".civmodels-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_env() -> None:
    """Create ``.venv`` and install ``civmodels[dev]`` unless it is already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be run by an older python3
        sys.exit(f"civmodels needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if PY.exists() and STAMP.exists() and STAMP.read_text() == _stamp():
        return
    if not PY.exists():
        print(f"[tasks] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("[tasks] installing civmodels[dev] (first run takes a few minutes)", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--quiet", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_stamp())


def run(*cmd: str) -> int:
    """Run a command with the virtual environment first on PATH; return its exit code."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONHASHSEED", "0")
    return subprocess.run(list(cmd), cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "test":
        return run(str(PY), "-m", "pytest", *rest)
    if command == "replicate":
        args = rest or ["--out", "replication-output", "--overwrite"]
        return run(str(PY), "-m", "civmodels", "replicate", *args)
    if command == "examples":
        code = 0
        for path in sorted((ROOT / "examples").glob("*.py")):
            print(f"[tasks] running {path.name}", flush=True)
            code = code or run(str(PY), str(path))
        return code
    if command == "bench":
        if not rest:
            sys.exit("usage: python3 tasks.py bench NAME  (runs benchmarks/bench_NAME.py)")
        return run(str(PY), str(ROOT / "benchmarks" / f"bench_{rest[0]}.py"), *rest[1:])
    sys.exit(f"unknown command {command!r}; use one of: replicate, test, examples, bench")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
