"""Name search that stays fast at millions of accounts and contacts (issue 7; decision 0010).

Users find a customer by any part of its name (华信, 电信, 北京华信, acme), so a search is "name
contains q" — a LIKE '%q%' that no B-tree index serves: at a million accounts it reads them all
(19 s on PostgreSQL for a term that matches 0.5 % of the names). The index here is a posting list of
two-character pieces ("grams"): for every account, each pair of neighbouring characters of its
lower-cased name and short name, the last character paired with END. Every run of two or more
characters of a name is then covered by the grams it contains, and a single character by the grams
that start with it.

A search for q:
1. the grams of q; one query counts each gram's rows, but only up to CAP;
2. when the rarest has fewer than CAP rows, the candidates are the rows under that gram: the real
   condition (name contains q), visibility and the order are applied to at most CAP rows;
3. otherwise every gram of q is very common, so q almost surely is too: walking the name index with the
   condition fills a page after a few rows (see `condition`).

The grams are written by database triggers only (see `install`), so every write path keeps them:
Model.save(), bulk_create() and bulk_update() in imports and demo data, QuerySet.update(), the scale
generator's COPY (which suspends them and rebuilds set-based at the end: `suspend`, `resume`). The gram column compares in
code-point order (C collation on PostgreSQL; SQLite's BINARY), so a one-character search is a range.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from kamcrm.core.validators import CREDIT_CODE_ALPHABET
from kamcrm.customers.models import AccountSearchGram, ContactSearchGram

__all__ = ["ACCOUNTS", "CAP", "CONTACTS", "END", "account_parts", "condition", "contact_parts", "contains", "fold",
           "grams", "install", "rebuild", "resume", "suspend"]

END = "\ue000"  # a private-use character: never typed, pairs with a name's last character
CAP = 5000  # rows under one gram beyond which the gram is "common" (a bounded count, never a full COUNT)
TOP = "\U0010ffff"
PHONE_LIKE = re.compile(r"[0-9+\-() ]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Index:
    """One searched table: its gram table, the gram table's key column and the columns indexed."""

    gram_model: type
    key: str  # the gram table's column holding the row's id
    table: str
    columns: tuple[str, ...]

    @property
    def gram_table(self) -> str:
        return self.gram_model._meta.db_table


ACCOUNTS = Index(AccountSearchGram, "account_id", "customers_account", ("name", "short_name"))
CONTACTS = Index(ContactSearchGram, "contact_id", "customers_contact", ("name",))
INDEXES = (ACCOUNTS, CONTACTS)


def fold(text: str) -> str:
    """Lower case as the database's lower() does in the triggers: Unicode on PostgreSQL, ASCII only on
    SQLite (whose LIKE, and so Django's icontains, also folds ASCII only)."""
    return text.lower() if connection.vendor == "postgresql" else text.translate(_ASCII_LOWER)


def grams(text: str) -> set[str]:
    """The grams the triggers store for one indexed value (used by the tests to check them)."""
    padded = fold(text) + END if text else ""
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


def _probes(q: str) -> list[tuple[str, list[str]]]:
    """The conditions on the gram column that can find q, with their parameters: one per distinct gram
    of q, or for a single character the range of grams that start with it."""
    q = fold(q)
    if len(q) == 1:
        return [("gram >= %s AND gram < %s", [q, q + TOP])]
    return [("gram = %s", [g]) for g in dict.fromkeys(q[i:i + 2] for i in range(len(q) - 1))]


def _rarest(index: Index, q: str) -> tuple[str, list[str]] | None:
    """The probe of q with the fewest rows, if it has fewer than CAP; None when all are common.
    One query; each count stops at CAP entries of the gram table's primary key."""
    probes = _probes(q)[:12]  # a long q: its first twelve grams are selective enough
    table, key = connection.ops.quote_name(index.gram_table), connection.ops.quote_name(index.key)
    counts = ", ".join(f"(SELECT COUNT(*) FROM (SELECT {key} FROM {table} WHERE {where} LIMIT {CAP}) p{i})"
                       for i, (where, _params) in enumerate(probes))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}", [v for _where, params in probes for v in params])
        found = cursor.fetchone()
    n, probe = min(zip(found, probes, strict=True), key=lambda pair: pair[0])
    return probe if n < CAP else None


def contains(index: Index, q: str) -> Q:
    """One of the index's columns contains q, case-insensitively: the meaning of a search."""
    cond = Q()
    for column in index.columns:
        cond |= Q(**{f"{column}__icontains": q})
    return cond


def condition(index: Index, q: str) -> Q:
    """`contains`, limited to the candidates under q's rarest gram when it is rare (at most CAP rows to
    test); `contains` alone when every gram of q is common (walking the name index fills a page fast)."""
    probe = _rarest(index, q)
    if probe is None:
        return contains(index, q)
    where, params = probe
    grams_ = index.gram_model.objects.filter(gram=params[0]) if len(params) == 1 else \
        index.gram_model.objects.filter(gram__gte=params[0], gram__lt=params[1])
    return Q(pk__in=grams_.values(index.key)) & contains(index, q)


# ---- what a search term matches: the lists' `q` filter and the search box (selectors) ------------

def _prefix(field: str, value: str) -> Q:
    """`field` starts with `value`, written so that the index on `field` serves it (a range; the LIKE
    keeps the exact meaning of startswith)."""
    return Q(**{f"{field}__gte": value, f"{field}__lt": value + "\U0010ffff", f"{field}__startswith": value})


