"""Reads of receivables, always through org.selectors.visible: the invoice and payment lists (keyset
pages), one invoice with its allocations, promises and collection activities, balances per account
and per group customer, aging as of any date, days sales outstanding and paid-late statistics.

Money is summed in whole cents (queries.cents), so totals are exact on SQLite and PostgreSQL.
Definitions:
- balance of an invoice: total (with tax) − allocated payments; of an account: the sum over its open
  and partly paid invoices; advances: the unallocated part of its payments; net = balance − advances;
- overdue: unpaid after the due date; days past due on D = D − due date;
- aging as of D: the invoices open at the end of D (issued by D, not fully paid by payments received
  up to D) by their balance then, in the buckets of choices.AGING_BUCKETS by days past due on D;
- DSO as of D over N days (default 90) = receivables open at the end of D ÷ invoiced (total with tax,
  not void) in the N days up to D (D − N, D] × N;
- paid late: a settled invoice whose settled-on date (the day payments made it fully paid) is after
  its due date; days late = max(0, settled on − due date); days to settle = settled on − invoice date.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from kamcrm.core.pagination import Page, bounded_count, keyset_page
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import VIEW, get_visible_or_404, visible
from kamcrm.receivables.choices import AGING_BUCKETS, InvoiceStatus
from kamcrm.receivables.filtersets import OPEN, InvoiceFilterSet, PaymentFilterSet, group_member_ids
from kamcrm.receivables.models import (
    CollectionActivity,
    CollectionPromise,
    Invoice,
    Payment,
    PaymentAllocation,
)
from kamcrm.receivables.queries import DaysBetween, bucket_case, cents, open_on

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
INVOICE_SORTS: dict[str, list[str]] = {
    "-date": ["-invoice_date", "-id"],
    "due": ["due_date", "id"],
    "number": ["number", "id"],
}
PAYMENT_SORTS: dict[str, list[str]] = {"-date": ["-received_on", "-id"]}
# Filters that narrow whom a report covers (the rest of the invoice list's filters describe invoices).
SCOPE_FILTERS = ("account", "group", "owner", "owner_unit", "disputed")


def money(value_cents: Any) -> Decimal:
    return (Decimal(int(value_cents or 0)) / 100).quantize(CENT)


def _ratio(numerator: int | Decimal, denominator: int, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _bad_filters(errors: dict) -> ValidationError:
    return ValidationError({k: [str(m) for m in v] for k, v in errors.items()})


def _sort(sorts: dict[str, list[str]], sort: str) -> list[str]:
    order = sorts.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                        % {"sort": sort, "choices": ", ".join(sorts)}]})
    return order


# --- invoices and payments -----------------------------------------------------------------------


def invoice_queryset(user: User, action: str = VIEW) -> QuerySet[Invoice]:
    return visible(Invoice.objects.all(), user, action)


def invoice_filtered(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Invoice]:
    """What `user` may see, narrowed by the list's filters (ValidationError names a bad filter)."""
    fs = InvoiceFilterSet(data=filters or {}, queryset=invoice_queryset(user))
    if not fs.is_valid():
        raise _bad_filters(fs.errors)
    return fs.qs


def invoice_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "-date",
                 cursor: str | None = None, page_size: int = 50) -> Page:
    order = _sort(INVOICE_SORTS, sort)
    qs = invoice_filtered(user=user, filters=filters).select_related("account", "account__owner")
    return keyset_page(qs, order=order, cursor=cursor, page_size=page_size)


def invoice_get(*, user: User, pk: int, action: str = VIEW) -> Invoice:
    return get_visible_or_404(Invoice.objects.select_related("account", "account__owner", "account__owner_unit",
                                                             "agreement", "product_line"), user, action, pk=pk)


def invoice_allocations(*, invoice: Invoice) -> list[PaymentAllocation]:
    return list(invoice.allocations.select_related("payment").order_by("payment__received_on", "id"))


def invoice_promises(*, invoice: Invoice, limit: int = 100) -> list[CollectionPromise]:
    return list(invoice.promises.select_related("by").order_by("-promised_on", "-id")[:limit])


def invoice_activities(*, invoice: Invoice, limit: int = 100) -> list[CollectionActivity]:
    return list(invoice.collection_activities.select_related("by").order_by("-occurred_at", "-id")[:limit])


def payment_queryset(user: User, action: str = VIEW) -> QuerySet[Payment]:
    return visible(Payment.objects.all(), user, action)


def payment_filtered(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Payment]:
    fs = PaymentFilterSet(data=filters or {}, queryset=payment_queryset(user))
    if not fs.is_valid():
        raise _bad_filters(fs.errors)
    return fs.qs


