"""Import API: upload with a saved mapping or steps, status, rejected rows (JSON, paged, and CSV),
resume and cancel, saved mappings; scope "import" for integration tokens; who sees which job."""
from __future__ import annotations

import io
import json

import pytest
from django.core.cache import cache

from kamcrm.api.tests.conftest import HttpsAPIClient
from kamcrm.customers.models import Account
from kamcrm.exchange.models import ImportJob, ImportMapping, ImportStatus
from kamcrm.integrations import services as integration_services

pytestmark = pytest.mark.django_db

TEXT = "Company,Code\n星河电力有限公司,C-1\n,C-2\n华夏银行南京分行,C-3\n"


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path
    cache.clear()


def _file(text=TEXT, name="a.csv"):
    data = io.BytesIO(text.encode("utf-8"))
    data.name = name
    return data


def _steps(org):
    return [{"entity": "account", "fields": {"name": {"column": "Company"}, "external_id": {"column": "Code"},
                                             "region": {"value": org.east.code}, "owner": {"value": org.rep.username}}}]


def _post(api, org, **extra):
    data = {"file": _file(), "steps": json.dumps(_steps(org)), "source_system": "crm-old", **extra}
    return api.post("/api/v1/imports/", data, format="multipart")


def test_upload_runs_the_job_and_reports_its_status_and_rows(api_for, org, django_capture_on_commit_callbacks):
    api = api_for(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, org)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response["Location"].endswith(f"/api/v1/imports/{job_id}/")
    status = api.get(f"/api/v1/imports/{job_id}/").json()
    assert (status["status"], status["total_rows"], status["bad_rows"], status["good_rows"]) == ("done", 3, 1, 2)
    assert status["counts"] == {"0": {"created": 2}} and status["progress_percent"] == 100
    errors = api.get(f"/api/v1/imports/{job_id}/errors/").json()
    assert errors["results"] == [{"id": errors["results"][0]["id"], "step": 0, "line": 3, "column": "Company",
                                  "value": "", "kind": "missing", "message": "A value is required."}]
    csv_response = api.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert csv_response.status_code == 200
    assert b"".join(csv_response.streaming_content).decode("utf-8-sig").splitlines()[1].startswith("3,Company,")


def test_a_saved_mapping_by_name_and_a_dry_run(api_for, org, django_capture_on_commit_callbacks):
    ImportMapping.objects.create(name="old-crm", source_system="crm-old", steps=_steps(org))
    api = api_for(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"file": _file(), "mapping": "old-crm", "dry_run": "true"},
                            format="multipart")
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert (job.status, job.dry_run, job.mapping.name, job.source_system) == (ImportStatus.DONE, True, "old-crm", "crm-old")
    assert not Account.objects.filter(source_system="crm-old").exists()


@pytest.mark.parametrize("data, field", [
    ({"steps": "[not json"}, "steps"),
    ({"steps": ""}, "mapping"),
    ({"steps": json.dumps([{"entity": "nope", "fields": {}}])}, "steps"),
    ({"source_system": ""}, "source_system"),
])
def test_bad_requests_name_the_field(api_for, org, data, field):
    response = _post(api_for(org.admin), org, **data)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not ImportJob.objects.exists()


def test_non_administrators_may_not_import_the_organisation(api_for, org):
    steps = [{"entity": "org_unit", "fields": {"code": {"column": "Code"}, "name": {"column": "Company"}}}]
    response = _post(api_for(org.rep), org, steps=json.dumps(steps))
    assert response.status_code == 403 and not ImportJob.objects.exists()


@pytest.mark.parametrize("persona", ["rep", "manager", "exec_"])
def test_jobs_of_others_are_not_found(api_for, org, persona, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _post(api_for(org.admin), org).json()["id"]
    api = api_for(getattr(org, persona))
    assert api.get("/api/v1/imports/").json()["results"] == []
    for path in (f"{job_id}/", f"{job_id}/errors/", f"{job_id}/errors.csv"):
        assert api.get(f"/api/v1/imports/{path}").status_code == 404, path
    assert api.post(f"/api/v1/imports/{job_id}/resume/").status_code == 404


def test_cancel_and_resume_answer_with_the_job_or_a_reason(api_for, org):
    api = api_for(org.admin)
    job_id = _post(api, org).json()["id"]  # not run: on_commit callbacks are not executed here
    # A queued job nobody has picked up (say the queue lost it) may be queued again.
    assert api.post(f"/api/v1/imports/{job_id}/resume/").status_code == 202
    response = api.post(f"/api/v1/imports/{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/imports/{job_id}/cancel/").status_code == 400
    assert api.post(f"/api/v1/imports/{job_id}/resume/").status_code == 400  # finished: nothing to resume


def test_mappings_are_saved_by_name_and_replaced(api_for, org):
    api = api_for(org.admin)
    body = {"name": "old-crm", "source_system": "crm-old", "steps": _steps(org), "description": "v1"}
    assert api.post("/api/v1/import-mappings/", body, format="json").status_code == 201
    body["description"] = "v2"
    assert api.post("/api/v1/import-mappings/", body, format="json").status_code == 201
    assert ImportMapping.objects.get().description == "v2"
    assert api.get("/api/v1/import-mappings/old-crm/").json()["steps"] == _steps(org)
    bad = api.post("/api/v1/import-mappings/", {**body, "steps": [{"entity": "account", "fields": {"nope": "x"}}]},
                   format="json")
    assert bad.status_code == 400 and "steps" in bad.json()["errors"]


def test_integration_tokens_need_the_import_scope(org, django_capture_on_commit_callbacks):
    integration = integration_services.integration_create(name="计费系统", code="billing", contact=org.admin)
    _token, read_only = integration_services.api_token_create(integration=integration, name="r", scopes="read,write",
                                                              by=org.admin)
    _token, importer = integration_services.api_token_create(integration=integration, name="i", scopes="import",
                                                             by=org.admin)
    for plain, expected in ((read_only, 403), (importer, 202)):
        api = HttpsAPIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        with django_capture_on_commit_callbacks(execute=True):
            response = _post(api, org)
        assert response.status_code == expected, response.content
        assert api.get("/api/v1/imports/").status_code == (200 if expected == 202 else 403)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE and job.created_by == integration.user
