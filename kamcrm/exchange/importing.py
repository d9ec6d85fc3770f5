"""The import engine: one framework for every entity (docs/decisions/0006-imports-and-tasks.md).

A job runs in two passes over its file, streamed row by row:

1. Validation reads every row, applies the mapping (column -> field, value maps, constants), checks
   types, looks up references (by code, name or external id) and matches existing records, and
   stores every problem as an ImportRowError (line, column, value, reason). Duplicates inside the
   file and references to rows further down are tracked in a scratch SQLite file beside the upload,
   so memory stays flat however long the file is. A dry run stops here.
2. Writing goes over the good rows in batches. Each batch is written and committed together with
   the job's cursor (step, last line), all or nothing; a worker killed mid-batch leaves nothing of
   that batch behind, and the next run starts after the last committed line. Every change is
   audited with channel "import" and the job id.

A row that the write refuses after all (a rule only a service checks) is recorded as an error and
its batch is written again without it.
"""
from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.core.context import Channel, change_context
from kamcrm.exchange.import_files import FileProblem, Table, open_table
from kamcrm.exchange.import_specs import (
    REF,
    TRANSFORMS,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    RowProblem,
    coerce,
    entity_get,
    iter_chunks,
    norm,
    username_from,
)
from kamcrm.exchange.models import ImportErrorKind, ImportJob, ImportRowError, ImportStatus

__all__ = ["MappingProblem", "compile_steps", "import_job_run", "crash_hook"]

logger = logging.getLogger(__name__)

# Tests set this to simulate a worker killed at a given point: crash_hook(point, job, batch_number).
crash_hook: Callable[[str, ImportJob, int], None] | None = None


def _crash(point: str, job: ImportJob, batch: int) -> None:
    if crash_hook is not None:
        crash_hook(point, job, batch)


# --- the mapping, checked against the file's header ----------------------------------------------------


class MappingProblem(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(m for _c, m in problems))
        self.problems = problems  # (column, message)


@dataclass
class FieldMap:
    spec: FieldSpec
    column: str = ""
    index: int | None = None
    value: Any = None
    default: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    transform: str = ""
    by: str = ""
    date_format: str = ""
    prefix: str = ""


@dataclass
class Step:
    index: int
    entity: ImportEntity
    fields: dict[str, FieldMap]
    options: dict[str, Any]
    required: tuple[str, ...] = ()  # fields every row must have


def compile_steps(steps: list[dict[str, Any]], headers: list[str]) -> list[Step]:
    """The mapping's steps against this file; every problem (unknown field or column, required field
    not mapped) is collected and raised together."""
    problems: list[tuple[str, str]] = []
    by_header = {}
    for i, h in enumerate(headers):
        by_header.setdefault(h.strip(), i)
        by_header.setdefault(norm(h), i)
    compiled: list[Step] = []
    if not steps:
        problems.append(("", _("The mapping has no step.")))
    for index, step in enumerate(steps):
        entity = entity_get(step.get("entity", ""))
        if entity is None:
            problems.append(("", _("Unknown entity “%(e)s”.") % {"e": step.get("entity", "")}))
            continue
        specs = entity.field_specs()
        fields: dict[str, FieldMap] = {}
        for name, raw in (step.get("fields") or {}).items():
            spec = specs.get(name)
            if spec is None:
                problems.append(("", _("%(entity)s has no field “%(f)s”.") % {"entity": entity.label, "f": name}))
                continue
            raw = {"column": raw} if isinstance(raw, str) else dict(raw or {})
            fmap = FieldMap(spec=spec, column=str(raw.get("column") or "").strip(), value=raw.get("value"),
                            default=raw.get("default"), transform=raw.get("transform") or "",
                            by=raw.get("by") or "", date_format=raw.get("date_format") or "",
                            prefix=str(raw.get("prefix") or ""),
                            values={norm(k): v for k, v in (raw.get("values") or {}).items()})
            if fmap.column:
                fmap.index = by_header.get(fmap.column, by_header.get(norm(fmap.column)))
                if fmap.index is None:
                    problems.append((fmap.column, _("The mapping reads column “%(c)s” for %(f)s, but the file has "
                                                    "no such column.") % {"c": fmap.column, "f": name}))
            elif fmap.value in (None, ""):
                problems.append(("", _("Field “%(f)s” has neither a column nor a value.") % {"f": name}))
            if fmap.transform and fmap.transform not in TRANSFORMS:
                problems.append(("", _("Unknown transform “%(t)s”.") % {"t": fmap.transform}))
            if fmap.by and (spec.ref is None or fmap.by not in spec.ref.keys):
                problems.append(("", _("Field “%(f)s” cannot be looked up by “%(b)s”.") % {"f": name, "b": fmap.by}))
            fields[name] = fmap
        for name, spec in specs.items():
            if spec.required and name not in fields:
                problems.append(("", _("The required field “%(f)s” (%(l)s) is not mapped.") % {"f": name, "l": spec.label}))
        compiled.append(Step(index=index, entity=entity, fields=fields, options=dict(step.get("options") or {}),
                             required=tuple(name for name, spec in specs.items() if spec.required)))
    if problems:
        raise MappingProblem(problems)
    return compiled


