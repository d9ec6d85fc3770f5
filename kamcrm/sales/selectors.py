"""Reads of opportunities and the funnel, always through org.selectors.visible.

The funnel (K3) per stage: count, amount, weighted amount (amount × probability), the conversion
from each open stage to the next (of the opportunities that reached a stage, the share that reached
the next one or won), and the average days spent in the stage (completed stays). "As of" a past date
it is rebuilt from the stage history: each opportunity's last entry up to that date, with the amount,
probability, owner and unit recorded then.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext

from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.choices import Role
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import VIEW, get_visible_or_404, is_administrator, reach, reach_q, visible
from kamcrm.sales.choices import StageKind
from kamcrm.sales.filtersets import OpportunityFilterSet
from kamcrm.sales.models import (
    FunnelAlert,
    FunnelRollup,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    Stage,
)
from kamcrm.sales.rollup import MEASURES as ROLLUP_MEASURES

ZERO = Decimal("0")
CENT = Decimal("0.01")
OPPORTUNITY_SORTS: dict[str, list[str]] = {
    "-updated": ["-updated_at", "-id"],
    "close": ["expected_close_date", "id"],
    "-amount": ["-amount", "-id"],
    "name": ["name", "id"],
}


def opportunity_queryset(user: User, *, listing: bool = False) -> QuerySet[Opportunity]:
    """What `user` may see; `listing` for a page read along a sort index (org.selectors.visible)."""
    return visible(Opportunity.objects.all(), user, VIEW, listing=listing)


def opportunity_filtered(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Opportunity]:
    """What `user` may see, narrowed by the list's filters (ValidationError names a bad filter)."""
    fs = OpportunityFilterSet(data=filters or {}, queryset=opportunity_queryset(user, listing=True))
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def opportunity_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "-updated",
                     cursor: str | None = None, page_size: int = 50) -> Page:
    order = OPPORTUNITY_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(OPPORTUNITY_SORTS)}]})
    qs = opportunity_filtered(user=user, filters=filters).select_related("account", "owner", "stage")
    return keyset_page(qs, order=order, cursor=cursor, page_size=page_size)


def opportunity_get(*, user: User, pk: int) -> Opportunity:
    return get_visible_or_404(Opportunity.objects.select_related("account", "owner", "owner_unit", "stage"), user,
                              VIEW, pk=pk)


def opportunity_history(*, opportunity: Opportunity) -> list[OpportunityStageChange]:
    return list(opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by")
                .order_by("-changed_at", "-id")[:200])


@dataclass
class FunnelRow:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    reached: int = 0  # opportunities that got at least this far (open stages and won)
    conversion: float | None = None  # reached(next) / reached(this), for open stages
    avg_days: float | None = None  # average completed stay in this stage


@dataclass
class Funnel:
    rows: list[FunnelRow] = field(default_factory=list)
    as_of: dt.date | None = None

    @property
    def open_rows(self) -> list[FunnelRow]:
        return [r for r in self.rows if r.stage.kind == StageKind.OPEN]

    def total(self, kind: str) -> FunnelRow:
        out = FunnelRow(stage=None)  # type: ignore[arg-type]
        for row in self.rows:
            if row.stage.kind == kind:
                out.count += row.count
                out.amount += row.amount
                out.weighted += row.weighted
        return out


def _unit_ids(unit: OrgUnit) -> list[int]:
    # The subtree's unit ids as values (one small query): the planners then estimate the unit's share
    # from their statistics and use the owning-unit indexes (a subquery or a join on the path led
    # SQLite to scan every opportunity).
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))


def _scope(qs: QuerySet, *, opportunity_ref: str, unit: OrgUnit | None, owner: User | None, line_id: int | None,
           close_from: dt.date | None, close_to: dt.date | None) -> QuerySet:
    """The funnel's filters, on opportunities or on history rows (which carry the owner, unit and
    expected close date as they were then, under the same names)."""
    if unit is not None:
        qs = qs.filter(owner_unit_id__in=_unit_ids(unit))
    if owner is not None:
        qs = qs.filter(owner_id=owner.pk)
    if line_id is not None:
        qs = qs.filter(Exists(OpportunityLine.objects.filter(opportunity_id=OuterRef(opportunity_ref),
                                                             product__line_id=line_id)))
    if close_from is not None:
        qs = qs.filter(expected_close_date__gte=close_from)
    if close_to is not None:
        qs = qs.filter(expected_close_date__lte=close_to)
    return qs


