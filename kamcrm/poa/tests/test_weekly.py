"""Weekly plans and reports (K8, issue 6 item 4): the rules (one per person and week, not too far ahead,
items about what the person sees, share, report not before the week starts, summary and every item
answered, review by a manager only, nothing changes after review), the visibility matrix (rep, peer rep,
manager, another branch's manager, executive), the roll-up's counts against the records, its query count
(equal for 3 and 10 people), and the pages in both languages."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kamcrm.poa import selectors, services
from kamcrm.poa.choices import WeeklyItemKind, WeeklyStatus
from kamcrm.poa.models import WeeklyItem, WeeklyPlan

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def errors(exc_info) -> dict:
    return exc_info.value.message_dict


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def last_week(today):
    """The week before this one: over, so its report may be submitted and its records are all in."""
    year, week = selectors.week_of(today - dt.timedelta(days=7))
    return SimpleNamespace(year=year, week=week, start=selectors.week_start(year, week))


@pytest.fixture
def west_manager(org):
    from kamcrm.org import services as org_services
    from kamcrm.org.choices import Role

    return org_services.user_create(username="west_manager", password="x", role=Role.SALES_MANAGER,
                                    unit=org.team_w1, display_name="west_manager")


@pytest.fixture
def week_records(org, last_week):
    """rep's records in last week: 2 visits made (one planned only), a task done, an opportunity moved on
    twice, one won; a visit of peer's and one of rep's in the week before (neither counts for rep)."""
    from kamcrm.activities import services as activities
    from kamcrm.sales import services as sales
    from kamcrm.sales.models import Stage

    start = last_week.start
    stage = {s.code: s for s in Stage.objects.all()}
    opp = sales.opportunity_create(account=org.acct, name="5G 专网", owner=org.rep, stage=stage["obtained"],
                                   amount=D("30000"), entered_at=at(start - dt.timedelta(days=10)))
    sales.opportunity_move(opportunity=opp, stage=stage["created"], at=at(start, 11), check=False)
    sales.opportunity_move(opportunity=opp, stage=stage["assigned"], at=at(start + dt.timedelta(days=1)), check=False)
    won = sales.opportunity_create(account=org.acct, name="云专线", owner=org.rep, stage=stage["relationship"],
                                   amount=D("12000"), entered_at=at(start - dt.timedelta(days=20)))
    sales.opportunity_move(opportunity=won, stage=stage["won"], at=at(start + dt.timedelta(days=2)), check=False)
    for day, owner in ((0, org.rep), (3, org.rep), (2, org.peer), (-2, org.rep)):
        visit = activities.visit_plan(account=org.acct, owner=owner, starts_at=at(start + dt.timedelta(days=day)),
                                      purpose="拜访", opportunity=opp if owner == org.rep else None)
        activities.visit_record(visit=visit, outcome="ok")
    activities.visit_plan(account=org.acct, owner=org.rep, starts_at=at(start + dt.timedelta(days=4)),
                          purpose="未去")
    activities.task_create(title="发方案", assignee=org.rep, status="done", done_at=at(start + dt.timedelta(days=1)),
                           account=org.acct)
    return SimpleNamespace(opp=opp, won=won)


def make_week(person, wk, items=(("visit", "拜访浦江制造"), ("call", "电话回访")), share=True, **links):
    weekly = services.weekly_create(person=person, year=wk.year, week=wk.week, by=person)
    for kind, title in items:
        services.weekly_item_add(weekly=weekly, kind=kind, title=title, by=person, **links)
    if share:
        services.weekly_plan_submit(weekly=weekly, by=person)
    return weekly


def report(weekly, person, answers, summary="本周按计划推进", submit=True):
    outcomes = {item.pk: (done, "") for item, done in zip(weekly.items.order_by("position"), answers, strict=True)}
    return services.weekly_report_save(weekly=weekly, outcomes=outcomes, summary=summary, submit=submit, by=person)


# ---- rules ------------------------------------------------------------------------------------------

def test_one_plan_per_person_and_week_and_not_too_far_ahead(org, today, last_week):
    make_week(org.rep, last_week)
    with pytest.raises(ValidationError) as twice:
        services.weekly_create(person=org.rep, year=last_week.year, week=last_week.week, by=org.rep)
    assert "week" in errors(twice)
    far = selectors.week_of(today + dt.timedelta(weeks=6))
    with pytest.raises(ValidationError) as ahead:
        services.weekly_create(person=org.rep, year=far[0], week=far[1])
    assert "week" in errors(ahead)
    with pytest.raises(ValidationError) as no_week:
        services.weekly_create(person=org.rep, year=2026, week=54)
    assert "week" in errors(no_week)
    with pytest.raises(ValidationError) as someone_else:
        services.weekly_create(person=org.peer, year=last_week.year, week=last_week.week, by=org.manager)
    assert "person" in errors(someone_else)
    assert WeeklyPlan.objects.count() == 1
    assert selectors.parse_week("2026-W05") == (2026, 5)
    with pytest.raises(ValidationError):
        selectors.parse_week("2026-05")


def test_items_name_what_the_person_sees(org, world, last_week):
    weekly = services.weekly_create(person=org.rep, year=last_week.year, week=last_week.week)
    with pytest.raises(ValidationError) as blank:
        services.weekly_item_add(weekly=weekly, title="  ", by=org.rep)
    assert "title" in errors(blank)
    with pytest.raises(ValidationError) as unseen:
        services.weekly_item_add(weekly=weekly, title="拜访天府物流", account=org.other, by=org.rep)
    assert "account" in errors(unseen)
    with pytest.raises(ValidationError) as mismatch:
        services.weekly_item_add(weekly=weekly, title="x", account=org.other, opportunity=world.opp)
    assert "opportunity" in errors(mismatch) or "account" in errors(mismatch)
    with pytest.raises(ValidationError) as not_theirs:
        services.weekly_item_add(weekly=weekly, title="x", by=org.manager)
    assert "person" in errors(not_theirs)
    item = services.weekly_item_add(weekly=weekly, kind=WeeklyItemKind.OPPORTUNITY, title="推进机柜扩容",
                                    opportunity=world.opp, by=org.rep)
    assert item.account == org.acct  # the opportunity brings its account
    assert list(weekly.items.all()) == [item]


def test_share_report_and_review_in_order(org, last_week, today):
    weekly = services.weekly_create(person=org.rep, year=last_week.year, week=last_week.week)
    with pytest.raises(ValidationError) as empty:
        services.weekly_plan_submit(weekly=weekly, by=org.rep)
    assert "items" in errors(empty)
    first = services.weekly_item_add(weekly=weekly, title="拜访", by=org.rep)
    removable = services.weekly_item_add(weekly=weekly, title="临时", by=org.rep)
    services.weekly_item_remove(item=removable, by=org.rep)  # before sharing: fine
    services.weekly_item_add(weekly=weekly, title="电话", by=org.rep)
    services.weekly_plan_submit(weekly=weekly, by=org.rep)
    with pytest.raises(ValidationError) as again:
        services.weekly_plan_submit(weekly=weekly, by=org.rep)
    assert "status" in errors(again)
    with pytest.raises(ValidationError) as kept:
        services.weekly_item_remove(item=first, by=org.rep)
    assert "items" in errors(kept)

    with pytest.raises(ValidationError) as not_yet:
        services.weekly_review(weekly=weekly, comment="好", by=org.manager)
    assert "review_comment" in errors(not_yet)
    with pytest.raises(ValidationError) as no_summary:
        report(weekly, org.rep, [True, False], summary="")
    assert "summary" in errors(no_summary)
    with pytest.raises(ValidationError) as unanswered:
        report(weekly, org.rep, [True, None])
    assert "items" in errors(unanswered) and "电话" in errors(unanswered)["items"][0]
    # all or nothing: the refused submissions left the items unanswered
    assert list(weekly.items.values_list("done", flat=True)) == [None, None]
    weekly.refresh_from_db()
    assert weekly.status == WeeklyStatus.DRAFT and not weekly.summary

    submitted = report(weekly, org.rep, [True, False])
    assert submitted.status == WeeklyStatus.SUBMITTED and submitted.submitted_at
    figures = selectors.week_figures(person_ids=[org.rep.pk], start=last_week.start)[org.rep.pk].as_dict()
    assert {k: v for k, v in submitted.figures.items() if k != "taken_at"} == figures
    # amended before review: still submitted
    assert report(weekly, org.rep, [True, True], summary="补充").status == WeeklyStatus.SUBMITTED

    for who in (org.rep, org.peer, org.outsider):
        with pytest.raises(ValidationError) as refused:
            services.weekly_review(weekly=weekly, comment="好", by=who)
        assert "review_comment" in errors(refused)
    with pytest.raises(ValidationError) as blank:
        services.weekly_review(weekly=weekly, comment=" ", by=org.manager)
    assert "review_comment" in errors(blank)
    reviewed = services.weekly_review(weekly=weekly, comment="拜访质量不错，下周跟进报价", by=org.manager)
    assert (reviewed.status, reviewed.reviewed_by) == (WeeklyStatus.REVIEWED, org.manager)

    # after review nothing changes
    for change in (lambda: services.weekly_item_add(weekly=weekly, title="x", by=org.rep),
                   lambda: report(weekly, org.rep, [False, False]),
                   lambda: services.weekly_review(weekly=weekly, comment="again", by=org.manager)):
        with pytest.raises(ValidationError) as locked:
            change()
        assert {"status", "review_comment"} & set(errors(locked))
    assert list(weekly.items.values_list("done", flat=True)) == [True, True]


def test_no_report_for_a_week_that_has_not_started(org, today):
    year, week = selectors.week_of(today + dt.timedelta(days=7))
    weekly = make_week(org.rep, SimpleNamespace(year=year, week=week), items=(("visit", "下周拜访"),))
    saved = report(weekly, org.rep, [None], submit=False)  # a draft may be written ahead
    assert saved.status == WeeklyStatus.DRAFT
    with pytest.raises(ValidationError) as future:
        report(weekly, org.rep, [True])
    assert "week" in errors(future)
    weekly.refresh_from_db()
    assert weekly.status == WeeklyStatus.DRAFT and weekly.submitted_at is None


def test_weekly_writes_are_audited(org, last_week):
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import ObjectChange

    weekly = make_week(org.rep, last_week)
    assert ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(WeeklyPlan),
                                       object_id=weekly.pk).exists()
    assert ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(WeeklyItem)).count() == 2


# ---- live figures and the roll-up -----------------------------------------------------------------------

def direct(person, start):
    """The week's figures counted straight from the tables, independently of selectors.week_figures."""
    from kamcrm.activities.models import Task, Visit
    from kamcrm.sales.models import Opportunity, OpportunityStageChange

    days = [start + dt.timedelta(days=i) for i in range(7)]
    visits = [v for v in Visit.objects.filter(owner=person, status="done")
              if timezone.localdate(v.starts_at) in days]
    tasks = [t for t in Task.objects.filter(assignee=person, status="done") if timezone.localdate(t.done_at) in days]
    moved = {c.opportunity_id for c in OpportunityStageChange.objects.filter(owner=person, from_stage__isnull=False)
             if timezone.localdate(c.changed_at) in days}
    won = [o for o in Opportunity.objects.filter(owner=person, stage__kind="won") if o.closed_on in days]
    return {"visits": len(visits), "tasks": len(tasks), "moved": len(moved), "won": len(won),
            "won_amount": str(sum((o.amount for o in won), D("0")).quantize(D("0.01")))}


