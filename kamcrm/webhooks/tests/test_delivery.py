"""Delivery to a real local receiver: signed, in order per record, retried with back-off, given up after a day."""
import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from kamcrm.customers import services as customers
from kamcrm.webhooks import services
from kamcrm.webhooks.delivery import BACKOFF_CAP, backoff, deliver_due, delivery_claim, due_deliveries
from kamcrm.webhooks.models import Delivery, DeliveryStatus, OutboxEvent


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_it_delivers_signed_events_in_order_per_record(org, subscription, receiver):
    # given: an account created and changed twice, a contact created and changed
    account = customers.account_create(name="杭州西湖电子", region=org.east, owner=org.rep)
    customers.account_update(account=account, data={"tier": "key"})
    customers.account_update(account=account, data={"tier": "strategic", "phone": "0571-1234"})
    contact = customers.contact_create(account=account, name="王芳")
    customers.contact_update(contact=contact, data={"title": "采购总监"})
    # when
    attempted = deliver_due()
    # then: every event arrived once, signed, in the order the changes were made
    assert attempted == 5
    assert [r["type"] for r in receiver.requests] == [
        "account.created", "account.changed", "account.changed", "contact.created", "contact.changed"]
    assert all(r["signed"] for r in receiver.requests)
    assert all(r["path"] == "/hooks?src=kamcrm" for r in receiver.requests)
    events = list(OutboxEvent.objects.order_by("id"))
    assert [r["event_id"] for r in receiver.requests] == [str(e.event_id) for e in events]
    assert [r["body"]["id"] for r in receiver.requests] == [str(e.event_id) for e in events]
    third = receiver.requests[2]["body"]
    assert third["account_id"] == account.pk
    assert third["data"]["name"] == "杭州西湖电子"
    assert third["data"]["changes"] == {"tier": {"before": "key", "after": "strategic"},
                                        "phone": {"before": "", "after": "0571-1234"}}
    assert receiver.requests[4]["body"]["data"]["changes"] == {"title": {"before": "", "after": "采购总监"}}
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert all(d.response_ms is not None and d.last_status_code == 200 for d in Delivery.objects.all())


def test_it_emits_nothing_when_nothing_changed_or_nobody_subscribed(org, subscription):
    # when: an update that changes nothing, and an event type nobody subscribed to
    customers.account_update(account=org.acct, data={"name": org.acct.name})
    services.event_emit(type="invoice.overdue", payload={"id": 1}, account_id=org.acct.pk)
    # then
    assert OutboxEvent.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_it_writes_no_deliveries_for_inactive_subscriptions(org, subscription):
    services.subscription_update(subscription=subscription, data={"active": False}, by=org.admin)
    customers.account_update(account=org.acct, data={"tier": "normal"})
    assert Delivery.objects.count() == 0


def test_it_holds_back_a_records_later_events_while_an_earlier_one_fails(org, subscription, receiver):
    # given: two changes of one account and one of another; the receiver refuses the first request
    customers.account_update(account=org.acct, data={"tier": "normal"})
    customers.account_update(account=org.acct, data={"tier": "key"})
    customers.account_update(account=org.other, data={"tier": "normal"})
    receiver.fail_next = 1
    # when
    deliver_due()
    # then: acct's first event failed, its second waited; the other account was not held back
    first, second, third = Delivery.objects.order_by("id")
    assert (first.status, first.attempts) == (DeliveryStatus.FAILED, 1)
    assert (second.status, second.attempts) == (DeliveryStatus.PENDING, 0)
    assert third.status == DeliveryStatus.DELIVERED
    # when: the retry is due
    deliver_due(now=later(3600))
    # then: acct's events arrive in order after the retry
    acct_ids = [r["event_id"] for r in receiver.accepted if r["body"]["account_id"] == org.acct.pk]
    assert acct_ids == [str(first.event.event_id), str(second.event.event_id)]


def test_it_retries_with_back_off_until_the_receiver_is_back(org, subscription, receiver):
    # given: the receiver is down while three events happen
    receiver.stop()
    account = customers.account_create(name="苏州工业园区科技", region=org.east, owner=org.rep)
    customers.account_update(account=account, data={"tier": "key"})
    customers.contact_create(account=org.acct, name="李雷")
    waits = []
    now = timezone.now()
    # when: the worker runs at each due time, five times
    for _ in range(5):
        deliver_due(now=now)
        deliveries = list(Delivery.objects.order_by("id"))
        head = deliveries[0]
        assert head.status == DeliveryStatus.FAILED and "Connection" in head.last_error
        waits.append((head.next_attempt_at - now).total_seconds())
        now = head.next_attempt_at
    # then: the waits grow exponentially (30 s, 60 s, 120 s ... ± 10 %), later events of the record wait too
    for n, wait in enumerate(waits):
        assert 0.9 * 30 * 2 ** n <= wait <= 1.1 * 30 * 2 ** n
    assert Delivery.objects.order_by("id")[1].attempts == 0
    # when: the receiver is back on the same port
    receiver.start()
    deliver_due(now=now + dt.timedelta(hours=7))
    # then: every event arrived exactly once, with the id it had from the start
    for account_id in (account.pk, org.acct.pk):
        ids = [str(e) for e in OutboxEvent.objects.filter(account_id=account_id).order_by("id")
               .values_list("event_id", flat=True)]
        assert [r["event_id"] for r in receiver.requests if r["body"]["account_id"] == account_id] == ids
    assert len(receiver.requests) == 3
    assert all(r["signed"] for r in receiver.requests)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    # and a later run sends nothing again
    assert deliver_due(now=now + dt.timedelta(days=3)) == 0
    assert len(receiver.requests) == 3


