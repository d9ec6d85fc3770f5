"""Receivables UI: the receivables page (aging, drill-down, DSO, paid late), the invoice list and page
with its forms (payment with allocation — partial, over = advance —, advance applied, promise,
collection activity, void), a new invoice, the account 360 card, and who may see or change what."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.receivables.models import CollectionActivity, CollectionPromise, Invoice, Payment
from kamcrm.receivables.tests.helpers import D, invoice, pay

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def book(org):
    """The rep's account: one invoice 45 days overdue (partly paid), one current, one paid late; the
    outsider's account in the west: one overdue invoice."""
    late = invoice(org.acct, amount="1000.00", day=TODAY - dt.timedelta(days=75), due=TODAY - dt.timedelta(days=45),
                   number="E-LATE")
    pay(org.acct, "400.00", day=TODAY - dt.timedelta(days=40), allocations=[(late, "400.00")])
    current = invoice(org.acct, amount="500.00", day=TODAY - dt.timedelta(days=5), number="E-NOW")
    settled = invoice(org.acct, amount="200.00", day=TODAY - dt.timedelta(days=60), due=TODAY - dt.timedelta(days=30),
                      number="E-PAID", disputed=True)
    pay(org.acct, "200.00", day=TODAY - dt.timedelta(days=20), allocations=[(settled, "200.00")])
    west = invoice(org.other, amount="300.00", day=TODAY - dt.timedelta(days=40), due=TODAY - dt.timedelta(days=10),
                   number="W-LATE")
    return {"late": late, "current": current, "settled": settled, "west": west}


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_receivables_page_shows_aging_dso_and_paid_late_with_drill_down(client_for, org, book):
    html = html_of(client_for(org.admin).get(reverse("receivables:overview")))
    assert 'data-testid="bucket-amount-d31_60">¥600.00' in html  # 1000 − 400 paid, 45 days past due
    assert 'data-testid="bucket-amount-current">¥500.00' in html
    assert 'data-testid="bucket-amount-d1_30">¥300.00' in html
    assert 'data-testid="open-total">¥1,400.00' in html
    assert 'data-testid="late-count">1 (1.0000)' in html  # the one settled invoice was paid 10 days late
    assert 'data-testid="late-max">10' in html
    drill = f"{reverse('receivables:invoice_list')}?as_of={TODAY.isoformat()}&amp;bucket=d31_60"
    assert drill in html
    listed = html_of(client_for(org.admin).get(reverse("receivables:invoice_list"),
                                                {"as_of": TODAY.isoformat(), "bucket": "d31_60"}))
    assert "E-LATE" in listed and "E-NOW" not in listed and "¥600.00" in listed
    # by account and by owning unit, each cell a drill-down
    assert 'data-testid="aging-account-row"' in html and 'data-testid="aging-unit-row"' in html
    assert f"account={org.acct.pk}&amp;bucket=d31_60" in html or f"as_of={TODAY.isoformat()}&amp;account={org.acct.pk}" in html


def test_the_page_as_of_a_past_day_counts_only_payments_received_by_then(client_for, org, book):
    day = TODAY - dt.timedelta(days=42)  # before the 400.00 payment: the late invoice was open in full, 3 days late
    html = html_of(client_for(org.admin).get(reverse("receivables:overview"), {"as_of": day.isoformat()}))
    assert 'data-testid="bucket-amount-d1_30">¥1,000.00' in html
    assert 'data-testid="bucket-amount-current">¥200.00' in html  # E-PAID, not due yet; E-NOW not issued yet
    assert 'data-testid="aging-as-of"' in html


def test_a_rep_of_another_team_sees_none_of_it(client_for, org, book):
    client = client_for(org.outsider)
    html = html_of(client.get(reverse("receivables:overview")))
    assert 'data-testid="open-total">¥300.00' in html
    listed = html_of(client.get(reverse("receivables:invoice_list")))
    assert "W-LATE" in listed and "E-LATE" not in listed
    late = book["late"]
    assert client.get(reverse("receivables:invoice", args=[late.pk])).status_code == 404
    assert client.get(reverse("receivables:account_receivables", args=[org.acct.pk])).status_code == 404
    response = client.post(reverse("receivables:invoice_action", args=[late.pk, "payment"]),
                           {"payment-received_on": TODAY.isoformat(), "payment-amount": "10.00",
                            "payment-method": "transfer"})
    assert response.status_code == 404
    assert client.post(reverse("receivables:invoice_action", args=[late.pk, "void"])).status_code == 404
    assert Payment.objects.filter(account=org.acct).count() == 2


