"""The pages that write a plan: create, set the company's figures (with a suggestion), split a unit onto
its units and people, rebalance, submit / approve / send back, revise; and the completion page's charts and
its drill-down to the records behind a figure. Each refuses who may not, and a bad cell names its row and
month without writing anything."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.targets import selectors, services
from kamcrm.targets.choices import PlanStatus
from kamcrm.targets.models import Metric, TargetLine, TargetPlan

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def metric(org):
    services.metric_defaults_ensure()
    return Metric.objects.get(code="expected_revenue")


@pytest.fixture
def plan(org, metric):
    plan = services.plan_create(year=timezone.localdate().year)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("9000")] * 12)
    for parent, kids in ((org.hq, [org.east]), (org.east, [org.sales_east]), (org.sales_east, [org.team_e1])):
        services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=dict.fromkeys(kids, 1))
    return plan


def edit_url(plan, metric, unit, **extra):
    query = "&".join(f"{k}={v}" for k, v in {"metric": metric.code, "unit": unit.pk, **extra}.items())
    return f"{reverse('targets:plan_edit', args=[plan.pk])}?{query}"


def months_post(metric, unit, rows: list[list], **extra):
    data = {"metric": metric.code, "unit": unit.pk, "action": "save", **extra}
    for i, months in enumerate(rows):
        for m, value in enumerate(months, start=1):
            data[f"r{i}_m{m}"] = str(value)
    return data


def test_business_management_creates_a_plan_others_are_not_offered_it(org, client_for):
    page = client_for(org.rep).get(reverse("targets:plan_list")).content.decode()
    assert 'data-testid="plan-create"' not in page
    assert client_for(org.rep).post(reverse("targets:plan_create"), {"year": 2031}).status_code == 400
    assert not TargetPlan.objects.filter(year=2031).exists()
    client = client_for(org.bizmgmt)
    assert 'data-testid="plan-create"' in client.get(reverse("targets:plan_list")).content.decode()
    response = client.post(reverse("targets:plan_create"), {"year": 2031, "name": "2031 目标"})
    plan = TargetPlan.objects.get(year=2031)
    assert response.status_code == 302 and response.url == reverse("targets:plan_detail", args=[plan.pk])
    assert client.post(reverse("targets:plan_create"), {"year": 1999}).status_code == 400


def test_set_the_company_figures_from_a_suggestion(org, metric, client_for):
    plan = services.plan_create(year=timezone.localdate().year)
    client = client_for(org.bizmgmt)
    page = client.get(edit_url(plan, metric, org.hq, mode="set", basis="last_year", growth="10")).content.decode()
    assert 'data-testid="months-form"' in page and 'name="r0_m12"' in page
    response = client.post(edit_url(plan, metric, org.hq), months_post(metric, org.hq, [[1000] * 12], mode="set"))
    assert response.status_code == 302
    assert services.lines_by_node(plan=plan, metric=metric, nodes=[f"u{org.hq.pk}"])[f"u{org.hq.pk}"] == [D("1000")] * 12


def test_a_department_head_splits_their_department_onto_its_people(org, metric, plan, client_for):
    client = client_for(org.dept_head)
    # the team below the department is split onto its people: the manager, the rep and the peer
    page = client.get(edit_url(plan, metric, org.team_e1))
    assert page.status_code == 200
    html = page.content.decode()
    assert "rep" in html and "peer" in html and 'data-testid="parent-row"' in html
    rows = page.context["form"].rows
    amounts = [[0] * 12 for _ in rows]
    amounts[rows.index(org.rep)] = [5000] * 12
    amounts[rows.index(org.peer)] = [3000] * 12
    response = client.post(edit_url(plan, metric, org.team_e1), months_post(metric, org.team_e1, amounts))
    assert response.status_code == 302
    got = services.lines_by_node(plan=plan, metric=metric, nodes=[f"p{org.rep.pk}", f"p{org.peer.pk}"])
    assert got[f"p{org.rep.pk}"] == [D("5000")] * 12 and got[f"p{org.peer.pk}"] == [D("3000")] * 12
    assert services.unallocated_of(plan=plan, metric=metric, node=org.team_e1) == [D("1000")] * 12
    assert services.balance_problems(plan=plan) == []


def test_over_allocating_names_the_month_and_writes_nothing(org, metric, plan, client_for):
    client = client_for(org.dept_head)
    rows = client.get(edit_url(plan, metric, org.team_e1)).context["form"].rows
    amounts = [[0] * 12 for _ in rows]
    amounts[rows.index(org.rep)] = [5000] * 11 + [9500]
    before = TargetLine.objects.filter(plan=plan).count()
    response = client.post(edit_url(plan, metric, org.team_e1), months_post(metric, org.team_e1, amounts))
    assert response.status_code == 400
    assert f"{plan.year}-12" in response.content.decode()
    assert TargetLine.objects.filter(plan=plan).count() == before
    bad = months_post(metric, org.team_e1, amounts)
    bad["r0_m3"] = "-5"
    response = client.post(edit_url(plan, metric, org.team_e1), bad)
    assert response.status_code == 400 and response.context["form"].errors["r0_m3"]


def test_split_equally_and_refused_outside_ones_reach(org, metric, plan, client_for):
    client = client_for(org.dept_head)
    response = client.post(edit_url(plan, metric, org.team_e1), {"metric": metric.code, "unit": org.team_e1.pk,
                                                                 "action": "equal"})
    assert response.status_code == 302
    rows = selectors.split_children(plan=plan, metric=metric, unit=org.team_e1)
    got = services.lines_by_node(plan=plan, metric=metric, nodes=[services.node_key(r) for r in rows])
    assert {v[0] for v in got.values()} == {D("3000")}
    assert client_for(org.rep).get(edit_url(plan, metric, org.team_e1)).status_code == 404
    assert client_for(org.outsider).get(edit_url(plan, metric, org.team_e1)).status_code == 404
    assert client_for(org.dept_head).get(edit_url(plan, metric, org.west)).status_code == 404


def test_submit_approve_send_back_through_the_page(org, metric, plan, client_for):
    url = reverse("targets:plan_review", args=[plan.pk])
    head = client_for(org.dept_head)
    head.post(url, {"unit": org.sales_east.pk, "action": "submit", "comment": "分解完毕"})
    assert services.level_status(plan=plan, unit=org.sales_east) == "submit"
    # the head may not approve their own level; the message says why and nothing is recorded
    response = head.post(url, {"unit": org.sales_east.pk, "action": "approve"}, follow=True)
    assert "may not review" in response.content.decode() or "无权" in response.content.decode()
    assert services.level_status(plan=plan, unit=org.sales_east) == "submit"
    biz = client_for(org.bizmgmt)
    response = biz.post(url, {"unit": org.sales_east.pk, "action": "send_back", "comment": ""}, follow=True)
    assert services.level_status(plan=plan, unit=org.sales_east) == "submit"
    biz.post(url, {"unit": org.sales_east.pk, "action": "approve", "comment": "同意"})
    assert services.level_status(plan=plan, unit=org.sales_east) == "approve"
    biz.post(url, {"unit": org.hq.pk, "action": "submit"})
    biz.post(url, {"unit": org.hq.pk, "action": "approve"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    # an edit after approval lands on a new version; the approved one is unchanged
    client = client_for(org.dept_head)
    rows = client.get(edit_url(plan, metric, org.team_e1)).context["form"].rows
    amounts = [[0] * 12 for _ in rows]
    amounts[rows.index(org.rep)] = [100] * 12
    response = client.post(edit_url(plan, metric, org.team_e1), months_post(metric, org.team_e1, amounts))
    newer = TargetPlan.objects.get(supersedes=plan)
    assert response.status_code == 302 and str(newer.pk) in response.url
    assert not TargetLine.objects.filter(plan=plan, node=f"p{org.rep.pk}").exists()
    assert TargetLine.objects.filter(plan=newer, node=f"p{org.rep.pk}", amount=D("100")).count() == 12


def test_rebalance_from_the_grid(org, metric, plan, client_for):
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts={1: D("12000")})
    client = client_for(org.bizmgmt)
    assert 'data-testid="rebalance"' in client.get(reverse("targets:plan_detail", args=[plan.pk])).content.decode()
    client.post(reverse("targets:plan_rebalance", args=[plan.pk]), {"metric": metric.code, "mode": "unallocated"})
    assert not TargetLine.objects.filter(plan=plan, out_of_balance=True).exists()
    assert services.unallocated_of(plan=plan, metric=metric, node=org.hq)[0] == D("3000")


def test_completion_charts_and_drill_down_equal_the_figure(org, metric, plan, client_for):
    from kamcrm.sales import services as sales_services
    from kamcrm.sales.models import Stage

    won = Metric.objects.get(source="won")
    today = timezone.localdate()
    stage = Stage.objects.filter(kind="won").first()
    for amount in (D("1200"), D("800")):
        opp = sales_services.opportunity_create(account=org.acct, name=f"赢单 {amount}", owner=org.rep, amount=amount,
                                                expected_close_date=today, by=org.rep)
        sales_services.opportunity_move(opportunity=opp, stage=stage, by=org.rep)
    client = client_for(org.manager)
    page = client.get(reverse("targets:completion") + f"?unit={org.team_e1.pk}&metric={won.code}")
    html = page.content.decode()
    data = json.loads(html.split('id="completion-data" type="application/json">')[1].split("</script>")[0])
    assert {g["code"] for g in data["gauges"]} >= {"expected_revenue", won.code}
    assert any(b["name"] == str(org.rep) and D(b["actual"]) == D("2000") for b in data["bars"])
    assert len(data["trend"]["actual"]) == 12
    drill = client.get(reverse("targets:completion_records") + f"?unit={org.team_e1.pk}&metric={won.code}")
    assert drill.status_code == 200
    assert sum(r.value for r in drill.context["records"]) == drill.context["actual"] == D("2000")
    assert client_for(org.outsider).get(
        reverse("targets:completion_records") + f"?unit={org.team_e1.pk}&metric={won.code}").status_code == 404


def test_drill_down_sums_for_every_source(org, metric, plan, client_for):
    """Whatever the metric, the records listed add up to the actual shown (all visible to the executive)."""
    on = timezone.localdate()
    start = dt.date(on.year, 1, 1)
    for m in selectors.metric_list():
        records, total, count = selectors.actual_records(user=org.exec_, metric=m, subject=org.hq, start=start, end=on)
        assert total == selectors.actual(metric=m, subject=org.hq, start=start, end=on), m.code
        assert count >= len(records)


def test_every_targets_view_links_its_export(org, metric, plan, client_for):
    import re

    client = client_for(org.manager)
    for page_url, testid in ((reverse("targets:plan_detail", args=[plan.pk]), "export-plan-xlsx"),
                             (reverse("targets:completion") + f"?unit={org.team_e1.pk}", "export-completion-xlsx"),
                             (reverse("targets:completion") + f"?unit={org.team_e1.pk}", "export-ranking-xlsx")):
        html = client.get(page_url).content.decode()
        href = re.search(rf'href="([^"]+)" data-testid="{testid}"', html).group(1).replace("&amp;", "&")
        response = client.get(href)
        assert response.status_code == 200, (testid, href)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body[:2] == b"PK", testid  # an .xlsx is a zip


def test_revise_is_business_managements_and_happens_once_per_version(org, metric, plan):
    from django.core.exceptions import ValidationError

    services.plan_submit(plan=plan)
    services.plan_approve(plan=plan)
    with pytest.raises(ValidationError):
        services.plan_revise(plan=plan, by=org.dept_head)
    newer = services.plan_revise(plan=plan, by=org.bizmgmt)
    with pytest.raises(ValidationError) as refused:
        services.plan_revise(plan=plan, by=org.bizmgmt)
    assert str(newer.version) in str(refused.value)
    assert TargetPlan.objects.filter(supersedes=plan).count() == 1
