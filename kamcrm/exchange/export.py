"""The export framework: per-entity column definitions, CSV and .xlsx writers, at constant memory.

An entity registers an `ExportEntity` (its queryset selector, which applies visibility and the
list's FilterSet, its sorts and its columns); custom attributes of `attribute_entity` are added as
extra columns, labelled in the current language. `export_prepare` parses the request's filters and
sort (raising a ValidationError keyed by field, before anything is streamed), and the writers
stream the rows:

- CSV: UTF-8 with a byte-order mark (so Excel opens Chinese text correctly), rows read with
  `queryset.values(...).iterator(chunk_size=2000)` (one query, a server-side cursor on PostgreSQL,
  no model instances), turned into text by `csv_cell`'s rules resolved once per export
  (`csv_row_formatter`) and yielded in ~64 KB pieces to a StreamingHttpResponse.
- .xlsx: an openpyxl write-only workbook (rows go to disk as they are appended) saved to an
  anonymous temporary file, then streamed with FileResponse.

Formula neutralisation ("CSV injection"): a text cell starting with = + - @, a tab or a carriage
return, or with the full-width ＝ ＋ － ＠, is one a spreadsheet would run as a formula (or as DDE),
so it is written with a leading apostrophe: "=1+1" is exported as "'=1+1", in both formats. Only
text is touched; numbers, dates and booleans are written as typed values (a negative number stays
a number). The apostrophe stays visible in the cell, so the text is never lost and never run.

`ExportRun` counts rows while they stream and calls `on_finish` exactly once, when the stream ends
or is closed early (the view writes the export log there).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kamcrm.core.attributes import definitions_for
from kamcrm.core.models import AttributeType

__all__ = [
    "CHUNK_SIZE", "ClosingStream", "Column", "ExportEntity", "ExportRun", "FinishingFile", "PreparedExport",
    "choice_column", "columns_for", "csv_stream", "export_entity_get", "export_max_rows", "export_prepare",
    "neutralise", "register", "registered", "xlsx_file",
]

CHUNK_SIZE = 2000
CSV_FLUSH_BYTES = 64 * 1024
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
XLSX_MAX_CELL = 32767
# Control characters an .xlsx file cannot hold (openpyxl refuses them); tab, LF and CR are fine.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# ---- columns and entities ------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One exported column.

    Rows are read with `QuerySet.values(*fields)` (no model instances: a tenth of the time and
    memory), so a column names the value paths it needs (`"region__name"`) and `value` turns the
    row dict into the cell; without `value` the cell is the first field's value as it is.
    `label` is a (lazy) translatable string.
    """

    key: str
    label: Any
    fields: tuple[str, ...]
    value: Callable[[dict[str, Any]], Any] | None = None
    width: int = 16  # .xlsx column width, in characters

    @property
    def read(self) -> Callable[[dict[str, Any]], Any]:
        """The function from a row dict to this column's cell (taken once per export, not per cell)."""
        return self.value if self.value is not None else itemgetter(self.fields[0])


@dataclass
class ExportEntity:
    name: str  # in URLs: /exchange/export/<name>.<fmt>
    label: Any  # plural, translatable ("accounts")
    queryset: Callable[..., QuerySet]  # (user=, filters=) -> visible, filtered rows
    sorts: dict[str, list[str]]
    columns: Callable[[], list[Column]]  # built per export, so choice labels use the current language
    default_sort: str = "name"
    attribute_entity: str = ""  # custom attributes of this entity become extra columns
    list_url: str = ""  # URL name of the list page the export comes from


_REGISTRY: dict[str, ExportEntity] = {}


def register(entity: ExportEntity) -> ExportEntity:
    """Make an entity exportable. Apps call this from their `exports` module (see apps.ready)."""
    _REGISTRY[entity.name] = entity
    return entity


def registered() -> dict[str, ExportEntity]:
    return dict(_REGISTRY)


def export_entity_get(name: str) -> ExportEntity | None:
    return _REGISTRY.get(name)


def choice_column(key: str, label: Any, choices, *, field: str | None = None, width: int = 14) -> Column:
    """A column of a TextChoices field, exported as its label in the current language."""
    names = {value: str(text) for value, text in choices}
    name = field or key
    return Column(key, label, (name,), lambda row: names.get(row[name], row[name]), width)


