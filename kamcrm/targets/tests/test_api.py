"""Targets API: metrics, plans, the grid within each persona's reach, the writes through the services
(set, decompose by amounts and shares, rebalance, submit, approve, send back), completion and ranking;
refusals answer 404 out of reach, 403 in reach but not allowed, 400 naming the field; query counts of
the grid and the plan list do not grow with the plan."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kamcrm.targets import services
from kamcrm.targets.choices import PlanStatus
from kamcrm.targets.models import Metric, TargetLine, TargetPlan

pytestmark = pytest.mark.django_db
D = Decimal
PLANS = "/api/v1/target-plans/"
YEAR = timezone.localdate().year


@pytest.fixture
def metric(db):
    services.metric_defaults_ensure()
    return Metric.objects.get(code="expected_revenue")


@pytest.fixture
def plan(org, metric):
    """HQ 9000 a month, split down East → Sales East → Team E1 → rep and peer, evenly."""
    plan = services.plan_create(year=YEAR)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("9000")] * 12)
    for parent, kids in ((org.hq, [org.east]), (org.east, [org.sales_east]), (org.sales_east, [org.team_e1]),
                         (org.team_e1, [org.rep, org.peer])):
        services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=dict.fromkeys(kids, 1))
    return plan


def grid(api, plan, **params):
    response = api.get(f"{PLANS}{plan.pk}/grid/", {"metric": "expected_revenue", **params})
    assert response.status_code == 200, response.content
    return {(row["node"], row["is_unallocated"]): row for row in response.json()["rows"]}


def months(amount) -> list[str]:
    return [f"{D(amount):.2f}"] * 12


# ---- metrics and plans --------------------------------------------------------------------------

def test_metrics_are_listed_in_order(org, metric, api_for):
    body = api_for(org.rep).get("/api/v1/target-metrics/").json()
    codes = [m["code"] for m in body["results"]]
    assert "expected_revenue" in codes and "visits" in codes
    visits = next(m for m in body["results"] if m["code"] == "visits")
    assert visits["is_count"] is True and visits["source"] == "visits"


def test_plans_list_detail_and_create(org, plan, api_for):
    api = api_for(org.bizmgmt)
    listed = api.get(PLANS).json()["results"]
    assert [p["id"] for p in listed] == [plan.pk] and listed[0]["status"] == "draft"
    services.plan_submit(plan=plan, comment="ok", by=org.bizmgmt)
    detail = api.get(f"{PLANS}{plan.pk}/").json()
    assert detail["status"] == "submitted" and detail["reviews"][0]["action"] == "submit"
    created = api.post(PLANS, {"year": YEAR + 1, "name": "明年"}, format="json")
    assert created.status_code == 201 and created.json()["version"] == 1 and created.json()["name"] == "明年"
    again = api.post(PLANS, {"year": YEAR + 1}, format="json")
    assert again.status_code == 201 and again.json()["version"] == 2


def test_plan_creation_is_business_managements_and_bad_year_names_the_field(org, metric, api_for):
    assert api_for(org.rep).post(PLANS, {"year": YEAR}, format="json").status_code == 403
    assert api_for(org.dept_head).post(PLANS, {"year": YEAR}, format="json").status_code == 403
    bad = api_for(org.bizmgmt).post(PLANS, {"year": 1800}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["year"]
    assert not TargetPlan.objects.exists()


# ---- the grid and visibility --------------------------------------------------------------------

def test_grid_shows_units_people_unallocated_and_out_of_balance(org, plan, metric, api_for):
    rows = grid(api_for(org.exec_), plan)
    hq = rows[(f"u{org.hq.pk}", False)]
    assert hq["months"] == months(9000) and hq["total"] == "108000.00" and hq["unit"] == org.hq.pk
    assert rows[(f"u{org.hq.pk}", True)]["months"] == months(0)  # all given to East
    assert rows[(f"p{org.rep.pk}", False)]["person"] == org.rep.pk
    assert rows[(f"p{org.rep.pk}", False)]["months"] == months(4500)
    assert hq["children_sum"] == months(9000) and hq["out_of_balance"] == [False] * 12
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts={1: D("12000")})
    body = api_for(org.exec_).get(f"{PLANS}{plan.pk}/grid/", {"metric": metric.pk}).json()
    hq = next(r for r in body["rows"] if r["node"] == f"u{org.hq.pk}" and not r["is_unallocated"])
    assert body["out_of_balance"] is True and hq["out_of_balance"][0] is True and hq["out_of_balance"][1] is False


def test_grid_rows_are_limited_to_the_users_reach(org, plan, api_for):
    rep = grid(api_for(org.rep), plan)
    assert set(rep) == {(f"p{org.rep.pk}", False)}
    manager = grid(api_for(org.manager), plan)
    assert (f"p{org.peer.pk}", False) in manager and (f"u{org.team_e1.pk}", True) in manager
    assert (f"u{org.east.pk}", False) not in manager and (f"u{org.hq.pk}", False) not in manager
    assert grid(api_for(org.outsider), plan) == {}


def test_grid_bad_parameters_name_the_field(org, plan, api_for):
    api = api_for(org.exec_)
    bad = api.get(f"{PLANS}{plan.pk}/grid/", {"metric": "nonsense"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["metric"]
    bad = api.get(f"{PLANS}{plan.pk}/grid/", {"product_line": 999999})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["product_line"]
    assert api.get(f"{PLANS}999999/grid/").status_code == 404


# ---- writes -------------------------------------------------------------------------------------

def test_set_a_child_resplits_its_parent(org, plan, api_for):
    api = api_for(org.bizmgmt)
    response = api.post(f"{PLANS}{plan.pk}/set/", {"metric": "expected_revenue", "unit": org.east.pk,
                                                  "amounts": {"1": "8000", "2": "7000.50"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == plan.pk
    rows = grid(api, plan)
    assert rows[(f"u{org.east.pk}", False)]["months"][:3] == ["8000.00", "7000.50", "9000.00"]
    assert rows[(f"u{org.hq.pk}", True)]["months"][:3] == ["1000.00", "1999.50", "0.00"]
    assert services.balance_problems(plan=plan) == []


def test_set_refusals_name_the_field(org, plan, api_for):
    api = api_for(org.bizmgmt)
    url = f"{PLANS}{plan.pk}/set/"
    over = api.post(url, {"metric": "expected_revenue", "unit": org.east.pk, "amounts": {"3": "9000.01"}},
                    format="json")
    assert over.status_code == 400 and list(over.json()["errors"]) == ["children"]
    assert f"{YEAR}-03" in over.json()["errors"]["children"][0]
    negative = api.post(url, {"metric": "expected_revenue", "unit": org.west.pk, "amounts": {"4": "-1"}},
                        format="json")
    assert negative.status_code == 400 and list(negative.json()["errors"]) == ["amounts"]
    text = api.post(url, {"metric": "expected_revenue", "unit": org.west.pk, "amounts": ["x"] * 12}, format="json")
    assert text.status_code == 400 and list(text.json()["errors"]) == ["amounts"]
    short = api.post(url, {"metric": "expected_revenue", "unit": org.west.pk, "amounts": ["1"] * 11}, format="json")
    assert short.status_code == 400 and list(short.json()["errors"]) == ["amounts"]
    scalar = api.post(url, {"metric": "expected_revenue", "unit": org.west.pk, "amounts": "5"}, format="json")
    assert scalar.status_code == 400 and list(scalar.json()["errors"]) == ["amounts"]
    visits = api.post(url, {"metric": "visits", "unit": org.hq.pk, "amounts": ["1.5"] + ["1"] * 11}, format="json")
    assert visits.status_code == 400 and list(visits.json()["errors"]) == ["amounts"]
    both = api.post(url, {"metric": "expected_revenue", "unit": org.west.pk, "person": org.rep.pk,
                          "amounts": ["1"] * 12}, format="json")
    assert both.status_code == 400 and list(both.json()["errors"]) == ["unit"]
    unknown = api.post(url, {"metric": "no-such", "unit": org.west.pk, "amounts": ["1"] * 12}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()["errors"]) == ["metric"]
    assert grid(api, plan)[(f"u{org.hq.pk}", True)]["months"] == months(0)  # nothing written


def test_writes_out_of_reach_are_404_and_in_reach_but_not_planned_403(org, plan, api_for):
    url = f"{PLANS}{plan.pk}/set/"
    body = {"metric": "expected_revenue", "amounts": ["1"] * 12}
    rep = api_for(org.rep)
    assert rep.post(url, {**body, "person": org.peer.pk}, format="json").status_code == 404
    assert rep.post(url, {**body, "unit": org.west.pk}, format="json").status_code == 404
    assert rep.post(url, {**body, "person": org.rep.pk}, format="json").status_code == 403
    head = api_for(org.dept_head)
    # the department's own figure belongs to whoever splits East; its team's is the head's to set
    assert head.post(url, {**body, "unit": org.sales_east.pk}, format="json").status_code == 403
    assert head.post(url, {**body, "unit": org.team_e1.pk}, format="json").status_code == 200
    assert head.post(url, {**body, "unit": org.west.pk}, format="json").status_code == 404
    decompose = {"metric": "expected_revenue", "parent": org.east.pk, "shares": [{"unit": org.mkt_east.pk,
                                                                                  "share": 1}]}
    assert head.post(f"{PLANS}{plan.pk}/decompose/", decompose, format="json").status_code == 404
    assert rep.post(f"{PLANS}{plan.pk}/decompose/", {**decompose, "parent": org.team_e1.pk,
                                                    "shares": [{"person": org.rep.pk, "share": 1}]},
                    format="json").status_code == 404
    # marketing sees its department but plans nothing
    assert api_for(org.marketing).post(f"{PLANS}{plan.pk}/decompose/", {
        **decompose, "parent": org.mkt_east.pk, "shares": [{"person": org.marketing.pk, "share": 1}]},
        format="json").status_code == 403
    assert TargetLine.objects.filter(plan=plan, amount=D("1")).count() == 12  # only the head's allowed write


def test_decompose_by_amounts_and_by_shares(org, plan, api_for):
    api = api_for(org.dept_head)
    url = f"{PLANS}{plan.pk}/decompose/"
    by_amounts = api.post(url, {"metric": "expected_revenue", "parent": org.team_e1.pk,
                                "children": [{"person": org.rep.pk, "amounts": ["5000"] * 12},
                                             {"person": org.peer.pk, "amounts": ["3000"] * 12}]}, format="json")
    assert by_amounts.status_code == 200, by_amounts.content
    rows = grid(api, plan)
    assert rows[(f"p{org.rep.pk}", False)]["months"] == months(5000)
    assert rows[(f"u{org.team_e1.pk}", True)]["months"] == months(1000)
    by_shares = api.post(url, {"metric": "expected_revenue", "parent": org.team_e1.pk,
                               "shares": [{"person": org.rep.pk, "share": 1}, {"person": org.peer.pk, "share": 2}]},
                         format="json")
    assert by_shares.status_code == 200
    rows = grid(api, plan)
    assert rows[(f"p{org.rep.pk}", False)]["months"] == months(3000)
    assert rows[(f"p{org.peer.pk}", False)]["months"] == months(6000)
    neither = api.post(url, {"metric": "expected_revenue", "parent": org.team_e1.pk}, format="json")
    assert neither.status_code == 400 and list(neither.json()["errors"]) == ["children"]
    missing = api.post(url, {"metric": "expected_revenue", "parent": org.team_e1.pk,
                             "children": [{"person": org.rep.pk}]}, format="json")
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["children.0.amounts"]
    not_below = api.post(url, {"metric": "expected_revenue", "parent": org.team_e1.pk,
                               "children": [{"person": org.manager.pk, "amounts": ["1"] * 12},
                                            {"unit": org.sales_east.pk, "amounts": ["1"] * 12}]}, format="json")
    assert not_below.status_code == 400 and list(not_below.json()["errors"]) == ["children"]


def test_rebalance_submit_approve_and_a_locked_plan_is_written_on_its_next_version(org, plan, metric, api_for):
    api = api_for(org.bizmgmt)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("10000")] * 12)
    refused = api.post(f"{PLANS}{plan.pk}/submit/", {}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["status"]
    bad_mode = api.post(f"{PLANS}{plan.pk}/rebalance/", {"mode": "magic"}, format="json")
    assert bad_mode.status_code == 400 and list(bad_mode.json()["errors"]) == ["mode"]
    assert api.post(f"{PLANS}{plan.pk}/rebalance/", {"metric": "expected_revenue"}, format="json").status_code == 200
    assert grid(api, plan)[(f"u{org.hq.pk}", True)]["months"] == months(1000)
    submitted = api.post(f"{PLANS}{plan.pk}/submit/", {"comment": "请审批"}, format="json")
    assert submitted.status_code == 200 and submitted.json()["plan"]["status"] == "submitted"
    assert submitted.json()["review"]["comment"] == "请审批" and submitted.json()["review"]["unit"]["id"] == org.hq.pk
    assert api_for(org.rep).post(f"{PLANS}{plan.pk}/approve/", {}, format="json").status_code == 403
    assert api_for(org.dept_head).post(f"{PLANS}{plan.pk}/approve/", {}, format="json").status_code == 403
    approved = api_for(org.exec_).post(f"{PLANS}{plan.pk}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["plan"]["status"] == "approved"
    written = api.post(f"{PLANS}{plan.pk}/set/", {"metric": "expected_revenue", "unit": org.hq.pk,
                                                 "amounts": {"1": "10500"}}, format="json")
    assert written.status_code == 200 and written.json()["id"] != plan.pk and written.json()["version"] == 2
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert grid(api, plan)[(f"u{org.hq.pk}", False)]["months"][0] == "10000.00"  # the approved one is unchanged
    again = api.post(f"{PLANS}{plan.pk}/revise/", {}, format="json")
    assert again.status_code == 400 and list(again.json()["errors"]) == ["status"]  # already revised


def test_revise_and_send_back(org, plan, api_for):
    api = api_for(org.bizmgmt)
    api.post(f"{PLANS}{plan.pk}/submit/", {}, format="json")
    assert api_for(org.rep).post(f"{PLANS}{plan.pk}/send-back/", {"comment": "no"}, format="json").status_code == 403
    silent = api.post(f"{PLANS}{plan.pk}/send-back/", {"comment": "  "}, format="json")
    assert silent.status_code == 400 and list(silent.json()["errors"]) == ["comment"]
    back = api.post(f"{PLANS}{plan.pk}/send-back/", {"comment": "华东偏高"}, format="json")
    assert back.status_code == 200 and back.json()["plan"]["status"] == "sent_back"
    draft = api.post(f"{PLANS}{plan.pk}/revise/", {}, format="json")
    assert draft.status_code == 400 and list(draft.json()["errors"]) == ["status"]
    api.post(f"{PLANS}{plan.pk}/submit/", {}, format="json")
    api.post(f"{PLANS}{plan.pk}/approve/", {}, format="json")
    assert api_for(org.dept_head).post(f"{PLANS}{plan.pk}/revise/", {}, format="json").status_code == 403
    revised = api.post(f"{PLANS}{plan.pk}/revise/", {"name": "调整版"}, format="json")
    assert revised.status_code == 201 and revised.json()["supersedes"] == plan.pk
    assert revised.json()["status"] == "draft" and revised.json()["name"] == "调整版"


def test_unit_level_review_by_whoever_plans_the_level_above(org, plan, api_for):
    head = api_for(org.dept_head)
    submitted = head.post(f"{PLANS}{plan.pk}/submit/", {"unit": org.team_e1.pk}, format="json")
    assert submitted.status_code == 200 and submitted.json()["review"]["action"] == "submit"
    assert api_for(org.manager).post(f"{PLANS}{plan.pk}/approve/", {"unit": org.team_e1.pk},
                                     format="json").status_code == 403
    approved = head.post(f"{PLANS}{plan.pk}/approve/", {"unit": org.team_e1.pk}, format="json")
    assert approved.status_code == 200 and approved.json()["plan"]["status"] == "draft"


# ---- completion and ranking ---------------------------------------------------------------------

def test_completion_of_oneself_a_unit_and_a_person(org, plan, api_for):
    on = timezone.localdate().isoformat()
    rep = api_for(org.rep)
    mine = rep.get("/api/v1/target-completion/", {"on": on}).json()
    assert mine["subject"] == {"kind": "person", "id": org.rep.pk, "display": str(org.rep)}
    row = next(r for r in mine["rows"] if r["metric"]["code"] == "expected_revenue")
    assert row["target"] == "4500.00" and row["actual"] == "0.00" and row["ratio"] == "0.0"
    assert len(mine["rows"]) == Metric.objects.filter(is_active=True).count()
    manager = api_for(org.manager)
    team = manager.get("/api/v1/target-completion/", {"subject": "unit", "unit": org.team_e1.pk, "period": "year",
                                                      "metric": "expected_revenue", "on": on}).json()
    assert [r["target"] for r in team["rows"]] == ["108000.00"] and team["period"] == "year"
    assert team["plan"]["id"] == plan.pk
    peer = manager.get("/api/v1/target-completion/", {"subject": "person", "person": org.peer.pk}).json()
    assert peer["subject"]["id"] == org.peer.pk


def test_completion_refusals(org, plan, api_for):
    rep = api_for(org.rep)
    url = "/api/v1/target-completion/"
    assert rep.get(url, {"subject": "unit", "unit": org.team_e1.pk}).status_code == 404
    assert rep.get(url, {"subject": "person", "person": org.peer.pk}).status_code == 404
    assert api_for(org.manager).get(url, {"subject": "unit", "unit": org.west.pk}).status_code == 404
    missing = rep.get(url, {"subject": "unit"})
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["unit"]
    period = rep.get(url, {"period": "decade"})
    assert period.status_code == 400 and list(period.json()["errors"]) == ["period"]
    on = rep.get(url, {"on": "31/12/2026"})
    assert on.status_code == 400 and list(on.json()["errors"]) == ["on"]


def test_ranking_within_reach(org, plan, api_for):
    url = "/api/v1/target-ranking/"
    ranking = api_for(org.manager).get(url, {"unit": org.team_e1.pk, "period": "year",
                                             "metric": "expected_revenue"}).json()
    assert {r["subject"]["id"] for r in ranking["people"]} == {org.rep.pk, org.peer.pk, org.manager.pk}
    assert ranking["metric"]["code"] == "expected_revenue" and ranking["units"] == []
    east = api_for(org.exec_).get(url, {"unit": org.hq.pk, "metric": "expected_revenue"}).json()
    assert [r["subject"]["id"] for r in east["units"]][0] == org.east.pk  # the only one with a target
    assert api_for(org.rep).get(url, {"unit": org.team_e1.pk}).status_code == 404
    assert api_for(org.manager).get(url, {"unit": org.west.pk}).status_code == 404
    missing = api_for(org.manager).get(url)
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["unit"]


# ---- query counts -------------------------------------------------------------------------------

def _count(api, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def test_grid_and_list_queries_do_not_grow_with_the_plan(org, plan, metric, api_for):
    for user in (org.exec_, org.manager):
        api = api_for(user)
        grid_url = f"{PLANS}{plan.pk}/grid/"
        _count(api, grid_url)
        small_grid, small_list = _count(api, grid_url), _count(api, PLANS)
        small_detail = _count(api, f"{PLANS}{plan.pk}/")
        services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("20000")] * 12)
        services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.west: [D("100")] * 12})
        services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.west,
                                            shares={org.sales_west: 1, org.svc_west: 1})
        services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.team_e1,
                                            shares={org.rep: 1, org.peer: 1, org.manager: 1})
        for year in (YEAR + 1, YEAR + 2, YEAR + 3):
            services.plan_create(year=year)
        services.plan_submit(plan=plan, comment="a", by=org.bizmgmt)
        services.plan_send_back(plan=plan, comment="b", by=org.bizmgmt)
        assert _count(api, grid_url) == small_grid <= 8
        assert _count(api, PLANS) == small_list <= 4
        assert _count(api, f"{PLANS}{plan.pk}/") == small_detail <= 5
        TargetPlan.objects.exclude(pk=plan.pk).delete()
