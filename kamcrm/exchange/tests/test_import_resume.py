"""A worker killed at any point of an import, then resumed, leaves exactly the good rows: no gaps, no
duplicates, every bad row reported once. Commits are real here (transaction=True), and the "kill" is
a BaseException the runner cannot catch, raised inside a batch's transaction (before its commit) or
right after it, or between validation batches."""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from kamcrm.audit.models import ObjectChange
from kamcrm.customers.models import Account
from kamcrm.exchange import importing
from kamcrm.exchange.import_services import import_job_create, import_job_resume
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportStatus
from kamcrm.exchange.tests.import_helpers import BAD_ERROR_KIND, account_steps, csv_bytes, generate_accounts

ROWS, BAD, BATCH = 3000, 60, 200


class Killed(BaseException):
    """What the worker sees of SIGKILL: nothing; here, an exception no `except Exception` stops."""


@pytest.fixture
def big_file(org, settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path / "imports"
    settings.KAMCRM_IMPORT_BATCH_SIZE = BATCH
    settings.KAMCRM_IMPORT_LEASE_SECONDS = 0  # a dead worker's lease has run out when the next one starts
    Account.objects.filter(pk=org.acct.pk).update(source_system="crm-old", external_id="OLD-1")
    return generate_accounts(tmp_path / "accounts.csv", rows=ROWS, bad=BAD, existing_code=org.acct.credit_code)


def _kill_at(monkeypatch, plan):
    """Kill the run at (point, batch) — point "before_commit" / "after_commit" of the write pass, or
    "validating" after that many validation batches."""
    point, batch = plan

    def hook(at, job, number):
        if (at, number) == (point, batch):
            raise Killed(f"{at} {number}")

    monkeypatch.setattr(importing, "crash_hook", hook if point != "validating" else None)


def _run(job_id, plan, monkeypatch):
    _kill_at(monkeypatch, plan or ("", 0))
    progress = None
    if plan and plan[0] == "validating":
        seen = {"batches": 0}

        def progress(job):
            if job.status == ImportStatus.VALIDATING:
                seen["batches"] += 1
                if seen["batches"] == plan[1]:
                    raise Killed("validating")

    if plan:
        with pytest.raises(Killed):
            import_job_run(job_id, progress=progress)
    else:
        assert import_job_run(job_id) is not None
    monkeypatch.setattr(importing, "crash_hook", None)


PLANS = {
    "before-commit": [("before_commit", 3), ("before_commit", 1), ("before_commit", 7)],
    "after-commit": [("after_commit", 2), ("after_commit", 1), ("after_commit", 9)],
    "mixed": [("validating", 4), ("before_commit", 5), ("after_commit", 3), ("before_commit", 1),
              ("after_commit", 1), ("before_commit", 4)],
    "last-batch": [("before_commit", 15), ("after_commit", 1)],  # the 2,940 good rows make 15 batches
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(PLANS))
def test_killed_and_resumed_imports_leave_exactly_the_good_rows(org, big_file, monkeypatch, name):
    assert len(big_file.good_ids) == ROWS - BAD
    assert set(Counter(kind for kind, _c in big_file.bad.values())) == set(BAD_ERROR_KIND)
    with big_file.path.open("rb") as fh:
        job = import_job_create(by=org.admin, file=fh, file_name="accounts.csv", source_system="gen",
                                steps=account_steps(region=org.east.code, owner=org.rep.username), enqueue=False)
    for number, plan in enumerate(PLANS[name]):
        _run(job.pk, plan, monkeypatch)
        job.refresh_from_db()
        assert job.is_active, f"run {number} should have been killed, not finished"
        if plan[0] == "before_commit":
            # the killed batch left nothing: what exists is exactly the committed cursor's rows
            written = set(Account.objects.filter(source_system="gen").values_list("external_id", flat=True))
            assert written == {i for i in big_file.good_ids if int(i[1:]) <= job.cursor_line}
        if number % 2:
            import_job_resume(job=job, enqueue=False)  # the operator's way; the expired lease works too
    _run(job.pk, None, monkeypatch)
    job.refresh_from_db()

    assert job.status == ImportStatus.DONE, job.error_message
    accounts = Account.objects.filter(source_system="gen")
    ids = list(accounts.values_list("external_id", flat=True))
    assert len(ids) == len(set(ids)) == ROWS - BAD
    assert set(ids) == big_file.good_ids
    assert (job.total_rows, job.bad_rows, job.rows_done) == (ROWS, BAD, ROWS - BAD)
    assert job.counts["0"] == {"created": ROWS - BAD}
    assert job.deferred == []
    errors = {e.line: (e.kind, e.column) for e in job.row_errors.all()}
    assert errors == {line: (BAD_ERROR_KIND[kind], column) for line, (kind, column) in big_file.bad.items()}
    # parents further down the file were linked, even across killed batches
    linked = dict(accounts.filter(parent__isnull=False).values_list("external_id", "parent__external_id"))
    assert len(linked) > 50 and all(child in big_file.good_ids and parent in big_file.good_ids
                                    for child, parent in linked.items())
    # one audit "create" per account, none from a rolled-back batch
    creates = ObjectChange.objects.filter(job_id=job.job_id, action="create")
    assert creates.count() == ROWS - BAD
    assert ImportJob.objects.get(pk=job.pk).attempts == len(PLANS[name]) + 1


KILL_ROWS, KILL_BAD = 4000, 40
SETUP = """
from kamcrm.org import services as s
from kamcrm.org.choices import Role, UnitKind
hq = s.org_unit_create(name="总部", code="HQ", kind=UnitKind.COMPANY)
s.user_create(username="rep", password="Kill-test-2026", role=Role.ACCOUNT_MANAGER, unit=hq, display_name="rep")
"""


def test_a_real_worker_killed_with_sigkill_is_resumed_by_import_resume(tmp_path):
    """`manage.py import_data` in its own process on a file-based SQLite database, killed with SIGKILL
    once some batches are committed; `manage.py import_resume --now` finishes the job."""
    root = Path(settings.BASE_DIR).parent
    env = {**os.environ, "KAMCRM_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'kill.sqlite3'}",
           "KAMCRM_IMPORT_BATCH_SIZE": "100", "KAMCRM_IMPORT_LEASE_SECONDS": "0", "KAMCRM_DEBUG": "0",
           "DJANGO_SETTINGS_MODULE": "kamcrm.settings"}

    def manage(*args, **kwargs):
        return subprocess.run([sys.executable, str(root / "manage.py"), *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=300, **kwargs)

    assert manage("migrate", "--verbosity", "0").returncode == 0
    assert manage("shell", "-c", SETUP).returncode == 0
    generated = generate_accounts(tmp_path / "src.csv", rows=KILL_ROWS, bad=KILL_BAD,
                                  kinds=("missing_name", "bad_tier", "unknown_owner", "duplicate_file"))
    # the same rows under the entity template's headers (no saved mapping needed), region and owner filled in
    with generated.path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for cells in rows:
        cells[4], cells[5] = cells[4] or "HQ", cells[5] or "rep"
    header = [f"{label} [{name}]" for label, name in (("external id", "external_id"), ("name", "name"),
              ("credit code", "credit_code"), ("tier", "tier"), ("region", "region"), ("owner", "owner"),
              ("parent", "parent"))]
    (tmp_path / "accounts.csv").write_bytes(csv_bytes([header, *rows]))

    worker = subprocess.Popen([sys.executable, str(root / "manage.py"), "import_data", str(tmp_path / "accounts.csv"),
                               "--entity", "account", "--source", "gen", "--verbosity", "0"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(tmp_path / "kill.sqlite3", timeout=10)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            row = db.execute("SELECT status, rows_done FROM exchange_importjob").fetchone()
            if row and row[0] == "writing" and row[1] >= 500:
                break
            assert worker.poll() is None, "the import finished before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("the import did not reach its write pass")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    status, done = db.execute("SELECT status, rows_done FROM exchange_importjob").fetchone()
    assert status == "writing" and 500 <= done < KILL_ROWS - KILL_BAD  # killed mid-way
    count = db.execute("SELECT count(*) FROM customers_account WHERE source_system='gen'").fetchone()[0]
    assert count == done  # only committed batches are there

    resumed = manage("import_resume", "--now")
    assert resumed.returncode == 0, resumed.stderr
    status, done, bad, counts = db.execute(
        "SELECT status, rows_done, bad_rows, counts FROM exchange_importjob").fetchone()
    ids = [r[0] for r in db.execute("SELECT external_id FROM customers_account WHERE source_system='gen'")]
    db.close()
    assert status == "done", resumed.stdout
    assert len(ids) == len(set(ids)) == KILL_ROWS - KILL_BAD == done
    assert set(ids) == generated.good_ids
    assert bad == KILL_BAD
    assert json.loads(counts) == {"0": {"created": KILL_ROWS - KILL_BAD}}