def account_parts(q: str) -> list[Q]:
    """What a search term matches among accounts, one condition per alternative: the name or short name
    contains it (through the gram index), or — for a term that can be one, from six characters — the
    credit code starts with it. The list filter ORs them; the search box queries each on its own."""
    parts = [condition(ACCOUNTS, q)]
    code = q.upper()
    if len(code) >= 6 and all(c in CREDIT_CODE_ALPHABET for c in code):
        parts.append(_prefix("credit_code", code))
    return parts


def contact_parts(q: str) -> list[Q]:
    """As account_parts, for contacts: the name contains it; a mobile or an e-mail address starts
    with it, tried only for a term that can begin one (else each would scan the table)."""
    parts = [condition(CONTACTS, q)]
    if PHONE_LIKE.fullmatch(q):
        parts.append(_prefix("mobile", q))
    if q.isascii() and not any(ch.isspace() for ch in q):  # an e-mail address is ASCII without spaces
        parts.append(Q(email__istartswith=q))
    return parts


# ---- triggers and rebuild --------------------------------------------------------------------------

def _insert_sql(index: Index, source: str, row: str) -> str:
    """INSERT … SELECT of the grams of `source` rows (a table, or NEW in a trigger)."""
    pad = "chr(57344)" if connection.vendor == "postgresql" else "char(57344)"
    texts = " UNION ALL ".join(f"SELECT {row}.id AS id, lower({row}.{c}) || {pad} AS t FROM {source}"
                               for c in index.columns) if source else \
        " UNION ALL ".join(f"SELECT NEW.id AS id, lower(NEW.{c}) || {pad} AS t" for c in index.columns)
    if connection.vendor == "postgresql":
        positions = "CROSS JOIN LATERAL generate_series(1, length(v.t) - 1) AS s(n)"
    else:
        positions = "JOIN customers_searchposition s ON s.n < length(v.t)"
    return (f"INSERT INTO {index.gram_table} (gram, {index.key}) "
            f"SELECT DISTINCT substr(v.t, s.n, 2), v.id FROM ({texts}) v {positions}")


def _changed(index: Index) -> str:
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" if connection.vendor == "postgresql"
                       else f"NEW.{c} IS NOT OLD.{c}" for c in index.columns)


def _trigger_names(index: Index) -> list[str]:
    base = f"{index.table}_search"
    return [base] if connection.vendor == "postgresql" else [f"{base}_ins", f"{base}_upd", f"{base}_del"]


def install(schema_editor=None) -> None:  # noqa: ANN001 (a migration passes its schema editor)
    """Create (or re-create) the triggers that keep the grams, and on SQLite the positions table they
    join (its triggers cannot use a recursive WITH). Idempotent."""
    run = schema_editor.execute if schema_editor else _execute
    pg = connection.vendor == "postgresql"
    if pg:
        for index in INDEXES:
            run(f"ALTER TABLE {index.gram_table} ALTER COLUMN gram TYPE varchar(2) COLLATE \"C\"")
    else:
        run("CREATE TABLE IF NOT EXISTS customers_searchposition (n integer PRIMARY KEY)")
        run("INSERT OR IGNORE INTO customers_searchposition (n) WITH RECURSIVE s(n) AS "
            "(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 300) SELECT n FROM s")
    for index in INDEXES:
        drop(index, run)
        insert, delete = _insert_sql(index, "", "NEW"), f"DELETE FROM {index.gram_table} WHERE {index.key} = OLD.id"
        columns = ", ".join(index.columns)
        if pg:
            name = _trigger_names(index)[0]
            run(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF TG_OP = 'UPDATE' AND NOT ({_changed(index)}) THEN RETURN NULL; END IF; "
                f"IF TG_OP <> 'INSERT' THEN {delete}; END IF; "
                f"IF TG_OP <> 'DELETE' THEN {insert}; END IF; "
                "RETURN NULL; END $$")
            run(f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {index.table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:
            ins, upd, dele = _trigger_names(index)
            run(f"CREATE TRIGGER {ins} AFTER INSERT ON {index.table} BEGIN {insert}; END")
            run(f"CREATE TRIGGER {upd} AFTER UPDATE OF {columns} ON {index.table} WHEN {_changed(index)} "
                f"BEGIN {delete}; {insert}; END")
            run(f"CREATE TRIGGER {dele} AFTER DELETE ON {index.table} BEGIN {delete}; END")


def drop(index: Index, run=None) -> None:  # noqa: ANN001
    run = run or _execute
    for name in _trigger_names(index):
        run(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {index.table}" if connection.vendor == "postgresql" else ""))


def installed() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
                           [[n for index in INDEXES for n in _trigger_names(index)]])
        else:
            names = [n for index in INDEXES for n in _trigger_names(index)]
            cursor.execute(f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                           f"({', '.join(['%s'] * len(names))})", names)
        return cursor.fetchone()[0] == sum(len(_trigger_names(index)) for index in INDEXES)


def rebuild() -> None:
    """All grams again from the names, set-based (after a bulk load with the triggers suspended)."""
    for index in INDEXES:
        _execute(f"DELETE FROM {index.gram_table}")
        _execute(_insert_sql(index, index.table, index.table))


def suspend() -> None:
    """Drop the triggers for a bulk load (the scale generator); `resume()` afterwards."""
    for index in INDEXES:
        drop(index)


def resume() -> None:
    """After a bulk load: all grams again set-based, and the triggers back."""
    rebuild()
    install()


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
