"""The ``recbole-spec`` subcommands, one module each, apart from the library they call.

Every module here exposes the same three things, which :mod:`recbole_spec.cli` wires up:

- ``PASSTHROUGH``: whether unrecognised ``--key=value`` arguments are config overrides;
- ``add_parser(subparsers)``: its ``argparse`` subparser;
- ``main(args, overrides) -> int``: the handler (exit status); errors are raised, never printed
  here: the one error handler in :func:`recbole_spec.cli.main` turns them into one line.

A new command is one module here plus its name in :data:`COMMANDS`.
"""

from __future__ import annotations

COMMANDS = {
    "run": "run",
    "import": "import_data",
    "tune": "tune",
    "compare": "compare",
    "spectrum": "spectrum",
}
"""Command name -> module under ``recbole_spec.commands`` (``import`` is a Python keyword)."""
