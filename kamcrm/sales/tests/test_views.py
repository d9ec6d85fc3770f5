"""Sales UI: who sees which opportunity on the list, board, detail, funnel and the account 360's card;
the form (fields, product lines, service errors on their fields) and stage moves (refused moves say
why and change nothing)."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from kamcrm.customers import services as customer_services
from kamcrm.products import services as product_services
from kamcrm.sales import services
from kamcrm.sales.models import Opportunity, OpportunityStageChange, Stage

pytestmark = pytest.mark.django_db

SEE_REPS_OPPORTUNITY = ["rep", "manager", "dept_head", "exec_", "admin"]
BLIND_TO_IT = ["outsider", "service", "partner"]


def stage(code: str) -> Stage:
    return Stage.objects.get(code=code)


@pytest.fixture
def product(db):
    line = product_services.product_line_create(code="5G", name="5G 专网")
    return product_services.product_create(line=line, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000.00"),
                                           unit="套")


@pytest.fixture
def opp(org):
    return services.opportunity_create(by=org.rep, account=org.acct, name="园区 5G 专网", owner=org.rep,
                                       amount=Decimal("88000"), expected_close_date=dt.date(2026, 12, 31))


@pytest.fixture
def west_opp(org):
    return services.opportunity_create(by=org.outsider, account=org.other, name="物流园区专线", owner=org.outsider)


def names(response) -> set[str]:
    return {o.name for o in response.context["page"].items}


# ---- visibility ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", SEE_REPS_OPPORTUNITY)
def test_those_who_reach_the_account_see_its_opportunity_everywhere(client_for, org, opp, west_opp, who):
    client = client_for(getattr(org, who))
    listed = client.get(reverse("sales:opportunity_list"))
    assert listed.status_code == 200 and "园区 5G 专网" in names(listed)
    board = client.get(reverse("sales:opportunity_board"))
    cards = {c.name for col in board.context["columns"] for c in col.cards}
    assert "园区 5G 专网" in cards
    detail = client.get(reverse("sales:opportunity", args=[opp.pk]))
    assert detail.status_code == 200 and "园区 5G 专网" in detail.content.decode()
    funnel = client.get(reverse("sales:funnel"))
    obtained = next(r for r in funnel.context["funnel"].rows if r.stage.code == "obtained")
    assert obtained.count >= 1
    card = client.get(reverse("sales:account_opportunities", args=[org.acct.pk]))
    assert card.status_code == 200 and "园区 5G 专网" in card.content.decode()


@pytest.mark.parametrize("who", BLIND_TO_IT)
def test_those_who_do_not_reach_the_account_get_404_and_see_none_of_it(client_for, org, opp, who):
    client = client_for(getattr(org, who))
    listed = client.get(reverse("sales:opportunity_list"))
    assert listed.status_code == 200 and "园区 5G 专网" not in names(listed)
    assert "园区 5G 专网" not in listed.content.decode()
    board = client.get(reverse("sales:opportunity_board"))
    assert all(col.count == 0 for col in board.context["columns"])
    assert "园区 5G 专网" not in board.content.decode()
    funnel = client.get(reverse("sales:funnel"))
    assert all(r.count == 0 for r in funnel.context["funnel"].rows)
    assert funnel.context["empty"] is True
    for url in (reverse("sales:opportunity", args=[opp.pk]), reverse("sales:opportunity_edit", args=[opp.pk]),
                reverse("sales:account_opportunities", args=[org.acct.pk])):
        assert client.get(url).status_code == 404
    moved = client.post(reverse("sales:opportunity_move", args=[opp.pk]), {"stage": stage("created").pk})
    assert moved.status_code == 404
    opp.refresh_from_db()
    assert opp.stage.code == "obtained"


def test_the_outsider_sees_their_own_opportunity_and_not_the_east(client_for, org, opp, west_opp):
    listed = client_for(org.outsider).get(reverse("sales:opportunity_list"))
    assert names(listed) == {"物流园区专线"}


def test_the_manager_sees_the_teams_opportunities_and_the_funnel_of_the_team(client_for, org, opp):
    services.opportunity_create(by=org.peer, account=customer_services.account_create(
        name="苏州工业园", region=org.east, owner=org.peer), name="工业互联网", owner=org.peer)
    client = client_for(org.manager)
    assert names(client.get(reverse("sales:opportunity_list"))) == {"园区 5G 专网", "工业互联网"}
    funnel = client.get(reverse("sales:funnel"), {"unit": org.team_e1.pk})
    assert funnel.context["totals"]["open"].count == 2
    assert client_for(org.rep).get(reverse("sales:funnel")).context["totals"]["open"].count == 1


# ---- list, board and funnel ---------------------------------------------------------------------

def test_the_list_filters_sorts_pages_and_shows_the_columns(client_for, org, opp):
    services.opportunity_create(by=org.rep, account=org.acct, name="智慧工厂", owner=org.rep, stage=stage("assigned"),
                                amount=Decimal("5000"))
    client = client_for(org.rep)
    page = client.get(reverse("sales:opportunity_list"), {"stage": stage("assigned").pk})
    assert names(page) == {"智慧工厂"}
    assert names(client.get(reverse("sales:opportunity_list"), {"q": "5G"})) == {"园区 5G 专网"}
    by_amount = client.get(reverse("sales:opportunity_list"), {"sort": "-amount"})
    assert [o.name for o in by_amount.context["page"].items] == ["园区 5G 专网", "智慧工厂"]
    html = by_amount.content.decode()
    assert "¥88,000.00" in html and "2026-12-31" in html and "浦江制造" in html
    paged = client.get(reverse("sales:opportunity_list"), {"sort": "name"})
    assert paged.context["count"] == 2
    empty = client.get(reverse("sales:opportunity_list"), {"q": "不存在"})
    assert 'data-testid="empty"' in empty.content.decode()


def test_a_bad_filter_or_sort_is_reported_not_a_crash(client_for, org, opp):
    client = client_for(org.rep)
    bad = client.get(reverse("sales:opportunity_list"), {"close_from": "not-a-date"})
    assert bad.status_code == 400 and 'data-testid="filter-errors"' in bad.content.decode()
    sort = client.get(reverse("sales:opportunity_list"), {"sort": "nonsense"})
    assert sort.status_code == 400 and "Unknown sort" in sort.content.decode()


def test_the_board_has_a_column_per_stage_with_count_amount_and_a_more_link(client_for, org, opp, monkeypatch):
    from kamcrm.sales import views

    monkeypatch.setattr(views, "BOARD_CARDS", 2)
    for i in range(3):
        services.opportunity_create(by=org.rep, account=org.acct, name=f"扩容{i}", owner=org.rep,
                                    stage=stage("created"), amount=Decimal("100"))
    response = client_for(org.rep).get(reverse("sales:opportunity_board"))
    columns = {c.stage.code: c for c in response.context["columns"]}
    assert list(columns) == ["obtained", "created", "assigned", "relationship", "negotiation", "won", "lost",
                             "abandoned"]
    created = columns["created"]
    assert (created.count, created.amount, len(created.cards), created.more) == (3, Decimal("300"), 2, 1)
    assert f"stage={stage('created').pk}" in created.more_url
    html = response.content.decode()
    assert 'data-testid="column-more"' in html and "kamcrm/sales.js" in html
    assert "<script>" not in html  # the CSP forbids inline scripts


def test_the_funnel_counts_converts_and_drills_down_with_the_same_filters(client_for, org, opp, product):
    contact = customer_services.contact_create(account=org.acct, name="王经理")
    second = services.opportunity_create(by=org.rep, account=org.acct, name="专线扩容", owner=org.rep,
                                         contacts=[contact], lines=[{"product": product, "quantity": 2}],
                                         expected_close_date=dt.date(2026, 12, 1))
    for code in ("created", "assigned", "relationship", "negotiation"):
        services.opportunity_move(opportunity=second, stage=stage(code), by=org.rep)
    client = client_for(org.rep)
    response = client.get(reverse("sales:funnel"), {"unit": org.team_e1.pk, "measure": "amount"})
    rows = {r.stage.code: r for r in response.context["funnel"].rows}
    assert rows["obtained"].count == 1 and rows["negotiation"].count == 1
    assert rows["negotiation"].amount == Decimal("24000.00")
    assert rows["negotiation"].weighted == Decimal("16800.00")
    assert rows["obtained"].reached == 2 and rows["obtained"].conversion == 0.5
    html = response.content.decode()
    drill = reverse("sales:opportunity_list") + f"?stage={stage('negotiation').pk}&amp;owner_unit={org.team_e1.pk}"
    assert drill in html
    chart = json.loads(html.split('id="funnel-data" type="application/json">')[1].split("</script>")[0])
    assert chart["measure"] == "amount"
    assert [s["name"] for s in chart["stages"]][:2] == ["Opportunity obtained", "Created"]
    assert chart["stages"][4]["value"] == 24000.0
    reached = client.get(reverse("sales:funnel"), {"measure": "reached"}).content.decode()
    chart = json.loads(reached.split('id="funnel-data" type="application/json">')[1].split("</script>")[0])
    assert [s["value"] for s in chart["stages"]] == [2, 1, 1, 1, 1]
    listed = client.get(reverse("sales:opportunity_list"), {"stage": stage("negotiation").pk,
                                                            "owner_unit": org.team_e1.pk})
    assert names(listed) == {"专线扩容"}


def test_the_funnel_as_of_a_past_date_is_rebuilt_from_history(client_for, org, opp):
    response = client_for(org.rep).get(reverse("sales:funnel"), {"as_of": "2020-01-01"})
    assert response.status_code == 200 and response.context["empty"] is True
    bad = client_for(org.rep).get(reverse("sales:funnel"), {"close_from": "2026-12-01", "close_to": "2026-01-01"})
    assert bad.status_code == 400


def test_pages_speak_chinese_with_the_stage_names_of_the_path(client, org, opp):
    client.force_login(org.rep)
    response = client.get(reverse("sales:opportunity", args=[opp.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "获得商机" in html and "建立客户关系" in html and "放弃" in html


# ---- the form -----------------------------------------------------------------------------------

def test_create_from_an_account_with_lines_contacts_and_the_list_price(client_for, org, product):
    contact = customer_services.contact_create(account=org.acct, name="王经理")
    client = client_for(org.rep)
    page = client.get(reverse("sales:opportunity_add"), {"account": org.acct.pk})
    assert page.status_code == 200 and "王经理" in page.content.decode()
    response = client.post(reverse("sales:opportunity_add") + f"?account={org.acct.pk}", {
        "account": org.acct.pk, "name": "园区专网二期", "owner": org.rep.pk, "stage": stage("created").pk,
        "expected_close_date": "2026-10-31", "source": "referral", "competitor": "某友商",
        "contacts": [contact.pk], "description": "二期",
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
        "lines-0-product": product.pk, "lines-0-quantity": "2", "lines-0-unit_price": "",
        "lines-1-product": "", "lines-1-quantity": "", "lines-1-unit_price": "",
    })
    created = Opportunity.objects.get(name="园区专网二期")
    assert response.status_code == 302 and response.url == reverse("sales:opportunity", args=[created.pk])
    assert created.stage.code == "created" and created.amount == Decimal("24000.00")
    assert list(created.contacts.all()) == [contact] and created.source == "referral"
    detail = client.get(response.url).content.decode()
    assert "5G 专网套餐" in detail and "¥24,000.00" in detail and "王经理" in detail


def _post_data(org, **extra):
    data = {"account": org.acct.pk, "name": "新商机", "owner": org.rep.pk, "stage": stage("obtained").pk,
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-0-product": "", "lines-0-quantity": "", "lines-0-unit_price": ""}
    data.update(extra)
    return data


def field_errors(response, name: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(name, [])]


def test_form_errors_land_on_their_fields(client_for, org, product):
    client = client_for(org.rep)
    missing = client.post(reverse("sales:opportunity_add"), _post_data(org, name=""))
    assert missing.status_code == 400 and field_errors(missing, "name")
    assert 'data-field-error="name"' in missing.content.decode()
    # the service refuses an owner the rep may not assign: on the owner field
    foreign = client.post(reverse("sales:opportunity_add"), _post_data(org, owner=org.outsider.pk))
    assert foreign.status_code == 400
    assert "The owner must be you" in field_errors(foreign, "owner")[0]
    # an account the user may not edit is an unknown choice (it does not say that it exists)
    west_contact = customer_services.contact_create(account=org.other, name="西部联系人")
    other = client.post(reverse("sales:opportunity_add"), _post_data(org, account=org.other.pk,
                                                                     contacts=[west_contact.pk]))
    assert other.status_code == 400 and field_errors(other, "account")
    unknown = client.post(reverse("sales:opportunity_add"), _post_data(org, account=org.other.pk, contacts=[999999]))
    assert field_errors(other, "contacts") == [e.replace("999999", str(west_contact.pk))
                                              for e in field_errors(unknown, "contacts")]
    assert field_errors(other, "contacts")  # its contacts are as unknown as an id that does not exist
    # a line without a product
    line = client.post(reverse("sales:opportunity_add"), _post_data(org, **{"lines-0-quantity": "3"}))
    assert line.status_code == 400 and "Choose a product for this line." in line.content.decode()
    # the stage's required field (negotiation needs an expected close date), from the service
    required = client.post(reverse("sales:opportunity_add"), _post_data(org, stage=stage("negotiation").pk))
    assert required.status_code == 400 and "needs expected close date" in field_errors(required,
                                                                                       "expected_close_date")[0]
    assert not Opportunity.objects.exists()


def test_edit_replaces_lines_and_service_errors_stay_on_fields(client_for, org, opp, product):
    client = client_for(org.rep)
    page = client.get(reverse("sales:opportunity_edit", args=[opp.pk]))
    assert page.status_code == 200 and "园区 5G 专网" in page.content.decode()
    response = client.post(reverse("sales:opportunity_edit", args=[opp.pk]), {
        "name": "园区 5G 专网（改）", "owner": org.rep.pk, "expected_close_date": "2026-11-30",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
        "lines-0-product": product.pk, "lines-0-quantity": "1", "lines-0-unit_price": "9999.50",
    })
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.name == "园区 5G 专网（改）" and opp.amount == Decimal("9999.50") and opp.lines.count() == 1
    # in negotiation the expected close date is required: clearing it is refused on that field
    services.opportunity_move(opportunity=opp, stage=stage("negotiation"), by=org.rep, check=False)
    refused = client.post(reverse("sales:opportunity_edit", args=[opp.pk]), {
        "name": opp.name, "owner": org.rep.pk, "expected_close_date": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-0-product": product.pk, "lines-0-quantity": "1", "lines-0-unit_price": "9999.50",
    })
    assert refused.status_code == 400 and field_errors(refused, "expected_close_date")
    opp.refresh_from_db()
    assert opp.expected_close_date == dt.date(2026, 11, 30)


def test_the_form_offers_collaborators_from_any_unit_and_saves_them(client_for, org, opp):
    from kamcrm.org import services as org_services

    client = client_for(org.rep)
    # the new form has the picker: a multi-select that searches people on the server, with nothing listed
    page = client.get(reverse("sales:opportunity_add"), {"account": org.acct.pk}).content.decode()
    picker = re.search(r"<select[^>]*name=\"collaborators\"[^>]*>(.*?)</select>", page, re.S)
    assert picker and "multiple" in picker.group(0) and 'data-testid="opportunity-collaborators"' in picker.group(0)
    assert f'data-search-url="{reverse("user_lookup")}"' in picker.group(0) and "<option" not in picker.group(1)
    # when: created with a partner user and someone from another branch
    response = client.post(reverse("sales:opportunity_add"), _post_data(
        org, name="协同商机", collaborators=[org.partner.pk, org.outsider.pk]))
    # then
    created = Opportunity.objects.get(name="协同商机")
    assert response.status_code == 302 and set(created.collaborators.all()) == {org.partner, org.outsider}
    detail = client.get(response.url).content.decode()
    assert "partner" in detail and "西部一组" in detail
    # the edit form shows them selected (and only them); a change replaces them, an empty picker clears them
    page = client.get(reverse("sales:opportunity_edit", args=[created.pk])).content.decode()
    picker = re.search(r"<select[^>]*name=\"collaborators\"[^>]*>(.*?)</select>", page, re.S).group(1)
    assert picker.count("<option") == 2 and picker.count("selected") == 2 and "partner · 合作伙伴" in picker
    edit = {"name": "协同商机", "owner": org.rep.pk, "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"}
    response = client.post(reverse("sales:opportunity_edit", args=[created.pk]), {**edit, "collaborators": [org.peer.pk]})
    assert response.status_code == 302 and list(created.collaborators.all()) == [org.peer]
    assert client.post(reverse("sales:opportunity_edit", args=[created.pk]), edit).status_code == 302
    assert not created.collaborators.exists()
    # an inactive user is refused on the field, by the service, and the page keeps the choice
    org_services.user_update(user=org.service, data={"is_active": False})
    refused = client.post(reverse("sales:opportunity_edit", args=[created.pk]),
                          {**edit, "collaborators": [org.peer.pk, org.service.pk]})
    assert refused.status_code == 400
    assert "no longer active: service" in field_errors(refused, "collaborators")[0]
    assert 'data-field-error="collaborators"' in refused.content.decode()
    assert not created.collaborators.exists()
    unknown = client.post(reverse("sales:opportunity_edit", args=[created.pk]), {**edit, "collaborators": [999999]})
    assert unknown.status_code == 400 and field_errors(unknown, "collaborators")


# ---- stage moves --------------------------------------------------------------------------------

def test_a_move_from_the_stage_buttons_is_recorded(client_for, org, opp):
    client = client_for(org.rep)
    response = client.post(reverse("sales:opportunity_move", args=[opp.pk]), {"stage": stage("created").pk})
    assert response.status_code == 302 and response.url == reverse("sales:opportunity", args=[opp.pk])
    opp.refresh_from_db()
    assert opp.stage.code == "created" and opp.probability == 10
    page = client.get(response.url).content.decode()
    assert "moved to “Created”" in page
    assert page.count('data-testid="history-row"') == 2


def test_a_refused_move_shows_the_exit_criteria_and_changes_nothing(client_for, org, opp):
    services.opportunity_move(opportunity=opp, stage=stage("relationship"), by=org.rep)
    before = OpportunityStageChange.objects.filter(opportunity=opp).count()
    client = client_for(org.rep)
    response = client.post(reverse("sales:opportunity_move", args=[opp.pk]), {"stage": stage("negotiation").pk},
                           follow=True)
    html = response.content.decode()
    assert "Before leaving “Relationship built” the opportunity needs at least one contact involved." in html
    assert 'alert-danger' in html
    opp.refresh_from_db()
    assert opp.stage.code == "relationship"
    assert OpportunityStageChange.objects.filter(opportunity=opp).count() == before


def test_the_board_move_answers_json_and_refuses_with_the_message(client_for, org, opp):
    client = client_for(org.rep)
    url = reverse("sales:opportunity_move", args=[opp.pk])
    ok = client.post(url, {"stage": stage("assigned").pk}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    lost = client.post(url, {"stage": stage("lost").pk}, HTTP_HX_REQUEST="true")
    assert lost.status_code == 422
    body = lost.json()
    assert body["ok"] is False and "lost_reason" in body["errors"] and "needs reason lost or abandoned" in body["message"]
    opp.refresh_from_db()
    assert opp.stage.code == "assigned"
    done = client.post(url, {"stage": stage("lost").pk, "lost_reason": "预算取消"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    opp.refresh_from_db()
    assert opp.stage.code == "lost" and opp.lost_reason == "预算取消"
    junk = client.post(url, {"stage": "x"}, HTTP_HX_REQUEST="true")
    assert junk.status_code == 422


def test_move_redirects_only_to_local_next_urls(client_for, org, opp):
    client = client_for(org.rep)
    url = reverse("sales:opportunity_move", args=[opp.pk])
    evil = client.post(url, {"stage": stage("created").pk, "next": "https://evil.example.com/"})
    assert evil.url == reverse("sales:opportunity", args=[opp.pk])
    local = client.post(url, {"stage": stage("assigned").pk, "next": reverse("sales:opportunity_board")})
    assert local.url == reverse("sales:opportunity_board")


def test_read_only_viewers_get_no_stage_buttons(client_for, org, opp):
    from kamcrm.org.selectors import EDIT, can

    viewer = next((u for u in (org.exec_, org.bizmgmt, org.marketing) if not can(u, opp, EDIT)
                   and client_for(u).get(reverse("sales:opportunity", args=[opp.pk])).status_code == 200), None)
    if viewer is None:
        pytest.skip("no read-only persona reaches this account in the role table")
    client = client_for(viewer)
    html = client.get(reverse("sales:opportunity", args=[opp.pk])).content.decode()
    assert 'data-testid="opportunity-edit"' not in html
    assert client.get(reverse("sales:opportunity_edit", args=[opp.pk])).status_code == 404
    assert client.post(reverse("sales:opportunity_move", args=[opp.pk]),
                       {"stage": stage("created").pk}).status_code == 404


def test_the_account_360_loads_the_opportunities_card(client_for, org, opp):
    client = client_for(org.rep)
    page = client.get(reverse("customers:account", args=[org.acct.pk])).content.decode()
    assert reverse("sales:account_opportunities", args=[org.acct.pk]) in page
    card = client.get(reverse("sales:account_opportunities", args=[org.acct.pk])).content.decode()
    assert "园区 5G 专网" in card and "¥88,000.00" in card
    assert f"{reverse('sales:opportunity_add')}?account={org.acct.pk}" in card


def test_the_navigation_links_the_sales_pages(client_for, org):
    html = client_for(org.rep).get(reverse("sales:funnel")).content.decode()
    assert 'data-testid="nav-opportunities"' in html and 'data-testid="nav-funnel"' in html


def test_the_funnel_shows_this_week_against_the_week_before_with_drill_down(client_for, org):
    from kamcrm.sales import services as sales_services

    deal = sales_services.opportunity_create(account=org.acct, name="本周新商机", owner=org.rep)
    html = client_for(org.rep).get(reverse("sales:funnel")).content.decode()
    assert 'data-testid="week-over-week"' in html
    assert f"?ids={deal.pk}" in html
    listed = client_for(org.rep).get(reverse("sales:opportunity_list") + f"?ids={deal.pk}").content.decode()
    assert "本周新商机" in listed
    bad = client_for(org.rep).get(reverse("sales:opportunity_list") + "?ids=1,x")
    assert bad.status_code == 400