def payment_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "-date",
                 cursor: str | None = None, page_size: int = 50) -> Page:
    order = _sort(PAYMENT_SORTS, sort)
    qs = payment_filtered(user=user, filters=filters).select_related("account")
    return keyset_page(qs, order=order, cursor=cursor, page_size=page_size)


def payment_get(*, user: User, pk: int) -> Payment:
    return get_visible_or_404(Payment.objects.select_related("account"), user, VIEW, pk=pk)


def payment_allocations(*, payment: Payment) -> list[PaymentAllocation]:
    return list(payment.allocations.select_related("invoice").order_by("invoice__due_date", "id"))


def account_advances(*, user: User, account_id: int, limit: int = 20) -> list[Payment]:
    """The account's payments with an unallocated part (advances), oldest first."""
    return list(payment_queryset(user).filter(account_id=account_id, allocated__lt=F("amount"))
                .order_by("received_on", "id")[:limit])


def _pk(name: str, value: Any) -> int:
    try:
        return int(getattr(value, "pk", value))
    except (TypeError, ValueError):
        raise ValidationError({name: [gettext("Select a valid choice.")]}) from None


def _scope(*, user: User, filters: dict[str, Any] | None) -> QuerySet[Invoice]:
    """The invoices a report covers: visible, narrowed by the scope filters only (account, group,
    owner, owning unit subtree, disputed). Values are ids or the records themselves (no query then)."""
    from kamcrm.receivables.filtersets import unit_subtree

    qs = invoice_queryset(user)
    for name, value in (filters or {}).items():
        if name not in SCOPE_FILTERS or value in (None, ""):
            continue
        if name == "account":
            qs = qs.filter(account_id=_pk(name, value))
        elif name == "group":
            qs = qs.filter(account_id__in=group_member_ids(_pk(name, value)))
        elif name == "owner":
            qs = qs.filter(account__owner_id=_pk(name, value))
        elif name == "owner_unit":
            unit = value if isinstance(value, OrgUnit) else OrgUnit.objects.filter(pk=_pk(name, value)).first()
            qs = qs.filter(account__owner_unit_id__in=unit_subtree(unit)) if unit is not None else qs.none()
        else:  # disputed
            word = str(value).strip().lower()
            if word not in ("true", "false", "1", "0", "yes", "no"):
                raise ValidationError({name: [gettext("Enter true or false.")]})
            qs = qs.filter(disputed=word in ("true", "1", "yes"))
    return qs


# --- balances ------------------------------------------------------------------------------------


@dataclass
class Balance:
    open: Decimal = ZERO
    overdue: Decimal = ZERO
    advances: Decimal = ZERO
    open_count: int = 0
    overdue_count: int = 0

    @property
    def net(self) -> Decimal:
        return self.open - self.advances

    def add(self, other: Balance) -> None:
        self.open += other.open
        self.overdue += other.overdue
        self.advances += other.advances
        self.open_count += other.open_count
        self.overdue_count += other.overdue_count


def balances(*, user: User, account_ids: list[int] | set[int], today: dt.date | None = None) -> dict[int, Balance]:
    """Balance, overdue part and advances per account (two queries), of what `user` may see."""
    today = today or timezone.localdate()
    ids = list(account_ids)
    out: dict[int, Balance] = {pk: Balance() for pk in ids}
    if not ids:
        return out
    late = Q(due_date__lt=today)
    rows = (invoice_queryset(user).filter(account_id__in=ids, status__in=OPEN)
            .annotate(left=cents("total") - cents("paid_amount")).values("account_id")
            .annotate(c=Sum("left"), n=Count("id"), oc=Sum("left", filter=late), on=Count("id", filter=late))
            .order_by())
    for row in rows:
        b = out[row["account_id"]]
        b.open, b.open_count, b.overdue, b.overdue_count = money(row["c"]), row["n"], money(row["oc"]), row["on"]
    for row in (payment_queryset(user).filter(account_id__in=ids, allocated__lt=F("amount"))
                .annotate(left=cents("amount") - cents("allocated")).values("account_id")
                .annotate(c=Sum("left")).order_by()):
        out[row["account_id"]].advances = money(row["c"])
    return out


@dataclass
class GroupBalance:
    account: Account
    own: Balance
    total: Balance  # the account and its visible subsidiaries at every level
    members: int  # visible subsidiaries counted