def _attribute_reader(defn) -> Callable[[Any], Any]:  # noqa: ANN001
    key, kind = defn.key, defn.type

    def read(row):  # noqa: ANN001, ANN202
        stored = row["attributes"]
        raw = stored.get(key) if isinstance(stored, dict) else None
        if raw is None or raw == "" or raw == []:
            return None
        try:
            if kind == AttributeType.NUMBER:
                return int(raw)
            if kind == AttributeType.DECIMAL:
                return Decimal(str(raw))
            if kind == AttributeType.DATE:
                return dt.date.fromisoformat(str(raw))
            if kind == AttributeType.BOOLEAN:
                return bool(raw)
        except (ValueError, TypeError, InvalidOperation):
            return str(raw)  # a value stored before its definition changed: export it as it is
        if isinstance(raw, list):
            return "; ".join(str(v) for v in raw)
        return str(raw)

    return read


def columns_for(entity: ExportEntity) -> list[Column]:
    """The entity's columns, then one per custom attribute (labelled in the current language)."""
    columns = list(entity.columns())
    if entity.attribute_entity:
        columns += [Column(f"attributes.{d.key}", d.label, ("attributes",), _attribute_reader(d), 16)
                    for d in definitions_for(entity.attribute_entity)]
    return columns


def export_max_rows() -> int:
    return int(getattr(settings, "KAMCRM_EXPORT_MAX_ROWS", 1_000_000))


def _filter_data(query) -> Any:  # noqa: ANN001
    data = query.copy()
    for key in ("sort", "cursor", "format"):
        data.pop(key, None)
    return data


def filters_as_json(query) -> dict[str, Any]:  # noqa: ANN001
    """The filters as the export log stores them: single values as strings, repeated ones as lists."""
    data = _filter_data(query)
    out: dict[str, Any] = {}
    for key in data:
        values = [v for v in data.getlist(key)] if hasattr(data, "getlist") else [data[key]]
        out[key] = values[0] if len(values) == 1 else values
    return out


@dataclass
class PreparedExport:
    entity: ExportEntity
    queryset: QuerySet
    columns: list[Column]
    sort: str
    filters: dict[str, Any]
    language: str
    headers: list[str] = field(default_factory=list)


