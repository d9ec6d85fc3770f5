"""The schedule rules on their own (no database): exact money, partial months, re-splits."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from kamcrm.agreements.choices import Remainder, Rule
from kamcrm.agreements.schedule import Terms, earned_through, month_of, months_between, resplit, split

D = Decimal
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2032, 12, 31))
cents = st.integers(min_value=0, max_value=10**12).map(lambda c: D(c) / 100)


@st.composite
def terms(draw, rules=(Rule.MONTHLY, Rule.DAILY, Rule.USAGE, Rule.ONE_OFF, Rule.MILESTONE)):
    start = draw(dates)
    end = start + dt.timedelta(days=draw(st.integers(min_value=0, max_value=5 * 366)))
    rule = draw(st.sampled_from(rules))
    amount = draw(cents)
    remainder = draw(st.sampled_from([Remainder.LAST, Remainder.FIRST]))
    milestones = ()
    delivery = None
    if rule == Rule.MILESTONE:
        n = draw(st.integers(min_value=1, max_value=6))
        days = sorted(draw(st.lists(st.integers(min_value=0, max_value=(end - start).days), min_size=n, max_size=n)))
        parts = draw(st.lists(cents, min_size=n - 1, max_size=n - 1))
        amount = sum(parts, D("0")) + draw(cents)
        last = amount - sum(parts, D("0"))
        milestones = tuple(zip([start + dt.timedelta(days=d) for d in days], [*parts, last], strict=True))
    if rule == Rule.ONE_OFF:
        delivery = start + dt.timedelta(days=draw(st.integers(min_value=0, max_value=(end - start).days)))
    return Terms(amount=amount, start=start, end=end, rule=rule, remainder=remainder, delivery=delivery,
                 milestones=milestones)


@settings(max_examples=400, deadline=None)
@given(terms())
def test_slices_sum_exactly_to_the_line_value_and_are_never_negative(t):
    schedule = split(t)
    assert sum(schedule.values(), D("0")) == t.amount
    assert all(v >= 0 and v == v.quantize(D("0.01")) for v in schedule.values())
    assert all(m.day == 1 and month_of(t.start) <= m <= month_of(t.end) for m in schedule)


@settings(max_examples=300, deadline=None)
@given(terms(rules=(Rule.MONTHLY, Rule.USAGE)))
def test_straight_line_shares_differ_by_less_than_a_cent_per_month(t):
    schedule = split(t)
    months = months_between(t.start, t.end)
    assert sorted(schedule) == months
    values = sorted(schedule.values())
    # the remainder is below one cent per slice, so the spread stays below that
    assert values[-1] - values[0] < D("0.01") * len(months) + D("0.01")


def test_day_pro_rated_15_january_to_14_january_gets_partial_first_and_last_months():
    t = Terms(amount=D("36500.00"), start=dt.date(2026, 1, 15), end=dt.date(2027, 1, 14), rule=Rule.DAILY)
    schedule = split(t)
    assert len(schedule) == 13
    assert schedule[dt.date(2026, 1, 1)] == D("1700.00")  # 17 days of 365 (15–31 January)
    assert schedule[dt.date(2026, 2, 1)] == D("2800.00")  # 28 days
    assert schedule[dt.date(2026, 3, 1)] == D("3100.00")
    assert schedule[dt.date(2027, 1, 1)] == D("1400.00")  # 14 days (1–14 January)
    assert sum(schedule.values()) == D("36500.00")


def test_remainder_goes_to_the_stated_slice():
    last = split(Terms(amount=D("100.00"), start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)))
    assert list(last.values()) == [D("33.33"), D("33.33"), D("33.34")]
    first = split(Terms(amount=D("100.00"), start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31),
                        remainder=Remainder.FIRST))
    assert list(first.values()) == [D("33.34"), D("33.33"), D("33.33")]


def test_one_off_and_milestones_fall_in_their_months():
    assert split(Terms(amount=D("5000"), start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), rule=Rule.ONE_OFF,
                       delivery=dt.date(2026, 4, 20))) == {dt.date(2026, 4, 1): D("5000.00")}
    ms = ((dt.date(2026, 2, 10), D("300")), (dt.date(2026, 2, 20), D("200")), (dt.date(2026, 9, 1), D("500")))
    assert split(Terms(amount=D("1000"), start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), rule=Rule.MILESTONE,
                       milestones=ms)) == {dt.date(2026, 2, 1): D("500.00"), dt.date(2026, 9, 1): D("500.00")}
    with pytest.raises(ValidationError) as err:
        split(Terms(amount=D("999"), start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), rule=Rule.MILESTONE,
                    milestones=ms))
    assert "milestones" in err.value.message_dict


@settings(max_examples=300, deadline=None)
@given(terms(rules=(Rule.MONTHLY, Rule.DAILY, Rule.USAGE)), st.data())
def test_resplit_keeps_every_month_before_the_effective_month_and_sums_to_the_new_value(t, data):
    before = split(t)
    effective = t.start + dt.timedelta(days=data.draw(st.integers(min_value=0, max_value=(t.end - t.start).days)))
    kept = sum((v for m, v in before.items() if m < month_of(effective)), D("0"))
    new_amount = kept + data.draw(cents)
    new_end = effective + dt.timedelta(days=data.draw(st.integers(min_value=0, max_value=800)))
    new_rule = data.draw(st.sampled_from([Rule.MONTHLY, Rule.DAILY, Rule.USAGE]))
    after = resplit(before, Terms(amount=new_amount, start=t.start, end=new_end, rule=new_rule), effective)
    assert sum(after.values(), D("0")) == new_amount
    assert {m: v for m, v in after.items() if m < month_of(effective)} == \
        {m: v for m, v in before.items() if m < month_of(effective)}
    assert all(v >= 0 for v in after.values())


def test_amendment_dated_1_june_changes_only_june_onward():
    t = Terms(amount=D("120000"), start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    before = split(t)
    after = resplit(before, Terms(amount=D("134000"), start=t.start, end=t.end), dt.date(2026, 6, 1))
    for month in months_between(dt.date(2026, 1, 1), dt.date(2026, 5, 1)):
        assert after[month] == before[month] == D("10000.00")
    for month in months_between(dt.date(2026, 6, 1), dt.date(2026, 12, 1)):
        assert after[month] == D("12000.00")


def test_a_new_value_below_what_was_already_scheduled_is_refused():
    t = Terms(amount=D("1200"), start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    with pytest.raises(ValidationError) as err:
        resplit(split(t), Terms(amount=D("100"), start=t.start, end=t.end), dt.date(2026, 6, 1))
    assert "amount" in err.value.message_dict


def test_earned_through_pro_rates_the_month_of_the_day():
    t = Terms(amount=D("3100"), start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), rule=Rule.DAILY)
    assert earned_through(split(t), t, dt.date(2026, 1, 10)) == D("1000.00")
    assert earned_through(split(t), t, dt.date(2026, 1, 31)) == D("3100.00")
    assert earned_through(split(t), t, dt.date(2025, 12, 31)) == D("0")
