"""Sales orders through the import framework: one row per line grouped by order number, totals and
statuses as order_create makes them, re-import updates (lines replaced, never a delivered one removed),
every bad row reported with its line and column and nothing of its order written, the importer's reach,
orders straddling write batches, and the UI path with a real .xlsx with Chinese headers."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from kamcrm.agreements import services
from kamcrm.agreements.models import Order, OrderLine
from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.customers import services as customer_services
from kamcrm.exchange.import_services import import_job_create
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportRowError, ImportStatus
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal

COLUMNS = {"number": "订单编号", "account": "客户", "agreement": "协议编号", "ordered_on": "下单日期",
           "owner": "客户经理", "status": "状态", "product": "产品", "quantity": "数量", "unit_price": "单价",
           "delivered_quantity": "已交付数量", "external_id": "外部编号"}
STEPS = [{"entity": "order", "fields": {name: {"column": column} for name, column in COLUMNS.items()}}]
HEAD = ",".join(COLUMNS.values())

GOOD = f"""{HEAD}
DD-001,C-1,,2026-03-01,rep,,IDC-RACK,2,5000,,E-1
DD-001,,,,,,IDC-BW,10,100.50,4,
DD-002,C-1,HT-1,2026/03/05,rep,已交付,IDC-BW,3,1000,,E-2
"""


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


@pytest.fixture
def catalogue(org):
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "C-1"})
    customer_services.account_update(account=org.other, data={"source_system": "erp", "external_id": "C-9"})
    line = product_services.product_line_create(code="IDC", name="数据中心")
    products = [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("5000")),
                product_services.product_create(line=line, code="IDC-BW", name="带宽", list_price=D("1000"))]
    services.agreement_create(account=org.acct, number="HT-1", title="机柜协议", owner=org.rep,
                              start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    services.agreement_create(account=org.other, number="HT-9", title="西部协议", owner=org.outsider,
                              start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    return products


def run(text: str, *, by, dry_run: bool = False, steps=STEPS) -> ImportJob:  # noqa: ANN001
    job = import_job_create(by=by, file=io.BytesIO(text.encode("utf-8")), file_name="orders.csv", steps=steps,
                            source_system="erp", dry_run=dry_run, enqueue=False)
    return import_job_run(job.pk)


def errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.kind) for e in ImportRowError.objects.filter(job=job).order_by("line", "id")]


def message(job: ImportJob, line: int) -> str:
    return " ".join(ImportRowError.objects.filter(job=job, line=line).values_list("message", flat=True))


def lines_of(number: str) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    return [(x.product.code, x.quantity, x.unit_price, x.amount, x.delivered_quantity)
            for x in OrderLine.objects.filter(order__number=number).select_related("product").order_by("id")]


def test_a_good_file_makes_orders_with_their_totals_statuses_and_history(org, catalogue):
    job = run(GOOD, by=org.rep)
    assert job.status == "done", job.error_message
    assert errors(job) == []
    first = Order.objects.get(number="DD-001")
    assert (first.account, first.owner, first.agreement, first.ordered_on) == (org.acct, org.rep, None,
                                                                               dt.date(2026, 3, 1))
    assert (first.source_system, first.external_id) == ("erp", "E-1")
    assert lines_of("DD-001") == [("IDC-RACK", D("2"), D("5000"), D("10000"), D("0")),
                                  ("IDC-BW", D("10"), D("100.50"), D("1005"), D("4"))]
    assert (first.total, first.status) == (D("11005"), "partly_delivered")
    second = Order.objects.get(number="DD-002")
    assert second.agreement.number == "HT-1" and second.ordered_on == dt.date(2026, 3, 5)
    # "已交付" with no delivered quantity: delivered in full
    assert (second.total, second.status) == (D("3000"), "delivered")
    assert lines_of("DD-002") == [("IDC-BW", D("3"), D("1000"), D("3000"), D("3"))]
    assert job.counts["0"] == {"created": 3}
    # audited and on the account's timeline, as an order made in the UI
    order_type = ContentType.objects.get_for_model(Order)
    created = ObjectChange.objects.get(content_type=order_type, object_id=first.pk, action="create")
    assert (created.channel, created.job_id, created.actor) == ("import", job.job_id, org.rep)
    assert TimelineEvent.objects.filter(account=org.acct, content_type=order_type, object_id=first.pk).exists()
    assert ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(OrderLine), action="create",
                                       job_id=job.job_id).count() == 3


def test_re_importing_updates_and_never_duplicates(org, catalogue):
    run(GOOD, by=org.rep)
    ids = set(OrderLine.objects.values_list("id", flat=True))
    again = run(GOOD, by=org.rep)
    assert again.status == "done" and errors(again) == []
    assert again.counts["0"] == {"unchanged": 3}
    assert Order.objects.count() == 2 and set(OrderLine.objects.values_list("id", flat=True)) == ids

    # more racks, the bandwidth delivered in full, a new owner and date: the order is updated in place
    changed = GOOD.replace("DD-001,C-1,,2026-03-01,rep,,IDC-RACK,2,5000", "DD-001,C-1,HT-1,2026-03-02,peer,,IDC-RACK,3,5000") \
        .replace("IDC-BW,10,100.50,4", "IDC-BW,10,100.50,10")
    job = run(changed, by=org.manager)  # the team's manager may give the order to a peer
    assert job.status == "done" and errors(job) == [], errors(job)
    assert job.counts["0"] == {"updated": 2, "unchanged": 1}
    order = Order.objects.get(number="DD-001")
    assert (order.owner, order.agreement.number, order.ordered_on) == (org.peer, "HT-1", dt.date(2026, 3, 2))
    assert lines_of("DD-001") == [("IDC-RACK", D("3"), D("5000"), D("15000"), D("0")),
                                  ("IDC-BW", D("10"), D("100.50"), D("1005"), D("10"))]
    assert (order.total, order.status) == (D("16005"), "partly_delivered")
    assert set(OrderLine.objects.values_list("id", flat=True)) == ids
    update = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id=order.pk,
                                         action="update", job_id=job.job_id)
    assert update.exists() and any("total" in c.changes for c in update)

    # an undelivered line dropped from the file is removed; the delivered one stays (same line, same id)
    replaced = f"""{HEAD}
