"""Agreements through the import framework: one row per line grouped by agreement number, drafts and
signed agreements (with their schedule), every bad row reported with its line and column, all or nothing
per agreement (also across write batches), re-import adds nothing, and the importer's reach."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from kamcrm.agreements.choices import AgreementStatus
from kamcrm.agreements.models import Agreement, AgreementLine, RevenueSlice
from kamcrm.customers import services as customer_services
from kamcrm.exchange.import_services import import_job_create
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportRowError
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal

COLUMNS = {"number": "协议编号", "account": "客户", "title": "协议名称", "type": "类型", "status": "状态",
           "owner": "客户经理", "start_date": "开始", "end_date": "结束", "product": "产品", "quantity": "数量",
           "unit_price": "单价", "amount": "金额", "billing_cycle": "计费周期", "rule": "拆分规则"}
STEPS = [{"entity": "agreement", "fields": {name: {"column": column} for name, column in COLUMNS.items()}}]
HEAD = ",".join(COLUMNS.values())

GOOD = f"""{HEAD}
HT-001,C-1,机柜租用协议,服务协议,已签署,rep,2026-01-01,2026-12-31,IDC-RACK,2,5000,,按月,按月
HT-001,,,,,,,,IDC-BW,1,,12000,monthly,daily
HT-002,C-1,带宽框架协议,framework,draft,rep,2026-03-01,2027-02-28,IDC-BW,1,24000,,yearly,monthly
"""


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


@pytest.fixture
def catalogue(org):
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "C-1"})
    customer_services.account_update(account=org.other, data={"source_system": "erp", "external_id": "C-9"})
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("5000")),
            product_services.product_create(line=line, code="IDC-BW", name="带宽", list_price=D("1000"))]


def run(text: str, *, by, dry_run: bool = False, steps=STEPS) -> ImportJob:  # noqa: ANN001
    job = import_job_create(by=by, file=io.BytesIO(text.encode("utf-8")), file_name="agreements.csv", steps=steps,
                            source_system="erp", dry_run=dry_run, enqueue=False)
    return import_job_run(job.pk)


def errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.kind) for e in ImportRowError.objects.filter(job=job).order_by("line", "id")]


def test_a_good_file_makes_a_signed_agreement_with_its_schedule_and_a_draft(org, catalogue):
    job = run(GOOD, by=org.rep)
    assert job.status == "done", job.error_message
    assert errors(job) == []
    signed = Agreement.objects.get(number="HT-001")
    assert (signed.account, signed.owner, signed.type) == (org.acct, org.rep, "service")
    assert signed.status in (AgreementStatus.SIGNED, AgreementStatus.ACTIVE)
    assert signed.total_value == D("22000")
    assert sorted((line.product.code, line.amount, line.rule) for line in signed.lines.all()) == [
        ("IDC-BW", D("12000"), "daily"), ("IDC-RACK", D("10000"), "monthly")]
    assert RevenueSlice.objects.filter(agreement=signed, superseded_at__isnull=True).count() == 24
    assert signed.changes.filter(kind="signed").exists()
    draft = Agreement.objects.get(number="HT-002")
    assert (draft.status, draft.type, draft.total_value) == ("draft", "framework", D("24000"))
    assert not RevenueSlice.objects.filter(agreement=draft).exists()
    assert job.counts["0"] == {"created": 3}


def test_re_importing_the_same_file_adds_nothing(org, catalogue):
    run(GOOD, by=org.rep)
    lines, slices = AgreementLine.objects.count(), RevenueSlice.objects.count()
    again = run(GOOD, by=org.rep)
    assert again.status == "done" and errors(again) == []
    assert again.counts["0"] == {"unchanged": 3}
    assert (Agreement.objects.count(), AgreementLine.objects.count(), RevenueSlice.objects.count()) == (2, lines,
                                                                                                       slices)


def test_bad_rows_are_reported_with_line_and_column_and_their_agreement_is_not_imported(org, catalogue):
    text = f"""{HEAD}