# --- rows: mapping, types, references ------------------------------------------------------------------


def _map_row(step: Step, line: int, cells: list[Any]) -> ImportRow:
    row = ImportRow(line=line, step=step.index)
    for name, fmap in step.fields.items():
        raw: Any = None
        if fmap.index is not None:
            raw = cells[fmap.index] if fmap.index < len(cells) else ""
            row.columns[name] = fmap.column
        else:
            row.columns[name] = ""
        if raw in (None, ""):
            raw = fmap.value if fmap.index is None else fmap.default
        if raw in (None, ""):
            continue
        if isinstance(raw, str):
            if fmap.values:
                raw = fmap.values.get(norm(raw), raw)
            if fmap.transform == "upper":
                raw = raw.upper()
            elif fmap.transform == "lower":
                raw = raw.lower()
            elif fmap.transform == "username":
                raw = username_from(raw)
            raw = fmap.prefix + raw
        row.raw[name] = raw
        if fmap.spec.kind == REF:
            continue  # looked up per batch
        try:
            value = coerce(fmap.spec, raw, date_format=fmap.date_format)
        except ValueError as exc:
            row.error(name, ImportErrorKind.TYPE, exc)
            continue
        if value is not None:
            row.values[name] = value
    for name in step.required:
        if name not in row.raw and not any(f == name for f, _k, _m in row.errors):
            row.error(name, ImportErrorKind.MISSING, _("A value is required."))
    return row


AMBIGUOUS = object()
# While validating, a reference to a row further down the file: present, but not yet an id.
PENDING = object()


def _ref_candidates(spec: FieldSpec, keys: tuple[str, ...], wanted: set[str], ctx: ImportContext) -> dict[str, Any]:
    """value -> id, or AMBIGUOUS, for the values found (one query for all values and keys)."""
    model = spec.ref.model
    qs = model._default_manager.all()
    if spec.ref.scope is not None:
        qs = spec.ref.scope(qs)
    q = Q()
    for key in keys:
        if key == "external_id":
            q |= Q(source_system=ctx.source_system, external_id__in=wanted)
        else:
            q |= Q(**{f"{key}__in": wanted})
    found: dict[str, dict[str, set[int]]] = {k: defaultdict(set) for k in keys}
    for rec in qs.filter(q).values("pk", *keys):
        for key in keys:
            value = rec[key]
            if value in wanted:
                found[key][value].add(rec["pk"])
    result: dict[str, Any] = {}
    for value in wanted:
        for key in keys:
            ids = found[key].get(value)
            if ids:
                result[value] = next(iter(ids)) if len(ids) == 1 else AMBIGUOUS
                break
    return result