def group_balance(*, user: User, account: Account, today: dt.date | None = None) -> GroupBalance:
    """A group customer's balance: its own and with its subsidiaries (those `user` may see)."""
    ids = group_member_ids(account.pk)
    seen = set(visible(Account.objects.filter(pk__in=ids), user).values_list("pk", flat=True)) | {account.pk}
    per = balances(user=user, account_ids=seen, today=today)
    total = Balance()
    for b in per.values():
        total.add(b)
    return GroupBalance(account=account, own=per[account.pk], total=total, members=len(seen) - 1)


@dataclass
class BalanceRow:
    account: Account
    balance: Balance
    members: int = 0


def _accounts_in_scope(*, user: User, filters: dict[str, Any] | None) -> QuerySet[Account]:
    """The accounts `user` may see, narrowed by `account`, `group`, `owner` and `owning unit`."""
    from kamcrm.customers.filtersets import AccountFilterSet

    filters = filters or {}
    fs = AccountFilterSet(data={k: filters[k] for k in ("owner", "owner_unit") if filters.get(k) not in (None, "")},
                          queryset=visible(Account.objects.all(), user))
    if not fs.is_valid():
        raise _bad_filters(fs.errors)
    qs = fs.qs
    for name in ("account", "group"):
        value = filters.get(name)
        if value in (None, ""):
            continue
        try:
            pk = int(getattr(value, "pk", value))
        except (TypeError, ValueError):
            raise ValidationError({name: [gettext("Select a valid choice.")]}) from None
        qs = qs.filter(pk=pk) if name == "account" else qs.filter(pk__in=group_member_ids(pk))
    return qs


def balances_by_account(*, user: User, filters: dict[str, Any] | None = None, limit: int = 50,
                        groups: bool = False, today: dt.date | None = None) -> list[BalanceRow]:
    """The accounts with the largest open balance (at most `limit`), narrowed by account, group, owner
    and owning unit. With `groups`, each account's balance is added to its highest group customer that
    `user` may see (itself when there is none), so a group's row includes its members."""
    today = today or timezone.localdate()
    scope = _accounts_in_scope(user=user, filters=filters).values("pk")
    late = Q(due_date__lt=today)
    rows = (invoice_queryset(user).filter(status__in=OPEN, account_id__in=scope)
            .annotate(left=cents("total") - cents("paid_amount")).values("account_id")
            .annotate(c=Sum("left"), n=Count("id"), oc=Sum("left", filter=late), on=Count("id", filter=late))
            .order_by("-c", "account_id"))
    if not groups:
        rows = rows[:limit]
    per: dict[int, Balance] = {}
    for row in rows:
        per[row["account_id"]] = Balance(open=money(row["c"]), open_count=row["n"], overdue=money(row["oc"]),
                                         overdue_count=row["on"])
    for row in (payment_queryset(user).filter(account_id__in=list(per), allocated__lt=F("amount"))
                .annotate(left=cents("amount") - cents("allocated")).values("account_id")
                .annotate(c=Sum("left")).order_by()):
        per[row["account_id"]].advances = money(row["c"])
    members: dict[int, int] = {}
    if groups:
        top = _top_visible_ancestors(user=user, ids=list(per))
        rolled: dict[int, Balance] = {}
        for pk, b in per.items():
            root = top.get(pk, pk)
            rolled.setdefault(root, Balance()).add(b)
            if root != pk:
                members[root] = members.get(root, 0) + 1
        per = rolled
    chosen = sorted(per, key=lambda pk: (-per[pk].open, pk))[:limit]
    accounts = Account.objects.in_bulk(chosen)
    return [BalanceRow(accounts[pk], per[pk], members.get(pk, 0)) for pk in chosen if pk in accounts]


def _top_visible_ancestors(*, user: User, ids: list[int], max_depth: int = 6) -> dict[int, int]:
    """account → its highest group customer that `user` may see (one query per level, one for visibility)."""
    parent: dict[int, int | None] = {}
    frontier = set(ids)
    for _level in range(max_depth + 1):
        frontier -= parent.keys()
        if not frontier:
            break
        rows = list(Account.objects.filter(pk__in=frontier).values_list("pk", "parent_id"))
        parent.update(rows)
        frontier = {p for _pk, p in rows if p is not None}
    seen = set(visible(Account.objects.filter(pk__in=list(parent)), user).values_list("pk", flat=True))
    out = {}
    for pk in ids:
        best, current, steps = pk, parent.get(pk), 0
        while current is not None and steps < max_depth:
            if current in seen:
                best = current
            current, steps = parent.get(current), steps + 1
        out[pk] = best
    return out


# --- aging ---------------------------------------------------------------------------------------


@dataclass
class Bucket:
    code: str
    label: Any
    count: int = 0
    amount: Decimal = ZERO


