"""Agreements UI: who sees which agreement on the list, the detail page and the account 360's card; the
draft form with its lines (service errors on the field and line they name); the actions (submit, sign,
amend, suspend, resume, terminate, renew) calling the services and showing their refusals; the schedule
grid now and as of a past moment; orders and deliveries."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.agreements import selectors, services
from kamcrm.agreements.choices import AgreementStatus
from kamcrm.agreements.models import Agreement, AgreementChange, Order, RevenueSlice
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal

SEE_REPS_AGREEMENT = ["rep", "manager", "dept_head", "exec_", "admin"]
BLIND_TO_IT = ["outsider", "service", "partner"]


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def products(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000"), unit="架"),
            product_services.product_create(line=line, code="IDC-BW", name="带宽", list_price=D("1000"))]


def make(org, products, *, number="HT-2026-001", account=None, owner=None, amount="120000", sign=True,
         start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)) -> Agreement:
    agreement = services.agreement_create(by=owner or org.rep, account=account or org.acct, number=number,
                                          title="机柜租用协议", owner=owner or org.rep, start_date=start, end_date=end,
                                          lines=[{"product": products[0], "amount": D(amount)}])
    if sign:
        services.agreement_sign(agreement=agreement, by=org.rep, at=at(dt.date(2025, 12, 20)))
    agreement.refresh_from_db()
    return agreement


@pytest.fixture
def signed(org, products):
    return make(org, products)


@pytest.fixture
def draft(org, products):
    return make(org, products, number="HT-2026-DRAFT", sign=False)


@pytest.fixture
def west(org, products):
    return make(org, products, number="HT-WEST-1", account=org.other, owner=org.outsider)


def numbers(response) -> set[str]:
    return {a.number for a in response.context["page"].items}


def line_post(**extra) -> dict[str, str]:
    data = {"lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "100"}
    for i in range(2):
        data.update({f"lines-{i}-billing_cycle": "monthly", f"lines-{i}-rule": "monthly",
                     f"lines-{i}-remainder": "last"})
    data.update(extra)
    return data


# ---- visibility ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", SEE_REPS_AGREEMENT)
def test_those_who_reach_the_account_see_its_agreement_everywhere(client_for, org, signed, west, who):
    client = client_for(getattr(org, who))
    listed = client.get(reverse("agreements:agreement_list"))
    assert listed.status_code == 200 and "HT-2026-001" in numbers(listed)
    detail = client.get(reverse("agreements:agreement", args=[signed.pk]))
    assert detail.status_code == 200 and "机柜租用协议" in detail.content.decode()
    card = client.get(reverse("agreements:account_agreements", args=[org.acct.pk]))
    assert card.status_code == 200 and "HT-2026-001" in card.content.decode()


@pytest.mark.parametrize("who", BLIND_TO_IT)
def test_those_who_do_not_reach_the_account_get_404_and_see_none_of_it(client_for, org, signed, who):
    client = client_for(getattr(org, who))
    listed = client.get(reverse("agreements:agreement_list"))
    assert listed.status_code == 200 and "HT-2026-001" not in listed.content.decode()
    for url in (reverse("agreements:agreement", args=[signed.pk]),
                reverse("agreements:agreement_edit", args=[signed.pk]),
                reverse("agreements:agreement_amend", args=[signed.pk]),
                reverse("agreements:agreement_renew", args=[signed.pk]),
                reverse("agreements:account_agreements", args=[org.acct.pk])):
        assert client.get(url).status_code == 404, url
    for action in ("sign", "suspend", "terminate", "submit"):
        response = client.post(reverse("agreements:agreement_action", args=[signed.pk, action]),
                               {"effective": "2026-06-01"})
        assert response.status_code == 404
    signed.refresh_from_db()
    assert signed.status == AgreementStatus.SIGNED and not signed.changes.exclude(kind="signed").exists()


def test_a_reader_who_may_not_edit_sees_no_actions_and_cannot_post_them(client_for, org, signed):
    client = client_for(org.bizmgmt)  # sees every account, edits none
    page = client.get(reverse("agreements:agreement", args=[signed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="agreement-actions"' not in html and 'data-testid="agreement-amend"' not in html
    assert client.post(reverse("agreements:agreement_action", args=[signed.pk, "suspend"]),
                       {"effective": "2026-06-01"}).status_code == 404
    assert client.get(reverse("agreements:agreement_amend", args=[signed.pk])).status_code == 404


def test_the_outsider_sees_only_their_own_agreement(client_for, org, signed, west):
    assert numbers(client_for(org.outsider).get(reverse("agreements:agreement_list"))) == {"HT-WEST-1"}


# ---- list ----------------------------------------------------------------------------------------

def test_the_list_filters_sorts_and_shows_the_columns(client_for, org, products, signed, draft):
    client = client_for(org.rep)
    assert numbers(client.get(reverse("agreements:agreement_list"), {"status": "draft"})) == {"HT-2026-DRAFT"}
    assert numbers(client.get(reverse("agreements:agreement_list"), {"q": "DRAFT"})) == {"HT-2026-DRAFT"}
    by_number = client.get(reverse("agreements:agreement_list"), {"sort": "number"})
    assert [a.number for a in by_number.context["page"].items] == ["HT-2026-001", "HT-2026-DRAFT"]
    html = by_number.content.decode()
    assert "¥120,000.00" in html and "2026-01-01 – 2026-12-31" in html and "浦江制造" in html
    assert by_number.context["count"] == 2
    assert 'href="/exchange/export/agreements.csv' in html
    empty = client.get(reverse("agreements:agreement_list"), {"q": "不存在"})
    assert 'data-testid="empty"' in empty.content.decode()


def test_the_list_pages_with_a_keyset_cursor(client_for, org, products, monkeypatch):
    from kamcrm.agreements import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        make(org, products, number=f"HT-P{i}", sign=False)
    client = client_for(org.rep)
    first = client.get(reverse("agreements:agreement_list"), {"sort": "number"})
    assert [a.number for a in first.context["page"].items] == ["HT-P0", "HT-P1"]
    nxt = client.get(reverse("agreements:agreement_list"), {"sort": "number",
                                                            "cursor": first.context["page"].next_cursor})
    assert [a.number for a in nxt.context["page"].items] == ["HT-P2", "HT-P3"]
    assert first.context["count"] == 5


def test_a_bad_filter_or_sort_is_reported_not_a_crash(client_for, org, signed):
    client = client_for(org.rep)
    bad = client.get(reverse("agreements:agreement_list"), {"ends_from": "not-a-date"})
    assert bad.status_code == 400 and 'data-testid="filter-errors"' in bad.content.decode()
    sort = client.get(reverse("agreements:agreement_list"), {"sort": "nonsense"})
    assert sort.status_code == 400 and "Unknown sort" in sort.content.decode()


def test_the_pages_render_in_chinese(client_for, org, signed):
    client = client_for(org.rep)
    html = client.get(reverse("agreements:agreement", args=[signed.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "协议明细" in html and "收入计划" in html and "预期收入" in html
    listed = client.get(reverse("agreements:agreement_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "新建协议" in listed


# ---- the detail page: header, lines, schedule, history -------------------------------------------

def test_the_detail_shows_lines_the_12_month_grid_with_totals_and_the_history(client_for, org, signed):
    response = client_for(org.rep).get(reverse("agreements:agreement", args=[signed.pk]))
    grid = response.context["grid"]
    assert len(grid.months) == 12 and grid.total == D("120000")
    html = response.content.decode()
    assert html.count('data-testid="schedule-month"') == 12
    assert html.count('data-testid="schedule-total"') == 12 and "10,000.00" in html
    assert 'data-testid="schedule-grand-total">120,000.00' in html
    assert html.count('data-testid="agreement-line"') == 1
    assert 'data-testid="change-row" data-kind="signed"' in html
    assert f'/accounts/{org.acct.pk}/?kind=agreement_change#timeline' in html


def test_the_as_of_view_shows_the_schedule_as_it_stood_before_an_amendment(client_for, org, signed):
    line = signed.lines.get()
    services.agreement_amend(agreement=signed, effective=dt.date(2026, 6, 1),
                             lines=[{"id": line.pk, "amount": D("134000")}], at=at(dt.date(2026, 5, 20)), by=org.rep)
    client = client_for(org.rep)
    now = client.get(reverse("agreements:agreement", args=[signed.pk]))
    assert now.context["grid"].total == D("134000")
    before = client.get(reverse("agreements:agreement", args=[signed.pk]), {"as_of": "2026-01-15"})
    assert before.status_code == 200
    assert before.context["grid"].total == D("120000") and before.context["as_of"] is not None
    assert 'data-testid="as-of-badge"' in before.content.decode()
    signed_change = AgreementChange.objects.get(agreement=signed, kind="signed")
    exact = client.get(reverse("agreements:agreement", args=[signed.pk]),
                       {"as_of": signed_change.recorded_at.isoformat()})
    assert exact.context["grid"].total == D("120000")
    nothing = client.get(reverse("agreements:agreement", args=[signed.pk]), {"as_of": "2025-01-01"})
    assert nothing.context["grid"].months == [] and "There was no schedule at that moment." in nothing.content.decode()
    bad = client.get(reverse("agreements:agreement", args=[signed.pk]), {"as_of": "gestern"})
    assert bad.status_code == 400 and "Enter a date" in bad.content.decode()
    assert bad.context["grid"].total == D("134000")


# ---- the draft form ------------------------------------------------------------------------------

def test_a_draft_is_created_with_lines_and_the_value_is_their_sum(client_for, org, products):
    client = client_for(org.rep)
    page = client.get(reverse("agreements:agreement_add"), {"account": org.acct.pk})
    assert page.status_code == 200 and 'data-testid="line-product-0"' in page.content.decode()
    response = client.post(reverse("agreements:agreement_add"), line_post(**{
        "account": org.acct.pk, "number": "HT-NEW-1", "title": "带宽协议", "type": "service", "owner": org.rep.pk,
        "start_date": "2026-01-01", "end_date": "2026-12-31", "renewal_notice_days": "60",
        "lines-0-product": products[0].pk, "lines-0-quantity": "2", "lines-0-unit_price": "5000",
        "lines-1-product": products[1].pk, "lines-1-amount": "1200", "lines-1-rule": "daily"}))
    agreement = Agreement.objects.get(number="HT-NEW-1")
    assert response.status_code == 302 and response["Location"] == reverse("agreements:agreement", args=[agreement.pk])
    assert agreement.status == AgreementStatus.DRAFT and agreement.total_value == D("11200")
    assert agreement.signing_unit == org.rep.unit
    assert sorted((line.amount, line.rule) for line in agreement.lines.all()) == [(D("1200"), "daily"),
                                                                                  (D("10000"), "monthly")]


def test_form_errors_name_the_field_and_the_line(client_for, org, products, signed):
    client = client_for(org.rep)
    base = {"account": org.acct.pk, "title": "x", "type": "service", "owner": org.rep.pk,
            "start_date": "2026-01-01", "end_date": "2026-06-30", "renewal_notice_days": "60"}
    # a taken number: on the number field
    taken = client.post(reverse("agreements:agreement_add"), line_post(**base, number="HT-2026-001"))
    assert taken.status_code == 400 and taken.context["form"].errors.get("number")
    # a line running past the agreement: on that line's start date, not the agreement's
    late = client.post(reverse("agreements:agreement_add"), line_post(**base, **{
        "number": "HT-E1", "lines-0-product": products[0].pk, "lines-0-amount": "100",
        "lines-1-product": products[1].pk, "lines-1-amount": "100", "lines-1-end_date": "2026-12-31"}))
    assert late.status_code == 400
    forms_ = late.context["formset"].forms
    assert not forms_[0].errors and "start_date" in forms_[1].errors
    assert not late.context["form"].errors
    # milestones that do not add up: on that line's milestones
    bad = client.post(reverse("agreements:agreement_add"), line_post(**base, **{
        "number": "HT-E2", "lines-0-product": products[0].pk, "lines-0-amount": "3000", "lines-0-rule": "milestone",
        "lines-0-milestones": "2026-03-31 1000; 2026-06-30 1000"}))
    assert bad.status_code == 400 and "milestones" in bad.context["formset"].forms[0].errors
    # an end before the start: on the end date, in the form
    backwards = client.post(reverse("agreements:agreement_add"), line_post(**{**base, "end_date": "2025-01-01"},
                                                                           number="HT-E3"))
    assert backwards.status_code == 400 and 'data-testid="form-errors"' in backwards.content.decode()
    assert not Agreement.objects.filter(number__startswith="HT-E").exists()


def test_the_account_must_be_editable_and_the_owner_assignable(client_for, org, products):
    client = client_for(org.rep)
    other = client.post(reverse("agreements:agreement_add"), line_post(**{
        "account": org.other.pk, "number": "HT-X", "title": "x", "type": "service", "owner": org.rep.pk,
        "start_date": "2026-01-01", "end_date": "2026-06-30", "renewal_notice_days": "60"}))
    assert other.status_code == 400 and "account" in other.context["form"].errors
    boss = client.post(reverse("agreements:agreement_add"), line_post(**{
        "account": org.acct.pk, "number": "HT-Y", "title": "x", "type": "service", "owner": org.outsider.pk,
        "start_date": "2026-01-01", "end_date": "2026-06-30", "renewal_notice_days": "60"}))
    assert boss.status_code == 400 and "owner" in boss.context["form"].errors
    assert not Agreement.objects.filter(number__in=["HT-X", "HT-Y"]).exists()


def test_a_draft_is_edited_but_a_signed_agreement_is_not(client_for, org, products, draft, signed):
    client = client_for(org.rep)
    page = client.get(reverse("agreements:agreement_edit", args=[draft.pk]))
    assert page.status_code == 200
    line = draft.lines.get()
    data = line_post(**{"number": draft.number, "title": "改名协议", "type": "project", "owner": org.rep.pk,
                        "start_date": "2026-01-01", "end_date": "2026-12-31", "renewal_notice_days": "30",
                        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "1",
                        "lines-0-product": line.product_id, "lines-0-quantity": "1", "lines-0-amount": "60000"})
    response = client.post(reverse("agreements:agreement_edit", args=[draft.pk]), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    draft.refresh_from_db()
    assert (draft.title, draft.type, draft.total_value, draft.renewal_notice_days) == ("改名协议", "project",
                                                                                      D("60000"), 30)
    refused = client.get(reverse("agreements:agreement_edit", args=[signed.pk]), follow=True)
    assert refused.redirect_chain[-1][0] == reverse("agreements:agreement", args=[signed.pk])
    assert "changes through an amendment" in refused.content.decode()


# ---- actions -------------------------------------------------------------------------------------

def test_submit_and_sign_from_the_page(client_for, org, draft):
    client = client_for(org.rep)
    assert client.post(reverse("agreements:agreement_action", args=[draft.pk, "submit"])).status_code == 302
    draft.refresh_from_db()
    assert draft.status == AgreementStatus.IN_APPROVAL
    again = client.post(reverse("agreements:agreement_action", args=[draft.pk, "submit"]))
    assert again.status_code == 400 and "Only a draft can be submitted" in again.content.decode()
    signed = client.post(reverse("agreements:agreement_action", args=[draft.pk, "sign"]), {"signed_on": "2026-01-05"})
    assert signed.status_code == 302
    draft.refresh_from_db()
    assert draft.signed_on == dt.date(2026, 1, 5) and draft.status in (AgreementStatus.ACTIVE, AgreementStatus.SIGNED)
    assert RevenueSlice.objects.filter(agreement=draft).count() == 12


def test_signing_without_lines_shows_the_services_reason(client_for, org):
    agreement = services.agreement_create(account=org.acct, number="HT-EMPTY", title="空", owner=org.rep,
                                          start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    response = client_for(org.rep).post(reverse("agreements:agreement_action", args=[agreement.pk, "sign"]), {})
    assert response.status_code == 400
    assert "without lines cannot be signed" in response.content.decode()
    assert 'data-testid="details-sign" open' in response.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.DRAFT


def test_suspend_resume_and_terminate_with_their_effective_dates(client_for, org, signed):
    client = client_for(org.rep)
    url = lambda action: reverse("agreements:agreement_action", args=[signed.pk, action])  # noqa: E731
    missing = client.post(url("suspend"), {})
    assert missing.status_code == 400 and missing.context["actions"]["suspend"].errors.get("effective")
    outside = client.post(url("suspend"), {"effective": "2027-05-01"})
    assert outside.status_code == 400
    assert "must fall within the agreement" in str(outside.context["actions"]["suspend"].errors["effective"])
    assert client.post(url("suspend"), {"effective": "2026-04-16", "note": "客户停机"}).status_code == 302
    signed.refresh_from_db()
    assert signed.status == AgreementStatus.SUSPENDED
    assert client.post(url("resume"), {"effective": "2026-07-01"}).status_code == 302
    assert client.post(url("terminate"), {"effective": "2026-10-01"}).status_code == 302
    signed.refresh_from_db()
    assert signed.status == AgreementStatus.TERMINATED and signed.end_date == dt.date(2026, 9, 30)
    assert list(signed.changes.order_by("recorded_at", "id").values_list("kind", flat=True)) == [
        "signed", "suspended", "resumed", "terminated"]
    assert client.post(url("nonsense"), {}).status_code == 404


def test_amend_from_a_date_with_new_value_added_and_removed_lines(client_for, org, products, signed):
    line = signed.lines.get()
    client = client_for(org.rep)
    page = client.get(reverse("agreements:agreement_amend", args=[signed.pk]))
    assert page.status_code == 200 and 'data-testid="amend-amount-0"' in page.content.decode()
    data = {"effective": "2026-06-01", "note": "扩容",
            "change-TOTAL_FORMS": "1", "change-INITIAL_FORMS": "1", "change-MIN_NUM_FORMS": "0",
            "change-MAX_NUM_FORMS": "1", "change-0-line_id": line.pk, "change-0-amount": "134000",
            "change-0-end_date": "2026-12-31", "change-0-rule": "monthly",
            "add-TOTAL_FORMS": "1", "add-INITIAL_FORMS": "0", "add-MIN_NUM_FORMS": "0", "add-MAX_NUM_FORMS": "100",
            "add-0-product": products[1].pk, "add-0-amount": "7000", "add-0-billing_cycle": "monthly",
            "add-0-rule": "monthly", "add-0-remainder": "last"}
    response = client.post(reverse("agreements:agreement_amend", args=[signed.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    signed.refresh_from_db()
    assert signed.total_value == D("141000")
    grid = selectors.schedule_grid(agreement=signed)
    by_month = dict(zip(grid.months, grid.totals, strict=True))
    assert by_month[dt.date(2026, 5, 1)] == D("10000.00") and by_month[dt.date(2026, 6, 1)] == D("13000.00")
    # ending the new line from October
    added = signed.lines.exclude(pk=line.pk).get()
    remove = {**data, "effective": "2026-10-01", "change-TOTAL_FORMS": "2", "change-INITIAL_FORMS": "2",
              "change-MAX_NUM_FORMS": "2", "change-0-amount": "134000", "change-1-line_id": added.pk,
              "change-1-amount": str(added.amount), "change-1-end_date": "2026-12-31", "change-1-rule": "monthly",
              "change-1-remove": "on", "add-TOTAL_FORMS": "0"}
    assert client.post(reverse("agreements:agreement_amend", args=[signed.pk]), remove).status_code == 302
    added.refresh_from_db()
    assert added.end_date == dt.date(2026, 9, 30) and added.amount == D("4000.00")


def test_amend_errors_are_shown_on_the_field(client_for, org, signed):
    line = signed.lines.get()
    client = client_for(org.rep)
    base = {"change-TOTAL_FORMS": "1", "change-INITIAL_FORMS": "1", "change-MIN_NUM_FORMS": "0",
            "change-MAX_NUM_FORMS": "1", "change-0-line_id": line.pk, "change-0-end_date": "2026-12-31",
            "change-0-rule": "monthly", "add-TOTAL_FORMS": "0", "add-INITIAL_FORMS": "0",
            "add-MIN_NUM_FORMS": "0", "add-MAX_NUM_FORMS": "100"}
    outside = client.post(reverse("agreements:agreement_amend", args=[signed.pk]),
                          {**base, "effective": "2027-06-01", "change-0-amount": "130000"})
    assert outside.status_code == 400 and outside.context["form"].errors.get("effective")
    too_low = client.post(reverse("agreements:agreement_amend", args=[signed.pk]),
                          {**base, "effective": "2026-06-01", "change-0-amount": "1000"})
    assert too_low.status_code == 400 and "already scheduled" in too_low.content.decode()
    foreign = client.post(reverse("agreements:agreement_amend", args=[signed.pk]),
                          {**base, "effective": "2026-06-01", "change-0-line_id": "999999"})
    assert foreign.status_code == 400 and "is not on this agreement" in foreign.content.decode()
    assert not signed.changes.filter(kind="amended").exists()


def test_renew_creates_a_draft_that_renews_this_one(client_for, org, signed):
    client = client_for(org.rep)
    taken = client.post(reverse("agreements:agreement_renew", args=[signed.pk]),
                        {"number": "HT-2026-001", "end_date": "2027-12-31"})
    assert taken.status_code == 400 and taken.context["form"].errors.get("number")
    response = client.post(reverse("agreements:agreement_renew", args=[signed.pk]),
                           {"number": "HT-2027-001", "end_date": "2027-12-31"})
    renewal = Agreement.objects.get(number="HT-2027-001")
    assert response.status_code == 302 and renewal.renews == signed and renewal.status == AgreementStatus.DRAFT
    html = client.get(reverse("agreements:agreement", args=[signed.pk])).content.decode()
    assert "HT-2027-001" in html
    html = client.get(reverse("agreements:agreement", args=[renewal.pk])).content.decode()
    assert f'href="/agreements/{signed.pk}/"' in html


# ---- the account 360's card and orders -------------------------------------------------------------

def test_the_account_page_loads_the_agreements_card(client_for, org, signed):
    client = client_for(org.rep)
    html = client.get(reverse("customers:account", args=[org.acct.pk])).content.decode()
    assert reverse("agreements:account_agreements", args=[org.acct.pk]) in html
    card = client.get(reverse("agreements:account_agreements", args=[org.acct.pk])).content.decode()
    assert "¥120,000.00" in card and 'data-testid="account-agreement-add"' in card
    nav = client.get(reverse("home")).content.decode()
    assert 'data-testid="nav-agreements"' in nav


def test_orders_are_created_against_an_agreement_and_deliveries_recorded(client_for, org, products, signed):
    client = client_for(org.rep)
    page = client.get(reverse("agreements:order_add"), {"agreement": signed.pk})
    assert page.status_code == 200 and page.context["formset"].initial[0]["product"] == products[0].pk
    data = {"account": org.acct.pk, "agreement": signed.pk, "number": "DD-1", "ordered_on": "2026-02-01",
            "owner": org.rep.pk, "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "100", "lines-0-product": products[0].pk, "lines-0-quantity": "4",
            "lines-0-unit_price": "2500"}
    response = client.post(reverse("agreements:order_add"), data)
    order = Order.objects.get(number="DD-1")
    assert response.status_code == 302 and (order.total, order.status, order.agreement) == (D("10000"), "open", signed)
    line = order.lines.get()
    too_much = client.post(reverse("agreements:order_deliver", args=[order.pk]), {"line": line.pk, "quantity": "9"})
    assert too_much.status_code == 400 and "Deliver between 0 and" in too_much.content.decode()
    assert client.post(reverse("agreements:order_deliver", args=[order.pk]),
                       {"line": line.pk, "quantity": "1"}).status_code == 302
    order.refresh_from_db()
    assert order.status == "partly_delivered"
    listed = client.get(reverse("agreements:order_list"), {"agreement": signed.pk})
    assert [o.number for o in listed.context["page"].items] == ["DD-1"]
    assert "DD-1" in client.get(reverse("agreements:agreement", args=[signed.pk])).content.decode()
    # another team's rep sees none of it
    outsider = client_for(org.outsider)
    assert outsider.get(reverse("agreements:order", args=[order.pk])).status_code == 404
    assert outsider.post(reverse("agreements:order_deliver", args=[order.pk]),
                         {"line": line.pk, "quantity": "1"}).status_code == 404
    assert "DD-1" not in outsider.get(reverse("agreements:order_list")).content.decode()


def test_an_order_for_an_agreement_of_another_account_is_refused(client_for, org, products, signed, west):
    customer = client_for(org.admin)
    response = customer.post(reverse("agreements:order_add"), {
        "account": org.acct.pk, "agreement": west.pk, "number": "DD-X", "ordered_on": "2026-02-01",
        "owner": org.rep.pk, "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100", "lines-0-product": products[0].pk, "lines-0-quantity": "1",
        "lines-0-unit_price": "1"})
    assert response.status_code == 400 and "agreement" in response.context["form"].errors
    assert not Order.objects.filter(number="DD-X").exists()
