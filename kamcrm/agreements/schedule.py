"""Revenue schedules (K4): how an agreement line's value is split into monthly slices. Pure functions
over dates and Decimals — no database — so that the rules can be property-tested on their own.

Money is exact: every slice is rounded *down* to the cent and the remainder (never negative, less than
one cent per slice) goes to one stated slice — the last by default, the first if the line says so. So
the slices of a line always add up to the line's value to the cent, and no slice is ever negative.

Rules (`Rule`):
- monthly: straight-line, the same share for each calendar month the line touches;
- daily: pro-rated by day, each month weighs the days of the line's period that fall in it (a line
  from 15 Jan to 14 Jan of the next year: 17/365 in the first January, 14/365 in the last);
- one_off: the whole value in the month of delivery (the start date if none is given);
- milestone: each milestone's amount in the month of its date (the amounts must add up to the value);
- usage: an estimate, spread like monthly (actual usage comes in later as billed revenue).

A change from an effective date (`resplit`) keeps the slices of the months before that date's month
and splits what is left of the new value over the rest of the new period by the new rule.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kamcrm.agreements.choices import Remainder, Rule

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

Schedule = dict[dt.date, Decimal]  # first day of the month → amount


@dataclass(frozen=True)
class Terms:
    """What a line's schedule is computed from."""

    amount: Decimal
    start: dt.date
    end: dt.date
    rule: str = Rule.MONTHLY
    remainder: str = Remainder.LAST
    delivery: dt.date | None = None  # one_off
    milestones: tuple[tuple[dt.date, Decimal], ...] = field(default_factory=tuple)  # milestone

    def __post_init__(self):
        if self.amount < 0:
            raise ValidationError({"amount": _("A line's value cannot be negative.")})
        if self.end < self.start:
            raise ValidationError({"end": _("The end date is before the start date.")})


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of every month from start's month to end's month, both included."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [dt.date(i // 12, i % 12 + 1, 1) for i in range(first, last + 1)]


def days_in_period(month: dt.date, start: dt.date, end: dt.date) -> int:
    """Days of `month` that fall within [start, end]."""
    first = max(month, start)
    last = min(next_month(month) - dt.timedelta(days=1), end)
    return max(0, (last - first).days + 1)


def distribute(amount: Decimal, weights: dict[dt.date, int], remainder: str = Remainder.LAST) -> Schedule:
    """Split `amount` in proportion to `weights`, each share rounded down to the cent, the remainder to
    the first or last month with a non-zero weight. Sums exactly to `amount` (quantised to the cent)."""
    amount = Decimal(amount).quantize(CENT)
    total = sum(weights.values())
    if not weights or total <= 0:
        if amount:
            raise ValidationError({"end": _("There is no month left to schedule %(amount)s in.") % {"amount": amount}})
        return {}
    months = sorted(weights)
    if len(set(weights.values())) == 1:  # straight-line: one division for every month
        share = (amount / len(months)).quantize(CENT, rounding=ROUND_DOWN)
        out = dict.fromkeys(months, share)
        target = months[0] if remainder == Remainder.FIRST else months[-1]
        out[target] = amount - share * (len(months) - 1)
        return out
    out = {m: (amount * weights[m] / total).quantize(CENT, rounding=ROUND_DOWN) for m in months}
    weighted = [m for m in months if weights[m] > 0]
    target = weighted[0] if remainder == Remainder.FIRST else weighted[-1]
    out[target] += amount - sum(out.values())
    return out


def split(terms: Terms, *, since: dt.date | None = None, amount: Decimal | None = None) -> Schedule:
    """The monthly slices of `amount` (default: the terms' value) over the part of the terms' period
    from `since` on (default: all of it)."""
    amount = terms.amount if amount is None else amount
    start = max(terms.start, since) if since else terms.start
    if terms.rule in (Rule.MONTHLY, Rule.USAGE):
        months = months_between(start, terms.end) if start <= terms.end else []
        return distribute(amount, {m: 1 for m in months}, terms.remainder)
    if terms.rule == Rule.DAILY:
        months = months_between(start, terms.end) if start <= terms.end else []
        return distribute(amount, {m: days_in_period(m, start, terms.end) for m in months}, terms.remainder)
    if terms.rule == Rule.ONE_OFF:
        day = max(terms.delivery or terms.start, start)
        return {month_of(day): Decimal(amount).quantize(CENT)} if amount or since is None else {}
    if terms.rule == Rule.MILESTONE:
        due = [(d, Decimal(a).quantize(CENT)) for d, a in terms.milestones if since is None or d >= month_of(since)]
        if sum(a for _d, a in due) != Decimal(amount).quantize(CENT):
            raise ValidationError({"milestones": _("The milestones add up to %(sum)s, not to the value to schedule "
                                                   "(%(amount)s).") % {"sum": sum(a for _d, a in due),
                                                                       "amount": Decimal(amount).quantize(CENT)}})
        out: Schedule = {}
        for day, value in due:
            out[month_of(day)] = out.get(month_of(day), ZERO) + value
        return out
    raise ValidationError({"rule": _("Unknown revenue rule “%(rule)s”.") % {"rule": terms.rule}})


def resplit(current: Schedule, terms: Terms, effective: dt.date) -> Schedule:
    """The schedule after a change effective on `effective`: the months before its month are kept as
    they are; what remains of the new value is split from that month on by the new terms."""
    cut = month_of(effective)
    kept = {m: v for m, v in current.items() if m < cut}
    remaining = Decimal(terms.amount).quantize(CENT) - sum(kept.values(), ZERO)
    if remaining < 0:
        raise ValidationError({"amount": _("The new value is below the %(kept)s already scheduled before %(month)s.")
                               % {"kept": sum(kept.values(), ZERO), "month": cut.strftime("%Y-%m")}})
    since = max(cut, terms.start)
    if terms.end < since:
        if remaining:
            raise ValidationError({"end": _("The line ends before %(month)s but %(amount)s is left to schedule.")
                                   % {"month": cut.strftime("%Y-%m"), "amount": remaining}})
        return kept
    return {**kept, **split(terms, since=since, amount=remaining)}


def earned_through(schedule: Schedule, terms: Terms, day: dt.date) -> Decimal:
    """What the schedule gives up to and including `day`: whole months before day's month, plus that
    month's slice pro-rated by the line's days in it up to `day` (rounded down). Used to end a line early."""
    if day < terms.start:
        return ZERO
    month = month_of(day)
    total = sum((v for m, v in schedule.items() if m < month), ZERO)
    slice_ = schedule.get(month, ZERO)
    if slice_:
        full = days_in_period(month, terms.start, terms.end)
        part = days_in_period(month, terms.start, min(day, terms.end))
        total += slice_ if part >= full else (slice_ * part / full).quantize(CENT, rounding=ROUND_DOWN)
    return total
