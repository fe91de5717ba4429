"""Backtest: replay history as of past origins, using only what was known strictly before each.

At each origin T (midnight UTC: a month start, or every week) every deal is cut back to what
was known strictly before T (`DealHistory.before`: nothing at or after T, so a win dated on
T's own day is not known yet), the model is fitted on that alone, and the forecast for the
calendar months from T on is compared with what was actually won in them. Horizon h is the
h-th calendar month from T (h = 1 is the month containing T, from T on); each horizon is
scored for that month alone and cumulatively (from T to the end of month h), and only once
its last month is over (`until`).

The bands scored are calibrated as the live forecast's are (`calibration`): the band at an
origin is widened or narrowed by the errors of the forecasts made at earlier origins whose
window was over by then, and never by its own outcome or a later one.

Each score is reported apart for three parts of what was won: deals open at T, deals created
later, and the total. Beside the milestone forecast, three baselines at the same origins:

- `milestone_free`: the same estimator and new-pipeline term on deal age alone, every deal at
  one position: the test of the idea itself (do milestones add information?);
- `weighted_pipeline`: the CRM's weighted pipeline as it stood then (amount x stage
  probability by close date, from `pipeline_at`); deals open at T only;
- `naive_run_rate`: what was won per day in the three calendar months before T, times the
  days of the window; the total only.

An origin with too little history before it (`HistoryNeed`) is skipped and says why, rather
than scoring a forecast the model cannot make well.

    replay = backtest(deals, month_origins(first, last), pipeline_at=history.at, until=now)
    cells = summarise(replay.points)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from app.kpis.accuracy import bias, coverage, pinball, wape
from app.kpis.band import band
from app.kpis.calibration import (
    Cell,
    Correction,
    Outcome,
    corrections,
    corrections_at,
    scale_of,
)
from app.kpis.forecast import (
    MonthForecast,
    OpenDeal,
    PipelineDeal,
    Window,
    creation_rates,
    forecast_parts,
    month_windows,
    weighted_pipeline,
)
from app.kpis.history import DAY, DealHistory, days_between
from app.kpis.recency import DEFAULT_HALF_LIFE_DAYS
from app.kpis.winmodel import HalfLives, fit_win_model_histories

__all__ = [
    "HALF_LIVES",
    "MAX_HORIZON",
    "METHODS",
    "PARTS",
    "BacktestPoint",
    "Band",
    "CellSummary",
    "Every",
    "HalfLifeChoice",
    "HistoryNeed",
    "Method",
    "MethodScore",
    "Part",
    "PipelineAt",
    "Replay",
    "Skipped",
    "backtest",
    "calibrated",
    "choose_half_life",
    "month_origins",
    "origins_between",
    "summarise",
    "week_origins",
]

MAX_HORIZON = 12
Every = Literal["month", "week"]
Part = Literal["open", "new", "total"]
PARTS: tuple[Part, ...] = ("open", "new", "total")
Method = Literal["milestones", "milestone_free", "weighted_pipeline", "naive_run_rate"]
METHODS: tuple[Method, ...] = (
    "milestones",
    "milestone_free",
    "weighted_pipeline",
    "naive_run_rate",
)
HalfLifeChoice = float | Literal["auto"] | None
"""Days, None (every deal alike) or "auto" (chosen at each origin by `choose_half_life`)."""
PipelineAt = Callable[[DealHistory, datetime], PipelineDeal | None]
"""The CRM's amount, stage probability and close date of a deal as they stood strictly before
an instant (None when unknown)."""
RUN_RATE_MONTHS = 3


@dataclass(frozen=True, slots=True)
class HistoryNeed:
    """What the forecast needs before an origin to be worth scoring: `closed` deals (of which
    `won`) of the processes forecast, closed before it, over at least `days` of history.

    With few closed deals most cells rest on what they borrow from their neighbours, and with
    less than half a year the slower deals have not closed yet, so the first forecasts would
    read too low. (The forecast's own answer derives its need from the history instead:
    `sufficiency`.)"""

    closed: int = 100
    won: int = 20
    days: int = 180

    def shortfall(
        self, known: Sequence[DealHistory], origin: datetime, before: str = " before it"
    ) -> str | None:
        """Why `known` (the history before `origin`) is too little, or None if it is enough;
        `before` names the instant in the answer."""
        closed = [d for d in known if not d.is_open]
        won = sum(1 for d in closed if d.outcome == "won")
        first = min((d.created_at for d in known), default=origin)
        days = int(days_between(first, origin))
        if len(closed) >= self.closed and won >= self.won and days >= self.days:
            return None
        return (
            f"{len(closed)} closed opportunities ({won} won) over {days} days{before}; "
            f"the forecast needs at least {self.closed} closed ({self.won} won) "
            f"over {self.days} days"
        )


@dataclass(frozen=True, slots=True)
class Band:
    """A forecast with its P10-P90 band (a point forecast has p10 = p90 = expected)."""

    expected: float
    p10: float
    p90: float
    variance: float = 0.0
    """The model's own variance, before calibration."""
    scale: float = 1.0
    """How much wider the band is drawn than `variance` alone says (`calibrated`)."""

    @classmethod
    def point(cls, value: float) -> Band:
        return cls(value, value, value)

    @classmethod
    def of(cls, row: MonthForecast) -> Band:
        return cls(row.expected_amount, row.p10_amount, row.p90_amount, row.variance_amount)

    def scaled(self, scale: float) -> Band:
        """The band drawn `scale` times as wide on the normal scale (`band.band`)."""
        if scale == self.scale or self.variance <= 0.0:
            return self
        p10, p90 = band(self.expected, self.variance, scale)
        return Band(self.expected, p10, p90, self.variance, scale)


