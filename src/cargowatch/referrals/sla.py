"""Working time of a point of contact: an acknowledgement due in "2 working hours" counts only
the contact's office hours, on its working days, in its time zone, and skips its holidays."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cargowatch.exceptions import InvalidInput


@dataclass(frozen=True)
class Hours:
    """When a point of contact works: from start to end on the given ISO weekdays (1 is
    Monday), in tz, except on holidays."""

    tz: str = "UTC"
    start: time = time(8, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = field(default_factory=frozenset)

    def zone(self) -> ZoneInfo:
        """The time zone, checked."""
        try:
            return ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone: no time zone named {self.tz!r}") from None

    def works_on(self, day: date) -> bool:
        """Whether day is a working day."""
        return day.isoweekday() in self.weekdays and day not in self.holidays


def parse_hours(
    tz: str, start: str, end: str, weekdays: Iterable[int], holidays: Iterable[str]
) -> Hours:
    """Hours from their written form ("08:00", "18:00", weekdays 1-7, holidays as YYYY-MM-DD),
    each checked with the field named."""
    try:
        t0, t1 = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        raise InvalidInput(f"hours: expected HH:MM to HH:MM, got {start!r} to {end!r}") from None
    if t0 >= t1:
        raise InvalidInput(f"hours: the day must end after it starts ({start} to {end})")
    days = frozenset(int(d) for d in weekdays)
    if not days or not days <= set(range(1, 8)):
        raise InvalidInput("weekdays: expected days from 1 (Monday) to 7 (Sunday)")
    try:
        off = frozenset(date.fromisoformat(h.strip()) for h in holidays if h.strip())
    except ValueError:
        raise InvalidInput("holidays: expected days as YYYY-MM-DD") from None
    hours = Hours(tz, t0, t1, days, off)
    hours.zone()
    return hours


def add_working(start: datetime, minutes: int, hours: Hours) -> datetime:
    """The moment `minutes` of working time after start (UTC in, UTC out). Time outside office
    hours, on days off and on holidays does not count; a start out of hours counts from the
    next opening."""
    if minutes < 0:
        raise InvalidInput("minutes: expected zero or more")
    zone = hours.zone()
    now = start.astimezone(zone)
    left = timedelta(minutes=minutes)
    for _ in range(3660):  # ten years of days at most
        day = now.date()
        opens = datetime.combine(day, hours.start, zone)
        closes = datetime.combine(day, hours.end, zone)
        if hours.works_on(day) and now < closes:
            begin = max(now, opens)
            if begin + left <= closes:
                return (begin + left).astimezone(UTC)
            left -= closes - begin
        now = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    raise InvalidInput("hours: no working time in the next ten years")


def working_between(start: datetime, end: datetime, hours: Hours) -> timedelta:
    """How much working time lies between two moments (zero when end is before start)."""
    if end <= start:
        return timedelta(0)
    zone = hours.zone()
    now, stop = start.astimezone(zone), end.astimezone(zone)
    total = timedelta(0)
    while now < stop:
        day = now.date()
        if hours.works_on(day):
            begin = max(now, datetime.combine(day, hours.start, zone))
            finish = min(stop, datetime.combine(day, hours.end, zone))
            if finish > begin:
                total += finish - begin
        now = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return total