def export_prepare(*, entity: ExportEntity, user, query) -> PreparedExport:  # noqa: ANN001
    """Validate filters, sort and size up front; raise a ValidationError keyed by field if any is bad.

    `query` is the request's QueryDict: the list page's filters plus `sort` (`cursor` is ignored: an
    export is every matching row, not one page).
    """
    sort = query.get("sort") or entity.default_sort
    order = entity.sorts.get(sort)
    if order is None:
        raise ValidationError({"sort": [_("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                        % {"sort": sort, "choices": ", ".join(entity.sorts)}]})
    qs = entity.queryset(user=user, filters=_filter_data(query))
    qs = qs.order_by(*order)
    limit = export_max_rows()
    if qs.order_by().values("pk")[: limit + 1].count() > limit:
        raise ValidationError({"__all__": [
            _("This export has more than %(limit)s rows, the most one export may hold. "
              "Narrow it down with filters and export in parts.") % {"limit": f"{limit:,}"}]})
    columns = columns_for(entity)
    return PreparedExport(entity, qs, columns, sort, filters_as_json(query), translation.get_language() or "",
                          [capfirst(str(c.label)) for c in columns])


# ---- cell values -----------------------------------------------------------------------------------

def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (see the module docstring)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _local(value: dt.datetime) -> dt.datetime:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None, microsecond=0)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return _local(value).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | Decimal | float):
        return str(value)
    return neutralise(str(value))


def csv_row_formatter() -> Callable[[list[Any]], list[str]]:
    """`[csv_cell(v) for v in row]` for one export: the same text, about three times faster.

    The common types (exact types only: a subclass, e.g. a lazy label, still goes through `csv_cell`)
    map to their converter in one dict lookup instead of a chain of isinstance checks, and the current
    time zone and the words for yes/no are looked up once here, not per cell. So call it where the
    export's language and time zone are active.
    """
    tz = timezone.get_current_timezone()
    yes, no = _("yes"), _("no")

    def local(value: dt.datetime) -> str:  # _local(value).isoformat(sep=" "), without building a copy
        if value.utcoffset() is not None:
            value = value.astimezone(tz)
        return value.isoformat(" ", "seconds")[:19]  # "YYYY-MM-DD HH:MM:SS" (the year has 4 digits)

    by_type: dict[type, Callable[[Any], str]] = {
        str: neutralise, bool: lambda value: yes if value else no, int: str, Decimal: str, float: str,
        dt.datetime: local, dt.date: dt.date.isoformat,
    }
    get = by_type.get
    # Text that needs no apostrophe (most cells) and None are written without a call.
    return lambda row: [v if type(v) is str and not v.startswith(FORMULA_STARTS) else
                        "" if v is None else get(type(v), csv_cell)(v) for v in row]


def xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | Decimal | float | dt.date):
        return _local(value) if isinstance(value, dt.datetime) else value
    text = _XLSX_ILLEGAL.sub("", neutralise(str(value)))
    return text[:XLSX_MAX_CELL]


# ---- running an export ---------------------------------------------------------------------------

class ExportRun:
    """Counts rows as they are produced; calls `on_finish(run)` once, at the end or on early close."""

    def __init__(self, prepared: PreparedExport, on_finish: Callable[[ExportRun], None] | None = None):
        self.prepared = prepared
        self.on_finish = on_finish
        self.rows = 0
        self.all_rows = False  # every row was produced
        self.completed = False  # ...and sent to the end
        self.started_at = timezone.now()
        self._t0 = time.monotonic()
        self.duration_ms = 0
        self._finished = False

    def iter_rows(self) -> Iterator[list[Any]]:
        columns = self.prepared.columns
        fields = list(dict.fromkeys(f for c in columns for f in c.fields))
        readers = [c.read for c in columns]
        for row in self.prepared.queryset.values(*fields).iterator(chunk_size=CHUNK_SIZE):
            yield [read(row) for read in readers]
            self.rows += 1
        self.all_rows = True

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.duration_ms = int((time.monotonic() - self._t0) * 1000)
        if self.on_finish is not None:
            self.on_finish(self)


class ClosingStream:
    """An iterator over a generator that finishes the run when the response closes it, even if the
    download was never started (a generator's own `finally` runs only once it has started)."""

    def __init__(self, generator: Iterator[bytes], run: ExportRun):
        self._generator = generator
        self._run = run

    def __iter__(self) -> ClosingStream:
        return self

    def __next__(self) -> bytes:
        return next(self._generator)

    def close(self) -> None:
        try:
            self._generator.close()
        finally:
            self._run.finish()


def csv_stream(run: ExportRun) -> ClosingStream:
    """UTF-8 CSV with a BOM, in pieces of about 64 KB; finishes the run however the stream ends."""
    return ClosingStream(_csv_chunks(run), run)


def _csv_chunks(run: ExportRun) -> Iterator[bytes]:
    try:
        with translation.override(run.prepared.language):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            buffer.write(BOM)
            writer.writerow([neutralise(h) for h in run.prepared.headers])
            cells = csv_row_formatter()
            for row in run.iter_rows():
                writer.writerow(cells(row))
                if buffer.tell() >= CSV_FLUSH_BYTES:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode("utf-8")
            run.completed = run.all_rows
    finally:
        run.finish()


def xlsx_file(run: ExportRun) -> io.BufferedRandom:
    """Write the rows into a write-only workbook in an anonymous temporary file, rewound for reading.

    The caller finishes the run when the file has been sent (see `FinishingFile`).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    prepared = run.prepared
    out = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        with translation.override(prepared.language):
            wb = Workbook(write_only=True)
            ws = wb.create_sheet(title=str(prepared.entity.label)[:31] or "export")
            for i, column in enumerate(prepared.columns, start=1):
                ws.column_dimensions[get_column_letter(i)].width = column.width
            ws.freeze_panes = "A2"
            bold = Font(bold=True)
            header = []
            for text in prepared.headers:
                cell = WriteOnlyCell(ws, value=xlsx_cell(text))
                cell.font = bold
                header.append(cell)
            ws.append(header)
            for row in run.iter_rows():
                ws.append([xlsx_cell(v) for v in row])
            wb.save(out)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        run.finish()
        raise


class FinishingFile(io.RawIOBase):
    """A read-only view of a file that finishes its export run when the response closes it."""

    def __init__(self, raw, run: ExportRun):  # noqa: ANN001
        super().__init__()
        self._raw = raw
        self._run = run
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        data = self._raw.read(len(b))
        b[: len(data)] = data
        if not data:
            self._eof = True
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()
                self._run.completed = self._run.all_rows and self._eof
                self._run.finish()

