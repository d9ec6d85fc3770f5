"""Visibility: the one gate between a user and the accounts (and everything hanging off them).

A user sees an account when any of these holds (docs/architecture.md, "Visibility"):
  1. they own it;
  2. they manage its owner, directly or anywhere up the manager chain, or head a unit above the
     owner's unit;
  3. their role's scope covers the account's owning unit (ROLE_SCOPES: all, own subtree, own);
  4. they sit on its account team, within the valid dates, with enough access;
  5. an active sharing rule grants the account's region to a unit they belong to.
Edit needs the same with edit rights. Nothing is cached across requests, so a change to the org,
a team or a rule takes effect on the next request.

Every list, detail, search, export, report and API call goes through `visible()`.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.core import context
from kamcrm.org.choices import ROLE_SCOPES, Access, Role, Scope
from kamcrm.org.models import OrgUnit, SharingRule, User

VIEW = "view"
EDIT = "edit"


@dataclass(frozen=True)
class Reach:
    """What one user reaches, computed once per request in a handful of small queries."""

    everything: bool
    owner_ids: frozenset[int]  # themselves and everyone below them in the manager chain
    unit_paths: tuple[str, ...]  # owning-unit subtrees they see by role or by heading a unit
    region_paths: tuple[str, ...]  # region subtrees granted by sharing rules
    # The same subtrees as unit ids, and the accounts whose team they are on today (None: too many to
    # list). Literal ids let the database combine its indexes on owner, owning unit, region and id (a
    # bitmap OR) instead of testing a subquery on every row: a rep's count over a million accounts.
    unit_ids: tuple[int, ...] = ()
    region_ids: tuple[int, ...] = ()
    team_account_ids: tuple[int, ...] | None = ()


TEAM_IDS_LISTED = 1000  # beyond this many team accounts the predicate correlates a subquery instead
ACCOUNT_IDS_LISTED = 5000  # a listing (see `visible`) names at most this many accounts by id
# Where a listing names ids. SQLite drives the query from a list of ids (an index look-up per id, then a
# sort) where walking the sort index was faster: measured on the 100,000-account set, a rep's opportunity
# list 1.5 -> 21 ms of database time, so there it keeps the join.
LISTING_VENDORS = {"postgresql"}


def _subordinate_ids(user: User) -> set[int]:
    """The user and everyone whose manager chain leads up to them. One query for every manager link
    (a CRM's people number hundreds to a few thousand), walked in memory: a query per level of the
    tree would cost an executive five or six on every page. Read once per request for view and edit."""
    reports: dict[int, list[int]] = {}
    links = per_request(("manager links",), lambda: list(
        User.objects.filter(manager__isnull=False).order_by().values_list("pk", "manager_id")))
    for pk, manager_id in links:
        reports.setdefault(manager_id, []).append(pk)
    found = {user.pk}
    frontier = [user.pk]
    while frontier:
        frontier = [pk for manager in frontier for pk in reports.get(manager, ()) if pk not in found]
        found.update(frontier)
    return found


def _collapse(paths) -> tuple[str, ...]:
    """Drop paths that sit inside another path of the set."""
    kept: list[str] = []
    for p in sorted(set(paths)):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


def reach(user: User, action: str = VIEW) -> Reach:
    """What `user` reaches; computed once per request (memoised in the request's change context)."""
    ctx = context.current()
    if ctx.request is None or not getattr(user, "pk", None):
        return _reach(user, action)
    key = ("reach", user.pk, action)
    if key not in ctx.memo:
        ctx.memo[key] = _reach(user, action)
    return ctx.memo[key]


def _reach(user: User, action: str) -> Reach:
    if not user or not user.is_authenticated or not user.is_active:
        return Reach(False, frozenset(), (), ())
    if user.is_superuser:
        return Reach(True, frozenset(), (), ())
    view_scope, edit_scope = ROLE_SCOPES.get(user.role, (Scope.OWN, Scope.OWN))
    scope = view_scope if action == VIEW else edit_scope
    if scope == Scope.ALL:
        return Reach(True, frozenset(), (), ())

    # Every unit's id, path and head in one query (an organisation has hundreds, not millions): the
    # subtrees' ids below are read from it.
    units = per_request(("units",), lambda: list(OrgUnit.objects.values_list("pk", "path", "head_id")))
    path_of = {pk: path for pk, path, _head in units}
    unit_paths = [path for _pk, path, head_id in units if head_id == user.pk]
    user_unit_path = path_of.get(user.unit_id) if user.unit_id else None
    if scope == Scope.SUBTREE and user_unit_path:
        unit_paths.append(user_unit_path)

    region_paths: list[str] = []
    if user_unit_path:
        # Rules whose target unit is the user's unit, or an ancestor of it with include_target_subtree.
        # Read once per request for view and edit (a page that shows a record and whether it may be
        # changed needs both).
        ancestors = [user_unit_path[: i + 1] for i, ch in enumerate(user_unit_path) if ch == "."]
        rules = per_request(("rules", user_unit_path), lambda: list(
            SharingRule.objects.filter(is_active=True, target_unit__path__in=ancestors).order_by().values_list(
                "target_unit__path", "include_target_subtree", "source_unit__path", "access")))
        for rule_target_path, include_subtree, source_path, access in rules:
            if action == EDIT and access != Access.EDIT:
                continue
            if rule_target_path == user_unit_path or include_subtree:
                region_paths.append(source_path)

    unit_paths, region_paths = _collapse(unit_paths), _collapse(region_paths)

    def ids_under(paths: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(sorted(pk for pk, path in path_of.items() if path.startswith(paths))) if paths else ()

    return Reach(False, frozenset(_subordinate_ids(user)), unit_paths, region_paths, ids_under(unit_paths),
                 ids_under(region_paths), _team_account_ids(user, action))


def per_request(key: tuple, compute):  # noqa: ANN001, ANN202
    """`compute()` once per request for both actions (the request's change context memo)."""
    ctx = context.current()
    if ctx.request is None:
        return compute()
    if key not in ctx.memo:
        ctx.memo[key] = compute()
    return ctx.memo[key]


def _team_account_ids(user: User, action: str) -> tuple[int, ...] | None:
    from kamcrm.customers.models import AccountTeamMember

    def rows() -> list[tuple[int, str]]:
        today = timezone.localdate()
        team = AccountTeamMember.objects.filter(user_id=user.pk).filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=today), Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        return list(team.order_by("account_id").values_list("account_id", "access")[: TEAM_IDS_LISTED + 1])

    found = per_request(("team", user.pk), rows)
    if len(found) > TEAM_IDS_LISTED:
        return None
    return tuple(pk for pk, access in found if action != EDIT or access == Access.EDIT)


def reach_q(r: Reach, *, owner: str, unit: str, region: str) -> Q:
    """Rules 1, 2, 3 and 5 (all but the account team) over fields holding an account's owner, owning
    unit and region — the account's own, or copies of them in a roll-up (analytics, the sales funnel)."""
    if r.everything:
        return Q()
    if not r.owner_ids:
        return Q(pk__in=[])
    q = Q(**{f"{owner}__in": sorted(r.owner_ids)})
    if r.unit_paths:
        q |= Q(**{f"{unit}__in": r.unit_ids})
    if r.region_paths:
        q |= Q(**{f"{region}__in": r.region_ids})
    return q


def account_q(user: User, action: str = VIEW, *, prefix: str = "") -> Q:
    """A Q over Account (or over a model reaching Account through `prefix`, e.g. "account__")."""
    from kamcrm.customers.models import AccountTeamMember

    r = reach(user, action)
    q = reach_q(r, owner=f"{prefix}owner_id", unit=f"{prefix}owner_unit_id", region=f"{prefix}region_id")
    if r.everything or not r.owner_ids:
        return q  # everything; or nothing at all, not even through a team (an inactive user)
    account_id = f"{prefix[:-2]}_id" if prefix else "pk"
    if r.team_account_ids is not None:
        return q | Q(**{f"{account_id}__in": r.team_account_ids}) if r.team_account_ids else q
    today = timezone.localdate()
    team = AccountTeamMember.objects.filter(
        account_id=OuterRef(account_id), user_id=user.pk
    ).filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today), Q(valid_to__isnull=True) | Q(valid_to__gte=today))
    if action == EDIT:
        team = team.filter(access=Access.EDIT)
    q |= Exists(team)
    return q


