"""Import throughput and memory: an accounts CSV with bad rows of every kind through import_job_run.

    .venv/bin/python bench/import_bench.py --rows 100000 --bad 1000 --db sqlite
    .venv/bin/python bench/import_bench.py --rows 100000 --bad 1000 --db postgres

The script makes its own database: SQLite in a temporary KAMCRM_DATA_DIR, or the PostgreSQL database
kamcrm_bench at 127.0.0.1:5432 (user postgres, dropped and created again). It migrates, creates a small
organisation and one existing account (for "duplicate of an existing record"), generates the file
(kamcrm/exchange/tests/import_helpers.py: the bad rows spread evenly, kinds in turn, some parents
further down the file) and imports it as an administrator, checking that exactly the good rows exist
and every bad row is reported with its line, column and reason. Then it imports the same file again
and checks that nothing is added. Memory: the process's resident set (VmRSS, and its high-water mark
VmHWM) after validation and when 25%, 50% and 100% of the rows are written; flat means streaming works.
On PostgreSQL the same rows are then loaded with COPY into a scratch table with the account table's
columns, and the ratio import rows/s ÷ COPY rows/s is printed (goal: at least 0.10).

Writes bench/results/import-<db>-<date>.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgres://postgres@127.0.0.1:5432/kamcrm_bench"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=1_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--batch", type=int, default=1000, help="KAMCRM_IMPORT_BATCH_SIZE")
    return parser.parse_args()


def memory() -> dict[str, float]:
    """Resident set now and its peak so far, in MB (Linux /proc)."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return {"rss_mb": round(out["VmRSS"], 1), "peak_mb": round(out["VmHWM"], 1)}


