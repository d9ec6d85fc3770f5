"""`bench/run.py --interfere`: the account list's p95 while an import and the fact refresh run in other
processes (issue 7: "list p95 rises ≤ 50 % during an import and a fact refresh").

Quiet phase: `--interfere-reps` requests of the filtered account list, page 1, for the executive and the
rep. Loaded phase: two background processes (this file run as a script):
  - import: an accounts CSV of `--import-rows` rows (kamcrm/exchange/tests/import_helpers.py) through
    the exchange import (import_job_run, batches committed as they go) as the administrator;
  - facts: the revenue facts rebuilt set-based (analytics.facts.facts_rebuild_sql, both grains), then
    the funnel roll-up (sales.rollup.rebuild).
On PostgreSQL both run at once. SQLite has one writer at a time (a second writer waits, then fails with
"database is locked"), so there they run one after the other in one background process. The list is
requested again and again until the background work ends; each sample is labelled with what was
running. Afterwards the imported accounts are deleted, so the data set is as before.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "bench-interfere"


def _worker(kind: str, rows: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")
    import django

    django.setup()
    from django.conf import settings

    from kamcrm.org.models import User
    from kamcrm.scale.generator import USER_PREFIX

    started = time.perf_counter()
    if kind == "import":
        from kamcrm.exchange.import_services import import_job_create
        from kamcrm.exchange.importing import import_job_run
        from kamcrm.exchange.tests.import_helpers import account_steps, generate_accounts

        admin = User.objects.get(username=f"{USER_PREFIX}admin")
        rep = User.objects.filter(username__startswith=f"{USER_PREFIX}rep").order_by("username").first()
        from kamcrm.org.models import OrgUnit

        path = rep.unit.path if rep.unit_id else ""
        branch = OrgUnit.objects.filter(kind="branch", path__in=[path[: i + 1] for i, ch in enumerate(path)
                                                                 if ch == "."]).first() \
            or OrgUnit.objects.filter(kind="branch").order_by("id").first()
        work = Path(tempfile.mkdtemp(prefix="kamcrm-interfere-"))
        settings.KAMCRM_IMPORT_DIR = work / "imports"
        generated = generate_accounts(work / "accounts.csv", rows=rows, bad=0, seed=int(time.time()))
        with generated.path.open("rb") as fh:
            job = import_job_create(by=admin, file=fh, file_name="accounts.csv", source_system=SOURCE,
                                    steps=account_steps(region=branch.code, owner=rep.username), enqueue=False)
        import_job_run(job.pk)
        job.refresh_from_db()
        print(f"import: {job.status}, {job.counts}, {job.bad_rows} rejected", flush=True)
    if kind in ("facts", "both"):
        from kamcrm.analytics.facts import facts_rebuild_sql
        from kamcrm.sales import rollup

        if kind == "both":
            _worker("import", rows)
        facts = facts_rebuild_sql()
        funnel = rollup.rebuild()
        print(f"facts: {facts} fact rows, {funnel} funnel roll-up rows", flush=True)
    print(f"{kind} worker: {time.perf_counter() - started:.1f} s", flush=True)


def _cleanup() -> int:
    from django.db import transaction

    from kamcrm.customers.models import Account

    with transaction.atomic():
        imported = Account.objects.filter(source_system=SOURCE)
        imported.update(parent=None)
        n = imported.count()
        imported.delete()
    return n


def interference_bench(ctx: dict, args, run_page) -> dict:  # noqa: ANN001
    from django.db import connection
    from django.test import Client

    from bench.common import pct
    from bench.run import filtered_choice, url_with

    _cleanup()  # a killed earlier run may have left its rows
    clients = {}
    for persona in ("executive", "rep"):
        user = ctx["users"][persona]
        region, tier, _rows = filtered_choice(user)
        client = Client()
        client.force_login(user)
        clients[persona] = (client, url_with("customers:account_list", region=region.pk, tier=tier, sort="name"))
    quiet = {p: run_page(c, url, args.interfere_reps) for p, (c, url) in clients.items()}

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    kinds = ["import", "facts"] if connection.vendor == "postgresql" else ["both"]
    logs = {k: tempfile.NamedTemporaryFile("w+", prefix=f"interfere-{k}-", suffix=".log", delete=False) for k in kinds}
    procs = {k: subprocess.Popen([sys.executable, __file__, k, str(args.import_rows)], env=env, cwd=ROOT,
                                 stdout=logs[k], stderr=subprocess.STDOUT) for k in kinds}
    samples: dict[str, list[float]] = {p: [] for p in clients}
    started = time.perf_counter()
    try:
        while any(p.poll() is None for p in procs.values()):
            for persona, (client, url) in clients.items():
                begin = time.perf_counter()
                response = client.get(url)
                ms = (time.perf_counter() - begin) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"GET {url} answered {response.status_code} during the interference run")
                samples[persona].append(ms)
            time.sleep(0.05)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.wait()
    background_seconds = round(time.perf_counter() - started, 1)
    output = {}
    for k, fh in logs.items():
        fh.seek(0)
        output[k] = fh.read()[-2000:]
        fh.close()
        os.unlink(fh.name)
    failed = {k: p.returncode for k, p in procs.items() if p.returncode}
    removed = _cleanup()
    if failed:
        raise SystemExit(f"background work failed: {failed}\n{output}")
    rows = []
    for persona in clients:
        s = samples[persona]
        loaded = {"requests": len(s), "p50_ms": round(pct(s, 50), 2) if s else None,
                  "p95_ms": round(pct(s, 95), 2) if s else None}
        q = quiet[persona]
        rise = (loaded["p95_ms"] / q["p95_ms"] - 1) if s else None
        rows.append({"operation": "account list, filtered, page 1", "persona": persona, "quiet": q, "loaded": loaded,
                     "p95_rise": round(rise, 3) if rise is not None else None})
        print(f"interference {persona:<9} quiet p95 {q['p95_ms']:7.1f} ms  loaded p95 {loaded['p95_ms']} ms "
              f"({len(s)} requests)  rise {rise:+.0%}" if s else f"interference {persona}: no loaded samples",
              flush=True)
    return {"background": kinds, "import_rows": args.import_rows, "background_seconds": background_seconds,
            "background_output": output, "background_failed": failed, "imported_rows_removed": removed, "rows": rows}


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]))
