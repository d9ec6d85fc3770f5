"""Reads of customers that the UI, the API and reports share. All go through org.selectors.visible."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.audit.timeline import kind_order
from kamcrm.core.pagination import COUNT_BOUND, Page, keyset_page
from kamcrm.customers import search
from kamcrm.customers.filtersets import AccountFilterSet, ContactFilterSet
from kamcrm.customers.models import Account, AccountTeamMember, Contact
from kamcrm.org.models import User
from kamcrm.org.selectors import VIEW, get_visible_or_404, visible

# The sorts a list offers; each is backed by an index that ends in id (see Account.Meta.indexes).
ACCOUNT_SORTS: dict[str, list[str]] = {
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
    "-updated": ["-updated_at", "-id"],
    "updated": ["updated_at", "id"],
}
CONTACT_SORTS: dict[str, list[str]] = {"name": ["name", "id"], "-name": ["-name", "-id"]}


def _filtered(filterset_class, qs: QuerySet, filters: dict[str, Any] | None) -> QuerySet:
    fs = filterset_class(data=filters or {}, queryset=qs)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def account_queryset(*, user: User, filters: dict[str, Any] | None = None, action: str = VIEW) -> QuerySet[Account]:
    qs = visible(Account.objects.select_related("owner", "region", "parent"), user, action)
    return _filtered(AccountFilterSet, qs, filters)


# What the account list shows, sorts by and links to. Loading whole rows of the account, its owner, region
# and group parent for 50 lines (four models of 20 columns each, every timestamp converted) was a
# quarter of the page's time at 100,000 accounts.
ACCOUNT_LIST_COLUMNS = ["name", "short_name", "tier", "industry", "status", "updated_at", "region_id", "owner_id",
                        "owner_unit_id", "parent_id", "region__name", "parent__name", "owner__username",
                        "owner__display_name", "owner__first_name", "owner__last_name"]


def account_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "name",
                 cursor: str | None = None, page_size: int = 50) -> Page:
    order = ACCOUNT_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(ACCOUNT_SORTS)}]})
    qs = account_queryset(user=user, filters=filters).only(*ACCOUNT_LIST_COLUMNS)
    return keyset_page(qs, order=order, cursor=cursor, page_size=page_size)


def account_get(*, user: User, pk: int, action: str = VIEW) -> Account:
    return get_visible_or_404(Account.objects.select_related("owner", "owner_unit", "region", "parent"), user, action, pk=pk)


def contact_queryset(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Contact]:
    qs = visible(Contact.objects.select_related("account"), user)
    return _filtered(ContactFilterSet, qs, filters)


def contact_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "name",
                 cursor: str | None = None, page_size: int = 50) -> Page:
    order = CONTACT_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(CONTACT_SORTS)}]})
    return keyset_page(contact_queryset(user=user, filters=filters), order=order, cursor=cursor, page_size=page_size)


@dataclass
class SearchResults:
    accounts: list[Account]
    contacts: list[Contact]


def _first_by_name(querysets: list[QuerySet], limit: int) -> list:
    """The first `limit` rows by (name, id) of the union of `querysets`: each alternative of a search
    is its own query, read along its own index and stopped at `limit` — one query with the
    alternatives OR-ed together makes the database fetch every row to test the other columns (3.5 s
    against 0.14 s for no match among 500,000 contacts on SQLite)."""
    found = {}
    for qs in querysets:
        for obj in qs.order_by("name", "id")[:limit]:
            found[obj.pk] = obj
    return sorted(found.values(), key=lambda o: (o.name, o.pk))[:limit]


def _search_accounts(user: User, q: str, limit: int) -> list[Account]:
    """The same rows as AccountFilterSet's `q` (name or short name contain it; a credit code starts with
    it from six characters), visible ones only. Names through the gram index (customers/search.py)."""
    base = account_queryset(user=user)
    return _first_by_name([base.filter(part) for part in search.account_parts(q)], limit)


def _search_contacts(user: User, q: str, limit: int) -> list[Contact]:
    """The same rows as ContactFilterSet's `q` (name contains it; mobile or e-mail starts with it)."""
    base = contact_queryset(user=user)
    return _first_by_name([base.filter(part) for part in search.contact_parts(q)], limit)