def _cents() -> Cast:
    """amount in whole cents as a 64-bit integer: sums of it are exact on every database (SQLite keeps
    decimals as REAL or INTEGER, so SUM(amount) there is a float sum and amount × probability / 100 an
    integer division when the product is whole)."""
    return Cast(Round(F("amount") * 100), output_field=BigIntegerField())


# Per stage, the additive sums a funnel is made of: n, cents, Σ cents × probability, reached (opportunities
# whose furthest open-or-won stage is at least this far), completed stays' seconds and count. Sums over
# disjoint sets of opportunities add up, so the roll-up and a live read can be combined.
RAW = ("n", "cents", "weighted", "reached", "stay_seconds", "stays")


def funnel(*, user: User, unit: OrgUnit | None = None, owner: User | None = None, line_id: int | None = None,
           close_from: dt.date | None = None, close_to: dt.date | None = None,
           as_of: dt.date | None = None, source: str = "auto") -> Funnel:
    """The funnel of what `user` may see, narrowed by unit subtree, owner, product line and expected
    close date; `as_of` rebuilds it from the stage history at the end of that day.

    The current funnel narrowed at most by unit and owner is read from the roll-up (sales.rollup: tens
    of thousands of rows whatever the number of opportunities), plus a live read of what the user sees
    only through an account team or as a collaborator. Anything narrower or in the past is read live from the
    opportunities and their history, in three or four queries. `source="live"` forces the live read
    (tests compare the two)."""
    stages = list(Stage.objects.order_by("order", "id"))
    from_rollup = (source == "auto" and as_of is None and line_id is None and close_from is None
                   and close_to is None)
    if from_rollup:
        raw = _rollup_raw(stages, user=user, unit=unit, owner=owner)
    else:
        raw = _live_raw(stages, user=user, unit=unit, owner=owner, line_id=line_id, close_from=close_from,
                        close_to=close_to, as_of=as_of)
    return _funnel_from_raw(stages, raw, as_of=as_of)


def _funnel_from_raw(stages: list[Stage], raw: dict[int, dict[str, int]], *, as_of: dt.date | None) -> Funnel:
    by_id = {s.pk: FunnelRow(stage=s) for s in stages}
    for stage in stages:
        sums, row = raw.get(stage.pk), by_id[stage.pk]
        if not sums:
            continue
        row.count, row.reached = sums["n"], sums["reached"]
        row.amount = (Decimal(sums["cents"]) / 100).quantize(CENT)
        row.weighted = (Decimal(sums["weighted"]) / 10000).quantize(CENT)
        if sums["stays"]:
            row.avg_days = round(float(Decimal(sums["stay_seconds"]) / sums["stays"]) / 86400, 1)
    progress = [s for s in stages if s.kind in (StageKind.OPEN, StageKind.WON)]
    for stage in progress:
        later = [s for s in progress if s.order > stage.order]
        row = by_id[stage.pk]
        if stage.kind == StageKind.OPEN and later and row.reached:
            row.conversion = round(by_id[later[0].pk].reached / row.reached, 4)
    return Funnel(rows=[by_id[s.pk] for s in stages if s.is_active or by_id[s.pk].count], as_of=as_of)


def _empty_raw(stages: list[Stage]) -> dict[int, dict[str, int]]:
    return {s.pk: dict.fromkeys(RAW, 0) for s in stages}