def test_live_figures_and_prefilled_report(org, week_records, last_week, client_for):
    figures = selectors.week_figures(person_ids=[org.rep.pk, org.peer.pk], start=last_week.start)
    assert figures[org.rep.pk].as_dict() == direct(org.rep, last_week.start) == {
        "visits": 2, "tasks": 1, "moved": 2, "won": 1, "won_amount": "12000.00"}
    assert figures[org.peer.pk].as_dict() == direct(org.peer, last_week.start)
    assert figures[org.peer.pk].visits == 1
    weekly = services.weekly_create(person=org.rep, year=last_week.year, week=last_week.week)
    on_opp = services.weekly_item_add(weekly=weekly, kind="opportunity", title="推进5G专网",
                                      opportunity=week_records.opp, by=org.rep)
    free = services.weekly_item_add(weekly=weekly, title="整理客户资料", by=org.rep)
    page = client_for(org.rep).get(reverse("poa:weekly_detail", args=[weekly.pk])).content.decode()
    assert 'data-testid="live-visits">2<' in page and 'data-testid="live-moved">2<' in page
    # the record-backed item is pre-answered "done", the free one is left for the person
    assert _checked(page, f"report-done_{on_opp.pk}", "yes")
    assert not _checked(page, f"report-done_{free.pk}", "yes") and not _checked(page, f"report-done_{free.pk}", "no")
    assert "拜访" in page and "云专线" in page  # the week's records are listed