@dataclass(frozen=True, slots=True)
class BacktestPoint:
    """One origin, horizon and part: what was won beside what each method expected."""

    origin: datetime
    horizon: int
    cumulative: bool
    part: Part
    month: date
    """The horizon's month (the last one of a cumulative window)."""
    actual: float
    milestones: Band
    milestone_free: Band
    weighted_pipeline: float | None
    naive_run_rate: float | None

    def band(self, method: Method) -> Band | None:
        if method == "milestones":
            return self.milestones
        if method == "milestone_free":
            return self.milestone_free
        value = self.weighted_pipeline if method == "weighted_pipeline" else self.naive_run_rate
        return None if value is None else Band.point(value)


@dataclass(frozen=True, slots=True)
class Skipped:
    origin: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Replay:
    points: list[BacktestPoint]
    skipped: list[Skipped]
    calibration: dict[Cell, Correction] = field(default_factory=dict)
    """The milestone band's correction per cell for a forecast made at `until`, from every
    outcome scored (`calibration.corrections`)."""
    half_lives: dict[datetime, HalfLives] = field(default_factory=dict)
    """The half-life(s) the model used at each scored origin (chosen there for "auto")."""


@dataclass(frozen=True, slots=True)
class MethodScore:
    """One method's errors over every origin of a cell, rounded as reported."""

    wape: float | None
    """Σ|actual - forecast| / Σ actual: lower is better."""
    bias: float | None
    """Σ(forecast - actual) / Σ actual: above 0 the method forecast too much."""
    coverage_p10_p90: float | None
    """Share of origins whose actual fell inside the P10-P90 band (0.80 nominal); None for a
    point forecast."""
    pinball: float | None
    """Mean quantile loss at P10, P50, P90 over Σ actual: lower is better; a point forecast
    scores WAPE / 2."""


@dataclass(frozen=True, slots=True)
class CellSummary:
    """One horizon, single month or cumulative, one part: every method's score."""

    horizon_months: int
    cumulative: bool
    part: Part
    origins: int
    actual_won: float
    milestones: MethodScore
    milestone_free: MethodScore
    weighted_pipeline: MethodScore | None
    naive_run_rate: MethodScore | None
    """None where the method makes no forecast for the part."""

    def score(self, method: Method) -> MethodScore | None:
        found: MethodScore | None = getattr(self, method)
        return found

    def improvement(self, baseline: Method) -> float | None:
        """1 - WAPE of the milestone forecast / WAPE of `baseline`: above 0, milestones win."""
        other = self.score(baseline)
        mine = self.milestones.wape
        if other is None or other.wape is None or not other.wape or mine is None:
            return None
        return round(1.0 - mine / other.wape, 4)


# -- origins ----------------------------------------------------------------------------------