def _resolve_refs(step: Step, rows: list[ImportRow], ctx: ImportContext, *, writing: bool,
                  pending: Callable[[ImportRow, str, tuple[str, ...], Any], bool]) -> None:
    """Look up every reference of the batch. `pending(row, field, keys, value)` is asked about values
    not in the database: it returns True when a row of the file will supply the record."""
    for name, fmap in step.fields.items():
        spec = fmap.spec
        if spec.kind != REF:
            continue
        keys = (fmap.by,) if fmap.by else spec.ref.keys
        cache: dict[str, Any] = ctx.memo.setdefault(("ref", step.index, name), {})
        if len(cache) > 50_000:
            cache.clear()
        wanted = {str(row.raw[name]) for row in rows if name in row.raw}
        missing = {v for v in wanted if v not in cache}
        if missing:
            found = _ref_candidates(spec, keys, missing, ctx)
            for value, target in found.items():
                cache[value] = target
        for row in rows:
            if name not in row.raw:
                continue
            value = str(row.raw[name])
            target = cache.get(value)
            if target is AMBIGUOUS:
                row.error(name, ImportErrorKind.REFERENCE,
                          _("“%(v)s” matches more than one %(m)s; use its code or external id.")
                          % {"v": value, "m": spec.ref.model._meta.verbose_name})
            elif target is not None:
                row.values[name] = target
            elif pending(row, name, keys, value):
                if not writing:
                    row.values[name] = PENDING
            else:
                row.error(name, ImportErrorKind.REFERENCE, _("No %(m)s “%(v)s” in the system or in this file.")
                          % {"m": spec.ref.model._meta.verbose_name, "v": value})


# --- scratch store: duplicates and forward references at constant memory -----------------------------