def _checked(page: str, name: str, value: str) -> bool:
    import re

    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return " checked" in tag
    return False


def test_rollup_counts_equal_the_records(org, week_records, last_week, west_manager):
    rep_week = make_week(org.rep, last_week, items=(("visit", "a"), ("call", "b"), ("other", "c")))
    report(rep_week, org.rep, [True, False, True])
    make_week(org.peer, last_week, items=(("visit", "a"),), share=False)
    rows = {r.person.username: r for r in selectors.week_rollup(user=org.manager, unit=org.east,
                                                                year=last_week.year, week=last_week.week)}
    assert set(rows) == {"manager", "rep", "peer"}  # the sales people of the subtree the manager reaches
    rep, peer, manager = rows["rep"], rows["peer"], rows["manager"]
    assert (rep.plan_in, rep.report_in, rep.planned, rep.done) == (True, True, 3, 2)
    assert (peer.plan_in, peer.report_in, peer.planned, peer.done) == (False, False, 1, 0)
    assert (manager.weekly, manager.planned) == (None, 0)
    for username, row in rows.items():
        person = row.person
        assert row.planned == WeeklyItem.objects.filter(weekly__person=person, weekly__week=last_week.week,
                                                        weekly__year=last_week.year).count()
        assert row.figures.as_dict() == direct(person, last_week.start), username
    # the executive sees the whole company's sales people, the other branch's manager only theirs
    everyone = selectors.week_rollup(user=org.exec_, unit=org.hq, year=last_week.year, week=last_week.week)
    assert {r.person.username for r in everyone} == {"manager", "rep", "peer", "outsider", "west_manager"}
    west = selectors.week_rollup(user=west_manager, unit=org.hq, year=last_week.year, week=last_week.week)
    assert {r.person.username for r in west} == {"outsider", "west_manager"}
    assert {r.person.username for r in selectors.week_rollup(user=org.peer, unit=org.hq, year=last_week.year,
                                                              week=last_week.week)} == {"peer"}


