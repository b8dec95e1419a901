"""CI's benchmark gate (bench/gate.py) decides from the ratio it measured and the one recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.gate import Baseline, GateError, decide, load_baseline


def recorded(ratio: float) -> Baseline:
    return Baseline(ratio, "then", "python bench/gate.py --record")


def test_a_ratio_at_or_above_70_percent_of_the_recorded_one_passes_and_says_both() -> None:
    verdict = decide(0.42, recorded(0.6))  # exactly 70%

    assert verdict.passed
    assert "passed" in verdict.message()
    assert "0.42" in verdict.message() and "recorded 0.60" in verdict.message()


def test_a_ratio_below_70_percent_of_the_recorded_one_fails_with_both_figures() -> None:
    verdict = decide(0.41, recorded(0.6))

    assert not verdict.passed
    assert "FAILED" in verdict.message()
    assert "0.41" in verdict.message() and "threshold 0.42" in verdict.message()


def test_the_recorded_ratio_is_read_from_the_baseline_file(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"end_to_end_ratio": 0.55, "measured": "m", "how": "h"}))

    assert load_baseline(path) == Baseline(0.55, "m", "h")


def test_a_missing_baseline_is_a_clear_error_saying_how_to_record_one(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=r"no recorded baseline at .*--record"):
        load_baseline(tmp_path / "baseline.json")


@pytest.mark.parametrize("content", ["{", "[]", '{"end_to_end_ratio": "0.6"}', "{}"])
def test_a_baseline_without_a_usable_ratio_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)

    with pytest.raises(GateError, match=r"baseline|end_to_end_ratio"):
        load_baseline(path)


def test_the_repo_records_a_baseline() -> None:
    assert load_baseline(Path(__file__).parents[2] / "bench" / "baseline.json").ratio > 0
