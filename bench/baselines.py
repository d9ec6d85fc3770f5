"""Hand-written SQL baselines for bench/run.py: the same rows as the product's read, with the same
visibility predicate written out from the user's reach (owners, owning-unit subtrees, sharing-rule
regions, account team). Each function returns a list of (sql, params) run in turn, every row fetched.

Written the way a person writes them for these tables: row-value keyset comparisons, the columns the
page shows joined, no COUNT.
"""
from __future__ import annotations

from django.db import connection
from django.utils import timezone

from kamcrm.org.models import User
from kamcrm.org.selectors import _reach

PAGE_SIZE = 50
TIMELINE_PAGE = 20


def _true() -> str:
    return "TRUE" if connection.vendor == "postgresql" else "1"


def like_op() -> str:
    return "ILIKE" if connection.vendor == "postgresql" else "LIKE"  # SQLite's LIKE is case-insensitive


def predicate(user: User, account: str = "a") -> tuple[str, list]:
    """The visibility predicate over customers_account aliased `account`, from the user's reach: the
    owners, the owning units and regions of the subtrees, and the team's accounts as literal id lists
    (what a person writing the query against a known user would write)."""
    r = _reach(user, "view")
    if r.everything:
        return _true(), []

    def ids_in(column: str, ids) -> tuple[str, list]:  # noqa: ANN001
        return f"{account}.{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)

    parts, params = [], []
    for column, ids in (("owner_id", sorted(r.owner_ids)), ("owner_unit_id", r.unit_ids),
                        ("region_id", r.region_ids), ("id", r.team_account_ids)):
        if ids:
            sql, values = ids_in(column, ids)
            parts.append(sql)
            params += values
    if r.team_account_ids is None:
        today = timezone.localdate()
        parts.append(f"EXISTS (SELECT 1 FROM customers_accountteammember t WHERE t.account_id = {account}.id "
                     "AND t.user_id = %s AND (t.valid_from IS NULL OR t.valid_from <= %s) "
                     "AND (t.valid_to IS NULL OR t.valid_to >= %s))")
        params += [user.pk, today, today]
    return "(" + " OR ".join(parts) + ")", params


ACCOUNT_COLUMNS = ("a.*, o.id, o.username, o.display_name, r.id, r.name, r.code, p.id, p.name "
                   "FROM customers_account a JOIN org_user o ON o.id = a.owner_id "
                   "JOIN org_orgunit r ON r.id = a.region_id LEFT JOIN customers_account p ON p.id = a.parent_id")


def account_page(user: User, *, region_path: str | None = None, tiers: list[str] | None = None,
                 after: tuple[str, int] | None = None, page_size: int = PAGE_SIZE) -> list[tuple[str, list]]:
    """One page of the account list sorted by name: first page, or the page after (name, id)."""
    where, params = predicate(user)
    if region_path:
        where += " AND a.region_id IN (SELECT g.id FROM org_orgunit g WHERE g.path LIKE %s)"
        params.append(region_path + "%")
    if tiers:
        where += f" AND a.tier IN ({', '.join(['%s'] * len(tiers))})"
        params += tiers
    if after:
        where += " AND (a.name, a.id) > (%s, %s)"
        params += list(after)
    return [(f"SELECT {ACCOUNT_COLUMNS} WHERE {where} ORDER BY a.name, a.id LIMIT %s", [*params, page_size + 1])]


def account_360(user: User, account_id: int) -> list[tuple[str, list]]:
    """The 360 page's two reads that grow with the data: the account row and the first timeline page."""
    where, params = predicate(user)
    return [
        (f"SELECT a.* FROM customers_account a WHERE a.id = %s AND {where}", [account_id, *params]),
        ("SELECT e.* FROM audit_timelineevent e WHERE e.account_id = %s ORDER BY e.occurred_at DESC, e.id DESC "
         "LIMIT %s", [account_id, TIMELINE_PAGE + 1]),
    ]


def account_detail(user: User, account_id: int) -> list[tuple[str, list]]:
    """The API's account detail: the row with its owner, owning unit, region and parent."""
    where, params = predicate(user)
    return [(f"SELECT {ACCOUNT_COLUMNS} LEFT JOIN org_orgunit ou ON ou.id = a.owner_unit_id "
             f"WHERE a.id = %s AND {where}", [account_id, *params])]


def _gram_ids(table: str, key: str, q: str) -> tuple[str, list]:
    """The ids whose indexed name holds every gram of q (decision 0010), as a person writes it against
    the gram table: for one character the range of grams that start with it, otherwise all of q's grams
    intersected with GROUP BY … HAVING."""
    from kamcrm.customers import search as name_search

    folded = name_search.fold(q)
    if len(folded) == 1:
        return f"SELECT {key} FROM {table} WHERE gram >= %s AND gram < %s", [folded, folded + "\U0010ffff"]
    grams = list(dict.fromkeys(folded[i:i + 2] for i in range(len(folded) - 1)))
    return (f"SELECT {key} FROM {table} WHERE gram IN ({', '.join(['%s'] * len(grams))}) GROUP BY {key} "
            f"HAVING COUNT(*) = {len(grams)}", grams)


