"""Keyset pagination: every row once, in order, both ways; cursors that cannot be forged into errors."""
import base64
import datetime as dt
import json
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.pagination import _decode, _encode, bounded_count, keyset_page
from kamcrm.customers.models import Account

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Rollback(Exception):
    """Raised at the end of each Hypothesis example so its rows go away with the savepoint."""


def in_savepoint(check):
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


def make_accounts(org, names):
    return Account.objects.bulk_create(
        Account(name=n, region=org.east, owner=org.rep, owner_unit=org.team_e1) for n in names
    )


def walk(qs, order, page_size):
    """Follow next cursors to the end; then follow previous cursors back to the start."""
    forward = [keyset_page(qs, order=order, page_size=page_size)]
    while forward[-1].next_cursor:
        forward.append(keyset_page(qs, order=order, cursor=forward[-1].next_cursor, page_size=page_size))
    backward = [forward[-1]]
    while backward[-1].prev_cursor:
        backward.append(keyset_page(qs, order=order, cursor=backward[-1].prev_cursor, page_size=page_size))
    return forward, list(reversed(backward))


def pks(page):
    return [row.pk for row in page.items]


# A small alphabet makes many duplicates; mixed scripts and case test the database's collation.
names = st.lists(st.text(alphabet="aAb张三 ", max_size=3), max_size=25)


@FUZZ
@given(names=names, page_size=st.integers(1, 7), descending=st.booleans())
def test_it_walks_every_row_once_in_order_both_ways(org, names, page_size, descending):
    def check():
        # given rows with duplicate names
        make_accounts(org, names)
        order = ["-name", "-id"] if descending else ["name", "id"]
        qs = Account.objects.all()
        expected = list(qs.order_by(*order).values_list("pk", flat=True))
        # when
        forward, backward = walk(qs, order, page_size)
        # then forward pages hold every row once, in order, each page full but the last
        assert [pk for page in forward for pk in pks(page)] == expected
        assert all(len(page.items) == page_size for page in forward[:-1])
        assert forward[0].prev_cursor is None and forward[-1].next_cursor is None
        # and walking back returns the very same pages
        assert [pks(p) for p in backward] == [pks(p) for p in forward]
        assert backward[0].prev_cursor is None

    in_savepoint(check)


instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31),
                        timezones=st.just(SHANGHAI))


@FUZZ
@given(when=st.lists(instants, max_size=20),
       repeat=st.integers(0, 3), page_size=st.integers(1, 5), descending=st.booleans())
def test_it_keeps_datetime_keys_exact_through_the_cursor(org, when, repeat, page_size, descending):
    def check():
        # given events at arbitrary instants (microseconds, a non-UTC zone), some at the same instant
        times = when + when[:repeat]
        TimelineEvent.objects.bulk_create(
            TimelineEvent(account=org.acct, occurred_at=t, kind="note", summary=str(i)) for i, t in enumerate(times)
        )
        order = ["-occurred_at", "-id"] if descending else ["occurred_at", "id"]
        qs = TimelineEvent.objects.all()
        expected = list(qs.order_by(*order).values_list("pk", flat=True))
        # when
        forward, backward = walk(qs, order, page_size)
        # then
        assert [pk for page in forward for pk in pks(page)] == expected
        assert [pks(p) for p in backward] == [pks(p) for p in forward]

    in_savepoint(check)


def test_it_pages_by_updated_at_with_microseconds_and_ties(org):
    # given accounts whose updated_at differ by a microsecond, tie, or sit on a whole second
    base = dt.datetime(2025, 3, 1, 9, 30, tzinfo=SHANGHAI)
    stamps = [base, base, base + dt.timedelta(microseconds=1), base - dt.timedelta(microseconds=1),
              base + dt.timedelta(seconds=1), base.astimezone(dt.UTC), base - dt.timedelta(days=400)]
    for account, stamp in zip(make_accounts(org, [f"公司{i}" for i in range(len(stamps))]), stamps, strict=True):
        Account.objects.filter(pk=account.pk).update(updated_at=stamp)
    Account.objects.filter(pk__in=[org.acct.pk, org.other.pk]).update(updated_at=base)
    qs = Account.objects.all()
    order = ["-updated_at", "-id"]
    # when
    forward, backward = walk(qs, order, 2)
    # then
    expected = list(qs.order_by(*order).values_list("pk", flat=True))
    assert [pk for page in forward for pk in pks(page)] == expected
    assert [pks(p) for p in backward] == [pks(p) for p in forward]


def test_the_cursor_carries_the_datetime_to_the_microsecond(org):
    stamp = dt.datetime(2025, 3, 1, 9, 30, 0, 123456, tzinfo=SHANGHAI)
    Account.objects.filter(pk=org.acct.pk).update(updated_at=stamp)
    Account.objects.filter(pk=org.other.pk).update(updated_at=stamp - dt.timedelta(microseconds=1))
    page = keyset_page(Account.objects.all(), order=["-updated_at", "-id"], page_size=1)
    values, direction = _decode(page.next_cursor)
    assert direction == "n"
    assert dt.datetime.fromisoformat(values[0]) == stamp
    assert pks(keyset_page(Account.objects.all(), order=["-updated_at", "-id"], cursor=page.next_cursor,
                           page_size=1)) == [org.other.pk]