class KeyStore:
    """A scratch SQLite file beside the upload: the keys seen so far in the file, by step."""

    def __init__(self, path: Path):
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE dup (step INT, kind TEXT, key TEXT, line INT, sig TEXT, PRIMARY KEY (step, kind, key));
            CREATE TABLE filekey (model TEXT, kind TEXT, key TEXT, line INT, PRIMARY KEY (model, kind, key));
            CREATE TABLE pending (line INT, step INT, field TEXT, model TEXT, keys TEXT, value TEXT);
        """)
        self.db.execute("BEGIN")

    def close(self) -> None:
        self.db.execute("COMMIT")
        self.db.close()

    def first_lines(self, step: int, kind: str, keys: list[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        for chunk in iter_chunks(keys, 500):
            marks = ",".join("?" * len(chunk))
            for key, line, sig in self.db.execute(
                    f"SELECT key, line, sig FROM dup WHERE step=? AND kind=? AND key IN ({marks})", [step, kind, *chunk]):
                found[key] = (line, sig)
        return found

    def add_dups(self, items: list[tuple[int, str, str, int, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO dup VALUES (?,?,?,?,?)", items)

    def add_filekeys(self, items: list[tuple[str, str, str, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO filekey VALUES (?,?,?,?)", items)

    def add_pending(self, items: list[tuple[int, int, str, str, str, str]]) -> None:
        self.db.executemany("INSERT INTO pending VALUES (?,?,?,?,?,?)", items)

    def pending(self) -> Iterator[tuple[int, int, str, str, str, str]]:
        yield from self.db.execute("SELECT line, step, field, model, keys, value FROM pending ORDER BY line")

    def target_line(self, model: str, keys: list[str], value: str) -> int | None:
        for kind in keys:
            row = self.db.execute("SELECT line FROM filekey WHERE model=? AND kind=? AND key=?",
                                  [model, kind, value]).fetchone()
            if row:
                return row[0]
        return None


def _model_label(model) -> str:  # noqa: ANN001
    return model._meta.label_lower


def _signature(row: ImportRow) -> str:
    return repr(sorted((k, str(v)) for k, v in row.values.items()))


# --- the job ------------------------------------------------------------------------------------------


def _job_dir(job: ImportJob) -> Path:
    return Path(settings.KAMCRM_IMPORT_DIR) / str(job.pk)


def _batches(table: Table, size: int, after_line: int = 0, skip: set[int] | frozenset = frozenset()
             ) -> Iterator[list[tuple[int, list[Any]]]]:
    rows = ((line, cells) for line, cells in table.rows() if line > after_line and line not in skip)
    yield from iter_chunks(rows, size)


def _error_rows(job: ImportJob, rows: list[ImportRow]) -> list[ImportRowError]:
    out = []
    for row in rows:
        for name, kind, message in row.errors:
            value = row.raw.get(name, "")
            out.append(ImportRowError(job=job, step=row.step, line=row.line, column=row.columns.get(name) or name,
                                      value=str(value)[:200], kind=kind, message=message))
    return out


def _renew(job: ImportJob) -> None:
    job.lease_until = timezone.now() + dt.timedelta(seconds=settings.KAMCRM_IMPORT_LEASE_SECONDS)


def _context(job: ImportJob, step: Step) -> ImportContext:
    return ImportContext(user=job.created_by, source_system=job.source_system, job=job, options=step.options)


def _validate(job: ImportJob, table: Table, steps: list[Step], progress=None) -> None:  # noqa: ANN001
    """Pass 1: every problem of every row, stored as ImportRowError rows; nothing else is written."""
    ImportRowError.objects.filter(job=job).delete()
    referenced = {f.spec.ref.model for s in steps for f in s.fields.values() if f.spec.kind == REF}
    store = KeyStore(_job_dir(job) / "keys.sqlite3")
    contexts = [_context(job, s) for s in steps]
    total = 0
    counts = {str(s.index): defaultdict(int) for s in steps}
    bad_lines: set[int] = set()
    try:
        for batch in _batches(table, settings.KAMCRM_IMPORT_BATCH_SIZE):
            total += len(batch)
            batch_errors: list[ImportRowError] = []
            for step, ctx in zip(steps, contexts, strict=True):
                rows = [_map_row(step, line, cells) for line, cells in batch]
                pend: list[tuple[int, int, str, str, str, str]] = []

                def later_in_file(row, name, keys, value, _step=step, _pend=pend):  # noqa: ANN001, ANN202
                    model = _step.fields[name].spec.ref.model
                    if any(s.entity.model is model for s in steps[: _step.index + 1]):
                        _pend.append((row.line, _step.index, name, _model_label(model), ",".join(keys), value))
                        return True
                    return False

                _resolve_refs(step, rows, ctx, writing=False, pending=later_in_file)
                good = [r for r in rows if r.ok]
                if good:
                    step.entity.match(good, ctx)
                _check_duplicates(step, [r for r in rows if r.ok], store, counts[str(step.index)])
                store.add_pending([p for p in pend if any(r.line == p[0] and r.ok for r in rows)])
                if step.entity.model in referenced:
                    keys = []
                    for r in rows:
                        if r.ok:
                            for kind in step.entity.file_keys:
                                if r.values.get(kind):
                                    keys.append((_model_label(step.entity.model), kind, str(r.values[kind]), r.line))
                    store.add_filekeys(keys)
                for r in rows:
                    if r.ok and r.status != "repeated":
                        counts[str(step.index)]["matched" if r.existing is not None else "new"] += 1
                batch_errors.extend(_error_rows(job, rows))
            bad_lines.update(e.line for e in batch_errors)
            ImportRowError.objects.bulk_create(batch_errors)
            job.total_rows = total
            _renew(job)
            job.save(update_fields=["total_rows", "lease_until", "updated_at"])
            if progress:
                progress(job)
        # References to rows further down the file: good once the target row is good.
        late: list[ImportRowError] = []
        changed = True
        while changed:
            changed = False
            for line, step_index, name, model, keys, value in store.pending():
                if line in bad_lines:
                    continue
                target = store.target_line(model, keys.split(","), value)
                if target is None or target in bad_lines:
                    fmap = steps[step_index].fields[name]
                    reason = (_("No %(m)s “%(v)s” in the system or in this file.") if target is None else
                              _("The %(m)s “%(v)s” is on line %(line)d, which is rejected."))
                    late.append(ImportRowError(job=job, step=step_index, line=line, column=fmap.column or name,
                                               value=value[:200], kind=ImportErrorKind.REFERENCE,
                                               message=(reason % {"m": fmap.spec.ref.model._meta.verbose_name,
                                                                  "v": value, "line": target or 0})))
                    bad_lines.add(line)
                    changed = True
        ImportRowError.objects.bulk_create(late)
    finally:
        store.close()
    job.total_rows = total
    job.bad_rows = len(bad_lines)
    job.counts = {k: dict(v) for k, v in counts.items()}


def _check_duplicates(step: Step, rows: list[ImportRow], store: KeyStore, counts: dict[str, int]) -> None:
    collapse = bool(step.options.get("collapse_duplicates"))
    by_kind: dict[str, list[tuple[ImportRow, str]]] = defaultdict(list)
    for row in rows:
        for kind, key in step.entity.duplicate_keys(row):
            by_kind[kind].append((row, repr(key) if not isinstance(key, str) else key))
    flagged: set[int] = set()
    new_items = []
    for kind, items in by_kind.items():
        seen = store.first_lines(step.index, kind, [k for _r, k in items])
        for row, key in items:
            if row.line in flagged:
                continue
            first = seen.get(key)
            if first is None:
                seen[key] = (row.line, _signature(row))
                new_items.append((step.index, kind, key, row.line, seen[key][1]))
                continue
            if first[0] == row.line:
                continue
            if collapse and first[1] == _signature(row):
                row.status = "repeated"
                counts["repeated"] += 1
                flagged.add(row.line)
                continue
            fields = [f for f in kind.split("+") if f in row.columns] or [kind.split("+")[0]]
            row.error(fields[0], ImportErrorKind.DUPLICATE_FILE,
                      _("Duplicate inside the file: line %(line)d has the same %(k)s “%(v)s”.")
                      % {"line": first[0], "k": kind.replace("+", " + "), "v": key})
            flagged.add(row.line)
    store.add_dups(new_items)


def _write(job: ImportJob, table: Table, steps: list[Step], progress=None) -> None:  # noqa: ANN001
    """Pass 2: the good rows, batch by batch, each batch committed with the job's cursor."""
    bad_lines = set(ImportRowError.objects.filter(job=job).values_list("line", flat=True))
    size = settings.KAMCRM_IMPORT_BATCH_SIZE
    batch_number = 0
    for step in steps[job.step_index:]:
        ctx = _context(job, step)
        for batch in _batches(table, size, after_line=job.cursor_line, skip=bad_lines):
            batch_number += 1
            rows = _write_batch(job, step, ctx, batch, batch_number)
            _crash("after_commit", job, batch_number)
            if progress:
                progress(job)
            bad_lines.update(r.line for r in rows if not r.ok)
        with transaction.atomic():
            job.step_index = step.index + 1
            job.cursor_line = 0
            _renew(job)
            job.save(update_fields=["step_index", "cursor_line", "lease_until", "updated_at"])


