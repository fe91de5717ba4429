"""The backtest over the stored history: opportunity state plus, for the baseline as it stood
at each origin, the CRM's own field history (Salesforce `OpportunityHistory`: amount, stage
probability and close date over time). Where a CRM keeps no such history in the raw layer,
today's values stand in, and the answer says so.

    report = run_backtest(database, start=date(2024, 1, 1), every="month", filters=Filters())
    header, rows = csv_rows(report)

The API and the web app read it through `kept_backtest`: computed on the keeper's thread once
per view generation (`app.services.kpis.keeper`), never on a request, one answer for both.

The same replay calibrates the live forecast's band (`band_calibration`): the report's
`band_calibration` is the correction its outcomes ask of a forecast made at its `as_of`; the
forecast reads the kept report for its filters (`kept_calibration`), so no second replay runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from app.core.database import Database
from app.core.timestamps import DataAgeSeconds, IsoDateTime
from app.kpis.backtest import (
    MAX_HORIZON,
    METHODS,
    BacktestPoint,
    CellSummary,
    Every,
    HalfLifeChoice,
    HistoryNeed,
    Part,
    PipelineAt,
    backtest,
    origins_between,
    summarise,
)
from app.kpis.calibration import Correction
from app.kpis.forecast import PipelineDeal, month_windows
from app.kpis.history import DealHistory
from app.kpis.recency import DEFAULT_HALF_LIFE_DAYS
from app.kpis.winmodel import HalfLives
from app.models.base import utcnow
from app.services.kpis.answers import BandCalibration
from app.services.kpis.filters import Filters
from app.services.kpis.keeper import Keeper, Kept
from app.services.kpis.past import FieldHistory
from app.services.kpis.queries import selected_keys
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore

__all__ = [
    "CALIBRATION_ORIGINS",
    "BacktestHalfLife",
    "BacktestReport",
    "FieldHistory",
    "NoBacktest",
    "ReplayPoint",
    "SkippedOrigin",
    "backtest_ask",
    "band_calibration",
    "calibration_of",
    "csv_rows",
    "kept_backtest",
    "kept_calibration",
    "run_backtest",
    "strictly_before",
]

_TICK = timedelta(microseconds=1)

READING = (
    "WAPE = sum|actual - forecast| / sum actual over the origins: lower is better (0 is "
    "perfect). Bias = sum(forecast - actual) / sum actual: above 0 forecasts were too high. "
    "Coverage = share of origins whose actual fell inside the P10-P90 band: 0.80 is what the "
    "band claims. Pinball = the mean quantile loss at P10, P50 and P90 over sum actual: lower "
    "is better; a point forecast scores WAPE / 2."
)
METHOD = (
    "As-of replay: at each origin (midnight UTC) the model is fitted only on what was known "
    "strictly before it; horizon h is the h-th calendar month from the origin, scored alone and "
    "cumulatively from the origin, once it is over. Parts: deals open at the origin, deals "
    "created later, total. Baselines: the same estimator on deal age alone (milestone-free), "
    "the CRM's weighted pipeline as it stood then (open deals), and a naive run-rate (won per "
    "day over the three months before the origin; total)."
)


@dataclass(frozen=True, slots=True)
class ReplayPoint:
    """One origin, horizon and part: what was won beside what each method expected."""

    origin: date
    horizon_months: int
    cumulative: bool
    part: Part
    month: str
    """`YYYY-MM`: the horizon's month (the last one of a cumulative window)."""
    actual: float
    forecast: float
    p10: float
    p90: float
    milestone_free: float
    milestone_free_p10: float
    milestone_free_p90: float
    weighted_pipeline: float | None
    naive_run_rate: float | None

    @classmethod
    def of(cls, point: BacktestPoint) -> ReplayPoint:
        ours, free = point.milestones, point.milestone_free
        return cls(
            origin=point.origin.date(),
            horizon_months=point.horizon,
            cumulative=point.cumulative,
            part=point.part,
            month=point.month.isoformat()[:7],
            actual=round(point.actual, 2),
            forecast=round(ours.expected, 2),
            p10=round(ours.p10, 2),
            p90=round(ours.p90, 2),
            milestone_free=round(free.expected, 2),
            milestone_free_p10=round(free.p10, 2),
            milestone_free_p90=round(free.p90, 2),
            weighted_pipeline=_round(point.weighted_pipeline),
            naive_run_rate=_round(point.naive_run_rate),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True, slots=True)
class SkippedOrigin:
    """An origin the backtest did not score, and why (too little history before it)."""

    origin: date
    reason: str