def global_search(*, user: User, q: str, limit: int = 10) -> SearchResults:
    """Accounts by name, short name or credit code; contacts by name, mobile or email. Visible rows only."""
    q = q.strip()
    if not q:
        return SearchResults([], [])
    return SearchResults(_search_accounts(user, q, limit), _search_contacts(user, q, limit))


@dataclass
class GroupRollup:
    subsidiaries: list[Account]  # the whole visible tree below, in depth-first order with .level set
    accounts: int
    contacts: int
    team_members: int
    by_tier: dict[str, int]


def group_rollup(*, user: User, account: Account, max_depth: int = 6) -> GroupRollup:
    """A group customer's visible subsidiaries at every level, in tree order, and their totals.

    The tree is walked on ids (one small indexed query per level), then visibility is applied once to
    all of it, so a subsidiary the user may not see neither shows nor counts, while visible accounts
    below it still do.
    """
    parent_of: dict[int, int] = {}
    frontier = [account.pk]
    for _ in range(max_depth):
        rows = list(Account.objects.filter(parent_id__in=frontier).values_list("pk", "parent_id"))
        if not rows:
            break
        parent_of.update(rows)
        frontier = [pk for pk, _parent in rows]
    shown = {a.pk: a for a in visible(Account.objects.filter(pk__in=list(parent_of)), user)
             .select_related("owner", "region").order_by("name", "id")}
    children: dict[int, list[int]] = {}
    for pk in sorted(parent_of, key=lambda pk: (shown[pk].name, pk) if pk in shown else ("", pk)):
        children.setdefault(parent_of[pk], []).append(pk)
    ordered: list[Account] = []

    def walk(pk: int, depth: int) -> None:
        for child in children.get(pk, []):
            if child in shown:
                shown[child].level = depth
                ordered.append(shown[child])
            walk(child, depth + 1)

    walk(account.pk, 1)
    ids = [account.pk, *(a.pk for a in ordered)]
    contacts = Contact.objects.filter(account_id__in=ids).count()
    team = AccountTeamMember.objects.filter(account_id__in=ids).values("user_id").distinct().count()
    by_tier: dict[str, int] = {}
    for a in [account, *ordered]:
        by_tier[a.tier] = by_tier.get(a.tier, 0) + 1
    return GroupRollup(ordered, len(ids), contacts, team, by_tier)


def account_ancestors(*, account: Account, user: User | None = None, max_depth: int = 10) -> list[Account]:
    """The group customers above `account`, top first; with `user`, only those they may see."""
    chain: list[int] = []
    parent_id = account.parent_id
    while parent_id is not None and len(chain) < max_depth and parent_id not in chain:
        chain.append(parent_id)
        parent_id = Account.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    qs = Account.objects.filter(pk__in=chain)
    if user is not None:
        qs = visible(qs, user)
    found = {a.pk: a for a in qs}
    return [found[pk] for pk in reversed(chain) if pk in found]


def account_team(*, account: Account) -> list[AccountTeamMember]:
    return list(AccountTeamMember.objects.filter(account=account).select_related("user", "user__unit"))


def account_timeline(*, account: Account, kinds: list[str] | None = None, cursor: str | None = None,
                     page_size: int = 20) -> Page:
    """One indexed query per page, whatever the timeline's length."""
    qs = TimelineEvent.objects.filter(account=account).select_related("actor")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return keyset_page(qs, order=["-occurred_at", "-id"], cursor=cursor, page_size=page_size)


def record_history(*, model, pk: int, cursor: str | None = None, page_size: int = 20) -> Page:
    from django.contrib.contenttypes.models import ContentType

    qs = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id=pk)
    return keyset_page(qs.select_related("actor"), order=["-id"], cursor=cursor, page_size=page_size)


