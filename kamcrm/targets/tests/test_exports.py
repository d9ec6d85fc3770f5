"""Exports of the target views: the plan grid, completion and the ranking as .xlsx (opened with openpyxl)
and CSV, with the figures the pages show, only the rows within the user's reach, logged, and a bad
parameter answering 400 naming it."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.exchange.models import ExportLog
from kamcrm.targets import services
from kamcrm.targets.models import Metric

pytestmark = pytest.mark.django_db
D = Decimal
YEAR = timezone.localdate().year


@pytest.fixture
def metric(db):
    services.metric_defaults_ensure()
    return Metric.objects.get(code="expected_revenue")


@pytest.fixture
def plan(org, metric):
    """HQ 9000 a month: East 5000 (its team 4000: rep 2500, peer 1500), West 3000 (Sales West 3000)."""
    plan = services.plan_create(year=YEAR)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("9000")] * 12)
    services.target_decompose(plan=plan, metric=metric, parent=org.hq,
                              children={org.east: [D("5000")] * 12, org.west: [D("3000")] * 12})
    services.target_decompose(plan=plan, metric=metric, parent=org.east, children={org.sales_east: [D("4000")] * 12})
    services.target_decompose(plan=plan, metric=metric, parent=org.sales_east, children={org.team_e1: [D("4000")] * 12})
    services.target_decompose(plan=plan, metric=metric, parent=org.team_e1,
                              children={org.rep: [D("2500")] * 12, org.peer: [D("1500")] * 12})
    services.target_decompose(plan=plan, metric=metric, parent=org.west, children={org.sales_west: [D("3000")] * 12})
    return plan


def sheet(response):
    from openpyxl import load_workbook

    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_plan_grid_as_xlsx(org, plan, client_for):
    url = reverse("targets:plan_export", args=[plan.pk, "xlsx"])
    header, rows = sheet(client_for(org.exec_).get(url, {"metric": "expected_revenue"}))
    assert header[:5] == ["Unit/person", "Name", "Row", "Level", "Metric"] and header[5] == "Jan"
    hq = next(r for r in rows if r["Unit/person"] == "HQ" and r["Row"] == "unit")
    assert hq["Jan"] == 9000 and hq["Dec"] == 9000 and hq["Total"] == 108000 and hq["Out of balance"] is False
    spare = next(r for r in rows if r["Unit/person"] == "HQ" and r["Row"] == "unallocated")
    assert spare["Jun"] == 1000
    rep = next(r for r in rows if r["Unit/person"] == "rep")
    assert rep["Row"] == "person" and rep["Mar"] == 2500 and rep["Metric"] == "Expected revenue"
    assert {r["Unit/person"] for r in rows} >= {"HQ", "EAST", "WEST", "WEST-SALES", "rep", "peer"}
    log = ExportLog.objects.get()
    assert log.entity == "target-plan" and log.format == "xlsx" and log.row_count == len(rows) and log.completed


def test_an_out_of_reach_users_grid_lacks_the_other_branch(org, plan, client_for):
    url = reverse("targets:plan_export", args=[plan.pk, "xlsx"])
    _header, rows = sheet(client_for(org.dept_head).get(url))
    codes = {r["Unit/person"] for r in rows}
    assert {"EAST-SALES", "EAST-T1", "rep", "peer"} <= codes
    assert not codes & {"HQ", "EAST", "WEST", "WEST-SALES"}
    _header, rows = sheet(client_for(org.outsider).get(url))
    assert rows == []


def test_the_grid_as_csv_in_chinese(org, plan, client_for, metric):
    client = client_for(org.exec_)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("targets:plan_export", args=[plan.pk, "csv"]), {"metric": metric.pk},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0].split(",")
    assert (header[1], header[4], header[5:8], header[-2]) == ("名称", "指标", ["1月", "2月", "3月"], "合计")
    assert any(line.startswith("WEST,") and ",3000.00," in line for line in lines)


def test_completion_and_ranking_as_xlsx_within_reach(org, plan, client_for):
    on = timezone.localdate().isoformat()
    manager = client_for(org.manager)
    _header, rows = sheet(manager.get(reverse("targets:completion_export", args=["xlsx"]),
                                      {"unit": org.team_e1.pk, "period": "year", "on": on}))
    expected = next(r for r in rows if r["Metric"] == "Expected revenue")
    assert expected["Unit/person"] == "EAST-T1" and expected["Target"] == 48000 and expected["Actual"] == 0
    assert len(rows) == Metric.objects.filter(is_active=True).count()
    _header, mine = sheet(client_for(org.rep).get(reverse("targets:completion_export", args=["xlsx"]),
                                                 {"metric": "expected_revenue", "on": on}))
    assert [(r["Unit/person"], r["Target"]) for r in mine] == [("rep", 2500)]
    assert client_for(org.rep).get(reverse("targets:completion_export", args=["xlsx"]),
                                   {"unit": org.west.pk}).status_code == 404
    ranking_url = reverse("targets:ranking_export", args=["xlsx"])
    _header, ranked = sheet(client_for(org.exec_).get(ranking_url, {"unit": org.hq.pk, "metric": "expected_revenue",
                                                                    "period": "year", "on": on}))
    units = [r for r in ranked if r["Ranking"] == "units"]
    assert {r["Unit/person"] for r in units} >= {"EAST", "WEST"}
    assert next(r for r in units if r["Unit/person"] == "WEST")["Target"] == 36000
    _header, team = sheet(client_for(org.dept_head).get(ranking_url, {"unit": org.sales_east.pk,
                                                                      "metric": "expected_revenue"}))
    assert [r["Unit/person"] for r in team if r["Ranking"] == "units"] == ["EAST-T1"]
    assert client_for(org.dept_head).get(ranking_url, {"unit": org.hq.pk}).status_code == 404
    assert client_for(org.outsider).get(ranking_url, {"unit": org.east.pk}).status_code == 404


def test_bad_parameters_name_the_field(org, plan, client_for):
    client = client_for(org.exec_)
    bad = client.get(reverse("targets:plan_export", args=[plan.pk, "xlsx"]), {"metric": "nonsense"})
    assert bad.status_code == 400 and "metric" in bad.content.decode()
    bad = client.get(reverse("targets:completion_export", args=["csv"]), {"period": "decade"})
    assert bad.status_code == 400 and "period" in bad.content.decode()
    bad = client.get(reverse("targets:ranking_export", args=["csv"]))
    assert bad.status_code == 400 and "unit" in bad.content.decode()
    assert client.get(reverse("targets:plan_export", args=[plan.pk, "pdf"])).status_code == 404
    assert client.get(reverse("targets:plan_export", args=[999999, "csv"])).status_code == 404
    assert not ExportLog.objects.exists()