def _midnight(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_origins(first: datetime, last: datetime) -> list[datetime]:
    """First instants of the months from `first` (itself if it is one) up to `last`."""
    start = _midnight(first)
    day = date(start.year, start.month, 1)
    if datetime(day.year, day.month, 1, tzinfo=UTC) < start:
        day = _add_months(day, 1)
    out: list[datetime] = []
    while (moment := datetime(day.year, day.month, 1, tzinfo=UTC)) <= last:
        out.append(moment)
        day = _add_months(day, 1)
    return out


def week_origins(first: datetime, last: datetime) -> list[datetime]:
    """Every 7 days from midnight of `first` up to `last`."""
    out: list[datetime] = []
    moment = _midnight(first)
    if moment < first:
        moment += timedelta(days=1)
    while moment <= last:
        out.append(moment)
        moment += timedelta(days=7)
    return out


def origins_between(first: datetime, last: datetime, every: Every) -> list[datetime]:
    return month_origins(first, last) if every == "month" else week_origins(first, last)


# -- the replay -------------------------------------------------------------------------------


def _latest(deals: Sequence[DealHistory]) -> datetime:
    moments = [d.created_at for d in deals]
    moments += [d.closed_at for d in deals if d.closed_at is not None]
    moments += [at for d in deals for _, at in d.reached[-1:]]
    return max(moments)


Win = tuple[datetime, datetime, float]
"""(won at, created at, amount) of a won deal."""


def _wins(deals: Sequence[DealHistory]) -> list[Win]:
    return [
        (d.closed_at, d.created_at, d.amount)
        for d in deals
        if d.outcome == "won" and d.closed_at is not None
    ]


def _won(wins: Sequence[Win], origin: datetime, window: Window) -> dict[Part, float]:
    """What was won inside `window`, by deals open at `origin` and by deals created later."""
    won: dict[Part, float] = {"open": 0.0, "new": 0.0}
    for at, created, amount in wins:
        if window.start <= at < window.end:
            won["open" if created < origin else "new"] += amount
    return won


def _run_rate(wins: Sequence[Win], origin: datetime) -> float:
    """Amount won per day over the `RUN_RATE_MONTHS` calendar months before `origin`."""
    day = _add_months(origin.date(), -RUN_RATE_MONTHS)
    since = datetime(day.year, day.month, min(origin.day, 28), tzinfo=UTC)
    total = sum(amount for at, _, amount in wins if since <= at < origin)
    return total / max(days_between(since, origin), 1.0)


def _age_only(deal: DealHistory) -> DealHistory:
    return replace(deal, reached=())


def _forecasts(
    known: Sequence[DealHistory],
    chosen: Sequence[DealHistory],
    origin: datetime,
    windows: Sequence[Window],
    new_pipeline: bool,
    milestones: bool,
    half_life_days: HalfLives,
) -> dict[Part, list[MonthForecast]]:
    """The forecast of each part over `windows`, fitted on `known`, for the `chosen` deals."""
    if not milestones:
        known = [_age_only(d) for d in known]
        chosen = [_age_only(d) for d in chosen]
    model = fit_win_model_histories(known, origin.timestamp(), half_life_days)
    open_deals = []
    for deal in chosen:
        if deal.is_open and deal.process is not None:
            position, since = deal.position_at(origin)
            open_deals.append(
                OpenDeal(deal.amount, deal.process, position, days_between(since, origin))
            )
    rates = creation_rates(chosen, origin) if new_pipeline else []
    parts = forecast_parts(open_deals, model, windows, rates)
    return {"open": parts["open"], "new": parts["new"], "total": parts["total"]}


def _windows(origin: datetime, horizons: int) -> tuple[list[Window], list[Window]]:
    """Each horizon's month, and the window from the origin to that month's end."""
    months = month_windows(origin, horizons)
    return months, [Window(w.month, origin, w.end) for w in months]


def backtest(
    deals: Sequence[DealHistory],
    origins: Sequence[datetime],
    pipeline_at: PipelineAt | None = None,
    horizons: int = MAX_HORIZON,
    new_pipeline: bool = True,
    selected: Collection[int] | None = None,
    until: datetime | None = None,
    need: HistoryNeed | None = None,
    half_life_days: HalfLifeChoice | Mapping[int, HalfLifeChoice] = DEFAULT_HALF_LIFE_DAYS,
) -> Replay:
    """Replay `deals` (their whole known history) at each origin.

    `selected`: keys of the deals to forecast and score (a process, segment, team or
    connection), all by default; the model learns from every deal. `until`: the instant up to
    which what was won is known (the data clock; by default the latest instant in `deals`).
    `half_life_days`: the model's recency weighting, or "auto" to let `choose_half_life` pick
    it at each origin from what was known before it; or one of these per process id (a
    process not listed takes the default), "auto" then chosen on that process's deals.
    """
    need = need or HistoryNeed()
    until = until or (_latest(deals) if deals else datetime.now(UTC))
    chosen_all = [d for d in deals if selected is None or d.key in selected]
    processes = {d.process for d in chosen_all}
    wins = _wins(chosen_all)
    points: list[BacktestPoint] = []
    skipped: list[Skipped] = []
    used: dict[datetime, HalfLives] = {}
    for origin in origins:
        months, cumulative = _windows(origin, horizons)
        scored = [h for h in range(1, horizons + 1) if months[h - 1].end <= until]
        if not scored:
            skipped.append(Skipped(origin, "its first month is not over yet"))
            continue
        known: list[DealHistory] = []
        chosen_keys: set[int] = set()
        pipeline: list[PipelineDeal] = []
        for deal in deals:
            stood = pipeline_at(deal, origin) if pipeline_at is not None else None
            cut = deal.before(origin, stood.amount if stood is not None else None)
            if cut is None:
                continue
            known.append(cut)
            if selected is None or deal.key in selected:
                chosen_keys.add(deal.key)
                if cut.is_open and stood is not None:
                    pipeline.append(stood)
        chosen = [d for d in known if d.key in chosen_keys]
        reason = need.shortfall([d for d in known if d.process in processes], origin)
        if reason is not None:
            skipped.append(Skipped(origin, reason))
            continue
        windows = months + cumulative
        half_life = used[origin] = _half_lives_at(known, origin, half_life_days)
        ours = _forecasts(known, chosen, origin, windows, new_pipeline, True, half_life)
        free = _forecasts(known, chosen, origin, windows, new_pipeline, False, half_life)
        weighted = weighted_pipeline(pipeline, months)
        rate = _run_rate(wins, origin)
        for h in scored:
            for is_cumulative in (False, True):
                i = h - 1 + (horizons if is_cumulative else 0)
                window = windows[i]
                won = _won(wins, origin, window)
                pipe = sum(weighted[:h]) if is_cumulative else weighted[h - 1]
                naive = rate * (window.end - window.start).total_seconds() / DAY
                for part in PARTS:
                    actual = won["open"] + won["new"] if part == "total" else won[part]
                    points.append(
                        BacktestPoint(
                            origin=origin,
                            horizon=h,
                            cumulative=is_cumulative,
                            part=part,
                            month=months[h - 1].month,
                            actual=actual,
                            milestones=Band.of(ours[part][i]),
                            milestone_free=Band.of(free[part][i]),
                            weighted_pipeline=None if part == "new" else pipe,
                            naive_run_rate=naive if part == "total" else None,
                        )
                    )
    outcomes = _outcomes(points, "milestones")
    return Replay(calibrated(points), skipped, corrections(outcomes, until), used)


def _known_at(point: BacktestPoint) -> datetime:
    """When the point's outcome is known: the end of its (last) month."""
    return datetime(*_add_months(point.month, 1).timetuple()[:3], tzinfo=UTC)


def _outcomes(
    points: Sequence[BacktestPoint], method: Literal["milestones", "milestone_free"]
) -> list[Outcome]:
    found = []
    for p in points:
        forecast = p.milestones if method == "milestones" else p.milestone_free
        cell = (p.horizon, p.cumulative, p.part)
        found.append(
            Outcome(cell, p.origin, _known_at(p), forecast.expected, forecast.variance, p.actual)
        )
    return found


def calibrated(points: Sequence[BacktestPoint]) -> list[BacktestPoint]:
    """The points with their bands (the milestone forecast's and the milestone-free one's,
    each from its own errors) calibrated as a forecast at their origin would be: by the
    outcomes of earlier origins known by then, nothing at or after the origin."""
    origins = sorted({p.origin for p in points})
    ours = corrections_at(_outcomes(points, "milestones"), origins)
    free = corrections_at(_outcomes(points, "milestone_free"), origins)
    out = []
    for p in points:
        mine, theirs = ours[p.origin], free[p.origin]
        cell = (p.horizon, p.cumulative, p.part)
        out.append(
            replace(
                p,
                milestones=p.milestones.scaled(scale_of(mine, cell)),
                milestone_free=p.milestone_free.scaled(scale_of(theirs, cell)),
            )
        )
    return out


def _half_lives_at(
    known: Sequence[DealHistory],
    origin: datetime,
    setting: HalfLifeChoice | Mapping[int, HalfLifeChoice],
) -> HalfLives:
    """The half-life(s) to fit with at `origin`, "auto" chosen on what was known before it
    (per process: on that process's deals)."""
    if not isinstance(setting, Mapping):
        return choose_half_life(known, origin) if setting == "auto" else setting
    chosen: dict[int, float | None] = {}
    for process, wanted in setting.items():
        if wanted == "auto":
            mine = {d.key for d in known if d.process == process}
            chosen[process] = choose_half_life(known, origin, selected=mine)
        else:
            chosen[process] = wanted
    return chosen


# -- choosing the half-life ------------------------------------------------------------------

HALF_LIVES: tuple[float | None, ...] = (None, 730.0, 365.0, 180.0, 90.0)
"""Candidates, in days (None: every deal alike)."""
CHOICE_ORIGINS = 6


def choose_half_life(
    deals: Sequence[DealHistory],
    as_of: datetime,
    candidates: Sequence[float | None] = HALF_LIVES,
    origins: int = CHOICE_ORIGINS,
    selected: Collection[int] | None = None,
) -> float | None:
    """The half-life the history itself prefers: the candidate whose forecasts of the total
    were best (lowest mean WAPE of the first month and of the three months cumulative) at the
    last `origins` month starts whose three months were over by `as_of`, using only what was
    known strictly before `as_of`; scored on the `selected` deals (keys: one process's), all
    by default. The default (`DEFAULT_HALF_LIFE_DAYS`) when no origin can be scored."""
    known = [cut for deal in deals if (cut := deal.before(as_of)) is not None]
    if not known:
        return DEFAULT_HALF_LIFE_DAYS
    first = min(d.created_at for d in known)
    starts = [o for o in month_origins(first, as_of) if _windows(o, 3)[0][-1].end <= as_of]
    best: tuple[float, float | None] | None = None
    for half_life in candidates:
        replay = backtest(
            known,
            starts[-origins:],
            None,
            3,
            selected=selected,
            until=as_of,
            half_life_days=half_life,
        )
        scores = [
            cell.milestones.wape
            for cell in summarise(replay.points)
            if cell.part == "total"
            and (cell.horizon_months, cell.cumulative) in ((1, False), (3, True))
        ]
        if not scores or any(score is None for score in scores):
            continue
        score = sum(x for x in scores if x is not None) / len(scores)
        if best is None or score < best[0] - 1e-12:
            best = (score, half_life)
    return DEFAULT_HALF_LIFE_DAYS if best is None else best[1]


# -- scores -----------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _score(points: Sequence[BacktestPoint], method: Method) -> MethodScore | None:
    bands = [p.band(method) for p in points]
    if any(b is None for b in bands):
        return None
    actual = [p.actual for p in points]
    expected = [b.expected for b in bands if b is not None]
    low = [b.p10 for b in bands if b is not None]
    high = [b.p90 for b in bands if b is not None]
    is_band = method in ("milestones", "milestone_free")
    return MethodScore(
        wape=_r(wape(actual, expected)),
        bias=_r(bias(actual, expected)),
        coverage_p10_p90=_r(coverage(actual, low, high), 3) if is_band else None,
        pinball=_r(pinball(actual, low, expected, high)),
    )


def summarise(points: Sequence[BacktestPoint]) -> list[CellSummary]:
    """Every method's scores per horizon, single month then cumulative, and part."""
    cells: dict[tuple[int, bool, Part], list[BacktestPoint]] = {}
    for point in points:
        cells.setdefault((point.horizon, point.cumulative, point.part), []).append(point)
    out: list[CellSummary] = []
    order = {part: i for i, part in enumerate(PARTS)}
    for key in sorted(cells, key=lambda k: (k[0], k[1], order[k[2]])):
        mine = cells[key]
        milestones = _score(mine, "milestones")
        free = _score(mine, "milestone_free")
        assert milestones is not None and free is not None
        out.append(
            CellSummary(
                horizon_months=key[0],
                cumulative=key[1],
                part=key[2],
                origins=len(mine),
                actual_won=round(sum(p.actual for p in mine), 2),
                milestones=milestones,
                milestone_free=free,
                weighted_pipeline=_score(mine, "weighted_pipeline"),
                naive_run_rate=_score(mine, "naive_run_rate"),
            )
        )
    return out