def listed_account_ids(user: User, action: str = VIEW) -> tuple[int, ...] | None:
    """The ids of every account `user` reaches, when they reach few: only through owners and teams (no
    unit or region, which reach thousands), at most ACCOUNT_IDS_LISTED. Else None. One query, once
    per request."""
    r = reach(user, action)
    if r.everything or r.unit_ids or r.region_ids or not r.owner_ids:
        return None

    def ids() -> list[int]:
        from kamcrm.customers.models import Account

        found = Account.objects.filter(account_q(user, action)).order_by().values_list("pk", flat=True)
        return list(found[: ACCOUNT_IDS_LISTED + 1])

    found = per_request(("account_ids", user.pk, action), ids)
    return tuple(found) if len(found) <= ACCOUNT_IDS_LISTED else None


def visible(qs: QuerySet, user: User, action: str = VIEW, *, listing: bool = False) -> QuerySet:
    """Scope any queryset of a model that declares ACCOUNT_PATH to what `user` may see (or edit). A
    model may also grant access record by record (`also_visible_to(user, action, listing)` → Q or
    None), as an opportunity does to its collaborators.

    `listing=True` is for a page of rows read along the model's own sort index (a list, a board, an
    export), not for one row: when the user reaches few accounts (`listed_account_ids`) and the
    database is one where it pays (LISTING_VENDORS), each row is tested on its own account id against
    that list instead of joining its account. PostgreSQL walks the sort index either way; for a rep who
    sees 0.4 % of a million opportunities it tests 13,500 rows for a page, and without the join the
    API list's database time went 106 → 20 ms."""
    prefix = getattr(qs.model, "ACCOUNT_PATH", None)
    if prefix is None:
        raise TypeError(f"{qs.model.__name__} declares no ACCOUNT_PATH; it cannot be scoped")
    listing = listing and connections[qs.db].vendor in LISTING_VENDORS
    ids = listed_account_ids(user, action) if listing and prefix else None
    if ids is not None:
        q = Q(**{f"{prefix[:-2]}_id__in_ids": ids})
    else:
        q = account_q(user, action, prefix=prefix)
    also = getattr(qs.model, "also_visible_to", None)
    extra = also(user, action, listing=listing) if also is not None and not reach(user, action).everything \
        else None
    return qs.filter(q | extra if extra is not None else q)


