"""Issue 22.6: a full disk while saving a checkpoint ends in one line; older checkpoints stay."""

from __future__ import annotations

from pathlib import Path

import pytest

import recbole_spec.training.checkpoint as checkpoint
from recbole_spec import cli
from recbole_spec.training.checkpoint import load_checkpoint

TORCH_FULL_DISK = (
    "[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
    "data/3: file write failed"
)
"""What ``torch.save`` raises when the disk fills up mid-write."""


def _fill_disk_after(calls: int, error: BaseException):
    real_save, count = checkpoint.torch.save, [0]

    def save(obj, f, *args, **kwargs):
        count[0] += 1
        if count[0] > calls:
            Path(f).write_bytes(b"PK\x03\x04 partial")  # torch had started writing
            raise error
        return real_save(obj, f, *args, **kwargs)

    return save


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError(TORCH_FULL_DISK), "the disk is full"),
        (OSError(28, "No space left on device"), "No space left on device"),
    ],
)
def test_full_disk_is_one_line_and_keeps_the_previous_checkpoints(
    tiny_config: dict,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    error: BaseException,
    reason: str,
) -> None:
    saved = Path(tiny_config["checkpoint_dir"])
    # saves: best after epoch 0, last at the start of epoch 1, best after epoch 1 (if better),
    # last at the start of epoch 2, ...: the 4th write fails
    monkeypatch.setattr(checkpoint.torch, "save", _fill_disk_after(3, error))
    args = [f"--{k}={v}" for k, v in {**tiny_config, "epochs": 6, "stopping_step": 100}.items()]
    code = cli.main(["run", "--model=BPRMF", "--dataset=checker", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert str(saved) in err[0] and reason in err[0] and "intact" in err[0]
    monkeypatch.undo()
    files = sorted(saved.glob("*.pth"))
    assert len(files) == 2 and all(load_checkpoint(p)["epoch"] >= 0 for p in files)
    assert not list(saved.glob(".*.tmp")), "no half-written files"
    assert "--resume_from=" in err[0]