HT-010,C-1,好协议,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,1200,,monthly,monthly
HT-011,C-1,坏日期,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,abc,,monthly,monthly
HT-011,,,,,,,,IDC-BW,1,100,,monthly,monthly
HT-012,C-404,无此客户,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,100,,monthly,monthly
HT-013,C-1,行超期,service,draft,rep,2026-01-01,2026-06-30,NOPE,1,100,,monthly,monthly
HT-014,C-1,规则错,service,draft,rep,2026-01-01,2026-06-30,IDC-RACK,1,100,,monthly,sometimes
HT-015,C-1,标题不一,service,draft,rep,2026-01-01,2026-06-30,IDC-RACK,1,100,,monthly,monthly
HT-015,C-1,另一个标题,service,draft,rep,2026-01-01,2026-06-30,IDC-BW,1,100,,monthly,monthly
HT-016,,缺客户,service,draft,rep,2026-01-01,2026-06-30,IDC-BW,1,100,,monthly,monthly
HT-017,C-1,负数,service,draft,rep,2026-01-01,2026-06-30,IDC-BW,1,-5,,monthly,monthly
"""
    dry = run(text, by=org.rep, dry_run=True)
    assert dry.status == "done"
    found = errors(dry)
    assert (3, "单价", "type") in found and (5, "客户", "reference") in found and (6, "产品", "reference") in found
    assert (7, "拆分规则", "type") in found and (9, "协议名称", "invalid") in found
    assert (10, "客户", "missing") in found and (11, "单价", "invalid") in found
    assert (4, "协议编号", "invalid") in found and (4, "客户", "missing") not in found
    assert not Agreement.objects.exists()
    job = run(text, by=org.rep)
    assert job.status == "done", job.error_message
    found = errors(job)
    # line 4 is good on its own, but its agreement's line 3 is rejected: not imported, saying why
    assert (4, "协议编号", "invalid") in found
    message = ImportRowError.objects.get(job=job, line=4).message
    assert "line 3 of agreement HT-011" in message
    # HT-015's first row is good but its second is not: neither is imported
    assert (8, "协议编号", "invalid") in found
    assert set(Agreement.objects.values_list("number", flat=True)) == {"HT-010"}


def test_a_line_outside_the_agreement_is_refused_on_its_line_columns(org, catalogue):
    steps = [{"entity": "agreement", "fields": {**STEPS[0]["fields"], "line_end": {"column": "明细结束"}}}]
    text = f"""{HEAD},明细结束
HT-020,C-1,超期明细,service,signed,rep,2026-01-01,2026-06-30,IDC-RACK,1,100,,monthly,monthly,2026-12-31
"""
    job = run(text, by=org.rep, steps=steps)
    assert errors(job) == [(2, "明细结束", "invalid")]
    assert "within its agreement" in ImportRowError.objects.get(job=job).message
    assert not Agreement.objects.exists()


def test_all_or_nothing_holds_when_an_agreement_straddles_two_write_batches(org, catalogue, settings):
    settings.KAMCRM_IMPORT_BATCH_SIZE = 2
    text = f"""{HEAD}
HT-030,C-1,跨批协议,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,1200,,monthly,monthly
HT-031,C-1,跨批协议二,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,1200,,monthly,monthly
HT-031,,,,,,,,IDC-BW,1,2400,,monthly,monthly
HT-031,,,,,,,,IDC-BW,1,3600,,monthly,monthly
HT-032,C-1,后一批坏,service,signed,rep,2026-01-01,2026-12-31,IDC-RACK,1,100,,monthly,monthly
HT-032,,,,,,,,IDC-BW,1,x,,monthly,monthly
"""
    job = run(text, by=org.rep)
    assert job.status == "done", job.error_message
    spanning = Agreement.objects.get(number="HT-031")
    assert spanning.lines.count() == 3 and spanning.total_value == D("7200")
    assert spanning.status in (AgreementStatus.SIGNED, AgreementStatus.ACTIVE)
    assert RevenueSlice.objects.filter(agreement=spanning).count() == 36
    assert not Agreement.objects.filter(number="HT-032").exists()
    assert (6, "协议编号", "invalid") in errors(job) and (7, "单价", "type") in errors(job)


def test_rows_on_an_account_the_importer_may_not_edit_are_refused(org, catalogue):
    text = f"""{HEAD}
HT-040,C-9,西部协议,service,signed,outsider,2026-01-01,2026-12-31,IDC-RACK,1,100,,monthly,monthly
HT-041,C-1,给别人,service,signed,outsider,2026-01-01,2026-12-31,IDC-RACK,1,100,,monthly,monthly
"""
    job = run(text, by=org.rep)
    assert errors(job) == [(2, "客户", "permission"), (3, "客户经理", "permission")]
    assert not Agreement.objects.exists()
    admin = run(text, by=org.admin)
    assert errors(admin) == [] and Agreement.objects.count() == 2


def test_a_signed_agreement_is_not_changed_by_an_import(org, catalogue):
    run(GOOD, by=org.rep)
    changed = GOOD.replace("IDC-BW,1,,12000", "IDC-BW,1,,15000")
    job = run(changed, by=org.rep)
    assert (3, "协议编号", "invalid") in errors(job)
    assert "changes by amendment" in ImportRowError.objects.filter(job=job, line=3).first().message
    assert Agreement.objects.get(number="HT-001").total_value == D("22000")
    # a draft takes new lines
    more = GOOD + "HT-002,,,,,,,,IDC-RACK,1,,500,monthly,monthly\n"
    job = run(more, by=org.rep)
    assert Agreement.objects.get(number="HT-002").total_value == D("24500")
    assert job.counts["0"]["created"] == 1


def test_the_entity_is_listed_for_imports(org):
    from kamcrm.exchange.import_specs import entity_get

    entity = entity_get("agreement")
    assert entity is not None and entity.permitted(org.rep)
    assert {"number", "account", "product", "amount", "rule", "status"} <= set(entity.field_specs())
