"""Command line: ``recbole-spec run | import | tune | compare | study | spectrum``.

``run_recbole_spec.py`` is ``recbole-spec run``.

``run`` follows RecBole's conventions: ``--model=``, ``--dataset=``, ``--config_files=`` (comma
or space separated) and any other ``--key=value`` override, e.g.
``recbole-spec run --model=DirectSpecPlus --dataset=gowalla --tau=3.0``.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from recbole_spec.commands import COMMANDS
from recbole_spec.validation import ConfigError


def resume_command(argv: Sequence[str], checkpoint: str) -> str:
    """The command line that continues an interrupted run from ``checkpoint``."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "recbole-spec"
    prefix = f"python {prog}" if prog.endswith(".py") else "recbole-spec"
    if prefix == "recbole-spec" and prog == "__main__.py":
        prefix = "python -m recbole_spec"
    kept = [a for a in argv if not a.startswith("--resume_from=")]
    return " ".join([prefix, *map(shlex.quote, kept), f"--resume_from={shlex.quote(checkpoint)}"])


def interrupted_message(argv: Sequence[str], err: Any) -> str:
    """One line for Ctrl-C or SIGTERM: where the last checkpoint is and how to resume."""
    from recbole_spec.pipeline import stop_wording

    how = stop_wording(err)
    checkpoint = getattr(err, "checkpoint", None)
    if not checkpoint:
        return f"recbole-spec: {how} before the first epoch ended; nothing to resume"
    epoch = getattr(err, "epoch", None)
    done = f" (after epoch {epoch})" if epoch is not None else ""
    return (
        f"recbole-spec: {how}; last checkpoint {checkpoint}{done}; resume with: "
        f"{resume_command(argv, checkpoint)}"
    )


def _raise_terminated(signum: int, frame: Any) -> None:
    from recbole_spec.pipeline import Terminated

    raise Terminated()


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"recbole_spec.commands.{COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    """The ``recbole-spec`` parser with every subcommand of :mod:`recbole_spec.commands`."""
    parser = argparse.ArgumentParser(prog="recbole-spec", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _command(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recbole-spec`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    command = _command(args.command)
    if extra and not command.PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from recbole_spec.pipeline import RunInterrupted, stop_wording

    # SIGTERM (batch schedulers) takes Ctrl-C's path: one line, the resume command, exit 143.
    in_main = threading.current_thread() is threading.main_thread()  # signals need it
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    try:
        return command.main(args, extra)
    except ConfigError as err:
        print(f"recbole-spec: error: {err}", file=sys.stderr)
        return 2
    except RunInterrupted as err:
        print(interrupted_message(argv, err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        print(f"recbole-spec: {stop_wording(err)}", file=sys.stderr)
        return getattr(err, "exit_code", 130)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
