"""notify is idempotent per (recipient, kind, key) and checks its input; marking read touches only one's own."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import translation

from kamcrm.notifications import services
from kamcrm.notifications.choices import Kind
from kamcrm.notifications.models import Notification

pytestmark = pytest.mark.django_db


def send(recipients, key="review:1", **kw):
    kw.setdefault("params", {"year": "2026", "unit": "华东一组"})
    return services.notify(recipients, kind=Kind.TARGET_ASSIGNED, key=key, **kw)


def test_notify_writes_once_per_recipient_kind_and_key(org):
    assert send([org.rep, org.peer.pk, None, org.rep]) == 2
    assert send([org.rep, org.peer, org.manager]) == 1  # only the manager is new
    assert send(org.rep, key="review:2") == 1
    assert Notification.objects.count() == 4


def test_the_database_keeps_one_row_per_key_even_past_the_look_up(org):
    # given: a row the look-up would not know of (a concurrent run) — written straight through the ORM
    send(org.rep)
    drafts = [services.Draft(recipient_id=org.rep.pk, kind=Kind.TARGET_ASSIGNED, key="review:1",
                             message="target_assigned")]
    # when: _write skips the look-up's knowledge by being handed the same key again
    services._write({(org.rep.pk, Kind.TARGET_ASSIGNED, "review:1"): drafts[0]})
    # then: ON CONFLICT DO NOTHING
    assert Notification.objects.filter(recipient=org.rep).count() == 1


@pytest.mark.parametrize(("kw", "field"), [
    ({"kind": "birthday", "key": "k"}, "kind"),
    ({"kind": Kind.ACTION_OVERDUE, "key": ""}, "key"),
    ({"kind": Kind.ACTION_OVERDUE, "key": "k" * 201}, "key"),
    ({"kind": Kind.ACTION_OVERDUE, "key": "k", "message": "nope"}, "message"),
    ({"kind": Kind.ACTION_OVERDUE, "key": "k", "url": "/" + "x" * 500}, "url"),
])
def test_bad_input_names_the_field_and_writes_nothing(org, kw, field):
    with pytest.raises(ValidationError) as exc:
        services.notify([org.rep, org.peer], **kw)
    assert field in exc.value.message_dict
    assert not Notification.objects.exists()


def test_words_follow_the_readers_language(org):
    services.notify(org.rep, kind=Kind.COMPLETION_BELOW, key="p1:m1:2026-03", message="completion_below",
                    params={"metric": {"zh-hans": "拜访次数", "en": "Completed visits"},
                            "month": {"zh-hans": "2026年3月", "en": "Mar 2026"}, "ratio": "30.0%",
                            "threshold": "40%"})
    note = Notification.objects.get()
    with translation.override("en"):
        assert "Completed visits" in note.text and "Mar 2026" in note.text and note.title == "Completion behind"
    with translation.override("zh-hans"):
        assert "拜访次数" in note.text and "2026年3月" in note.text


def test_a_missing_parameter_or_a_retired_message_does_not_break_reading(org):
    send(org.rep, params={})
    note = Notification.objects.get()
    with translation.override("en"):
        assert note.text == "Your targets for … were approved at the level of …."
    note.message = "retired"
    assert note.text == "" and note.title


def test_mark_read_is_the_owners_only(org):
    send([org.rep, org.peer])
    mine = Notification.objects.get(recipient=org.rep)
    theirs = Notification.objects.get(recipient=org.peer)
    with pytest.raises(Http404):
        services.mark_read(user=org.rep, notification_id=theirs.pk)
    first = services.mark_read(user=org.rep, notification_id=mine.pk).read_at
    assert services.mark_read(user=org.rep, notification_id=mine.pk).read_at == first  # the first time stays
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_marks_only_ones_own(org):
    send([org.rep, org.peer])
    send(org.rep, key="review:2")
    assert services.mark_all_read(user=org.rep) == 2
    assert services.mark_all_read(user=org.rep) == 0
    assert Notification.objects.get(recipient=org.peer).read_at is None