def test_read_only_viewers_see_the_invoice_without_forms(client_for, org, book):
    client = client_for(org.bizmgmt)  # business management sees the whole company, edits only its own accounts
    html = html_of(client.get(reverse("receivables:invoice", args=[book["late"].pk])))
    assert "E-LATE" in html and 'data-testid="payment-form"' not in html
    response = client.post(reverse("receivables:invoice_action", args=[book["late"].pk, "promise"]),
                           {"promise-promised_on": TODAY.isoformat(), "promise-amount": "10"})
    assert response.status_code == 404 and not CollectionPromise.objects.exists()


def test_record_a_partial_payment_then_an_over_payment_that_leaves_an_advance(client_for, org, book):
    client = client_for(org.rep)
    late = book["late"]
    url = reverse("receivables:invoice_action", args=[late.pk, "payment"])
    response = client.post(url, {"payment-received_on": TODAY.isoformat(), "payment-amount": "100.00",
                                 "payment-method": "transfer", "payment-reference": "BK-1"})
    assert response.status_code == 302 and response.url.endswith("#payment")
    late.refresh_from_db()
    assert (late.status, late.balance) == ("partly_paid", D("500.00"))
    response = client.post(url, {"payment-received_on": TODAY.isoformat(), "payment-amount": "800.00",
                                 "payment-method": "transfer"}, follow=True)
    html = html_of(response)
    assert "300.00 stays on the account as an advance." in html
    late.refresh_from_db()
    assert (late.status, late.settled_on) == ("paid", TODAY)
    # the advance pays the current invoice from its page
    current = book["current"]
    page = html_of(client.get(reverse("receivables:invoice", args=[current.pk])))
    assert 'data-testid="advance-form"' in page
    advance = Payment.objects.get(amount=D("800.00"))
    response = client.post(reverse("receivables:invoice_action", args=[current.pk, "advance"]),
                           {"advance-payment": advance.pk})
    assert response.status_code == 302
    current.refresh_from_db()
    advance.refresh_from_db()
    assert (current.paid_amount, advance.unallocated) == (D("300.00"), D("0.00"))


