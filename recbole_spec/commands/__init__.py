"""The ``recbole-spec`` subcommands, one module each, apart from the library they call.

Every module here exposes the same three things, which :mod:`recbole_spec.cli` wires up:

- ``PASSTHROUGH``: whether unrecognised ``--key=value`` arguments are config overrides;
- ``add_parser(subparsers)``: its ``argparse`` subparser;
- ``main(args, overrides) -> int``: the handler (exit status). What the user can fix is raised
  as :class:`~recbole_spec.validation.ConfigError`; the one error handler in
  :func:`recbole_spec.cli.main` prints it as one line (exit 2), and Ctrl-C as the resume line
  (exit 130). A command whose failure is a report of its own returns its status instead:
  ``import`` prints its error line (exit 2), ``tune`` its summary when every trial failed
  (exit 1).

A new command is one module here plus its name in :data:`COMMANDS`.
"""

from __future__ import annotations

COMMANDS = {
    "run": "run",
    "import": "import_data",
    "tune": "tune",
    "compare": "compare",
    "study": "study",
    "spectrum": "spectrum",
    "demo": "demo",
}
"""Command name -> module under ``recbole_spec.commands`` (``import`` is a Python keyword)."""