def _buckets() -> dict[str, Bucket]:
    return {code: Bucket(code, label) for code, label, _lo, _hi in AGING_BUCKETS}


@dataclass
class AgingRow:
    key: int | None
    label: str
    buckets: dict[str, Bucket] = field(default_factory=_buckets)
    obj: Any = None

    @property
    def total(self) -> Decimal:
        return sum((b.amount for b in self.buckets.values()), ZERO)

    @property
    def count(self) -> int:
        return sum(b.count for b in self.buckets.values())

    @property
    def overdue(self) -> Decimal:
        return sum((b.amount for code, b in self.buckets.items() if code != "current"), ZERO)

    @property
    def bucket_list(self) -> list[Bucket]:
        return list(self.buckets.values())


@dataclass
class Aging:
    as_of: dt.date
    totals: AgingRow
    rows: list[AgingRow] = field(default_factory=list)
    more: bool = False  # more accounts than the rows shown
    group_by: str | None = None


def aging(*, user: User, as_of: dt.date | None = None, filters: dict[str, Any] | None = None,
          group_by: str | None = None, limit: int = 50) -> Aging:
    """Receivables open at the end of `as_of` (today when None) by aging bucket, of what `user` may see,
    narrowed by the scope filters (account, group, owner, owning unit, disputed); with `group_by`
    "account" (the `limit` largest balances) or "unit" (owning unit), one row per group as well.
    Two or three queries whatever the number of invoices."""
    if group_by not in (None, "account", "unit"):
        raise ValidationError({"group_by": [gettext("Group by “account” or “unit”.")]})
    as_of = as_of or timezone.localdate()
    opened = open_on(_scope(user=user, filters=filters), as_of).annotate(bucket=bucket_case(as_of))
    totals = AgingRow(key=None, label=gettext("Total"))
    for row in opened.values("bucket").annotate(n=Count("id"), c=Sum("open_cents")).order_by():
        totals.buckets[row["bucket"]].count, totals.buckets[row["bucket"]].amount = row["n"], money(row["c"])
    result = Aging(as_of=as_of, totals=totals, group_by=group_by)
    if group_by == "account" and totals.count:
        top = list(opened.values("account_id").annotate(c=Sum("open_cents")).order_by("-c", "account_id")
                   .values_list("account_id", flat=True)[: limit + 1])
        result.more, top = len(top) > limit, top[:limit]
        accounts = Account.objects.only("id", "name", "short_name").in_bulk(top)
        rows = {pk: AgingRow(key=pk, label=accounts[pk].short_name or accounts[pk].name, obj=accounts[pk])
                for pk in top}
        for row in (opened.filter(account_id__in=top).values("account_id", "bucket")
                    .annotate(n=Count("id"), c=Sum("open_cents")).order_by()):
            bucket = rows[row["account_id"]].buckets[row["bucket"]]
            bucket.count, bucket.amount = row["n"], money(row["c"])
        result.rows = [rows[pk] for pk in top]
    elif group_by == "unit" and totals.count:
        rows: dict[int, AgingRow] = {}
        for row in (opened.values("account__owner_unit_id", "bucket").annotate(n=Count("id"), c=Sum("open_cents"))
                    .order_by()):
            unit_id = row["account__owner_unit_id"]
            target = rows.setdefault(unit_id, AgingRow(key=unit_id, label=""))
            target.buckets[row["bucket"]].count, target.buckets[row["bucket"]].amount = row["n"], money(row["c"])
        units = OrgUnit.objects.only("id", "name", "path").in_bulk(list(rows))
        for pk, row in rows.items():
            row.obj, row.label = units.get(pk), units[pk].name if pk in units else "—"
        result.rows = sorted(rows.values(), key=lambda r: (-r.total, r.label))
    return result


# --- days sales outstanding, paid late -------------------------------------------------------------


@dataclass
class DSO:
    as_of: dt.date
    days: int
    receivables: Decimal
    billed: Decimal
    value: Decimal | None  # receivables ÷ billed × days, to 0.1 day; None when nothing was billed


