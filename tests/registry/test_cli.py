"""`setu registry`: the code list, the file-mode what-if (no database) and the stored-scenario commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from clients import create_users
from principals import US_ANALYST
from registry.world import build
from setu.cli import app
from setu.db import transaction

runner = CliRunner()


def hand_file(folder: Path) -> Path:
    """The hand network of tests/stress/test_mitigation.py as accelerator JSON."""
    data = {
        "tier1": ["P"],
        "tier2": ["S", "B"],
        "tier3": [],
        "edges": [["S", "P"], ["B", "P"]],
        "supplier_material_type": {"S": "m", "B": "m2"},
        "f": {"P": 1},
        "d": {"P": 10},
        "s": {"S": 30, "B": 0, "P": 20},
        "c": {"S": 20, "B": 100, "P": 100},
        "r": {"P": {"m": 1, "m2": 1}},
    }
    path = folder / "hand.json"
    path.write_text(json.dumps(data))
    return path


def test_codes_lists_the_code_list() -> None:
    result = runner.invoke(app, ["registry", "codes"], env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "MAT-REMAG" in result.output and "MET-FORGE" in result.output


def test_what_if_on_a_file_reproduces_the_hand_case(tmp_path: Path) -> None:
    path = hand_file(tmp_path)
    args = ["registry", "what-if", str(path), "--node", "S", "--ttr", "10", "--capacity", "4", "--qualification", "3"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The lost material m is chosen; c = 4, q = 3: PI 50 -> 22, TTS 5 -> 38 / 6.
    assert "alternate of m" in result.output
    assert "50.00 -> 22.00 (saves 28.00)" in result.output
    assert "5.000 -> 6.333" in result.output
    bad = runner.invoke(app, ["registry", "what-if", str(path), "--node", "X", "--ttr", "10"])
    assert bad.exit_code == 2 and "no node 'X'" in bad.output
    neither = runner.invoke(app, ["registry", "what-if"])
    assert neither.exit_code == 2


def test_stored_commands_act_as_a_user(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    with transaction(sessions) as session:
        world = build(session)
        create_users(session, {"us-analyst": US_ANALYST})
    env = {"COLUMNS": "250"}
    sites = runner.invoke(app, ["registry", "sites", "--user", "us-analyst", "--database-url", url], env=env)
    assert sites.exit_code == 0, sites.output
    assert "GE Lynn" in sites.output and "Koraput" not in sites.output and "BEL Pune" not in sites.output
    found = runner.invoke(app, ["registry", "sources", "m", "--user", "us-analyst", "--database-url", url], env=env)
    assert found.exit_code == 0 and "(concern)" in found.output
    args = [
        "registry",
        "what-if",
        "--scenario",
        str(world.scenario),
        "--capability",
        str(world.capabilities["GE Lynn"]),
    ]
    answer = runner.invoke(app, [*args, "--user", "us-analyst", "--database-url", url], env=env)
    assert answer.exit_code == 0, answer.output
    assert "-> 0.00 (saves 50.00)" in answer.output and "survives the whole TTR" in answer.output
    nobody = runner.invoke(app, ["registry", "sites", "--user", "nobody", "--database-url", url])
    assert nobody.exit_code == 2


@pytest.mark.parametrize("missing", ["--user"])
def test_stored_commands_need_a_user(missing: str) -> None:
    result = runner.invoke(app, ["registry", "sites"])
    assert result.exit_code == 2 and missing in result.output