def test_payment_refusals_stay_on_their_fields(client_for, org, book):
    client = client_for(org.rep)
    url = reverse("receivables:invoice_action", args=[book["late"].pk, "payment"])
    response = client.post(url, {"payment-received_on": TODAY.isoformat(), "payment-amount": "100.00",
                                 "payment-allocate": "700.00", "payment-method": "transfer"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field-error="allocate"' in html and "At most the amount received." in html
    response = client.post(url, {"payment-received_on": TODAY.isoformat(), "payment-amount": "900.00",
                                 "payment-allocate": "700.00", "payment-method": "transfer"})
    assert response.status_code == 400
    assert 'data-field-error="allocate"' in response.content.decode()
    assert "has only 600.00 open" in response.content.decode()
    assert Payment.objects.count() == 2


def test_promise_activity_and_void(client_for, org, book):
    client = client_for(org.rep)
    current = book["current"]
    action = lambda name: reverse("receivables:invoice_action", args=[current.pk, name])  # noqa: E731
    assert client.post(action("promise"), {"promise-promised_on": (TODAY + dt.timedelta(days=7)).isoformat(),
                                           "promise-amount": "500", "promise-note": "月底付"}).status_code == 302
    assert client.post(action("activity"), {"activity-kind": "call", "activity-note": "财务已确认"}).status_code == 302
    bad = client.post(action("activity"), {"activity-kind": "telepathy"})
    assert bad.status_code == 400 and 'data-field-error="kind"' in bad.content.decode()
    html = html_of(client.get(reverse("receivables:invoice", args=[current.pk])))
    assert "月底付" in html and "财务已确认" in html
    assert CollectionPromise.objects.count() == 1 and CollectionActivity.objects.count() == 1
    # a paid invoice cannot be voided; an unpaid one can
    response = client.post(reverse("receivables:invoice_action", args=[book["late"].pk, "void"]), follow=True)
    assert "Release the payments" in response.content.decode()
    assert client.post(action("void")).status_code == 302
    assert Invoice.objects.get(pk=current.pk).status == "void"
    assert client.post(reverse("receivables:invoice_action", args=[current.pk, "nonsense"])).status_code == 404


def test_create_an_invoice_from_the_account(client_for, org, book):
    client = client_for(org.rep)
    page = html_of(client.get(reverse("receivables:invoice_add"), {"account": org.acct.pk}))
    assert org.acct.name in page
    response = client.post(reverse("receivables:invoice_add"), {
        "account": org.acct.pk, "number": "E-NEW", "invoice_date": TODAY.isoformat(), "amount": "1000", "tax": "130"})
    created = Invoice.objects.get(number="E-NEW")
    assert response.status_code == 302 and response.url == reverse("receivables:invoice", args=[created.pk])
    assert (created.total, created.due_date) == (D("1130.00"), TODAY + dt.timedelta(days=30))
    again = client.post(reverse("receivables:invoice_add"), {
        "account": org.acct.pk, "number": "E-NEW", "invoice_date": TODAY.isoformat(), "amount": "1"})
    assert again.status_code == 400 and 'data-field-error="number"' in again.content.decode()
    theirs = client.post(reverse("receivables:invoice_add"), {
        "account": org.other.pk, "number": "E-X", "invoice_date": TODAY.isoformat(), "amount": "1"})
    assert theirs.status_code == 400 and not Invoice.objects.filter(number="E-X").exists()


def test_the_account_360_card(client_for, org, book):
    client = client_for(org.rep)
    page = html_of(client.get(reverse("customers:account", args=[org.acct.pk])))
    assert reverse("receivables:account_receivables", args=[org.acct.pk]) in page
    card = html_of(client.get(reverse("receivables:account_receivables", args=[org.acct.pk])))
    assert 'data-testid="account-balance">¥1,100.00' in card
    assert 'data-testid="account-overdue">¥600.00' in card
    assert "E-LATE" in card and "E-NOW" in card and "E-PAID" not in card


def test_the_list_filters_sorts_and_reports_bad_filters(client_for, org, book):
    client = client_for(org.admin)
    html = html_of(client.get(reverse("receivables:invoice_list"), {"overdue": "true"}))
    assert "E-LATE" in html and "W-LATE" in html and "E-NOW" not in html
    html = html_of(client.get(reverse("receivables:invoice_list"), {"disputed": "true", "sort": "due"}))
    assert "E-PAID" in html and "E-LATE" not in html
    html = html_of(client.get(reverse("receivables:invoice_list"), {"owner_unit": org.west.pk}))
    assert "W-LATE" in html and "E-LATE" not in html
    assert client.get(reverse("receivables:invoice_list"), {"bucket": "forever"}).status_code == 400
    assert client.get(reverse("receivables:invoice_list"), {"sort": "colour"}).status_code == 400


def test_the_list_exports_what_it_shows(client_for, org, book):
    response = client_for(org.rep).get(reverse("exchange:export", args=["invoices", "csv"]),
                                       {"overdue": "true", "sort": "due"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "E-LATE" in body and "E-NOW" not in body and "W-LATE" not in body
    assert "600.00" in body  # the balance column
    outsider = client_for(org.outsider).get(reverse("exchange:export", args=["invoices", "csv"]))
    assert "E-LATE" not in b"".join(outsider.streaming_content).decode("utf-8-sig")


def test_pages_speak_chinese(client, org, book):
    client.force_login(org.rep)
    html = client.get(reverse("receivables:overview"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "应收款" in html and "账龄" in html
    html = client.get(reverse("receivables:invoice", args=[book["late"].pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
                      ).content.decode()
    assert "回款" in html


def test_the_navigation_links_the_receivables_page(client_for, org):
    html = html_of(client_for(org.rep).get(reverse("receivables:invoice_list")))
    assert f'href="{reverse("receivables:overview")}" data-testid="nav-receivables"' in html
    assert Decimal("0") == 0
