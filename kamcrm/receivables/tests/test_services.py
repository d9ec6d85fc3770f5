"""Receivables services: invoices, payments and their allocation (partial, over-payment as an advance,
refusals naming the field), the settled-on date, batch writes, promises and collection activities."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from kamcrm.analytics.facts import facts_direct
from kamcrm.analytics.models import RevenueFact
from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.receivables import services
from kamcrm.receivables.choices import InvoiceStatus, PromiseStatus
from kamcrm.receivables.models import CollectionPromise, Invoice, Payment, PaymentAllocation
from kamcrm.receivables.tests.helpers import D, invoice, pay

pytestmark = pytest.mark.django_db
JAN = dt.date(2026, 1, 10)


def fresh(obj):
    obj.refresh_from_db()
    return obj


def errors_of(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


# --- invoices ------------------------------------------------------------------------------------


def test_an_invoice_is_due_in_30_days_by_default_and_its_total_includes_tax(org):
    inv = invoice(org.acct, amount="1000.00", tax="130.00")
    assert (inv.due_date, inv.total, inv.status, inv.balance) == (JAN + dt.timedelta(days=30), D("1130.00"), "open",
                                                                  D("1130.00"))
    # the revenue facts count the net amount billed that month
    assert RevenueFact.objects.get(account=org.acct, month=dt.date(2026, 1, 1)).billed == D("1000.00")


@pytest.mark.parametrize(("data", "field"), [
    ({"due_date": JAN - dt.timedelta(days=1)}, "due_date"),
    ({"amount": D("-1")}, "amount"),
    ({"number": ""}, "number"),
    ({"amount": "abc"}, "amount"),
])
def test_invoice_refusals_name_the_field(org, data, field):
    args = {"account": org.acct, "number": "F-1", "invoice_date": JAN, "amount": D("10")} | data
    with pytest.raises(ValidationError) as exc:
        services.invoice_create(**args)
    assert field in errors_of(exc)


def test_invoice_numbers_are_unique(org):
    invoice(org.acct, number="F-1")
    with pytest.raises(ValidationError) as exc:
        invoice(org.other, number="F-1")
    assert "number" in errors_of(exc)


# --- payments and allocation ---------------------------------------------------------------------


def test_partial_payment_leaves_the_invoice_partly_paid(org):
    inv = invoice(org.acct, amount="100.00")
    payment = pay(org.acct, "40.00", allocations=[(inv, "40.00")])
    inv = fresh(inv)
    assert (inv.status, inv.paid_amount, inv.balance, inv.settled_on) == ("partly_paid", D("40.00"), D("60.00"), None)
    assert (payment.allocated, payment.unallocated) == (D("40.00"), D("0.00"))


def test_the_settled_date_is_when_the_payments_made_it_fully_paid(org):
    inv = invoice(org.acct, amount="100.00")
    pay(org.acct, "60.00", day=dt.date(2026, 2, 1), allocations=[(inv, "60.00")])
    advance = pay(org.acct, "40.00", day=dt.date(2026, 1, 25))  # received earlier, allocated later
    assert fresh(inv).settled_on is None
    services.payment_allocate(payment=advance, allocations=[(inv, D("40.00"))])
    inv = fresh(inv)
    assert (inv.status, inv.paid_amount, inv.settled_on) == ("paid", D("100.00"), dt.date(2026, 2, 1))
    assert fresh(advance).allocated == D("40.00")


def test_an_over_payment_stays_on_the_payment_as_an_advance(org):
    inv = invoice(org.acct, amount="100.00")
    payment = pay(org.acct, "150.00", allocations=[(inv, "100.00")])
    assert (fresh(inv).status, payment.allocated, payment.unallocated) == ("paid", D("100.00"), D("50.00"))
    # the advance pays the next invoice later
    second = invoice(org.acct, amount="30.00")
    payment = services.payment_allocate(payment=payment, allocations=[(second, D("30.00"))])
    assert (payment.unallocated, fresh(second).status) == (D("20.00"), "paid")


def test_allocating_more_than_the_invoice_has_open_is_refused_naming_the_allocation(org):
    inv = invoice(org.acct, amount="100.00")
    with pytest.raises(ValidationError) as exc:
        pay(org.acct, "150.00", allocations=[(inv, "150.00")])
    assert list(errors_of(exc)) == ["allocations[1]"]
    assert "100.00" in errors_of(exc)["allocations[1]"][0]
    assert not Payment.objects.exists()  # all or nothing


def test_allocating_more_than_the_payment_is_refused(org):
    a, b = invoice(org.acct, amount="100.00"), invoice(org.acct, amount="100.00")
    with pytest.raises(ValidationError) as exc:
        pay(org.acct, "120.00", allocations=[(a, "100.00"), (b, "30.00")])
    assert list(errors_of(exc)) == ["allocations[2]"]
    assert fresh(a).paid_amount == 0


def test_allocations_stay_within_the_account_and_skip_void_invoices(org):
    theirs = invoice(org.other, amount="10.00")
    with pytest.raises(ValidationError) as exc:
        pay(org.acct, "10.00", allocations=[(theirs, "10.00")])
    assert "another account" in errors_of(exc)["allocations[1]"][0]
    void = services.invoice_void(invoice=invoice(org.acct, amount="10.00"))
    with pytest.raises(ValidationError) as exc:
        pay(org.acct, "10.00", allocations=[(void, "10.00")])
    assert "void" in errors_of(exc)["allocations[1]"][0]


def test_auto_allocation_pays_the_oldest_due_first_and_keeps_the_rest(org):
    late = invoice(org.acct, amount="50.00", day=dt.date(2026, 1, 1))
    later = invoice(org.acct, amount="80.00", day=dt.date(2026, 1, 5))
    payment = services.payment_create(account=org.acct, received_on=dt.date(2026, 2, 1), amount=D("100.00"),
                                      auto_allocate=True)
    assert (fresh(late).status, fresh(later).status, fresh(later).paid_amount) == ("paid", "partly_paid", D("50.00"))
    assert payment.unallocated == D("0.00")


def test_void_is_refused_while_payments_are_allocated(org):
    inv = invoice(org.acct, amount="10.00")
    pay(org.acct, "5.00", allocations=[(inv, "5.00")])
    with pytest.raises(ValidationError) as exc:
        services.invoice_void(invoice=inv)
    assert "status" in errors_of(exc)
    other = services.invoice_void(invoice=invoice(org.acct, amount="10.00", day=dt.date(2026, 3, 3)))
    assert other.status == "void"
    march = RevenueFact.objects.filter(account=org.acct, month=dt.date(2026, 3, 1)).aggregate(s=Sum("billed"))["s"]
    assert not march  # a void invoice bills nothing


def test_invoice_update_keeps_the_total_above_what_is_paid_and_resettles(org):
    inv = invoice(org.acct, amount="100.00")
    pay(org.acct, "100.00", allocations=[(inv, "100.00")])
    with pytest.raises(ValidationError) as exc:
        services.invoice_update(invoice=inv, data={"amount": D("90.00")})
    assert "amount" in errors_of(exc)
    inv = services.invoice_update(invoice=inv, data={"tax": D("13.00"), "disputed": True})
    assert (inv.total, inv.status, inv.settled_on, inv.disputed) == (D("113.00"), "partly_paid", None, True)
    with pytest.raises(ValidationError) as exc:
        services.invoice_update(invoice=inv, data={"due_date": JAN - dt.timedelta(days=1)})
    assert "due_date" in errors_of(exc)


def test_payments_keep_the_revenue_facts_current(org):
    inv = invoice(org.acct, amount="100.00")
    pay(org.acct, "70.00", day=dt.date(2026, 2, 3), allocations=[(inv, "70.00")])
    facts = {(f.month, f.billed, f.collected) for f in RevenueFact.objects.filter(account=org.acct)}
    assert facts == {(dt.date(2026, 1, 1), D("100.00"), D("0.00")), (dt.date(2026, 2, 1), D("0.00"), D("70.00"))}
    assert sum(v["collected"] for v in facts_direct([org.acct.pk]).values()) == D("70.00")


# --- batch writes --------------------------------------------------------------------------------


def test_batches_write_in_bulk_with_the_same_rules(org):
    items = [{"account": org.acct, "number": f"B-{i}", "invoice_date": JAN, "amount": D("10.00"),
              "source_system": "erp", "external_id": f"e{i}"} for i in range(3)]
    created = services.invoice_create_many(items=items)
    assert [i.number for i in created] == ["B-0", "B-1", "B-2"]
    assert ObjectChange.objects.filter(content_type__model="invoice", object_id__in=[i.pk for i in created],
                                       action="create").count() == 3
    assert TimelineEvent.objects.filter(account=org.acct, kind="record_created").count() >= 3
    # a repeated number (in the database or in the batch) is refused with the item's index, nothing written
    with pytest.raises(services.ItemRefused) as exc:
        services.invoice_create_many(items=[{**items[0], "number": "B-9", "external_id": "e9"},
                                            {**items[0], "number": "B-1", "external_id": "e8"}])
    assert (exc.value.index, list(exc.value.message_dict)) == (1, ["number"])
    _built, errors = services.invoices_check(items=[{**items[0], "number": "N", "external_id": "x"},
                                                    {**items[0], "number": "N", "external_id": "y"},
                                                    {**items[0], "number": "M", "external_id": "e0"},
                                                    {**items[0], "number": "K", "due_date": JAN - dt.timedelta(1)}])
    assert {i: list(e.message_dict) for i, e in errors.items()} == {1: ["number"], 2: ["external_id"],
                                                                    3: ["due_date"]}
    assert Invoice.objects.count() == 3

    payments = services.payment_create_many(items=[
        {"account": org.acct, "received_on": dt.date(2026, 2, 1), "amount": D("15.00"),
         "allocations": [(created[0], D("10.00")), (created[1], D("5.00"))]},
        {"account": org.acct, "received_on": dt.date(2026, 2, 5), "amount": D("8.00"),
         "allocations": [(created[1].pk, D("5.00"))]},
    ])
    assert [(p.allocated, p.unallocated) for p in payments] == [(D("15.00"), D("0.00")), (D("5.00"), D("3.00"))]
    states = {i.number: (i.status, i.paid_amount, i.settled_on) for i in Invoice.objects.all()}
    assert states == {"B-0": ("paid", D("10.00"), dt.date(2026, 2, 1)), "B-1": ("paid", D("10.00"), dt.date(2026, 2, 5)),
                      "B-2": ("open", D("0.00"), None)}
    # an allocation that, with the earlier items of the call, goes beyond the invoice is refused
    with pytest.raises(services.ItemRefused) as exc:
        services.payment_create_many(items=[
            {"account": org.acct, "received_on": JAN, "amount": D("6.00"), "allocations": [(created[2], D("6.00"))]},
            {"account": org.acct, "received_on": JAN, "amount": D("6.00"), "allocations": [(created[2], D("6.00"))]},
        ])
    assert (exc.value.index, list(exc.value.message_dict)) == (1, ["allocations[1]"])
    assert Payment.objects.count() == 2 and PaymentAllocation.objects.count() == 3
    assert RevenueFact.objects.filter(account=org.acct).aggregate(s=Sum("collected"))["s"] == D("23.00")


# --- promises and collection activities ----------------------------------------------------------


def test_promises_and_activities_belong_to_the_invoice_account_and_reach_the_timeline(org):
    inv = invoice(org.acct, amount="100.00")
    with pytest.raises(ValidationError) as exc:
        services.promise_create(account=org.other, invoice=inv, promised_on=JAN, amount=D("10"), by=org.rep)
    assert "invoice" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.promise_create(account=org.acct, invoice=inv, promised_on=JAN, amount=D("0"), by=org.rep)
    assert "amount" in errors_of(exc)
    services.promise_create(account=org.acct, invoice=inv, promised_on=JAN, amount=D("50"), by=org.rep,
                            note="财务说月底前付")
    activity = services.activity_log(account=org.acct, invoice=inv, kind="call", note="已催款", by=org.rep)
    events = TimelineEvent.objects.filter(account=org.acct, kind="collection").order_by("id")
    assert [e.summary for e in events] == [f"Promise to pay 50.00 by {JAN}", f"Collection call: invoice {inv.number}"]
    assert events[1].object_id == activity.pk
    with pytest.raises(ValidationError) as exc:
        services.activity_log(account=org.acct, kind="telepathy", by=org.rep)
    assert "kind" in errors_of(exc)


def test_promises_review_marks_kept_and_broken(org):
    inv = invoice(org.acct, amount="100.00")
    today = dt.date.today()
    kept = services.promise_create(account=org.acct, invoice=inv, promised_on=today, amount=D("30"))
    broken = services.promise_create(account=org.acct, promised_on=today, amount=D("500"))
    pay(org.acct, "30.00", day=today, allocations=[(inv, "30.00")])
    assert services.promises_review(today=today) == 0  # not due yet
    assert services.promises_review(today=today + dt.timedelta(days=1)) == 2
    assert (fresh(kept).status, fresh(broken).status) == (PromiseStatus.KEPT, PromiseStatus.BROKEN)
    assert CollectionPromise.objects.filter(status=PromiseStatus.OPEN).count() == 0
    assert services.promises_review(today=today + dt.timedelta(days=2)) == 0
    assert InvoiceStatus.PARTLY_PAID == fresh(inv).status
