"""Export throughput and peak memory on SQLite: rows/s and tracemalloc peak for CSV and .xlsx.

    .venv/bin/python bench/export_memory.py            # 10,000 and 50,000 rows
    .venv/bin/python bench/export_memory.py 2000 20000  # other sizes

Each size runs in a fresh SQLite file under a temporary folder: one account manager owns every
account (so the visibility filter is the usual owner filter), each account has two custom
attributes. Each export is run twice through the same code the views use (export_prepare, then
the CSV stream or the .xlsx file): once plainly for rows/s, once under tracemalloc for the peak of
Python allocations. Memory that stays flat as the rows grow is the point.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="kamcrm-export-bench-"))
os.environ["KAMCRM_DATA_DIR"] = str(WORK)
os.environ["DATABASE_URL"] = f"sqlite:///{WORK / 'bench.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")
os.environ["KAMCRM_DEBUG"] = "0"  # DEBUG would keep every query in memory

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.utils import translation  # noqa: E402

from kamcrm.core import attribute_services  # noqa: E402
from kamcrm.customers.models import Account  # noqa: E402
from kamcrm.exchange.export import ExportRun, csv_stream, export_entity_get, export_prepare, xlsx_file  # noqa: E402
from kamcrm.org import services as org_services  # noqa: E402
from kamcrm.org.choices import Role, UnitKind  # noqa: E402


def setup_org():
    hq = org_services.org_unit_create(name="总部", code="HQ", kind=UnitKind.COMPANY)
    east = org_services.org_unit_create(name="华东分公司", code="EAST", kind=UnitKind.BRANCH, parent=hq)
    rep = org_services.user_create(username="rep", password="Bench-pass-2026", role=Role.ACCOUNT_MANAGER,
                                   unit=east, display_name="客户经理")
    for key, label, kind in (("employees", "员工人数", "number"), ("revenue", "年收入", "decimal")):
        attribute_services.attribute_definition_create(entity="account", key=key, label_zh=label,
                                                       label_en=key, type=kind)
    return east, rep


def grow(east, rep, total: int) -> None:
    have = Account.objects.count()
    batch = []
    for i in range(have, total):
        batch.append(Account(name=f"生成客户{i:07d}有限公司", short_name=f"客户{i}", region=east, owner=rep,
                             owner_unit=east, tier="key", industry="manufacturing", tags=["甲", "乙"],
                             address="上海市浦东新区世纪大道100号", description="=1+1 重点客户，年度框架协议",
                             attributes={"employees": i, "revenue": f"{i}.25"}))
        if len(batch) == 2000:
            Account.objects.bulk_create(batch)
            batch = []
    Account.objects.bulk_create(batch)


def run_export(rep, fmt: str) -> tuple[int, int]:
    prepared = export_prepare(entity=export_entity_get("accounts"), user=rep, query=QueryDict(""))
    run = ExportRun(prepared)
    size = 0
    if fmt == "csv":
        stream = csv_stream(run)
        for chunk in stream:
            size += len(chunk)
        stream.close()
    else:
        with xlsx_file(run) as f:
            f.seek(0, 2)
            size = f.tell()
        run.finish()
    return run.rows, size


def measure(rep, fmt: str) -> dict:
    t0 = time.perf_counter()
    rows, size = run_export(rep, fmt)
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    run_export(rep, fmt)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": rows, "seconds": seconds, "rows_s": rows / seconds, "peak_mb": peak / 2**20, "file_mb": size / 1e6}


def main(sizes: list[int]) -> None:
    call_command("migrate", verbosity=0)
    translation.activate("zh-hans")
    east, rep = setup_org()
    print(f"kamcrm export benchmark: SQLite {connection.Database.sqlite_version}, Python {sys.version.split()[0]}, "
          f"chunk 2,000 rows, 24 columns")
    print(f"{'rows':>8} {'format':>6} {'seconds':>8} {'rows/s':>8} {'file MB':>8} {'peak MB':>8}")
    for total in sizes:
        grow(east, rep, total)
        for fmt in ("csv", "xlsx"):
            m = measure(rep, fmt)
            print(f"{m['rows']:>8,} {fmt:>6} {m['seconds']:>8.2f} {m['rows_s']:>8,.0f} {m['file_mb']:>8.1f} "
                  f"{m['peak_mb']:>8.1f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 50_000])
