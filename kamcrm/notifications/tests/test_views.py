"""The notification pages: each person sees and marks only their own (anyone else's is a 404), the
bell counts in one bounded query, the list costs the same queries for 3 or 60 rows, and the page reads
in Chinese and in English."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.notifications import services
from kamcrm.notifications.choices import Kind
from kamcrm.notifications.models import Notification

pytestmark = pytest.mark.django_db
LIST = "notifications:list"


def send(user, n=1, start=0, url="/targets/1/"):
    for i in range(start, start + n):
        services.notify(user, kind=Kind.PLAN_SENT_BACK, key=f"review:{i}",
                        params={"unit": "华东一组", "plan": "2026 v1", "by": "bizmgmt", "comment": f"comment {i}"},
                        url=url)
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def test_the_list_shows_only_ones_own(org, client_for):
    mine = send(org.rep, 2)
    theirs = send(org.peer, 1, start=10)
    page = client_for(org.rep).get(reverse(LIST)).content.decode()
    assert all(f'data-testid="notification-{n.pk}"' in page for n in mine)
    assert f'data-testid="notification-{theirs[0].pk}"' not in page and "comment 10" not in page


def test_empty_state(org, client_for):
    page = client_for(org.rep).get(reverse(LIST)).content.decode()
    assert 'data-testid="empty"' in page and "No notifications yet." in page
    assert 'data-testid="read-all"' not in page and 'data-testid="notifications-unread"' not in page
    send(org.rep)
    services.mark_all_read(user=org.rep)
    page = client_for(org.rep).get(reverse(LIST) + "?show=unread").content.decode()
    assert "No unread notifications." in page


def test_opening_marks_read_and_goes_to_the_record(org, client_for):
    (note,) = send(org.rep)
    response = client_for(org.rep).get(reverse("notifications:open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == "/targets/1/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_a_link_elsewhere_is_not_followed(org, client_for):
    (note,) = send(org.rep, url="https://evil.example/")
    response = client_for(org.rep).get(reverse("notifications:open", args=[note.pk]))
    assert response["Location"] == reverse(LIST)


def test_someone_elses_notification_is_a_404_to_open_or_mark(org, client_for):
    (theirs,) = send(org.peer)
    client = client_for(org.rep)
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[999999])).status_code == 404
    client.post(reverse("notifications:read_all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_one_and_all_read(org, client_for):
    first, second, third = send(org.rep, 3)
    client = client_for(org.rep)
    response = client.post(reverse("notifications:read", args=[first.pk]), {"next": reverse(LIST) + "?show=unread"})
    assert response["Location"] == reverse(LIST) + "?show=unread"
    assert rows(client.get(reverse(LIST) + "?show=unread").content.decode()) == 2
    assert client.get(reverse("notifications:read", args=[first.pk])).status_code == 405  # writes are POST
    response = client.post(reverse("notifications:read_all"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse(LIST)
    assert not Notification.objects.filter(recipient=org.rep, read_at__isnull=True).exists()


def test_the_count_endpoint(org, client, client_for):
    send(org.rep, 3)
    send(org.peer, 1, start=10)
    assert client.get(reverse("notifications:count")).status_code == 401
    response = client_for(org.rep).get(reverse("notifications:count"))
    assert response.json() == {"unread": 3, "capped": False}


def test_the_bell_shows_the_unread_count_on_every_page(org, client_for):
    send(org.rep, 2)
    page = client_for(org.rep).get(reverse("poa:plan_list")).content.decode()
    badge = re.search(r'data-testid="notifications-unread">(\d+)', page)
    assert badge and badge.group(1) == "2"
    assert f'href="{reverse(LIST)}"' in page


def test_the_bell_caps_at_99(org, client_for):
    services.notify_many(services.Draft(recipient_id=org.rep.pk, kind=Kind.ACTION_OVERDUE, key=f"a{i}",
                                        message="action_overdue") for i in range(120))
    page = client_for(org.rep).get(reverse("poa:plan_list")).content.decode()
    assert 'data-testid="notifications-unread">99+' in page


def rows(page):
    return len(re.findall(r'data-testid="notification-\d+"', page))


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_bell_costs_one_count_query(org, client_for):
    client = client_for(org.rep)
    url = reverse("poa:plan_list")
    client.get(url)
    send(org.rep, 1)
    before = _count_queries(client, url)
    send(org.rep, 40, start=1)
    after = _count_queries(client, url)
    bell = [q for q in after if "notifications_notification" in q]
    assert len(bell) == 1 and "COUNT" in bell[0].upper()
    assert len(after) == len(before)


def test_the_list_costs_the_same_queries_for_3_or_60_rows(org, client_for):
    client = client_for(org.rep)
    send(org.rep, 3)
    client.get(reverse(LIST))
    small = _count_queries(client, reverse(LIST))
    send(org.rep, 57, start=3)
    large = _count_queries(client, reverse(LIST))
    assert len(large) == len(small) <= 6, large
    # one COUNT for the bell and the unread button together, one page read
    assert sum("notifications_notification" in q for q in large) == 2


def test_keyset_pages(org, client_for):
    notes = send(org.rep, 55)
    client = client_for(org.rep)
    page = client.get(reverse(LIST)).content.decode()
    assert rows(page) == 50 and f'notification-{notes[-1].pk}"' in page
    cursor = re.search(r'data-testid="page-next" href="\?cursor=([^"&]+)', page).group(1)
    page2 = client.get(reverse(LIST) + f"?cursor={cursor}").content.decode()
    assert rows(page2) == 5 and f'notification-{notes[0].pk}"' in page2
    assert client.get(reverse(LIST) + "?cursor=garbage").status_code == 400


def test_the_page_reads_in_chinese_and_english(org, client_for, visits):
    services.notify(org.rep, kind=Kind.COMPLETION_BELOW, key="p:m:2026-03", message="completion_below",
                    params={"metric": {"zh-hans": visits.name_zh, "en": visits.name_en},
                            "month": {"zh-hans": "2026年3月", "en": "Mar 2026"}, "ratio": "30.0%",
                            "threshold": "40%"}, url="/targets/completion/")
    client = client_for(org.rep)
    en = client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in en and "Completed visits" in en and "Mar 2026" in en
    assert "Completion behind" in en and "Mark all read" in en
    zh = client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in zh and "拜访次数" in zh and "2026年3月" in zh
    assert "Completed visits" not in zh and "Mar 2026" not in zh


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(reverse(LIST)).status_code == 302


def test_titles_and_labels_are_chinese_once_the_catalogue_has_them(org, client_for):
    from django.utils import translation

    with translation.override("zh-hans"):
        if translation.gettext("Targets sent back") == "Targets sent back":
            pytest.skip("the zh-Hans catalogue does not hold the notification messages yet (merged by the lead)")
    send(org.rep)
    zh = client_for(org.rep).get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "销售目标被退回" in zh and "全部标记为已读" in zh and "Targets sent back" not in zh
    assert "华东一组" in zh and "comment 0" in zh