# ---- visibility ---------------------------------------------------------------------------------------

def test_visibility_matrix(org, last_week, west_manager, client_for):
    weekly = make_week(org.rep, last_week)
    url = reverse("poa:weekly_detail", args=[weekly.pk])
    expected = {org.rep: 200, org.peer: 404, org.manager: 200, org.dept_head: 200, west_manager: 404,
                org.outsider: 404, org.exec_: 200}
    for user, status in expected.items():
        assert client_for(user).get(url).status_code == status, user.username
    # the writes answer 404 to who may not see the week
    for user in (org.peer, west_manager):
        client = client_for(user)
        assert client.post(reverse("poa:weekly_item_add", args=[weekly.pk]),
                           {"item-kind": "visit", "item-title": "x"}).status_code == 404
        assert client.post(reverse("poa:weekly_review", args=[weekly.pk]),
                           {"review-review_comment": "x"}).status_code == 404
        assert client.post(reverse("poa:weekly_report", args=[weekly.pk]), {}).status_code == 404
    # the manager sees but does not write the rep's week
    manager = client_for(org.manager)
    manager.post(reverse("poa:weekly_item_add", args=[weekly.pk]), {"item-kind": "visit", "item-title": "经理加的"})
    assert not WeeklyItem.objects.filter(title="经理加的").exists()
    assert selectors.weekly_queryset(org.peer).count() == 0
    assert list(selectors.weekly_queryset(org.manager)) == [weekly]
    assert selectors.may_review(org.manager, weekly) and selectors.may_review(org.exec_, weekly)
    assert not selectors.may_review(org.rep, weekly) and not selectors.may_review(west_manager, weekly)