DD-001,C-1,,2026-03-02,,,IDC-BW,10,100.50,,
"""
    job = run(replaced, by=org.rep)
    assert errors(job) == [], errors(job)
    order.refresh_from_db()
    assert lines_of("DD-001") == [("IDC-BW", D("10"), D("100.50"), D("1005"), D("10"))]
    assert (order.total, order.status) == (D("1005"), "delivered")
    assert ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(OrderLine), action="delete",
                                       job_id=job.job_id).count() == 1
    assert Order.objects.count() == 2


def test_a_delivered_line_is_never_removed_nor_a_delivery_taken_back(org, catalogue):
    run(GOOD, by=org.rep)
    before = lines_of("DD-001")
    dropped = f"""{HEAD}
DD-001,C-1,,2026-03-01,rep,,IDC-RACK,2,5000,,
"""
    job = run(dropped, by=org.rep)
    assert errors(job) == [(2, "产品", "invalid")]
    assert "does not remove a delivered line" in message(job, 2) and "IDC-BW" in message(job, 2)
    assert lines_of("DD-001") == before
    back = GOOD.replace("IDC-BW,10,100.50,4", "IDC-BW,10,100.50,2")
    job = run(back, by=org.rep)
    assert (3, "已交付数量", "invalid") in errors(job) and "does not take a delivery back" in message(job, 3)
    assert (2, "订单编号", "invalid") in errors(job)  # its order's other row: all or nothing
    assert lines_of("DD-001") == before


def test_bad_rows_are_reported_with_line_and_column_and_nothing_of_their_order_is_written(org, catalogue):
    text = f"""{HEAD}
DD-010,C-1,,2026-03-01,rep,,IDC-RACK,1,100,,
DD-011,C-1,,2026-03-01,rep,,NOPE,1,100,,
DD-011,,,,,,IDC-BW,1,100,,
DD-012,C-1,HT-9,2026-03-01,rep,,IDC-RACK,1,100,,
DD-013,C-1,,2026-03-01,rep,,IDC-RACK,2,100,3,
DD-014,C-1,,2026-13-45,rep,,IDC-RACK,1,100,,
DD-015,C-1,,2026-03-01,rep,,IDC-RACK,1,100,,
DD-015,,,,,,IDC-BW,1,100,5,
DD-016,C-1,,2026-03-01,rep,部分交付,IDC-RACK,1,100,,
DD-017,C-1,HT-404,2026-03-01,rep,,IDC-BW,1,100,,
"""
    dry = run(text, by=org.rep, dry_run=True)
    assert dry.status == "done", dry.error_message
    found = errors(dry)
    assert (3, "产品", "reference") in found and (4, "订单编号", "invalid") in found
    assert (5, "协议编号", "invalid") in found and (6, "已交付数量", "invalid") in found
    assert (7, "下单日期", "type") in found and (9, "已交付数量", "invalid") in found
    assert (10, "状态", "invalid") in found and (11, "协议编号", "reference") in found
    assert (2, "订单编号", "invalid") not in found
    assert "another account" in message(dry, 5) and "More delivered (3) than ordered (2)" in message(dry, 6)
    assert not Order.objects.exists()

    job = run(text, by=org.rep)
    assert job.status == "done", job.error_message
    found = errors(job)
    assert (4, "订单编号", "invalid") in found and "line 3 of order DD-011" in message(job, 4)
    # DD-015's first row is good but its second is not: neither is written
    assert (8, "订单编号", "invalid") in found and (9, "已交付数量", "invalid") in found
    assert set(Order.objects.values_list("number", flat=True)) == {"DD-010"}
    assert not OrderLine.objects.exclude(order__number="DD-010").exists()
    assert job.bad_rows == 9


def test_rows_on_an_account_the_importer_may_not_edit_are_refused(org, catalogue):
    text = f"""{HEAD}
