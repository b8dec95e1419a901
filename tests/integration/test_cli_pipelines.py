"""``taskhub pipeline ...`` end to end, on the embedded default in tmp_path (no worker: the
roots stay pending, the others blocked). The commands act for ``TASKHUB_WORKSPACE``, on its
plan: here a Growth one, made by ``taskhub workspace``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskhub.cli import main as cli

runner = CliRunner()
YAML = """\
name: nightly etl
nodes:
  extract:
    task: documents.process
    input: {document_id: d-1, text: hello there}
  transform:
    task: documents.process
    input: {document_id: d-2}
    after: [extract]
  load:
    task: reports.daily_sales
    input: {region: US, day: 2024-06-01}
    after:
      - transform
      - {node: extract, on_failure: skip}
"""
JSON = {
    "name": "fan in",
    "nodes": [
        {"name": "a", "task": "reports.daily_sales", "input": {"region": "US"}},
        {"name": "b", "task": "reports.daily_sales", "input": {"region": "EU"}},
        {
            "name": "both",
            "task": "documents.process",
            "input": {"document_id": "x"},
            "after": ["a", "b"],
        },
    ],
}


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def growth(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's workspace is ``acme``, on Growth; returns the folder for spec files."""
    assert run("workspace", "create", "acme", "--plan", "growth").exit_code == 0
    monkeypatch.setenv("TASKHUB_WORKSPACE", "acme")
    return migrated


def as_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_submit_a_yaml_file_prints_its_id_and_nodes_and_show_the_table(growth: Path) -> None:
    (growth / "etl.yaml").write_text(YAML)
    result = run("pipeline", "submit", "etl.yaml")
    assert result.exit_code == 0, result.output
    pipeline_id = result.stdout.split()[0]
    assert "nightly etl" in result.stdout and "running" in result.stdout
    assert "3 nodes: 3 pending" in result.stdout
    for node in ("extract", "transform", "load"):
        assert node in result.stdout

    shown = run("pipeline", "show", pipeline_id)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    rows = {line.split()[1]: line for line in lines if "process" in line or "daily" in line}
    assert "waiting for" not in rows["extract"]
    assert "waiting for 1" in rows["transform"] and "waiting for 2" in rows["load"]
    assert "Runs after" in shown.stdout
    edge = next(line for line in shown.stdout.splitlines() if "skip" in line)
    assert "load" in edge and "extract" in edge

    data = as_json("pipeline", "show", pipeline_id)
    assert data["id"] == pipeline_id and data["status"] == "running"
    assert [n["node"] for n in data["nodes"]] == ["extract", "transform", "load"]
    assert [n["waiting_for"] for n in data["nodes"]] == [0, 1, 2]
    with_date = next(n for n in data["nodes"] if n["node"] == "load")
    assert with_date["task"] == "reports.daily_sales"
    assert {"node": "load", "after": "extract", "on_failure": "skip"} in data["edges"]


def test_submit_a_json_file_then_list_and_cancel(growth: Path) -> None:
    (growth / "fan.json").write_text(json.dumps(JSON))
    first = as_json("pipeline", "submit", "fan.json")
    assert [(n["node"], n["blocked"]) for n in first["nodes"]] == [
        ("a", False),
        ("b", False),
        ("both", True),
    ]
    (growth / "etl.yml").write_text(YAML)
    second = as_json("pipeline", "submit", "etl.yml")

    page = as_json("pipeline", "list")
    assert page["total"] == 2 and [p["id"] for p in page["items"]] == [second["id"], first["id"]]
    table = run("pipeline", "list")
    assert table.exit_code == 0, table.output
    assert first["id"] in table.stdout and "fan in" in table.stdout and "2 of 2" in table.stdout

    cancelled = run("pipeline", "cancel", first["id"])
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.stdout and "3 nodes: 3 cancelled" in cancelled.stdout
    assert as_json("pipeline", "show", first["id"])["counts"]["cancelled"] == 3
    assert as_json("pipeline", "show", second["id"])["status"] == "running"


def test_a_bad_file_exits_2_naming_the_field(growth: Path) -> None:
    (growth / "bad.yaml").write_text(YAML.replace("after: [extract]", "after: [nowhere]"))
    result = run("pipeline", "submit", "bad.yaml")
    assert result.exit_code == 2, result.output
    assert "invalid nodes.transform.after: unknown node 'nowhere'" in result.stderr

    (growth / "typo.json").write_text(json.dumps({**JSON, "nodes": {"a": {"tsk": "x"}}}))
    assert "invalid nodes.a.tsk" in run("pipeline", "submit", "typo.json").stderr
    (growth / "broken.json").write_text("{not json")
    broken = run("pipeline", "submit", "broken.json")
    assert broken.exit_code == 2 and "not valid JSON" in broken.output
    (growth / "etl.txt").write_text(YAML)
    assert run("pipeline", "submit", "etl.txt").exit_code == 2
    assert run("pipeline", "submit", "missing.yaml").exit_code == 2
    assert as_json("pipeline", "list")["total"] == 0


def test_unknown_id_exits_3_and_starter_may_not_submit(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("workspace", "create", "small", "--plan", "starter").exit_code == 0
    monkeypatch.setenv("TASKHUB_WORKSPACE", "small")
    assert run("pipeline", "show", "no-such-id").exit_code == 3
    (migrated / "etl.yaml").write_text(YAML)
    refused = run("pipeline", "submit", "etl.yaml")
    assert refused.exit_code == 1 and "dependencies" in refused.stderr, refused.output