def test_an_empty_list_has_one_empty_page(db):
    page = keyset_page(Account.objects.all(), order=["name", "id"], page_size=10)
    assert page.items == [] and not page.has_next and not page.has_previous


def test_a_cursor_past_the_end_gives_an_empty_page(org):
    cursor = _encode(["龘", 10**9], "n")
    page = keyset_page(Account.objects.all(), order=["name", "id"], cursor=cursor, page_size=10)
    assert page.items == [] and page.next_cursor is None and page.prev_cursor is None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GARBAGE = [
    "not a cursor",
    "%%%",
    "====",
    b64(b"\xff\xfe"),
    b64(b"[]"),
    b64(b"null"),
    b64(json.dumps({"v": ["a", 1]}).encode()),  # no direction
    b64(json.dumps({"v": ["a", 1], "d": "x"}).encode()),
    b64(json.dumps({"v": "a", "d": "n"}).encode()),
    b64(json.dumps({"v": ["a"], "d": "n"}).encode()),  # too few values
    b64(json.dumps({"v": ["a", 1, 2], "d": "n"}).encode()),  # too many
    b64(json.dumps({"v": ["a", "one"], "d": "n"}).encode()),  # id not a number
    b64(json.dumps({"v": ["a", None], "d": "p"}).encode()),
    b64(json.dumps({"v": ["a", [1]], "d": "n"}).encode()),
    b64(json.dumps({"v": ["a", {"x": 1}], "d": "n"}).encode()),
    b64(b'{"v": ["a", NaN], "d": "n"}'),
]


@pytest.mark.parametrize("cursor", GARBAGE)
def test_it_refuses_a_garbage_cursor_by_name(org, cursor):
    with pytest.raises(ValidationError) as excinfo:
        keyset_page(Account.objects.all(), order=["name", "id"], cursor=cursor)
    assert list(excinfo.value.message_dict) == ["cursor"]


@pytest.mark.parametrize("value", ["yesterday", 12345, None, ["2025-01-01"], True, "2025-13-01T00:00:00"])
def test_it_refuses_a_tampered_datetime_in_the_cursor(org, value):
    cursor = _encode([value, 1], "n")
    with pytest.raises(ValidationError) as excinfo:
        keyset_page(Account.objects.all(), order=["-updated_at", "-id"], cursor=cursor)
    assert list(excinfo.value.message_dict) == ["cursor"]


def test_a_cursor_for_another_sort_is_refused(org):
    page = keyset_page(Account.objects.all(), order=["name", "id"], page_size=1)
    with pytest.raises(ValidationError) as excinfo:
        keyset_page(Account.objects.all(), order=["-updated_at", "-id"], cursor=page.next_cursor)
    assert "cursor" in excinfo.value.message_dict


def test_bounded_count_counts_up_to_the_bound(org):
    make_accounts(org, ["a", "b", "c"])  # five accounts in all
    qs = Account.objects.all()
    assert bounded_count(qs, bound=10) == (5, False)
    assert bounded_count(qs, bound=5) == (5, False)
    assert bounded_count(qs, bound=4) == (4, True)
    assert bounded_count(qs, bound=1) == (1, True)
    assert bounded_count(qs.filter(name="a"), bound=4) == (1, False)
    assert bounded_count(qs.none(), bound=4) == (0, False)


def test_bounded_count_ignores_ordering_and_stays_one_query(org, django_assert_num_queries):
    qs = Account.objects.order_by("-name").select_related("owner")
    with django_assert_num_queries(1):
        assert bounded_count(qs, bound=1) == (1, True)


def test_a_page_is_one_query(org, django_assert_num_queries):
    make_accounts(org, [f"n{i}" for i in range(10)])
    first = keyset_page(Account.objects.all(), order=["name", "id"], page_size=3)
    with django_assert_num_queries(1):
        keyset_page(Account.objects.all(), order=["name", "id"], cursor=first.next_cursor, page_size=3)


@FUZZ
@given(days=st.lists(st.one_of(st.none(), st.integers(0, 3)), max_size=25), page_size=st.integers(1, 7),
       descending=st.booleans())
def test_a_nullable_key_sorts_nulls_last_ascending_and_first_descending_both_ways(org, days, page_size, descending):
    from kamcrm.customers.models import Contact

    def check():
        base = dt.date(2026, 1, 1)
        rows = Contact.objects.bulk_create(
            Contact(account=org.acct, name=f"c{i}", birthday=None if d is None else base + dt.timedelta(days=d))
            for i, d in enumerate(days))
        order = ["-birthday", "-id"] if descending else ["birthday", "id"]
        ascending = sorted(rows, key=lambda c: (c.birthday is None, c.birthday or base, c.pk))
        expected = [c.pk for c in (reversed(ascending) if descending else ascending)]
        forward, backward = walk(Contact.objects.all(), order, page_size)
        assert [pk for page in forward for pk in pks(page)] == expected
        assert [pks(p) for p in backward] == [pks(p) for p in forward]

    in_savepoint(check)
