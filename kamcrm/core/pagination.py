"""Keyset ("cursor") pagination and bounded counts: lists stay fast at millions of rows.

A page is fetched by `WHERE (sort key, id) > (last seen)` on an index, never by OFFSET, so page
1,000 costs what page 1 costs. Counts stop at a bound and show "10,000+".
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

COUNT_BOUND = 10_000


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.prev_cursor is not None


def _encode(values: list[Any], direction: str) -> str:
    raw = json.dumps({"v": values, "d": direction}, default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[list[Any], str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values, direction = data["v"], data["d"]
        if direction not in ("n", "p") or not isinstance(values, list):
            raise ValueError
        return values, direction
    except Exception:
        raise ValidationError({"cursor": _("Invalid cursor.")}) from None


def _nullable(model, name: str) -> bool:
    return model._meta.get_field(name).null


def _ordering(order: list[str], model) -> list[Any]:
    """order_by() terms. A nullable key sorts its nulls last ascending and first descending (PostgreSQL's
    default, which its b-tree indexes serve; SQLite is told explicitly), so flipping the order for the
    previous page is the exact reverse."""
    terms: list[Any] = []
    for spec in order:
        name = spec.lstrip("-")
        if not _nullable(model, name):
            terms.append(spec)
        elif spec.startswith("-"):
            terms.append(F(name).desc(nulls_first=True))
        else:
            terms.append(F(name).asc(nulls_last=True))
    return terms


def _after(order: list[str], values: list[Any], model) -> Q:
    """Rows strictly after `values` in `order` (a "-" prefix sorts descending; nulls as in _ordering).

    Written as `first >= v0 AND (first > v0 OR (first = v0 AND second > v1) ...)` so that the
    database can range-scan the index on the leading column.
    """
    keys = []
    for spec, raw in zip(order, values, strict=True):
        name = spec.lstrip("-")
        try:
            value = model._meta.get_field(name).to_python(raw)
        except (ValidationError, TypeError, ValueError):  # a tampered cursor: a list, a number for a date...
            raise ValidationError({"cursor": _("Invalid cursor.")}) from None
        if value is None and not _nullable(model, name):
            raise ValidationError({"cursor": _("Invalid cursor.")})
        keys.append((name, "lt" if spec.startswith("-") else "gt", value))

    def beyond(name: str, op: str, value: Any) -> Q:
        if value is None:  # ascending: nothing after the nulls; descending: every non-null comes after
            return Q(pk__in=[]) if op == "gt" else Q(**{f"{name}__isnull": False})
        step = Q(**{f"{name}__{op}": value})
        return step | Q(**{f"{name}__isnull": True}) if op == "gt" and _nullable(model, name) else step

    def same(name: str, value: Any) -> Q:
        return Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})

    tail = Q(pk__in=[])
    for i, (name, op, value) in enumerate(keys):
        step = beyond(name, op, value)
        for prev_name, _op, prev_value in keys[:i]:
            step &= same(prev_name, prev_value)
        tail |= step
    first_name, first_op, first_value = keys[0]
    if first_value is None:
        return (Q(**{f"{first_name}__isnull": True}) if first_op == "gt" else Q()) & tail
    lead = Q(**{f"{first_name}__{first_op}e": first_value})
    if first_op == "gt" and _nullable(model, first_name):
        lead |= Q(**{f"{first_name}__isnull": True})
    return lead & tail


def _key(obj, order: list[str]) -> list[Any]:
    values = []
    for name in order:
        value = getattr(obj, obj._meta.get_field(name.lstrip("-")).attname)
        values.append(value.isoformat() if hasattr(value, "isoformat") else value)
    return values


def _flip(order: list[str]) -> list[str]:
    return [o[1:] if o.startswith("-") else f"-{o}" for o in order]


def keyset_page(qs: QuerySet, *, order: list[str], cursor: str | None = None, page_size: int = 50) -> Page:
    """One page of `qs` sorted by `order` (which must end in a unique field, e.g. "id")."""
    model = qs.model
    if cursor:
        values, direction = _decode(cursor)
        if len(values) != len(order):
            raise ValidationError({"cursor": _("Invalid cursor.")})
        if direction == "n":
            rows = list(qs.filter(_after(order, values, model)).order_by(*_ordering(order, model))[: page_size + 1])
            has_more = len(rows) > page_size
            rows = rows[:page_size]
            next_c = _encode(_key(rows[-1], order), "n") if has_more and rows else None
            prev_c = _encode(_key(rows[0], order), "p") if rows else None
            return Page(rows, next_c, prev_c, page_size)
        flipped = _flip(order)
        rows = list(qs.filter(_after(flipped, values, model)).order_by(*_ordering(flipped, model))[: page_size + 1])
        has_more = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        prev_c = _encode(_key(rows[0], order), "p") if has_more and rows else None
        next_c = _encode(_key(rows[-1], order), "n") if rows else None
        return Page(rows, next_c, prev_c, page_size)
    rows = list(qs.order_by(*_ordering(order, model))[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, _encode(_key(rows[-1], order), "n") if has_more else None, None, page_size)


def bounded_count(qs: QuerySet, bound: int = COUNT_BOUND) -> tuple[int, bool]:
    """(count, capped): counts at most `bound` rows, so a count over millions costs what 10,000 cost."""
    n = qs.order_by().values("pk")[: bound + 1].count()
    return (bound, True) if n > bound else (n, False)