def _rollup_raw(stages: list[Stage], *, user: User, unit: OrgUnit | None, owner: User | None
                ) -> dict[int, dict[str, int]]:
    """The roll-up rows the user's reach covers (account_q's tests on the account's owner, unit and
    region), summed per stage in one query; then, live, what the user sees beyond that (_beyond_reach)."""
    raw = _empty_raw(stages)
    r = reach(user, VIEW)
    if not r.everything and not r.owner_ids:
        return raw
    rows = FunnelRollup.objects.filter(reach_q(r, owner="account_owner_id", unit="account_unit_id",
                                               region="region_id"))
    unit_ids = _unit_ids(unit) if unit is not None else None
    if unit_ids is not None:
        rows = rows.filter(owner_unit_id__in=unit_ids)
    if owner is not None:
        rows = rows.filter(owner_id=owner.pk)
    furthest: dict[int, int] = {}
    for stage_id, *sums in (rows.values("stage_id").annotate(*(Sum(m) for m in ROLLUP_MEASURES)).order_by()
                            .values_list("stage_id", *(f"{m}__sum" for m in ROLLUP_MEASURES))):
        n, cents, weighted, top, seconds, stays = (int(v or 0) for v in sums)
        if stage_id in raw:
            raw[stage_id].update(n=n, cents=cents, weighted=weighted, stay_seconds=seconds, stays=stays)
            furthest[stage_id] = top
    progress = [s for s in stages if s.kind in (StageKind.OPEN, StageKind.WON)]
    for stage in progress:
        raw[stage.pk]["reached"] = sum(furthest.get(s.pk, 0) for s in progress if s.order >= stage.order)
    if not r.everything:
        beyond = _beyond_reach(user, r)
        if beyond is not None:
            extra = _live_raw(stages, user=user, unit=unit, owner=owner, line_id=None, close_from=None,
                              close_to=None, as_of=None, base=beyond)
            for pk, sums in extra.items():
                for name in RAW:
                    raw[pk][name] += sums[name]
    return raw


def _beyond_reach(user: User, r) -> QuerySet[Opportunity] | None:  # noqa: ANN001 - r: org.selectors.Reach
    """The opportunities `user` sees other than through their reach over the accounts (which the
    roll-up covers): those of accounts whose team they are on, and those they collaborate on. None when
    there are none (one query, each half by an index on the user; most people have neither)."""
    from kamcrm.customers.models import AccountTeamMember

    today = timezone.localdate()
    on_team = (AccountTeamMember.objects.filter(user_id=user.pk)
               .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today),
                       Q(valid_to__isnull=True) | Q(valid_to__gte=today)).values("account_id"))
    collaborating = Opportunity.collaborators.through.objects.filter(user_id=user.pk).values("opportunity_id")
    covered = reach_q(r, owner="account__owner_id", unit="account__owner_unit_id", region="account__region_id")
    by_team = Opportunity.objects.filter(account_id__in=on_team).exclude(covered).order_by().values("pk")
    by_collaboration = Opportunity.objects.filter(pk__in=collaborating).exclude(covered).order_by().values("pk")
    if not by_team.union(by_collaboration)[:1]:
        return None
    return Opportunity.objects.filter(Q(pk__in=by_team) | Q(pk__in=by_collaboration))


def _live_raw(stages: list[Stage], *, user: User, unit: OrgUnit | None, owner: User | None, line_id: int | None,
              close_from: dt.date | None, close_to: dt.date | None, as_of: dt.date | None,
              base: QuerySet | None = None) -> dict[int, dict[str, int]]:
    """The sums straight from the opportunities (now) or their history (`as_of`). Count and amount per
    stage and probability (the weighted amount is Σ probability × amount, exact in whole cents on every
    database); from the history, the reached counts and the stays (_history_raw). When the user sees
    everything and nothing narrows the funnel, the history is read without re-checking which
    opportunities it belongs to. `base` replaces the visible opportunities (the part beyond the roll-up)."""
    raw = _empty_raw(stages)
    opportunities = base if base is not None else visible(Opportunity.objects.all(), user, VIEW)
    narrowed = base is not None or any(x is not None for x in (unit, owner, line_id, close_from, close_to))
    everything = not narrowed and reach(user, VIEW).everything
    if as_of is None:
        scoped = _scope(opportunities, opportunity_ref="pk", unit=unit, owner=owner, line_id=line_id,
                        close_from=close_from, close_to=close_to)
        rows = scoped.values("stage_id", "probability").annotate(n=Count("*"), cents=Sum(_cents())).order_by()
        history = OpportunityStageChange.objects.all() if everything else \
            OpportunityStageChange.objects.filter(opportunity__in=scoped.values("pk"))
    else:
        end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
        # Each opportunity's last entry up to that moment: the state it was in then.
        last = (OpportunityStageChange.objects.filter(opportunity_id=OuterRef("opportunity_id"), changed_at__lt=end)
                .order_by("-changed_at", "-id").values("pk")[:1])
        entries = OpportunityStageChange.objects.filter(changed_at__lt=end, pk=Subquery(last))
        if not everything:
            entries = entries.filter(opportunity__in=opportunities.values("pk"))
        entries = _scope(entries, opportunity_ref="opportunity_id", unit=unit, owner=owner, line_id=line_id,
                         close_from=close_from, close_to=close_to)
        rows = (entries.values("probability", stage_id=F("to_stage_id"))
                .annotate(n=Count("*"), cents=Sum(_cents())).order_by())
        history = OpportunityStageChange.objects.filter(changed_at__lt=end)
        if not everything:
            history = history.filter(opportunity__in=entries.values("opportunity_id"))
    for row in rows:
        sums = raw.get(row["stage_id"])
        if sums is not None:
            cents = int(row["cents"] or 0)
            sums["n"] += row["n"]
            sums["cents"] += cents
            sums["weighted"] += cents * row["probability"]
    _history_raw(stages, raw, history, whole_table=everything)
    return raw