def _write_batch(job: ImportJob, step: Step, ctx: ImportContext, batch: list[tuple[int, list[Any]]],
                 batch_number: int) -> list[ImportRow]:
    rejected: dict[int, ImportRow] = {}
    while True:
        rows = [_map_row(step, line, cells) for line, cells in batch if line not in rejected]
        try:
            with transaction.atomic():
                _resolve_refs(step, rows, ctx, writing=True, pending=_defer)
                for row in rows:
                    if not row.ok:  # the world changed since validation (e.g. a record was deleted)
                        raise RowProblem(row, row.errors[0][0], row.errors[0][2], row.errors[0][1])
                step.entity.match(rows, ctx)
                for row in rows:
                    if not row.ok:
                        raise RowProblem(row, row.errors[0][0], row.errors[0][2], row.errors[0][1])
                todo = _collapse(step, rows)
                step.entity.write(todo, ctx)
                refused = _link_deferred(job, step, todo, ctx)
                _crash("before_commit", job, batch_number)
                counts = job.counts.setdefault(str(step.index), {})
                for row in rows:
                    counts[row.status] = counts.get(row.status, 0) + 1
                job.cursor_line = batch[-1][0]
                job.rows_done = F("rows_done") + len(rows)
                job.bad_rows = F("bad_rows") + len(rejected) + len(refused)
                _renew(job)
                job.save(update_fields=["cursor_line", "rows_done", "bad_rows", "counts", "deferred", "lease_until",
                                        "updated_at"])
                if rejected or refused:
                    ImportRowError.objects.bulk_create(_error_rows(job, list(rejected.values())) + refused)
            job.refresh_from_db(fields=["rows_done", "bad_rows"])
            return rows + list(rejected.values())
        except RowProblem as problem:
            job.refresh_from_db(fields=["counts", "deferred"])
            row = problem.row
            row.errors = [(problem.field_name, problem.kind, problem.message)]
            rejected[row.line] = row


def _defer(row: ImportRow, name: str, keys: tuple[str, ...], value: Any) -> bool:
    """While writing, a reference not in the database yet is to a row further down (validation made
    sure one exists): the record is written without it and the field is set once the target is."""
    row.deferred.append((name, ",".join(keys), value))
    return True


def _collapse(step: Step, rows: list[ImportRow]) -> list[ImportRow]:
    """Rows repeating an earlier row of the same batch (allowed by collapse_duplicates) are not written."""
    seen: set[tuple[str, str]] = set()
    todo = []
    for row in rows:
        keys = {(k, repr(v)) for k, v in step.entity.duplicate_keys(row)}
        if keys & seen and row.existing is None:
            row.status = "repeated"
            continue
        seen |= keys
        todo.append(row)
    return todo


