"""Reading import files row by row at constant memory: CSV (UTF-8 with or without BOM, or GB18030/GBK
as Chinese Excel and WPS save it) and .xlsx (the first sheet).

Lines are numbered as a spreadsheet shows them: the header is line 1, the first data row line 2, and
blank rows keep their numbers, so "line 57" in an error report is row 57 when the file is opened in Excel.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

__all__ = ["FileProblem", "Table", "detect_format", "open_table"]

CHUNK = 1 << 20
FORMATS = ("csv", "xlsx")


class FileProblem(Exception):
    """The file as a whole cannot be read (wrong format, encoding, no header)."""


def detect_format(name: str, head: bytes) -> str:
    """"xlsx" for a zip (an .xlsx workbook), else "csv"; an old binary .xls is refused."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(_("This is an old Excel .xls workbook; save it as .xlsx or CSV and upload it again."))
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        raise FileProblem(_("The file is named .xlsx but is not an Excel workbook."))
    return "csv"


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with its BOM stripped) when every byte decodes as UTF-8, else GB18030 (a superset of GBK)."""
    with path.open("rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        for encoding in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(encoding)()
            fh.seek(0)
            try:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    raise FileProblem(_("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV (UTF-8) and upload it again."))


def _cell(value: Any) -> Any:
    """A spreadsheet cell as the importer wants it: text stripped, whole floats as ints, dates kept."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, int | float | dt.date):
        return value if isinstance(value, dt.date) else str(value)
    return str(value).strip()


@dataclass
class Table:
    path: Path
    format: str
    encoding: str = ""
    headers: list[str] = field(default_factory=list)
    header_line: int = 1

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(line, cells) for every non-blank data row, in file order."""
        if self.format == "csv":
            yield from self._csv_rows()
        else:
            yield from self._xlsx_rows()

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        with self.path.open(encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh)
            line = 0
            try:
                for cells in reader:
                    line += 1
                    if line <= self.header_line:
                        continue
                    if any(c.strip() for c in cells):
                        yield line, [c.strip() for c in cells]
            except csv.Error as exc:
                raise FileProblem(_("Line %(line)d is not valid CSV: %(e)s") % {"line": line + 1, "e": exc}) from None

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        import openpyxl

        workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if line <= self.header_line:
                    continue
                cells = [_cell(v) for v in values]
                if any(c != "" for c in cells):
                    yield line, cells
        finally:
            workbook.close()


def open_table(path: Path, fmt: str) -> Table:
    """Read the header (the first non-blank row) and return a Table that can stream the rows."""
    table = Table(path=path, format=fmt)
    if fmt == "csv":
        table.encoding = _detect_encoding(path)
        with path.open(encoding=table.encoding, newline="") as fh:
            try:
                for line, cells in enumerate(csv.reader(fh), start=1):
                    if any(c.strip() for c in cells):
                        table.headers, table.header_line = [c.strip() for c in cells], line
                        break
            except csv.Error as exc:
                raise FileProblem(_("The header is not valid CSV: %(e)s") % {"e": exc}) from None
    elif fmt == "xlsx":
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise FileProblem(_("The workbook cannot be read: %(e)s") % {"e": exc}) from None
        try:
            if not workbook.worksheets:
                raise FileProblem(_("The workbook has no sheet."))
            for line, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
                cells = [str(_cell(v)) for v in values]
                if any(cells):
                    table.headers, table.header_line = cells, line
                    break
        finally:
            workbook.close()
    else:
        raise FileProblem(_("Unknown file format “%(f)s”.") % {"f": fmt})
    while table.headers and not table.headers[-1]:
        table.headers.pop()  # spreadsheets add empty trailing columns
    if not table.headers:
        raise FileProblem(_("The file is empty; its first row must name the columns."))
    return table