def _history_raw(stages: list[Stage], raw: dict[int, dict[str, int]], history: QuerySet, *,
                 whole_table: bool) -> None:
    """From the history rows given: reached(stage) = opportunities whose furthest open-or-won stage
    is at least that far (the furthest stage of each opportunity by a CASE over the stage ids, so no
    join; then one count per stage, in the database, one row back), and the completed stays per stage.

    Two query plans for the same figures. The whole table (a user who sees everything, nothing
    narrowing): two reads, each an index scan that PostgreSQL runs without the table. Otherwise one
    read that computes both per opportunity, so that the visibility test over the accounts (the bulk of
    the cost of a scoped funnel) runs once, not twice."""
    progress = [s for s in stages if s.kind in (StageKind.OPEN, StageKind.WON)]
    order_of = Case(*[When(to_stage_id=s.pk, then=Value(s.order)) for s in progress], output_field=IntegerField())
    reached = {f"r{s.pk}": Count("opportunity_id", filter=Q(top__gte=s.order)) for s in progress}
    if whole_table:
        figures = (history.filter(to_stage_id__in=[s.pk for s in progress]).values("opportunity_id")
                   .annotate(top=Max(order_of)).order_by().aggregate(**reached)) if progress else {}
        for row in (history.filter(seconds_in_stage__isnull=False).values("to_stage_id")
                    .annotate(seconds=Sum("seconds_in_stage"), n=Count("seconds_in_stage")).order_by()):
            figures[f"s{row['to_stage_id']}"], figures[f"n{row['to_stage_id']}"] = row["seconds"], row["n"]
    else:
        stays = {f"s{s.pk}": Sum("seconds_in_stage", filter=Q(to_stage_id=s.pk)) for s in stages}
        stays |= {f"n{s.pk}": Count("seconds_in_stage", filter=Q(to_stage_id=s.pk)) for s in stages}
        per_opportunity = history.values("opportunity_id").annotate(top=Max(order_of), **stays).order_by()
        figures = per_opportunity.aggregate(**reached, **{f"{key}_total": Sum(key) for key in stays})
        figures = {key.removesuffix("_total"): value for key, value in figures.items()}
    for stage in stages:
        sums = raw[stage.pk]
        sums["reached"] += int(figures.get(f"r{stage.pk}") or 0)
        sums["stay_seconds"] += int(figures.get(f"s{stage.pk}") or 0)
        sums["stays"] += int(figures.get(f"n{stage.pk}") or 0)


# ---- reads for the sales UI (board, detail, account 360 card) ----------------------------------