def get_visible_or_404(qs: QuerySet, user: User, action: str = VIEW, **lookup):
    """A detail read (or the lock before a write): 404 rather than 403, so ids do not leak."""
    obj = visible(qs, user, action).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def can(user: User, obj, action: str = VIEW) -> bool:
    return visible(type(obj)._default_manager.filter(pk=obj.pk), user, action).exists()


# ---------------------------------------------------------------------------------------------
# Reads of the organisation itself (tree, people, sharing rules). Everyone logged in may read
# the organisation; only administrators may change it (`is_administrator`).
# ---------------------------------------------------------------------------------------------

USER_SORTS: dict[str, list[str]] = {
    "username": ["username", "id"],
    "-username": ["-username", "-id"],
    "display_name": ["display_name", "id"],
    "-display_name": ["-display_name", "-id"],
}


def is_administrator(user) -> bool:
    """May this user maintain the organisation, sharing rules, custom attributes and imports?"""
    return bool(user and user.is_authenticated and user.is_active
                and (user.is_superuser or getattr(user, "role", None) == Role.ADMINISTRATOR))


def manages_business_settings(user) -> bool:
    """May this user maintain the company's business settings (product catalogue and plan, funnel health
    rules)? Administrators and business management."""
    return bool(user and user.is_authenticated and user.is_active
                and (is_administrator(user) or getattr(user, "role", None) == Role.BUSINESS_MANAGEMENT))


def unit_tree() -> QuerySet[OrgUnit]:
    """The whole tree in display order, with head and member count, in one query."""
    from django.db.models import Count

    return OrgUnit.objects.select_related("head").annotate(member_count=Count("members")).order_by("path")


def unit_get(*, pk: int) -> OrgUnit:
    unit = OrgUnit.objects.select_related("parent", "head").filter(pk=pk).first()
    if unit is None:
        raise Http404
    return unit


def unit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    """The units above `unit`, root first, in one query (their ids are the segments of its path)."""
    ids = [int(seg) for seg in unit.path.split(".") if seg][:-1]
    if not ids:
        return []
    return list(OrgUnit.objects.filter(pk__in=ids).order_by("path"))


def unit_children(*, unit: OrgUnit) -> QuerySet[OrgUnit]:
    return unit_tree().filter(parent=unit)


def unit_members(*, unit: OrgUnit, limit: int = 200) -> list[User]:
    return list(User.objects.filter(unit=unit).select_related("manager").order_by("display_name", "username", "id")[:limit])


def user_queryset(*, filters: dict | None = None) -> QuerySet[User]:
    """People filtered by q (username, display name, email), unit (its subtree), role and active."""
    filters = filters or {}
    qs = User.objects.select_related("unit", "manager")
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q))
    unit = filters.get("unit")
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    if filters.get("role"):
        qs = qs.filter(role=filters["role"])
    active = filters.get("active")
    if active in (True, False):
        qs = qs.filter(is_active=active)
    return qs


def user_list(*, filters: dict | None = None, sort: str = "username", cursor: str | None = None,
              page_size: int = 50):
    from django.core.exceptions import ValidationError

    from kamcrm.core.pagination import keyset_page

    order = USER_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [_("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(USER_SORTS)}]})
    return keyset_page(user_queryset(filters=filters), order=order, cursor=cursor, page_size=page_size)


def user_get(*, pk: int) -> User:
    user = User.objects.select_related("unit", "manager").filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


def user_reports(*, user: User, limit: int = 200) -> list[User]:
    return list(User.objects.filter(manager=user).select_related("unit").order_by("display_name", "username", "id")[:limit])


def sharing_rule_list() -> QuerySet[SharingRule]:
    return SharingRule.objects.select_related("source_unit", "target_unit").order_by("name", "id")


def sharing_rule_get(*, pk: int) -> SharingRule:
    rule = sharing_rule_list().filter(pk=pk).first()
    if rule is None:
        raise Http404
    return rule


def user_lookup(*, q: str, limit: int = 20) -> list[User]:
    """Active users for pickers: a prefix match on the (indexed, unique) username or a match inside the
    display name, at most `limit` rows in username order, so 50k users cost what 50 cost."""
    q = q.strip()
    qs = User.objects.filter(is_active=True).select_related("unit")
    if q:
        qs = qs.filter(Q(username__startswith=q) | Q(username__startswith=q.lower()) | Q(display_name__icontains=q))
    return list(qs.order_by("username")[:limit])
