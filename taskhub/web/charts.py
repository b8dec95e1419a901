"""Server-rendered SVG charts: the geometry of bars, lines and axes, computed here and drawn by
``templates/charts.html`` (no JavaScript, nothing from a CDN).

Two charts over the hour buckets of a window: tasks finished per hour (completed and failed
stacked), and the failure rate per hour (a line through the hours in which something finished).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from taskhub.domain.stats import HourBucket

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 46  # margins: room for the axes' labels
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the SVG
    label: str


@dataclass(frozen=True)
class Bar:
    """One hour: its completed and failed segments, stacked (heights in SVG units)."""

    x: float
    width: float
    completed_y: float
    completed_h: float
    failed_y: float
    failed_h: float
    title: str


@dataclass(frozen=True)
class Frame:
    """The plot area and the axes of a chart."""

    title: str
    y_title: str
    x_title: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT


@dataclass(frozen=True)
class BarChart:
    frame: Frame
    bars: list[Bar]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LineChart:
    frame: Frame
    points: list[Point]
    slots: int  # one per hour, with or without a point

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def throughput_chart(hours: list[HourBucket]) -> BarChart:
    top = _nice_top(max((b.finished for b in hours), default=0))
    slot = _slot(hours)
    bars = []
    for n, bucket in enumerate(hours):
        done_h, failed_h = _height(bucket.completed, top), _height(bucket.failed, top)
        base = HEIGHT - BOTTOM
        bars.append(
            Bar(
                x=LEFT + n * slot + slot * 0.1,
                width=slot * 0.8,
                completed_y=base - done_h,
                completed_h=done_h,
                failed_y=base - done_h - failed_h,
                failed_h=failed_h,
                title=f"{_hour(bucket)}: {bucket.completed} completed, {bucket.failed} failed",
            )
        )
    frame = _frame("Tasks finished per hour", "tasks / hour", hours, _count_ticks(top))
    return BarChart(frame, bars)


def failure_rate_chart(hours: list[HourBucket]) -> LineChart:
    slot = _slot(hours)
    points = [
        Point(
            LEFT + n * slot + slot / 2,
            (HEIGHT - BOTTOM) - _height(rate * 100, 100),
            f"{_hour(bucket)}: {rate:.0%} of {bucket.finished} failed",
        )
        for n, bucket in enumerate(hours)
        if (rate := bucket.failure_rate) is not None
    ]
    ticks = [Tick(_y(v, 100), f"{v}%") for v in (0, 25, 50, 75, 100)]
    return LineChart(_frame("Failure rate per hour", "failed %", hours, ticks), points, len(hours))


def _frame(title: str, y_title: str, hours: list[HourBucket], y_ticks: list[Tick]) -> Frame:
    slot = _slot(hours)
    every = max(1, math.ceil(len(hours) / MAX_X_LABELS))
    x_ticks = [
        Tick(LEFT + n * slot + slot / 2, _label(bucket, len(hours)))
        for n, bucket in enumerate(hours)
        if (len(hours) - 1 - n) % every == 0  # the current hour always labelled
    ]
    return Frame(title, y_title, "hour (UTC)", x_ticks, y_ticks)


def _slot(hours: list[HourBucket]) -> float:
    return (WIDTH - LEFT - RIGHT) / max(len(hours), 1)


def _height(value: float, top: float) -> float:
    return (HEIGHT - TOP - BOTTOM) * value / top


def _y(value: float, top: float) -> float:
    return (HEIGHT - BOTTOM) - _height(value, top)


def _nice_top(peak: int) -> int:
    """The y axis' top: the peak rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if peak <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(peak))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= peak)


def _count_ticks(top: int) -> list[Tick]:
    values = sorted({0, top // 2, top} if top % 2 == 0 else {0, top})
    return [Tick(_y(v, top), f"{v:,}") for v in values]


def _hour(bucket: HourBucket) -> str:
    return bucket.start.strftime("%Y-%m-%d %H:00 UTC")


def _label(bucket: HourBucket, count: int) -> str:
    return bucket.start.strftime("%d %H:00" if count > 24 else "%H:00")
