"""Import UI: upload, column mapping (with a saved mapping), progress, rejected rows and their file,
templates; who sees which job; what each persona may import; query counts of the list and job pages."""
from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.customers.models import Account
from kamcrm.exchange.import_services import import_job_create
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportMapping, ImportRowError, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


def _csv(text: str, name: str = "accounts.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode("utf-8"))
    data.name = name
    return data


GOOD_AND_BAD = (
    "Company,Code,Sector\n"
    "星河电力有限公司,C-1,能源\n"
    "长江航运集团,C-2,no-such-sector\n"
    ",C-3,金融\n"
    "华夏银行南京分行,C-4,finance\n"
)


def _upload(client, *, entity="account", mapping="", source="crm-old", text=GOOD_AND_BAD, name="accounts.csv",
            dry_run=False):
    data = {"file": _csv(text, name), "entity": entity, "source_system": source}
    if mapping:
        data["mapping"] = mapping
    if dry_run:
        data["dry_run"] = "on"
    return client.post(reverse("exchange:import_new"), data)


def _map(client, job_id, org, **extra):
    data = {"col_name": "Company", "col_external_id": "Code", "col_industry": "Sector",
            "val_region": org.east.code, "val_owner": org.rep.username, **extra}
    return client.post(reverse("exchange:import_map", args=[job_id]), data)


def test_the_list_starts_empty_with_a_way_to_start(client_for, org):
    page = client_for(org.rep).get(reverse("exchange:import_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="empty"' in html and reverse("exchange:import_new") in html


def test_upload_map_and_run_reports_each_rejected_row(client_for, org, django_capture_on_commit_callbacks):
    client = client_for(org.admin)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exchange:import_map", args=[job.pk])
    assert job.status == ImportStatus.DRAFT

    form = client.get(response["Location"]).content.decode()
    # The file's columns are offered for every field.
    assert 'value="Company"' in form and 'value="Sector"' in form

    with django_capture_on_commit_callbacks(execute=True):
        response = _map(client, job.pk, org, save_as="old-crm-accounts")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.error_message
    assert (job.total_rows, job.bad_rows, job.counts["0"]["created"]) == (4, 2, 2)
    assert set(Account.objects.filter(source_system="crm-old").values_list("external_id", flat=True)) == {"C-1", "C-4"}
    assert ImportMapping.objects.get(name="old-crm-accounts").steps[0]["fields"]["name"] == {"column": "Company"}

    page = client.get(reverse("exchange:import_detail", args=[job.pk])).content.decode()
    assert 'data-status="done"' in page
    assert "no-such-sector" in page and "Sector" in page  # line, column as written, value and reason
    errors = list(ImportRowError.objects.filter(job=job).values_list("line", "column", "kind"))
    assert errors == [(3, "Sector", "type"), (4, "Company", "missing")]

    download = client.get(reverse("exchange:import_errors", args=[job.pk]))
    body = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert download["Content-Disposition"].endswith(f'{job.job_id}-errors.csv"')
    assert body[0] == "line,column,value,problem,reason" and body[1].startswith("3,Sector,no-such-sector,")


def test_a_saved_mapping_runs_the_upload_at_once(client_for, org, django_capture_on_commit_callbacks):
    ImportMapping.objects.create(name="old-crm", source_system="crm-old", steps=[{"entity": "account", "fields": {
        "name": {"column": "Company"}, "external_id": {"column": "Code"},
        "industry": {"column": "Sector", "values": {"no-such-sector": "other"}},
        "region": {"value": org.east.code}, "owner": {"value": org.rep.username}}}])
    client = client_for(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, entity="", mapping="old-crm", source="")
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("exchange:import_detail", args=[job.pk])
    job.refresh_from_db()
    # The value map turns the unknown sector into "other"; only the nameless row is left.
    assert (job.status, job.bad_rows, job.counts["0"]["created"]) == (ImportStatus.DONE, 1, 3)
    assert Account.objects.get(external_id="C-2").industry == "other"


def test_a_dry_run_writes_nothing_and_says_so(client_for, org, django_capture_on_commit_callbacks):
    client = client_for(org.admin)
    _upload(client, dry_run=True)
    job = ImportJob.objects.get()
    before = Account.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job.pk, org)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Account.objects.count() == before
    assert job.counts["0"]["new"] == 2
    page = client.get(reverse("exchange:import_detail", args=[job.pk])).content.decode()
    assert "dry run" in page and "would create" in page


@pytest.mark.parametrize("data, field, message", [
    ({"entity": "", "source_system": "x"}, "entity", "Choose what the file holds"),
    ({"entity": "account", "source_system": ""}, "source_system", "Name the system"),
])
def test_the_upload_form_names_the_missing_field(client_for, org, data, field, message):
    response = client_for(org.admin).post(reverse("exchange:import_new"), {"file": _csv("a\n1\n"), **data})
    assert response.status_code == 400
    assert f'data-field-error="{field}"' in response.content.decode() and message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_old_xls_workbook_is_refused_on_the_file_field(client_for, org):
    data = io.BytesIO(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    data.name = "old.xls"
    response = client_for(org.admin).post(reverse("exchange:import_new"),
                                          {"file": data, "entity": "account", "source_system": "x"})
    assert response.status_code == 400 and ".xlsx" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_that_reads_no_column_is_refused_before_anything_runs(client_for, org):
    client = client_for(org.admin)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.post(reverse("exchange:import_map", args=[job.pk]), {"col_name": "", "val_region": "EAST"})
    assert response.status_code == 400 and "is not mapped" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_templates_list_every_field_with_its_name(client_for, org):
    response = client_for(org.admin).get(reverse("exchange:import_template", args=["account"]))
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert response.status_code == 200 and "[name]" in header and "[external_id]" in header and "[owner]" in header


def test_org_imports_are_for_administrators_only(client_for, org):
    client = client_for(org.rep)
    assert client.get(reverse("exchange:import_template", args=["org_unit"])).status_code == 404
    form = client.get(reverse("exchange:import_new")).content.decode()
    assert 'value="org_unit"' not in form and 'value="account"' in form
    response = _upload(client, entity="org_unit")
    assert response.status_code == 400 and not ImportJob.objects.exists()


def _admin_job(org, text=GOOD_AND_BAD):
    job = import_job_create(by=org.admin, file=_csv(text), file_name="a.csv", source_system="s", enqueue=False,
                            steps=[{"entity": "account", "fields": {
                                "name": {"column": "Company"}, "external_id": {"column": "Code"},
                                "region": {"value": org.east.code}, "owner": {"value": org.rep.username}}}])
    import_job_run(job.pk)
    return job


@pytest.mark.parametrize("persona", ["rep", "manager", "exec_", "outsider"])
def test_a_job_is_seen_only_by_who_started_it_and_administrators(client_for, org, persona):
    job = _admin_job(org)
    client = client_for(getattr(org, persona))
    for name in ("import_detail", "import_progress", "import_errors", "import_map"):
        assert client.get(reverse(f"exchange:{name}", args=[job.pk])).status_code == 404, name
    for name in ("import_resume", "import_cancel"):
        assert client.post(reverse(f"exchange:{name}", args=[job.pk])).status_code == 404, name
    assert job.job_id not in client.get(reverse("exchange:import_list")).content.decode()


def test_a_rep_updates_only_accounts_they_may_edit(client_for, org, django_capture_on_commit_callbacks):
    Account.objects.filter(pk=org.acct.pk).update(source_system="s", external_id="MINE")
    Account.objects.filter(pk=org.other.pk).update(source_system="s", external_id="THEIRS")
    client = client_for(org.rep)
    job = import_job_create(by=org.rep, file=_csv("Company,Code\n改名一,MINE\n改名二,THEIRS\n"), file_name="a.csv",
                            source_system="s", enqueue=False,
                            steps=[{"entity": "account", "fields": {"name": {"column": "Company"},
                                                                    "external_id": {"column": "Code"}}}])
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.bad_rows) == (ImportStatus.DONE, 1)
    org.acct.refresh_from_db()
    org.other.refresh_from_db()
    assert org.acct.name == "改名一" and org.other.name == "成都天府物流集团"
    error = ImportRowError.objects.get(job=job)
    assert (error.line, error.kind) == (3, "permission")
    page = client.get(reverse("exchange:import_detail", args=[job.pk])).content.decode()
    assert "You may not edit this existing account." in page


def test_resume_is_offered_for_a_stalled_job_and_cancel_stops_a_queued_one(client_for, org):
    client = client_for(org.admin)
    _upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    response = client.post(reverse("exchange:import_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert import_job_run(job.pk) is None  # a cancelled job is not run


def test_list_and_job_pages_take_the_same_queries_however_many_rows(client_for, org):
    client = client_for(org.admin)
    _admin_job(org)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    list_url = reverse("exchange:import_list")
    first = count(list_url)
    job = _admin_job(org, GOOD_AND_BAD + "".join(f",X-{i},\n" for i in range(30)))
    for _ in range(3):
        _admin_job(org)
    assert count(list_url) == first
    few = count(reverse("exchange:import_detail", args=[_admin_job(org).pk]))
    assert count(reverse("exchange:import_detail", args=[job.pk])) == few
    assert ImportRowError.objects.filter(job=job).count() == 31  # the nameless row and the 30 added