def dso(*, user: User, as_of: dt.date | None = None, days: int = 90, filters: dict[str, Any] | None = None) -> DSO:
    """Days sales outstanding as of `as_of`: receivables open at the end of that day ÷ invoiced (total
    with tax, void excluded) in the `days` days up to it, i.e. invoice dates in (as_of − days, as_of],
    × `days`. Two queries."""
    if days < 1:
        raise ValidationError({"days": [gettext("At least one day.")]})
    as_of = as_of or timezone.localdate()
    scope = _scope(user=user, filters=filters)
    receivable = open_on(scope, as_of).aggregate(c=Sum("open_cents"))["c"] or 0
    billed = (scope.exclude(status=InvoiceStatus.VOID)
              .filter(invoice_date__gt=as_of - dt.timedelta(days=days), invoice_date__lte=as_of)
              .aggregate(c=Sum(cents("total")))["c"] or 0)
    value = (Decimal(receivable) / Decimal(billed) * days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) \
        if billed else None
    return DSO(as_of=as_of, days=days, receivables=money(receivable), billed=money(billed), value=value)


@dataclass
class PaidLateGroup:
    count: int
    late: int
    avg_days_late: Decimal | None


@dataclass
class PaidLate:
    settled: int  # invoices settled (fully paid), in scope
    late: int  # of them, settled after the due date
    late_share: Decimal | None  # late ÷ settled, 4 places
    late_amount: Decimal  # their totals
    avg_days_late: Decimal | None  # over all settled invoices (on-time ones count 0), 4 places
    avg_days_late_when_late: Decimal | None  # over the late ones only
    max_days_late: int
    avg_days_to_settle: Decimal | None  # settled on − invoice date, over all settled
    disputed: PaidLateGroup
    undisputed: PaidLateGroup


def paid_late(*, user: User, filters: dict[str, Any] | None = None) -> PaidLate:
    """Paid-late statistics of the settled invoices `user` may see, narrowed by the invoice list's
    filters (e.g. an invoice date range, an account, an owning unit). One query."""
    qs = invoice_filtered(user=user, filters=filters).filter(status=InvoiceStatus.PAID, settled_on__isnull=False)
    is_late = Q(settled_on__gt=F("due_date"))
    days_late = Case(When(is_late, then=DaysBetween(F("settled_on"), F("due_date"))), default=Value(0))
    disputed = Q(disputed=True)
    r = qs.aggregate(
        n=Count("id"), late=Count("id", filter=is_late), late_c=Sum(cents("total"), filter=is_late),
        days=Sum(days_late), max=Max(days_late), settle=Sum(DaysBetween(F("settled_on"), F("invoice_date"))),
        d_n=Count("id", filter=disputed), d_late=Count("id", filter=disputed & is_late),
        d_days=Sum(days_late, filter=disputed),
        u_n=Count("id", filter=~disputed), u_late=Count("id", filter=~disputed & is_late),
        u_days=Sum(days_late, filter=~disputed),
    )
    n, late = r["n"] or 0, r["late"] or 0
    return PaidLate(
        settled=n, late=late, late_share=_ratio(late, n), late_amount=money(r["late_c"]),
        avg_days_late=_ratio(r["days"] or 0, n), avg_days_late_when_late=_ratio(r["days"] or 0, late),
        max_days_late=int(r["max"] or 0), avg_days_to_settle=_ratio(r["settle"] or 0, n),
        disputed=PaidLateGroup(r["d_n"] or 0, r["d_late"] or 0, _ratio(r["d_days"] or 0, r["d_n"] or 0)),
        undisputed=PaidLateGroup(r["u_n"] or 0, r["u_late"] or 0, _ratio(r["u_days"] or 0, r["u_n"] or 0)),
    )


# --- the account 360 card ------------------------------------------------------------------------


@dataclass
class AccountReceivables:
    balance: Balance
    group: GroupBalance | None
    aging: Aging
    open_invoices: list[Invoice]
    open_count: int
    open_capped: bool
    advances: list[Payment]


def account_receivables(*, user: User, account: Account, limit: int = 5,
                        has_subsidiaries: bool | None = None) -> AccountReceivables:
    """The account 360's card: balance, overdue, advances, aging today, the oldest-due open invoices
    (at most `limit`) and, for a group customer, the balance with its subsidiaries. A fixed number of
    queries whatever the number of invoices."""
    own = balances(user=user, account_ids=[account.pk])[account.pk]
    if has_subsidiaries is None:
        has_subsidiaries = Account.objects.filter(parent_id=account.pk).exists()
    group = group_balance(user=user, account=account) if has_subsidiaries else None
    open_qs = invoice_queryset(user).filter(account_id=account.pk, status__in=OPEN)
    items = list(open_qs.order_by("due_date", "id")[:limit])
    count, capped = bounded_count(open_qs)
    return AccountReceivables(balance=own, group=group, aging=aging(user=user, filters={"account": account.pk}),
                              open_invoices=items, open_count=count, open_capped=capped,
                              advances=account_advances(user=user, account_id=account.pk, limit=limit))