def main() -> None:  # noqa: PLR0915
    args = parse()
    work = Path(tempfile.mkdtemp(prefix="kamcrm-import-bench-"))
    os.environ["KAMCRM_DATA_DIR"] = str(work)
    os.environ["KAMCRM_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ["KAMCRM_IMPORT_BATCH_SIZE"] = str(args.batch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS kamcrm_bench")
            admin.execute("CREATE DATABASE kamcrm_bench")
        os.environ["DATABASE_URL"] = PG_BENCH
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from kamcrm.customers import services as customer_services
    from kamcrm.customers.models import Account
    from kamcrm.exchange.import_services import import_job_create
    from kamcrm.exchange.importing import import_job_run
    from kamcrm.exchange.models import ImportStatus
    from kamcrm.exchange.tests.import_helpers import BAD_ERROR_KIND, account_steps, generate_accounts
    from kamcrm.org import services as org_services
    from kamcrm.org.choices import Role, UnitKind

    settings.KAMCRM_IMPORT_DIR = work / "imports"
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    hq = org_services.org_unit_create(name="总部", code="HQ", kind=UnitKind.COMPANY)
    east = org_services.org_unit_create(name="华东分公司", code="EAST", kind=UnitKind.BRANCH, parent=hq)
    admin = org_services.user_create(username="admin", password="Bench-pass-2026", role=Role.ADMINISTRATOR,
                                     unit=hq, display_name="管理员", is_staff=True, is_superuser=True)
    rep = org_services.user_create(username="rep", password="Bench-pass-2026", role=Role.ACCOUNT_MANAGER,
                                   unit=east, display_name="客户经理")
    existing = customer_services.account_create(name="已有客户", region=east, owner=rep,
                                                credit_code="91310000MA1FL0XQ04")
    Account.objects.filter(pk=existing.pk).update(source_system="crm-old", external_id="OLD-1")

    generated = generate_accounts(work / "accounts.csv", rows=args.rows, bad=args.bad,
                                  existing_code=existing.credit_code)
    good = len(generated.good_ids)
    print(f"generated {args.rows:,} rows ({good:,} good) in {work / 'accounts.csv'}", file=sys.stderr)

    marks = {}
    checkpoints = sorted({max(1, good // 4), max(1, good // 2), good})

    def progress(job):  # noqa: ANN001
        if job.status == ImportStatus.VALIDATING:
            if job.total_rows >= args.rows and "validated" not in marks:
                marks["validated"] = {"rows": job.total_rows, "seconds": round(time.perf_counter() - started, 1),
                                      **memory()}
            return
        done = job.rows_done
        for point in checkpoints:
            if done >= point and point not in marks:
                marks[point] = {"rows": done, "seconds": round(time.perf_counter() - started, 1), **memory()}

    def run(label: str):
        with generated.path.open("rb") as fh:
            job = import_job_create(by=admin, file=fh, file_name="accounts.csv", source_system="bench",
                                    steps=account_steps(region=east.code, owner=rep.username), enqueue=False)
        begin = time.perf_counter()
        import_job_run(job.pk, progress=progress)
        seconds = time.perf_counter() - begin
        job.refresh_from_db()
        print(f"{label}: {job.status} in {seconds:.1f} s, counts {job.counts}, {job.bad_rows} rejected",
              file=sys.stderr)
        return job, seconds

    base_memory = memory()
    started = time.perf_counter()
    job, first_seconds = run("first import")
    assert job.status == ImportStatus.DONE, job.error_message
    accounts = Account.objects.filter(source_system="bench")
    written = accounts.count()
    assert written == good, f"{written} accounts written, {good} expected"
    assert set(accounts.values_list("external_id", flat=True)) == generated.good_ids
    assert job.bad_rows == len(generated.bad) == args.bad, job.bad_rows
    assert job.counts["0"] == {"created": good}, job.counts
    errors = {e.line: (e.kind, e.column, e.message) for e in job.row_errors.all()}
    assert set(errors) == set(generated.bad)
    for line, (kind, column) in generated.bad.items():
        got_kind, got_column, reason = errors[line]
        assert (got_kind, got_column) == (BAD_ERROR_KIND[kind], column) and reason, (line, errors[line])
    with_parent = accounts.filter(parent__isnull=False).count()

    total = Account.objects.count()
    again, second_seconds = run("second import")
    assert again.status == ImportStatus.DONE, again.error_message
    assert Account.objects.count() == total, "the second import added accounts"
    assert "created" not in again.counts["0"] and again.counts["0"].get("unchanged") == good, again.counts

    import_rate = good / first_seconds
    result = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(), "database": args.db, "vendor": connection.vendor,
        "rows": args.rows, "bad_rows": args.bad, "good_rows": good, "batch_size": args.batch,
        "accounts_with_parent": with_parent,
        "first_import_seconds": round(first_seconds, 2), "first_import_rows_per_s": round(import_rate),
        "second_import_seconds": round(second_seconds, 2), "second_import_rows_per_s": round(good / second_seconds),
        "memory_before_mb": base_memory, "memory": {str(k): v for k, v in marks.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if args.db == "postgres":
        with connection.cursor() as cursor:
            raw = cursor.connection  # psycopg 3
            buffer = io.BytesIO()
            with raw.cursor().copy("COPY (SELECT * FROM customers_account WHERE source_system = 'bench') "
                                   "TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            cursor.execute("DROP TABLE IF EXISTS bench_copy")
            cursor.execute("CREATE TABLE bench_copy (LIKE customers_account INCLUDING DEFAULTS)")
            data = buffer.getvalue()
            begin = time.perf_counter()
            with raw.cursor().copy("COPY bench_copy FROM STDIN") as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start:start + (1 << 20)])
            raw.commit()
            copy_seconds = time.perf_counter() - begin
            cursor.execute("SELECT count(*) FROM bench_copy")
            copied = cursor.fetchone()[0]
        assert copied == good, copied
        result.update(copy_seconds=round(copy_seconds, 3), copy_rows_per_s=round(good / copy_seconds),
                      ratio_import_to_copy=round(import_rate / (good / copy_seconds), 4))

    out = ROOT / "bench" / "results" / f"import-{args.db}-{result['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    print(f"\n### Import, {args.db}: {args.rows:,} rows, {args.bad:,} bad, batches of {args.batch:,}\n")
    print("| run | seconds | good rows/s | result |")
    print("|---|---:|---:|---|")
    print(f"| first import | {first_seconds:.1f} | {import_rate:,.0f} | {good:,} created, {job.bad_rows:,} rejected |")
    print(f"| same file again | {second_seconds:.1f} | {good / second_seconds:,.0f} | "
          f"{again.counts['0'].get('unchanged', 0):,} unchanged, 0 created |")
    if args.db == "postgres":
        print(f"| COPY of the same rows | {result['copy_seconds']:.2f} | {result['copy_rows_per_s']:,} | "
              f"import ÷ COPY = {result['ratio_import_to_copy']:.3f} (goal ≥ 0.10) |")
    print("\n| point | rows | RSS MB | peak RSS MB |")
    print("|---|---:|---:|---:|")
    print(f"| before | 0 | {base_memory['rss_mb']} | {base_memory['peak_mb']} |")
    for key, mark in marks.items():
        label = "after validation" if key == "validated" else f"{mark['rows']:,} written"
        print(f"| {label} | {mark['rows']:,} | {mark['rss_mb']} | {mark['peak_mb']} |")
    print(f"\nresult: {out}")

    connection.close()
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin_db:
            admin_db.execute("DROP DATABASE IF EXISTS kamcrm_bench")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
