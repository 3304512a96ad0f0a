"""``python -m civmodels`` runs the command-line interface."""

from .cli import main

if __name__ == "__main__":  # importing this module (e.g. API docs) must not run the CLI
    raise SystemExit(main())