DD-040,C-9,,2026-03-01,outsider,,IDC-RACK,1,100,,
DD-041,C-1,,2026-03-01,outsider,,IDC-RACK,1,100,,
"""
    job = run(text, by=org.rep)
    assert errors(job) == [(2, "客户", "permission"), (3, "客户经理", "permission")]
    assert not Order.objects.exists()
    admin = run(text, by=org.admin)
    assert errors(admin) == [] and Order.objects.count() == 2
    # nor may they change an order already on an account they may not edit
    again = run(text.replace("IDC-RACK,1,100", "IDC-RACK,5,100"), by=org.rep)
    assert (2, "客户", "permission") in errors(again)
    assert Order.objects.get(number="DD-040").total == D("100")


def test_cancelled_orders_and_status_words(org, catalogue):
    text = f"""{HEAD}
DD-050,C-1,,2026-03-01,rep,取消,IDC-RACK,1,100,,
DD-051,C-1,,2026-03-01,rep,open,IDC-RACK,1,100,0,
DD-052,C-1,,2026-03-01,rep,Partly delivered,IDC-RACK,2,100,1,
"""
    job = run(text, by=org.rep)
    assert errors(job) == []
    assert dict(Order.objects.values_list("number", "status")) == {
        "DD-050": "cancelled", "DD-051": "open", "DD-052": "partly_delivered"}
    # a cancelled order takes no delivery from an import
    job = run(text.replace("取消,IDC-RACK,1,100,", "取消,IDC-RACK,1,100,1"), by=org.rep)
    assert (2, "已交付数量", "invalid") in errors(job) and "cancelled order" in message(job, 2)


def test_an_order_straddling_write_batches_is_written_whole_or_not_at_all(org, catalogue, settings):
    settings.KAMCRM_IMPORT_BATCH_SIZE = 2
    text = f"""{HEAD}
DD-060,C-1,,2026-03-01,rep,,IDC-RACK,1,100,,
DD-061,C-1,,2026-03-01,rep,,IDC-RACK,1,100,,
DD-061,,,,,,IDC-BW,2,100,,
DD-061,,,,,,IDC-BW,3,100,,
DD-062,C-1,,2026-03-01,rep,,IDC-RACK,1,100,,
DD-062,,,,,,IDC-BW,1,x,,
"""
    job = run(text, by=org.rep)
    assert job.status == "done", job.error_message
    spanning = Order.objects.get(number="DD-061")
    assert spanning.lines.count() == 3 and spanning.total == D("600")
    assert not Order.objects.filter(number="DD-062").exists()
    assert (6, "订单编号", "invalid") in errors(job) and (7, "单价", "type") in errors(job)
    assert job.counts["0"] == {"created": 4}
    # again: the lines written by an earlier batch are not replaced by the later batch's rows
    again = run(text, by=org.rep)
    assert again.counts["0"] == {"unchanged": 4}
    assert spanning.lines.count() == 3


def test_the_order_entity_is_offered_with_its_template(client_for, org):
    client = client_for(org.rep)
    form = client.get(reverse("exchange:import_new")).content.decode()
    assert 'value="order"' in form
    response = client.get(reverse("exchange:import_template", args=["order"]))
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert response.status_code == 200
    for name in ("number", "account", "agreement", "ordered_on", "owner", "status", "product", "quantity",
                 "unit_price", "delivered_quantity", "external_id"):
        assert f"[{name}]" in header


def test_an_xlsx_with_chinese_headers_through_the_import_pages(client_for, org, catalogue,
                                                                django_capture_on_commit_callbacks):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS.values()))
    sheet.append(["DD-070", "上海浦江制造有限公司", "HT-1", dt.date(2026, 4, 1), "rep", "待交付", "机柜租用", 2, 5000,
                  None, "X-70"])
    sheet.append(["DD-070", None, None, None, None, None, "IDC-BW", 1, D("99.90"), None, None])
    sheet.append(["DD-071", "C-1", None, "2026年4月2日", "rep", None, "带宽", 4, 10, 4, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "订单.xlsx"
    client = client_for(org.rep)
    response = client.post(reverse("exchange:import_new"), {"file": buffer, "entity": "order", "source_system": "erp"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.file_format == "xlsx"
    page = client.get(reverse("exchange:import_map", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # the Chinese headers that are the fields' labels are guessed
    for header in ("订单编号", "客户", "产品", "单价"):
        assert f'<option value="{header}" selected>' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exchange:import_map", args=[job.pk]),
                               {f"col_{name}": column for name, column in COLUMNS.items()})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, (job.error_message, errors(job))
    assert errors(job) == []
    first = Order.objects.get(number="DD-070")
    assert (first.total, first.status, first.agreement.number, first.external_id) == (D("10099.90"), "open", "HT-1",
                                                                                        "X-70")
    second = Order.objects.get(number="DD-071")
    assert (second.ordered_on, second.total, second.status) == (dt.date(2026, 4, 2), D("40"), "delivered")
