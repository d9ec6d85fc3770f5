"""Helpers for the import tests and bench/import_bench.py: run a job in the foreground, read its
errors, and generate account files with known bad rows."""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kamcrm.core.validators import credit_code_check_char

ACCOUNT_HEADER = ["Account ID", "Company", "Credit code", "Tier", "Region", "Owner", "Parent"]
# the kinds of bad row the generator writes, in turn
BAD_KINDS = ("missing_name", "bad_tier", "too_long", "bad_credit_code", "unknown_region", "unknown_owner",
             "unknown_parent", "duplicate_file", "duplicate_existing")
EXISTING_CODE = "duplicate-existing-account"


def credit_code(n: int) -> str:
    """A well-formed unified social credit code made from a number (unique per n)."""
    first17 = f"91310000{n:09d}"
    return first17 + credit_code_check_char(first17)


def account_steps(*, region: str, owner: str, **extra: Any) -> list[dict[str, Any]]:
    """A mapping for files with ACCOUNT_HEADER."""
    fields: dict[str, Any] = {
        "external_id": {"column": "Account ID"},
        "name": {"column": "Company"},
        "credit_code": {"column": "Credit code"},
        "tier": {"column": "Tier"},
        "region": {"column": "Region", "default": region},
        "owner": {"column": "Owner", "default": owner},
        "parent": {"column": "Parent", "by": "external_id"},
    }
    fields.update(extra)
    return [{"entity": "account", "fields": fields}]


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def run_import(*, by, data: bytes, steps: list[dict[str, Any]], name: str = "upload.csv",  # noqa: ANN001
               source_system: str = "test", dry_run: bool = False):
    """Create the job (not queued) and run it here; returns the job as stored."""
    from kamcrm.exchange.import_services import import_job_create
    from kamcrm.exchange.importing import import_job_run

    job = import_job_create(by=by, file=io.BytesIO(data), file_name=name, steps=steps, source_system=source_system,
                            dry_run=dry_run, enqueue=False)
    import_job_run(job.pk)
    job.refresh_from_db()
    return job


def errors_of(job) -> list[tuple[int, str, str, str]]:  # noqa: ANN001
    """(line, column, kind, message) of every rejected row, in file order."""
    return [(e.line, e.column, e.kind, e.message) for e in job.row_errors.order_by("line", "id")]


@dataclass
class GeneratedFile:
    path: Path
    rows: int
    good_ids: set[str] = field(default_factory=set)
    # line -> (kind, column) of each bad row
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)


# the column each kind of bad row is reported against
BAD_COLUMN = {"missing_name": "Company", "bad_tier": "Tier", "too_long": "Company",
              "bad_credit_code": "Credit code", "unknown_region": "Region", "unknown_owner": "Owner",
              "unknown_parent": "Parent", "duplicate_file": "Account ID", "duplicate_existing": "Credit code"}
BAD_ERROR_KIND = {"missing_name": "missing", "bad_tier": "type", "too_long": "type", "bad_credit_code": "type",
                  "unknown_region": "reference", "unknown_owner": "reference", "unknown_parent": "reference",
                  "duplicate_file": "duplicate_file", "duplicate_existing": "duplicate_existing"}


def generate_accounts(path: Path, *, rows: int, bad: int, kinds: tuple[str, ...] = BAD_KINDS,
                      existing_code: str | None = None, seed: int = 7) -> GeneratedFile:
    """An accounts CSV (ACCOUNT_HEADER) of `rows` data rows, `bad` of them wrong (kinds in turn, spread
    evenly through the file). Some good rows name a parent earlier or later in the file.
    "duplicate_existing" needs `existing_code`: the credit code of an account already in the database
    under another external id."""
    rng = random.Random(seed)
    step = rows // bad if bad else rows + 1
    bad_at = {2 + step // 2 + i * step: kinds[i % len(kinds)] for i in range(bad)}
    out = GeneratedFile(path=path, rows=rows)
    tiers = ("key", "strategic", "normal", "")
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(ACCOUNT_HEADER)
        last_good = ""
        for line in range(2, rows + 2):
            ext = f"A{line:07d}"
            kind = bad_at.get(line)
            cells = [ext, f"Company {line} Ltd", credit_code(line) if line % 3 == 0 else "",
                     rng.choice(tiers), "", "", ""]
            if kind is None and line % 50 == 0 and line + 10 < rows + 2 and (line + 10) not in bad_at:
                cells[6] = f"A{line + 10:07d}"  # a parent further down the file
            elif kind is None and line % 50 == 25 and last_good:
                cells[6] = last_good  # a parent above
            if kind == "missing_name":
                cells[1] = ""
            elif kind == "bad_tier":
                cells[3] = "platinum"
            elif kind == "too_long":
                cells[1] = "X" * 201
            elif kind == "bad_credit_code":
                cells[2] = "91310000MA1FL0XQ0Z"
            elif kind == "unknown_region":
                cells[4] = "NO-SUCH-REGION"
            elif kind == "unknown_owner":
                cells[5] = "no.such.person"
            elif kind == "unknown_parent":
                cells[6] = "NO-SUCH-PARENT"
            elif kind == "duplicate_file":
                cells[0] = last_good  # same external id as a good row above
            elif kind == "duplicate_existing":
                cells[2] = existing_code or ""
            if kind is not None:
                out.bad[line] = (kind, BAD_COLUMN[kind])
            else:
                out.good_ids.add(ext)
                last_good = ext
            writer.writerow(cells)
    return out
