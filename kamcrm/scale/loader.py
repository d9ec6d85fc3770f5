"""The bulk writer of the scale generator: COPY on PostgreSQL, executemany on SQLite.

Rows arrive as tuples of plain values already in the form the database stores (int, str, bool, None;
datetimes from `Loader.ts()`, dates and decimals as ISO strings, JSON as text), in the order of the
`columns` given (model attribute names such as "owner_id"). Every row carries its explicit primary key,
taken from `Loader.next_id()`; on PostgreSQL the sequences are reset afterwards (`Loader.finish()`).

Each `TableWriter.write()` call is one transaction: a killed run leaves whole chunks behind, never a
half-written one. Time is counted per table, split into generating (the caller's) and writing (ours).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

# Progress(table label, rows written so far, rows planned, rows/s so far)
Progress = Callable[[str, int, int, float], None]


@dataclass
class TableStat:
    label: str
    table: str
    planned: int
    rows: int = 0
    write_seconds: float = 0.0
    gen_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.write_seconds + self.gen_seconds

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"table": self.table, "label": self.label, "rows": self.rows, "seconds": round(self.seconds, 3),
                "write_seconds": round(self.write_seconds, 3), "gen_seconds": round(self.gen_seconds, 3),
                "rows_per_second": round(self.rows_per_second)}


class TableWriter:
    def __init__(self, loader: Loader, model: type[models.Model], columns: Sequence[str], stat: TableStat):
        self.loader = loader
        self.model = model
        self.stat = stat
        meta = model._meta
        db_columns = [meta.get_field(name).column for name in columns]
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in db_columns)
        self.width = len(db_columns)
        if loader.vendor == "postgresql":
            self.sql = f"COPY {qn(meta.db_table)} ({cols}) FROM STDIN"
        else:
            self.sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({', '.join('?' * self.width)})"
        self._mark = time.perf_counter()

    def write(self, rows: list[tuple]) -> None:
        """Write one chunk in one transaction. Time since the previous write counts as generation."""
        started = time.perf_counter()
        self.stat.gen_seconds += started - self._mark
        if rows:
            with transaction.atomic():
                if self.loader.vendor == "postgresql":
                    with connection.cursor() as cursor, cursor.cursor.copy(self.sql) as copy:
                        write_row = copy.write_row
                        for row in rows:
                            write_row(row)
                else:
                    connection.ensure_connection()
                    connection.connection.executemany(self.sql, rows)
        self._mark = time.perf_counter()
        self.stat.write_seconds += self._mark - started
        self.stat.rows += len(rows)
        if self.loader.progress:
            self.loader.progress(self.stat.label, self.stat.rows, self.stat.planned, self.stat.rows_per_second)

    def pause(self) -> None:
        """Work between writes that is not this table's (another table's rows) is not counted."""
        self._mark = time.perf_counter()

    def write_all(self, rows: Iterable[tuple], chunk: int | None = None) -> None:
        chunk = chunk or self.loader.chunk
        batch: list[tuple] = []
        append = batch.append
        for row in rows:
            append(row)
            if len(batch) >= chunk:
                self.write(batch)
                batch = []
                append = batch.append
        self.write(batch)


def pending_indexes_file():
    """Secondary indexes dropped for a load and not yet rebuilt (a run killed half-way) are listed
    here, per database, and rebuilt by `restore_pending_indexes()` at the start of the next run."""
    name = connection.settings_dict["NAME"]
    tag = "".join(c if c.isalnum() else "_" for c in str(name))[-60:]
    return settings.DATA_DIR / f"scale-pending-indexes-{connection.vendor}-{tag}.json"


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's non-unique indexes. Primary keys and unique
    indexes stay (they enforce invariants: unique credit codes, external ids)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix "
                "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid "
                "WHERE t.relname = %s AND t.relnamespace = 'public'::regnamespace AND NOT ix.indisunique "
                "AND NOT ix.indisprimary ORDER BY i.relname", [table])
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                           "AND sql IS NOT NULL AND upper(sql) NOT LIKE 'CREATE UNIQUE%%' ORDER BY name", [table])
        return [(name, sql) for name, sql in cursor.fetchall()]


def restore_pending_indexes() -> int:
    """Rebuild the indexes an interrupted run dropped (see pending_indexes_file); the count rebuilt."""
    path = pending_indexes_file()
    if not path.exists():
        return 0
    pending = json.loads(path.read_text(encoding="utf-8"))
    existing = set()
    with connection.cursor() as cursor:
        _flush_deferred_checks(cursor)
        for table in {t for t, _n, _s in pending}:
            existing |= {n for n, _s in secondary_indexes(table)}
        for _table, name, sql in pending:
            if name not in existing:
                cursor.execute(sql)
    path.unlink()
    return len(pending)


def _flush_deferred_checks(cursor) -> None:
    """PostgreSQL refuses index DDL on a table with pending deferred foreign-key checks; inside an outer
    transaction (tests) run them now. Between the generator's own chunks there are none."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class Loader:
    """One per generator run: knows the database, hands out ids, collects the per-table figures."""

    def __init__(self, *, chunk: int = 50_000, progress: Progress | None = None, fk_checks: bool = True):
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise RuntimeError(f"The scale generator supports PostgreSQL and SQLite, not {self.vendor}.")
        self.chunk = chunk
        self.fk_checks = fk_checks
        self.progress = progress
        self.stats: dict[str, TableStat] = {}
        self.models: list[type[models.Model]] = []
        self._saved_pragmas: dict[str, object] = {}
        self._dropped: list[tuple[str, str, str]] = []  # (table, index name, CREATE statement)
        self.index_seconds = 0.0

    # -- secondary indexes -----------------------------------------------------------------------
    def defer_indexes(self, models_: Sequence[type[models.Model]]) -> int:
        """Drop the non-unique indexes of these tables until rebuild_indexes(): building an index once
        over the loaded rows is much faster than keeping it current row by row. The list is written to
        pending_indexes_file() first, so a killed run gets them back on the next run."""
        todo = []
        for model in models_:
            table = model._meta.db_table
            todo += [(table, name, sql) for name, sql in secondary_indexes(table)]
        if not todo:
            return 0
        path = pending_indexes_file()
        path.write_text(json.dumps([*self._dropped, *todo], ensure_ascii=False), encoding="utf-8")
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            _flush_deferred_checks(cursor)
            for _table, name, _sql in todo:
                cursor.execute(f"DROP INDEX {qn(name)}")
        self._dropped += todo
        return len(todo)

    def rebuild_indexes(self) -> int:
        if not self._dropped:
            return 0
        started = time.perf_counter()
        with connection.cursor() as cursor:
            _flush_deferred_checks(cursor)
            if self.vendor == "postgresql":
                cursor.execute("SET maintenance_work_mem = '1GB'")
            for _table, _name, sql in self._dropped:
                cursor.execute(sql)
            if self.vendor == "postgresql":
                cursor.execute("RESET maintenance_work_mem")
        done = len(self._dropped)
        self._dropped = []
        pending_indexes_file().unlink(missing_ok=True)
        self.index_seconds += time.perf_counter() - started
        return done

    # -- ids and values --------------------------------------------------------------------------
    @staticmethod
    def next_id(model: type[models.Model]) -> int:
        return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1

    def ts_format(self) -> Callable[[float], str]:
        """A function turning epoch seconds into the text the database stores for an aware datetime:
        UTC, naive on SQLite (as Django writes it), with the offset on PostgreSQL."""
        gmtime, strftime = time.gmtime, time.strftime
        if self.vendor == "postgresql":
            return lambda e: strftime("%Y-%m-%d %H:%M:%S+00", gmtime(e))
        return lambda e: strftime("%Y-%m-%d %H:%M:%S", gmtime(e))

    # -- tables ----------------------------------------------------------------------------------
    def table(self, model: type[models.Model], columns: Sequence[str], *, planned: int,
              label: str | None = None) -> TableWriter:
        """The writer of one table (a second call for the same label adds to the same figures)."""
        label = label or model._meta.db_table
        stat = self.stats.get(label)
        if stat is None:
            stat = self.stats[label] = TableStat(label, model._meta.db_table, planned)
        if model not in self.models:
            self.models.append(model)
        return TableWriter(self, model, columns, stat)

    # -- session settings for the load -----------------------------------------------------------
    def start(self) -> None:
        """SQLite: no fsync and a bigger page cache while loading (restored by finish()). Not inside an
        outer transaction (tests), where SQLite refuses to change them."""
        if self.vendor == "sqlite" and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                for pragma in ("synchronous", "cache_size", "temp_store"):
                    self._saved_pragmas[pragma] = cursor.execute(f"PRAGMA {pragma}").fetchone()[0]
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
                cursor.execute("PRAGMA temp_store=MEMORY")
                if not self.fk_checks:
                    self._saved_pragmas["foreign_keys"] = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
                    cursor.execute("PRAGMA foreign_keys=OFF")
        elif self.vendor == "postgresql" and not self.fk_checks:
            # Foreign-key triggers off for this session (needs a superuser): the generator's rows are
            # consistent by construction, and the tests check them with the triggers on.
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")

    def finish(self) -> None:
        """Rebuild deferred indexes, restore the session settings; on PostgreSQL move each sequence past
        the explicit ids."""
        self.rebuild_indexes()
        if self.vendor == "sqlite":
            with connection.cursor() as cursor:
                for pragma, value in self._saved_pragmas.items():
                    cursor.execute(f"PRAGMA {pragma}={int(value)}")
            self._saved_pragmas.clear()
        elif self.vendor == "postgresql":
            with connection.cursor() as cursor:
                if not self.fk_checks:
                    cursor.execute("SET session_replication_role = DEFAULT")
                for sql in connection.ops.sequence_reset_sql(no_style(), self.models):
                    cursor.execute(sql)


def analyze_after_load() -> None:
    """Statistics for the planner after a bulk load. On PostgreSQL, outside a transaction, VACUUM ANALYZE:
    it also sets the visibility map, without which a covering index is not read alone (index-only
    scans visit the heap) until autovacuum gets round to the new rows."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
