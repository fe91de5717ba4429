"""The forecast-quality bench writes every cell to BENCHMARKS.md, failures as failures."""

from __future__ import annotations

from pathlib import Path

from bench.forecast_quality import END, START, averages, section, write_section


def _row(seed: int, wape: float, pipeline: float, coverage: float) -> dict[str, object]:
    return {
        "scenario": "steady",
        "seed": seed,
        "horizon": 1,
        "window": "month",
        "origins": 30,
        "skipped": 5,
        "wape": wape,
        "wape_milestone_free": 0.3,
        "wape_weighted_pipeline": pipeline,
        "wape_naive_run_rate": 0.4,
        "bias": 0.1,
        "coverage": coverage,
        "pinball": 0.1,
        "vs_pipeline": round(1 - wape / pipeline, 3),
        "pass_vs_pipeline": 1 - wape / pipeline >= 0.3,
        "pass_coverage": 0.75 <= coverage <= 0.85,
    }


META = {"command": "c", "date": "d", "machine": "m", "load_start": 0.1, "load_end": 0.2}


def test_every_cell_is_written_with_pass_or_fail(tmp_path: Path) -> None:
    rows = [
        _row(1, 0.2, 0.5, 0.8),
        _row(2, 0.45, 0.5, 0.6),
        {"scenario": "x", "seed": 3, "error": "too little history"},
    ]
    means = averages(rows)
    (mean,) = means
    assert mean["wape"] == 0.325 and mean["pass_vs_milestone_free"] is False
    assert mean["pass_vs_naive_run_rate"] is True  # 0.325 is 19 % below 0.4
    text = section(rows, means, {**META, "minutes": 1.0})
    assert text.startswith(START) and text.rstrip().endswith(END)
    lines = text.splitlines()
    assert "| steady | 1 | 1 month | 30 | 5 | 0.200 |" in text
    (second,) = [line for line in lines if line.startswith("| steady | 2 |")]
    assert second.count("**FAIL**") == 2
    assert "| x | 3 | **FAIL**: too little history |" in text
    assert "**3 of 6 target checks pass**; 1 runs gave no cell." in text
    document = tmp_path / "BENCHMARKS.md"
    document.write_text("# B\n\n## kpi_load and forecast_quality — x\n\nold words\n")
    write_section(text, document)
    write_section(text, document)  # replaced, not added twice
    written = document.read_text()
    assert written.count(START) == 1 and "old words" in written


def test_runs_not_finished_are_named_not_hidden() -> None:
    rows = [_row(1, 0.2, 0.5, 0.8)]
    text = section(rows, averages(rows), {**META, "minutes": 1.0}, ["steady/2", "steady/3"])
    assert "**partial: 2 runs not finished** (steady/2, steady/3)" in text