def test_it_keeps_the_event_id_across_retries_when_the_receiver_answers_500(org, subscription, receiver):
    customers.account_update(account=org.acct, data={"tier": "normal"})
    receiver.fail_next = 3
    now = timezone.now()
    for _ in range(4):
        deliver_due(now=now)
        now += dt.timedelta(hours=7)
    assert [r["status"] for r in receiver.requests] == [500, 500, 500, 200]
    assert len({r["event_id"] for r in receiver.requests}) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 4, 200)


def test_it_gives_up_only_after_a_day_of_retries(org, subscription, receiver):
    # given: a receiver that always fails
    receiver.status = 503
    customers.account_update(account=org.acct, data={"tier": "normal"})
    delivery = Delivery.objects.get()
    start = delivery.created_at
    now = timezone.now()
    # when: the worker runs whenever the delivery is due
    for _ in range(100):
        deliver_due(now=now)
        delivery.refresh_from_db()
        if delivery.status == DeliveryStatus.DEAD:
            break
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.next_attempt_at - now <= dt.timedelta(seconds=BACKOFF_CAP * 1.1)
        now = delivery.next_attempt_at
    # then: dead, having been retried for at least 24 hours
    assert delivery.status == DeliveryStatus.DEAD
    assert now - start >= dt.timedelta(hours=24)
    assert delivery.attempts == len(receiver.requests) > 10
    assert delivery.last_status_code == 503 and "503" in delivery.last_error
    # and a dead delivery no longer holds back the record's later events
    receiver.status = 200
    customers.account_update(account=org.acct, data={"tier": "key"})
    deliver_due(now=now)
    assert Delivery.objects.order_by("-id")[0].status == DeliveryStatus.DELIVERED
    # and redelivery sends the dead one again with the same event id
    services.delivery_redeliver(delivery=delivery)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert receiver.requests[-1]["event_id"] == str(delivery.event.event_id)


def test_it_lets_only_one_worker_claim_a_delivery(org, subscription):
    # given: two workers that read the same due delivery
    customers.account_update(account=org.acct, data={"tier": "normal"})
    now = timezone.now()
    [seen_by_a] = due_deliveries(now, 10)
    [seen_by_b] = due_deliveries(now, 10)
    # when
    a_claimed = delivery_claim(seen_by_a, now=now)
    b_claimed = delivery_claim(seen_by_b, now=now)
    # then: only the first goes on, and the claimed row is not due for anyone during its lease
    assert (a_claimed, b_claimed) == (True, False)
    assert Delivery.objects.get().attempts == 1
    assert list(due_deliveries(now, 10)) == []


def test_it_writes_the_outbox_in_the_changes_transaction(org, subscription):
    # when: the change rolls back
    with pytest.raises(RuntimeError), transaction.atomic():
        customers.account_create(name="回滚测试公司", region=org.east, owner=org.rep)
        assert OutboxEvent.objects.count() == 1
        raise RuntimeError("roll back")
    # then: so did its event
    assert OutboxEvent.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_it_refuses_to_send_to_a_private_address_after_a_dns_change(org, receiver, monkeypatch):
    # given: a subscription saved while its name resolved to a public address
    import kamcrm.webhooks.targets as targets

    answer = {"ip": "93.184.216.34"}
    monkeypatch.setattr(targets.socket, "getaddrinfo",
                        lambda host, port, **kw: [(2, 1, 6, "", (answer["ip"], port))])
    sub = services.subscription_create(by=org.admin, name="Rebind", event_types=["account.changed"],
                                       target_url=f"http://hooks.example.test:{receiver.port}/")
    customers.account_update(account=org.acct, data={"tier": "normal"})
    # when: the name now resolves to loopback
    answer["ip"] = "127.0.0.1"
    deliver_due()
    # then: nothing was sent; the attempt counts as failed and names the reason
    delivery = Delivery.objects.get(subscription=sub)
    assert receiver.requests == []
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "127.0.0.1" in delivery.last_error


def test_it_refuses_a_target_that_became_private_without_permission(org, subscription, receiver):
    # given: a saved subscription whose permission was withdrawn behind the service's back
    type(subscription).objects.filter(pk=subscription.pk).update(allow_private_targets=False)
    customers.account_update(account=org.acct, data={"tier": "normal"})
    # when
    deliver_due()
    # then
    assert receiver.requests == []
    assert "loopback" in Delivery.objects.get().last_error


def test_it_backs_off_exponentially_up_to_six_hours():
    assert backoff(1).total_seconds() == pytest.approx(30, rel=0.11)
    assert backoff(4).total_seconds() == pytest.approx(240, rel=0.11)
    assert backoff(40).total_seconds() <= BACKOFF_CAP * 1.1


def test_it_delivers_from_the_management_command(org, subscription, receiver):
    customers.account_update(account=org.acct, data={"tier": "normal"})
    call_command("deliver_webhooks", "--once", verbosity=0)
    assert [r["type"] for r in receiver.requests] == ["account.changed"]


def test_it_does_not_follow_redirects(org, subscription, receiver):
    receiver.status = 302
    customers.account_update(account=org.acct, data={"tier": "normal"})
    deliver_due()
    delivery = Delivery.objects.get()
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.FAILED, 302)
    assert "HTTP 302" in delivery.last_error


def test_it_retries_a_claimed_delivery_whose_worker_died(org, subscription, receiver):
    # given: a worker claimed the delivery and died before sending
    customers.account_update(account=org.acct, data={"tier": "normal"})
    now = timezone.now()
    [delivery] = due_deliveries(now, 10)
    assert delivery_claim(delivery, now=now)
    assert deliver_due(now=now) == 0
    # when: the lease has run out
    deliver_due(now=now + dt.timedelta(minutes=2))
    # then: another run sent it, once
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