def search(user: User, q: str, limit: int) -> list[tuple[str, list]]:
    """Global search: accounts by name or short name (through the gram index) or credit code prefix,
    contacts by name (through the gram index), mobile prefix or e-mail prefix; visible rows only, the
    first `limit` of each by name. Each alternative its own statement along its own index, stopped at
    `limit` (the caller merges: at most 2 × limit rows); the single statement with the alternatives OR-ed
    is several times slower (see docs/benchmarks.md)."""
    like = like_op()
    where, params = predicate(user)
    acct = f"SELECT {ACCOUNT_COLUMNS} WHERE {where} AND %s ORDER BY a.name, a.id LIMIT %s"
    ids, id_params = _gram_ids("customers_accountsearchgram", "account_id", q)
    out = [(acct.replace("AND %s", f"AND a.id IN ({ids}) AND (a.name {like} %s OR a.short_name {like} %s)"),
            [*params, *id_params, f"%{q}%", f"%{q}%", limit])]
    if len(q) >= 6 and q.isascii() and q.isalnum():
        out.append((acct.replace("AND %s", "AND a.credit_code >= %s AND a.credit_code < %s"),
                    [*params, q.upper(), q.upper() + "\U0010ffff", limit]))
    cwhere, cparams = predicate(user)
    contact = (f"SELECT c.*, a.id, a.name FROM customers_contact c JOIN customers_account a ON a.id = c.account_id "
               f"WHERE {cwhere} AND %s ORDER BY c.name, c.id LIMIT %s")
    ids, id_params = _gram_ids("customers_contactsearchgram", "contact_id", q)
    out.append((contact.replace("AND %s", f"AND c.id IN ({ids}) AND c.name {like} %s"),
                [*cparams, *id_params, f"%{q}%", limit]))
    if all(ch in "0123456789+-() " for ch in q):
        out.append((contact.replace("AND %s", "AND c.mobile >= %s AND c.mobile < %s"),
                    [*cparams, q, q + "\U0010ffff", limit]))
    if q.isascii() and " " not in q:
        out.append((contact.replace("AND %s", f"AND c.email {like} %s"), [*cparams, f"{q}%", limit]))
    return out


def account_lookup(user: User, q: str, limit: int) -> list[tuple[str, list]]:
    return [s for s in search(user, q, limit) if "customers_contact" not in s[0]]


def opportunity_predicate(user: User) -> tuple[str, list]:
    """Visible opportunities: their account is visible, or the user collaborates on them."""
    where, params = predicate(user)
    r = _reach(user, "view")
    if r.everything:
        return where, params
    return (f"({where} OR EXISTS (SELECT 1 FROM sales_opportunity_collaborators oc WHERE oc.opportunity_id = op.id "
            "AND oc.user_id = %s))", [*params, user.pk])


def opportunity_page(user: User, page_size: int = PAGE_SIZE) -> list[tuple[str, list]]:
    """The API's opportunity list (newest change first) with account, owner and stage."""
    where, params = opportunity_predicate(user)
    return [(
        "SELECT op.*, a.id, a.name, o.id, o.username, s.id, s.code, s.name_zh, s.name_en FROM sales_opportunity op "
        "JOIN customers_account a ON a.id = op.account_id JOIN org_user o ON o.id = op.owner_id "
        f"JOIN sales_stage s ON s.id = op.stage_id WHERE {where} ORDER BY op.updated_at DESC, op.id DESC LIMIT %s",
        [*params, page_size + 1])]


def opportunity_detail(user: User, opportunity_id: int) -> list[tuple[str, list]]:
    """The API's opportunity detail: the row with account, owner, stage, and its lines with products."""
    where, params = opportunity_predicate(user)
    return [
        ("SELECT op.*, a.id, a.name, o.id, o.username, s.id, s.code, s.name_zh, s.name_en FROM sales_opportunity op "
         "JOIN customers_account a ON a.id = op.account_id JOIN org_user o ON o.id = op.owner_id "
         f"JOIN sales_stage s ON s.id = op.stage_id WHERE op.id = %s AND {where}", [opportunity_id, *params]),
        ("SELECT l.*, p.id, p.name FROM sales_opportunityline l JOIN products_product p ON p.id = l.product_id "
         "WHERE l.opportunity_id = %s ORDER BY l.id", [opportunity_id]),
    ]
