"""The `oms` command line: DESIGN.md's `oms up` defaults, taken from `Settings`."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers import cli


def test_up_defaults_are_the_contract_and_help_shows_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Flags override the environment, so their defaults do not move with it either.
    monkeypatch.setenv("OMS_API_PORT", "9999")
    args = cli._parser().parse_args(["up"])
    assert (args.api_port, args.temporal_port, args.ui_port) == (8000, 7233, 8233)
    assert (args.data_dir, args.time_scale, args.temporal_address) == (Path("./var"), 1.0, None)
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["up", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ("8000", "7233", "8233", "./var", "1.0", "127.0.0.1"):
        assert f"default: {default})" in shown