# ---- pages ------------------------------------------------------------------------------------------

def test_the_week_through_the_pages(org, world, last_week, client_for):
    client = client_for(org.rep)
    mine = client.get(reverse("poa:weekly_mine")).content.decode()
    assert 'data-testid="empty"' in mine and 'data-testid="this-week"' in mine
    assert client.get(reverse("poa:weekly_mine"), {"week": "bad"}).status_code == 400
    picked = client.get(reverse("poa:weekly_mine"), {"week": f"{last_week.year}-W{last_week.week:02d}"})
    url = reverse("poa:weekly_week", args=[last_week.year, last_week.week])
    assert picked.status_code == 302 and picked.url == url
    start_page = client.get(url).content.decode()
    assert 'data-testid="weekly-start"' in start_page and 'data-testid="empty"' in start_page
    assert client.post(url).status_code == 302
    weekly = WeeklyPlan.objects.get(person=org.rep)
    assert client.get(url).url == reverse("poa:weekly_detail", args=[weekly.pk])
    detail = reverse("poa:weekly_detail", args=[weekly.pk])
    assert 'data-testid="no-items"' in client.get(detail).content.decode()

    bad = client.post(reverse("poa:weekly_item_add", args=[weekly.pk]),
                      {"item-kind": "visit", "item-title": "x", "item-account": org.other.pk})
    assert bad.status_code == 400 and 'data-field-error="account"' in bad.content.decode()
    from kamcrm.sales.models import Opportunity

    won = client.post(reverse("poa:weekly_item_add", args=[weekly.pk]),
                      {"item-kind": "opportunity", "item-title": "x", "item-opportunity": world.opp.pk})
    assert won.status_code == 400  # the picker offers the person's open opportunities only
    r = client.post(reverse("poa:weekly_item_add", args=[weekly.pk]), {
        "item-kind": "opportunity", "item-title": "推进机柜扩容",
        "item-opportunity": Opportunity.objects.get(name="open").pk})
    assert r.status_code == 302
    client.post(reverse("poa:weekly_item_add", args=[weekly.pk]), {"item-kind": "call", "item-title": "电话回访"})
    first, second = weekly.items.order_by("position")
    assert client.post(reverse("poa:weekly_share", args=[weekly.pk])).status_code == 302
    weekly.refresh_from_db()
    assert weekly.plan_submitted_at

    missing = client.post(reverse("poa:weekly_report", args=[weekly.pk]), {
        "action": "submit", f"report-done_{first.pk}": "yes", "report-summary": "本周总结"})
    assert missing.status_code == 400 and "电话回访" in missing.content.decode()
    r = client.post(reverse("poa:weekly_report", args=[weekly.pk]), {
        "action": "submit", f"report-done_{first.pk}": "yes", f"report-done_{second.pk}": "no",
        f"report-note_{second.pk}": "客户出差", "report-summary": "本周总结", "report-next_focus": "报价"})
    assert r.status_code == 302
    weekly.refresh_from_db()
    assert weekly.status == WeeklyStatus.SUBMITTED and weekly.next_focus == "报价"
    assert list(weekly.items.order_by("position").values_list("done", "note")) == [(True, ""), (False, "客户出差")]

    manager = client_for(org.manager)
    page = manager.get(reverse("poa:weekly_detail", args=[weekly.pk])).content.decode()
    assert 'data-testid="review-form"' in page and 'data-testid="report-form"' not in page
    assert manager.post(reverse("poa:weekly_review", args=[weekly.pk]),
                        {"review-review_comment": ""}).status_code == 400
    assert manager.post(reverse("poa:weekly_review", args=[weekly.pk]),
                        {"review-review_comment": "很好"}).status_code == 302
    page = client_for(org.rep).get(detail).content.decode()
    assert 'data-testid="review-comment">很好' in page and 'data-testid="report-form"' not in page
    mine = client_for(org.rep).get(reverse("poa:weekly_mine")).content.decode()
    assert f'data-testid="week-{weekly.pk}"' in mine and "1 / 2" in mine