@dataclass(frozen=True, slots=True)
class BacktestHalfLife:
    """The recency half-life a process's model used in the replay, and why: `set` (by ops,
    the ruleset's `half_life_days`), `auto` (chosen at each origin by a backtest of what was
    known before it: `chosen`, one per origin of `origins`), `default` (365 days) or
    `option` (the `--half-life` given for the run)."""

    process: str
    version: int
    why: Literal["set", "auto", "default", "option"]
    half_life_days: float | None
    """The half-life used (for `auto`: the one chosen at the latest origin)."""
    chosen: list[float | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """The backtest as the API and `milestones backtest --json` print it."""

    history_until: IsoDateTime
    as_of: IsoDateTime
    computed_at: IsoDateTime
    filters: Filters
    every: Every
    origins: list[date]
    """The origins scored."""
    skipped: list[SkippedOrigin]
    history_needed: HistoryNeed
    baseline_values: str
    """Where the weighted pipeline at each origin comes from."""
    method: str
    reading: str
    """How to read the scores: lower WAPE is better."""
    cells: list[CellSummary]
    """Per horizon (1-12), single month then cumulative, and part (open, new, total)."""
    points: list[ReplayPoint]
    band_calibration: list[Correction] = field(default_factory=list)
    """Per horizon, single month then cumulative, and part: how much wider (above 1) or
    narrower the milestone forecast's band is drawn at `as_of`, from the outcomes of every
    origin above (the scored bands at each origin are calibrated by the origins before it)."""
    half_lives: list[BacktestHalfLife] = field(default_factory=list)
    """Each process: the recency half-life its model used, and why."""
    data_age_seconds: DataAgeSeconds = None


@dataclass(frozen=True, slots=True)
class NoBacktest:
    """The answer when there is nothing to score: no opportunity in a sales process yet, no
    origin in the range, or too little history before every origin (it says how much the
    forecast needs)."""

    origins: list[date]
    cells: list[CellSummary]
    note: str
    skipped: list[SkippedOrigin] = field(default_factory=list)
    history_needed: HistoryNeed = field(default_factory=HistoryNeed)
    data_age_seconds: DataAgeSeconds = None


def strictly_before(history: FieldHistory) -> PipelineAt:
    """The CRM's values as they stood strictly before an origin: a change stamped at the
    origin instant itself is not known yet."""

    def at(deal: DealHistory, moment: datetime) -> PipelineDeal | None:
        return history.at(deal, moment - _TICK)

    return at


def _current(snapshot: Snapshot) -> Callable[[DealHistory, datetime], PipelineDeal | None]:
    def at(deal: DealHistory, moment: datetime) -> PipelineDeal | None:
        info = snapshot.info.get(deal.key)
        if info is None:
            return None
        return PipelineDeal(deal.amount, info.stage_probability or 0.0, info.close_date)

    return at


def _origins(
    first: datetime,
    now: datetime,
    every: Every,
    start: date | None,
    end: date | None,
    latest: int,
) -> list[datetime]:
    """Origins from `start` to `end` (by default the `latest` ones) whose first month is over."""
    low = datetime(start.year, start.month, start.day, tzinfo=UTC) if start else first
    high = datetime(end.year, end.month, end.day, tzinfo=UTC) if end else now
    found = [
        o for o in origins_between(low, min(high, now), every) if month_windows(o, 1)[0].end <= now
    ]
    return found if start is not None else found[-latest:]


def run_backtest(
    database: Database,
    months: int = 12,
    store: KpiStore | None = None,
    new_pipeline: bool = True,
    *,
    start: date | None = None,
    end: date | None = None,
    every: Every = "month",
    horizons: int = MAX_HORIZON,
    filters: Filters | None = None,
    need: HistoryNeed | None = None,
    snapshot: Snapshot | None = None,
    histories: Sequence[DealHistory] | None = None,
    half_life_days: HalfLifeChoice | Literal["process"] = "process",
) -> BacktestReport | NoBacktest:
    """Scores of the forecast and its baselines at each origin from `start` to `end` (without
    `start`: the latest `months` origins) whose first month is over, horizons 1..`horizons`,
    by the view's as-of (or `snapshot`'s: a past one). `histories`: the paths to replay in
    place of the view's, as another ruleset version would derive them (a draft compared
    before it is activated). `half_life_days`: the recency weighting of the model, by default
    each process's own (as ops set it in the ruleset, or the default); else one for every
    process: days, None (every deal alike) or "auto" (chosen at each origin by
    `choose_half_life` on what was known before it)."""
    filters = filters or Filters()
    need = need or HistoryNeed()
    store = store or KpiStore(database)
    snapshot = snapshot or store.snapshot()
    age = store.data_age_seconds()
    deals = (
        [d for d in snapshot.deals.values() if d.process in snapshot.processes]
        if histories is None
        else [d for d in histories if d.process is not None]
    )
    if not deals:
        return NoBacktest(
            origins=[], cells=[], note="no opportunity history yet", data_age_seconds=age
        )
    chosen = selected_keys(snapshot, filters)
    first = min(d.created_at for d in deals)
    history_until = max(
        max(d.created_at for d in deals),
        max((d.closed_at for d in deals if d.closed_at is not None), default=first),
        max((d.reached[-1][1] for d in deals if d.reached), default=first),
    )
    now = snapshot.as_of  # the KPI view's "now": the data's clock, as every KPI uses it
    origins = _origins(first, now, every, start, end, months)
    if not origins:
        return NoBacktest(
            origins=[],
            cells=[],
            note=f"no origin (every {every}) in the range whose first month is over by {now}",
            data_age_seconds=age,
        )
    history = FieldHistory.load(database)
    at = strictly_before(history) if len(history) else _current(snapshot)
    replay = backtest(
        deals,
        origins,
        at,
        horizons=horizons,
        new_pipeline=new_pipeline,
        selected=chosen,
        until=now,
        need=need,
        half_life_days=_setting(snapshot, half_life_days),
    )
    skipped = [SkippedOrigin(s.origin.date(), s.reason) for s in replay.skipped]
    if not replay.points:
        reason = skipped[-1].reason if skipped else "no opportunity matches the filters"
        return NoBacktest(
            origins=[],
            cells=[],
            note=f"too little history to forecast well before any origin: {reason}",
            skipped=skipped,
            history_needed=need,
            data_age_seconds=age,
        )
    return BacktestReport(
        history_until=history_until,
        as_of=now,
        computed_at=utcnow(),
        filters=filters,
        every=every,
        origins=sorted({p.origin.date() for p in replay.points}),
        skipped=skipped,
        history_needed=need,
        baseline_values="CRM field history as of each origin"
        if len(history)
        else "today's amount, stage probability and close date (no field history stored)",
        method=METHOD,
        reading=READING,
        cells=summarise(replay.points),
        points=[ReplayPoint.of(p) for p in replay.points],
        band_calibration=[
            replay.calibration[cell] for cell in sorted(replay.calibration, key=_order)
        ],
        half_lives=_half_lives(snapshot, half_life_days, replay.half_lives, filters),
        data_age_seconds=age,
    )


def _order(cell: tuple[int, bool, str]) -> tuple[int, bool, int]:
    return cell[0], cell[1], ("open", "new", "total").index(cell[2])


def _setting(
    snapshot: Snapshot, option: HalfLifeChoice | Literal["process"]
) -> HalfLifeChoice | Mapping[int, HalfLifeChoice]:
    """The option given for the run, or each process's own half-life setting."""
    if option != "process":
        return option
    own: dict[int, HalfLifeChoice] = {}
    for process in snapshot.processes.values():
        setting = process.half_life_days
        own[process.id] = (
            DEFAULT_HALF_LIFE_DAYS if setting is None else None if setting == "none" else setting
        )
    return own


def _half_lives(
    snapshot: Snapshot,
    option: HalfLifeChoice | Literal["process"],
    used: Mapping[datetime, HalfLives],
    filters: Filters,
) -> list[BacktestHalfLife]:
    """What each selected process's model used at the scored origins, and why."""
    found = []
    origins = sorted(used)
    for process in sorted(snapshot.processes.values(), key=lambda p: (p.key, p.id)):
        if filters.process is not None and process.key != filters.process:
            continue
        setting = process.half_life_days if option == "process" else option
        chosen: list[float | None] = []
        for origin in origins:
            at = used[origin]
            chosen.append(at.get(process.id) if isinstance(at, Mapping) else at)
        why: Literal["set", "auto", "default", "option"]
        if option != "process":
            why = "option"
        else:
            why = "default" if setting is None else "auto" if setting == "auto" else "set"
        latest = chosen[-1] if chosen else None
        shown = [None if c is None else round(float(c), 1) for c in chosen]
        found.append(
            BacktestHalfLife(
                process.key,
                process.version,
                why,
                None if latest is None else round(float(latest), 1),
                shown if setting == "auto" else [],
            )
        )
    return found


def backtest_ask(
    keeper: Keeper,
    database: Database,
    months: int = 12,
    *,
    start: date | None = None,
    end: date | None = None,
    every: Every = "month",
    horizons: int = MAX_HORIZON,
    filters: Filters | None = None,
) -> tuple[tuple[Any, ...], Callable[[Snapshot], BacktestReport | NoBacktest]]:
    """The keeper's key and computation for a backtest: the API and the web page ask alike,
    so that one computation answers both."""
    filters = filters or Filters()
    key = ("backtest", months, start, end, every, horizons, filters.key())

    def compute(snapshot: Snapshot) -> BacktestReport | NoBacktest:
        return run_backtest(
            database,
            months,
            keeper.store,
            start=start,
            end=end,
            every=every,
            horizons=horizons,
            filters=filters,
            snapshot=snapshot,
        )

    return key, compute


def kept_backtest(
    keeper: Keeper, database: Database, *, wait: bool, **ask: Any
) -> Kept[BacktestReport | NoBacktest] | None:
    """`run_backtest` at the view's generation as the keeper last computed it (`backtest_ask`
    takes the same parameters); None while the first one runs, unless `wait`."""
    return keeper.get(*backtest_ask(keeper, database, **ask), wait=wait)


CALIBRATION_ORIGINS = 12
"""The latest origins whose outcomes calibrate the live forecast's band: the backtest's
default, the one the keeper keeps for the forecast page, so that no other replay runs."""


def calibration_of(report: BacktestReport | NoBacktest | None) -> BandCalibration:
    """The forecast's band correction from a backtest of its filters at its instant (None:
    being computed)."""
    if report is None:
        return BandCalibration(
            "being computed",
            "the backtest that calibrates the band is being computed: the band is the model's "
            "own until it is ready",
            [],
        )
    if isinstance(report, NoBacktest):
        return BandCalibration("no backtest", f"the band is the model's own: {report.note}", [])
    single = [c for c in report.band_calibration if not c.cumulative]
    first = next((c for c in single if c.horizon_months == 1 and c.part == "total"), None)
    origins = first.origins if first is not None else 0
    return BandCalibration(
        "calibrated",
        f"each month's band is widened or narrowed so that it would have held 80 % of the "
        f"outcomes of the backtest's past origins ({origins} for this month, fewer further "
        f"ahead), the correction shrunk towards what every horizon's errors ask together "
        f"when few origins speak",
        single,
    )


def band_calibration(
    database: Database, snapshot: Snapshot, filters: Filters, store: KpiStore | None = None
) -> BandCalibration:
    """The band correction for a forecast at `snapshot` (a past view, or the command line),
    computed now by the backtest the keeper would keep: the latest `CALIBRATION_ORIGINS`
    origins, nothing at or after the snapshot's instant."""
    report = run_backtest(database, CALIBRATION_ORIGINS, store, filters=filters, snapshot=snapshot)
    return calibration_of(report)


def kept_calibration(
    keeper: Keeper, database: Database, filters: Filters, *, wait: bool
) -> tuple[tuple[Any, ...], BandCalibration]:
    """The band correction from the keeper's backtest of every opportunity (the forecast
    page's and the API's default backtest), and a key that tells the answers it calibrates
    apart. A filtered forecast borrows it: the correction measures how far the model's own
    spread is off, which a team's or a rep's deals share, and a backtest per filter would be
    minutes of work for every new one asked."""
    kept = kept_backtest(keeper, database, months=CALIBRATION_ORIGINS, wait=wait)
    if kept is None:
        return ("being computed",), calibration_of(None)
    calibration = calibration_of(kept.value)
    if filters.key() != Filters().key() and calibration.state == "calibrated":
        calibration = replace(
            calibration,
            note=calibration.note + "; measured on every opportunity's forecasts, which this "
            "filtered forecast shares",
        )
    return (kept.generation, kept.as_of), calibration


CSV_COLUMNS = (
    "horizon_months",
    "cumulative",
    "part",
    "method",
    "origins",
    "actual_won",
    "wape",
    "bias",
    "coverage_p10_p90",
    "pinball",
)


def csv_rows(report: BacktestReport | NoBacktest) -> tuple[tuple[str, ...], list[list[Any]]]:
    """One row per cell and method (a method that makes no forecast for a part is left out)."""
    rows: list[list[Any]] = []
    for cell in report.cells:
        for method in METHODS:
            score = cell.score(method)
            if score is None:
                continue
            rows.append(
                [
                    cell.horizon_months,
                    cell.cumulative,
                    cell.part,
                    method,
                    cell.origins,
                    cell.actual_won,
                    score.wape,
                    score.bias,
                    score.coverage_p10_p90,
                    score.pinball,
                ]
            )
    return CSV_COLUMNS, rows