def _link_deferred(job: ImportJob, step: Step, rows: list[ImportRow], ctx: ImportContext) -> list[ImportRowError]:
    """Set the references to rows further down that exist now. A link the entity refuses (e.g. a parent
    that would make a loop) is not set and is reported on the row that asked for it."""
    for row in rows:
        record = row.existing
        for name, keys, value in row.deferred:
            job.deferred.append([step.index, record.pk, name, keys, str(value), row.line])
    if not job.deferred:
        return []
    remaining = []
    refused: list[ImportRowError] = []
    wanted: dict[str, set[str]] = defaultdict(set)
    for _s, _pk, name, keys, value, *_line in job.deferred:
        wanted[(name, keys)].add(value)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for (name, keys), values in wanted.items():
        found[(name, keys)] = _ref_candidates(step.fields[name].spec, tuple(keys.split(",")), values, ctx)
    ready = []
    for item in job.deferred:
        step_index, pk, name, keys, value, *_line = item
        target = found[(name, keys)].get(value)
        if target is None or target is AMBIGUOUS or step_index != step.index:
            remaining.append(item)
            continue
        ready.append((item, target))
    problems = step.entity.set_deferred_many([(item[1], item[2], target) for item, target in ready], ctx)
    for index, exc in problems.items():
        step_index, _pk, name, _keys, value, *line = ready[index][0]
        fmap = step.fields[name]
        refused.append(ImportRowError(
            job=job, step=step_index, line=line[0] if line else 0, column=fmap.column or name, value=value[:200],
            kind=ImportErrorKind.INVALID,
            message=_("%(f)s “%(v)s” was not set: %(reason)s")
            % {"f": fmap.spec.label, "v": value, "reason": "; ".join(exc.messages)}))
    job.deferred = remaining
    return refused


def import_job_run(job_id: int, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob | None:
    """Run (or resume) a job. Returns None when another worker holds it or it is finished.
    `progress(job)` is called after each batch (the CLI prints it)."""
    now = timezone.now()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(of=("self",)).filter(pk=job_id).select_related("created_by").first()
        if job is None or not job.is_active:
            return None
        if job.lease_until is not None and job.lease_until > now:
            return None  # a live worker has it
        _renew(job)
        job.attempts += 1
        job.started_at = job.started_at or now
        if job.status == ImportStatus.QUEUED:
            job.status = ImportStatus.VALIDATING
        job.save()
    with change_context(channel=Channel.IMPORT, actor=job.created_by, job_id=job.job_id):
        try:
            table = open_table(_job_dir(job) / job.file_path, job.file_format)
            steps = compile_steps(job.steps, table.headers)
            if job.status == ImportStatus.VALIDATING:
                _validate(job, table, steps, progress)
                job.status = ImportStatus.DONE if job.dry_run else ImportStatus.WRITING
                job.validated = True
                job.step_index = job.cursor_line = job.rows_done = 0
                if not job.dry_run:
                    job.counts = {}
                job.save()
            if job.status == ImportStatus.WRITING:
                _write(job, table, steps, progress)
                job.status = ImportStatus.DONE
        except FileProblem as exc:
            _fail(job, [("", str(exc))])
        except MappingProblem as exc:
            _fail(job, exc.problems)
        except Exception as exc:  # a bug or the database gone: keep the reason, the job can be resumed
            logger.exception("import job %s failed", job.pk)
            job.refresh_from_db(fields=["cursor_line", "step_index", "rows_done", "bad_rows", "counts", "deferred"])
            job.status = ImportStatus.FAILED
            job.error_message = f"{type(exc).__name__}: {exc}"
        job.lease_until = None
        job.finished_at = timezone.now()
        job.save()
    return job


def _fail(job: ImportJob, problems: list[tuple[str, str]]) -> None:
    ImportRowError.objects.filter(job=job).delete()
    ImportRowError.objects.bulk_create([
        ImportRowError(job=job, line=1 if column else 0, column=column, kind=ImportErrorKind.FILE, message=message)
        for column, message in problems
    ])
    job.status = ImportStatus.FAILED
    job.error_message = "; ".join(m for _c, m in problems)