def test_rollup_page_and_empty_state(org, last_week, client_for):
    make_week(org.rep, last_week)
    client = client_for(org.manager)
    url = reverse("poa:weekly_rollup")
    label = f"{last_week.year}-W{last_week.week:02d}"
    page = client.get(url, {"unit": org.team_e1.pk, "week": label}).content.decode()
    assert 'data-testid="row-rep"' in page and 'data-testid="row-peer"' in page
    assert 'data-testid="plan-rep"><span class="badge bg-green-lt">' in page
    assert 'data-testid="counts-rep">0 / 2<' in page
    assert 'data-testid="row-outsider"' not in page
    default = client.get(url).content.decode()  # the manager's own subtree and this week
    assert 'data-testid="row-peer"' in default
    empty = client.get(url, {"unit": org.mkt_east.pk, "week": label}).content.decode()
    assert 'data-testid="empty"' in empty
    assert client.get(url, {"week": "2026-W99"}).status_code == 400
    # a unit outside the manager's reach is not offered
    assert client.get(url, {"unit": org.team_w1.pk}).status_code == 400
    plans = client_for(org.rep).get(reverse("poa:plan_list")).content.decode()
    assert 'data-testid="weekly-link"' in plans and 'data-testid="weekly-rollup-link"' in plans


def _count(client, url, params):
    client.get(url, params)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx)


def test_rollup_queries_do_not_grow_with_people(org, last_week, client_for):
    from kamcrm.org import services as org_services
    from kamcrm.org.choices import Role

    params = {"unit": org.sales_east.pk, "week": f"{last_week.year}-W{last_week.week:02d}"}
    make_week(org.rep, last_week)
    client = client_for(org.dept_head)
    url = reverse("poa:weekly_rollup")
    three = _count(client, url, params)
    assert len(selectors.week_rollup(user=org.dept_head, unit=org.sales_east, year=last_week.year,
                                     week=last_week.week)) == 3
    for i in range(7):
        person = org_services.user_create(username=f"r{i}", password="x", role=Role.ACCOUNT_MANAGER,
                                          unit=org.team_e1, manager=org.manager, display_name=f"r{i}")
        if i % 2:
            make_week(person, last_week)
    assert len(selectors.week_rollup(user=org.dept_head, unit=org.sales_east, year=last_week.year,
                                     week=last_week.week)) == 10
    assert _count(client, url, params) == three <= 25


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_render_in_both_languages(org, world, last_week, language, client_for):
    weekly = make_week(org.rep, last_week)
    client = client_for(org.rep)
    client.cookies["django_language"] = language
    urls = [reverse("poa:weekly_mine"), reverse("poa:weekly_detail", args=[weekly.pk]),
            reverse("poa:weekly_week", args=[*selectors.week_of(timezone.localdate())]),
            reverse("poa:weekly_rollup")]
    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert ("行动计划" if language == "zh-hans" else "Action plans") in html  # the navigation's words
    manager = client_for(org.manager)
    manager.cookies["django_language"] = language
    page = manager.get(reverse("poa:weekly_rollup"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="rollup"' in page and f'<html lang="{language}">' in page