def timeline_kind_counts(*, account: Account, bound: int = COUNT_BOUND) -> dict[str, tuple[int, bool]]:
    """{kind: (count, capped)} for the kinds the account has, each registered kind counted up to `bound`
    along the (account, kind, …) index, in one query. A GROUP BY reads every event: 22 ms for the
    skewed account's 200,000 at S=1, which made its 360 page more than twice a normal one's."""
    kinds = kind_order()
    table = TimelineEvent._meta.db_table
    probes = ", ".join(f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE account_id = %s AND kind = %s "
                       f"LIMIT {bound + 1}) k{i})" for i in range(len(kinds)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {probes}", [v for kind in kinds for v in (account.pk, kind)])
        counts = cursor.fetchone()
    return {kind: (min(n, bound), n > bound) for kind, n in zip(kinds, counts, strict=True) if n}


# ---- reads for the UI shell and the account 360 page ---------------------------------------------


@dataclass
class TierCount:
    tier: str
    label: str
    count: int
    capped: bool


@dataclass
class Dashboard:
    by_tier: list[TierCount]
    total: int
    total_capped: bool
    my_accounts: list[Account]
    my_count: int
    my_capped: bool
    recent: list[TimelineEvent]


def account_dashboard(*, user: User, mine_limit: int = 10, recent_limit: int = 10, recent_days: int = 30) -> Dashboard:
    """The home page's numbers: bounded counts by tier, the user's own accounts and recent timeline
    events on visible accounts. A fixed number of queries, whatever the data's size."""
    import datetime as dt

    from django.utils import timezone

    from kamcrm.core.pagination import bounded_count
    from kamcrm.customers.choices import Tier

    base = visible(Account.objects.all(), user)
    by_tier = [TierCount(value, str(label), *bounded_count(base.filter(tier=value))) for value, label in Tier.choices]
    total, total_capped = bounded_count(base)
    mine = base.filter(owner=user)
    my_accounts = list(mine.select_related("region").order_by("name", "id")[:mine_limit])
    my_count, my_capped = bounded_count(mine)
    since = timezone.now() - dt.timedelta(days=recent_days)
    recent = list(
        TimelineEvent.objects.filter(account_id__in=base.values("pk"), occurred_at__gte=since)
        .select_related("account", "actor").order_by("-occurred_at", "-id")[:recent_limit]
    )
    return Dashboard(by_tier, total, total_capped, my_accounts, my_count, my_capped, recent)


def account_contacts(*, account: Account, limit: int = 20) -> tuple[list[Contact], int, bool]:
    """The first `limit` contacts of an account the caller already holds (visible), and a bounded count."""
    from kamcrm.core.pagination import bounded_count

    qs = Contact.objects.filter(account=account)
    return list(qs.order_by("-is_primary", "name", "id")[:limit]), *bounded_count(qs)


def account_has_subsidiaries(*, account: Account) -> bool:
    return Account.objects.filter(parent_id=account.pk).exists()


def account_history(*, account: Account, cursor: str | None = None, page_size: int = 20) -> Page:
    """The audit entries of an account and of every record hanging off it (contacts, team, interactions)."""
    qs = ObjectChange.objects.filter(account_id=account.pk).select_related("actor", "content_type")
    return keyset_page(qs, order=["-id"], cursor=cursor, page_size=page_size)


def contact_get(*, user: User, pk: int, action: str = VIEW) -> Contact:
    """A contact is visible (editable) exactly when its account is."""
    return get_visible_or_404(Contact.objects.select_related("account", "account__owner"), user, action, pk=pk)


def team_member_get(*, user: User, pk: int, action: str = VIEW) -> AccountTeamMember:
    return get_visible_or_404(AccountTeamMember.objects.select_related("account", "user"), user, action, pk=pk)


def account_lookup(*, user: User, q: str, limit: int = 20) -> list[Account]:
    """Visible accounts by name, short name or credit code, for pickers."""
    q = q.strip()
    if not q:
        return list(account_queryset(user=user).order_by("name", "id")[:limit])
    return _search_accounts(user, q, limit)