def stage_choices(*, active_only: bool = True) -> list[Stage]:
    """The stage path in order: open stages, then won, then lost (one query)."""
    qs = Stage.objects.order_by("order", "id")
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs)


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def opportunity_board(*, user: User, filters: dict[str, Any] | None = None, per_column: int = 20) -> list[BoardColumn]:
    """One column per active stage (open stages in order, then won and lost) with the count and amount
    of the filtered opportunities in it and the `per_column` most recently updated cards. Three
    queries whatever the number of opportunities: stages, totals per stage, the cards (a window)."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    stages = stage_choices()
    columns = {s.pk: BoardColumn(stage=s) for s in stages}
    qs = opportunity_filtered(user=user, filters=filters)
    for row in qs.order_by().values("stage_id").annotate(n=Count("id"), total=Coalesce(Sum("amount"), ZERO)):
        column = columns.get(row["stage_id"])
        if column is not None:
            column.count, column.amount = row["n"], Decimal(row["total"])
    ranked = (qs.filter(stage_id__in=list(columns))
              .annotate(rank=Window(RowNumber(), partition_by=[F("stage_id")],
                                    order_by=[F("updated_at").desc(), F("id").desc()]))
              .filter(rank__lte=per_column)
              .select_related("account", "owner")
              .order_by("stage_id", "-updated_at", "-id"))
    for opportunity in ranked:
        columns[opportunity.stage_id].cards.append(opportunity)
    for column in columns.values():
        for card in column.cards:
            card.stage = column.stage  # the column's stage row: no query per card
    kind_rank = {StageKind.OPEN: 0, StageKind.WON: 1, StageKind.LOST: 2}
    return sorted(columns.values(), key=lambda c: (kind_rank.get(c.stage.kind, 3), c.stage.order, c.stage.pk))


def opportunity_lines(*, opportunity: Opportunity) -> list[OpportunityLine]:
    return list(opportunity.lines.select_related("product", "product__line").order_by("id"))


def opportunity_contacts(*, opportunity: Opportunity, limit: int = 100) -> list:
    return list(opportunity.contacts.order_by("name", "id")[:limit])


def opportunity_collaborators(*, opportunity: Opportunity, limit: int = 100) -> list[User]:
    return list(opportunity.collaborators.select_related("unit").order_by("username", "id")[:limit])


@dataclass
class AccountOpportunities:
    items: list[Opportunity]
    count: int
    capped: bool
    open_amount: Decimal
    open_weighted: Decimal


def account_opportunities(*, user: User, account_id: int, limit: int = 10) -> AccountOpportunities:
    """The account 360's card: the most recently updated opportunities of the account that `user` may
    see, how many there are (bounded) and the open pipeline's amount and weighted amount."""
    from kamcrm.core.pagination import bounded_count

    qs = opportunity_queryset(user).filter(account_id=account_id)
    items = list(qs.select_related("stage", "owner").order_by("-updated_at", "-id")[:limit])
    count, capped = bounded_count(qs)
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100,
                                 output_field=DecimalField(max_digits=20, decimal_places=4))
    totals = qs.filter(stage__kind=StageKind.OPEN).aggregate(total=Coalesce(Sum("amount"), ZERO),
                                                             wsum=Coalesce(Sum(weighted), ZERO))
    return AccountOpportunities(items=items, count=count, capped=capped, open_amount=Decimal(totals["total"]),
                                open_weighted=Decimal(totals["wsum"]).quantize(Decimal("0.01")))


def alert_queryset(user: User) -> QuerySet[FunnelAlert]:
    """Alerts a person may read: administrators, executives and business management all; others those
    whose task they hold, and those about a unit that overlaps a subtree they see by role or head
    (a unit inside it, or one above it whose pipeline includes theirs, or the whole company)."""
    qs = FunnelAlert.objects.select_related("rule", "rule__unit", "task", "task__assignee")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_administrator(user) or user.role in (Role.EXECUTIVE, Role.BUSINESS_MANAGEMENT):
        return qs
    paths = reach(user, VIEW).unit_paths
    covered = Q(task__assignee=user)
    if paths:
        covered |= Q(rule__unit__isnull=True)
    for path in paths:
        ancestors = [path[: i + 1] for i, ch in enumerate(path) if ch == "."]
        covered |= Q(rule__unit__path__startswith=path) | Q(rule__unit__path__in=ancestors)
    return qs.filter(covered)
