"""A person's iCalendar feed (RFC 5545, written with the icalendar library): their visits from 30 days
back to 180 days ahead, and their open tasks' due dates as all-day events."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from kamcrm.activities.choices import TaskStatus, VisitStatus
from kamcrm.activities.models import Task, Visit
from kamcrm.org.models import User

PAST_DAYS, FUTURE_DAYS = 30, 180


def calendar_ics(*, user: User, host: str = "kamcrm") -> bytes:
    now = timezone.now()
    cal = Calendar()
    cal.add("prodid", "-//kamcrm//visits and tasks//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"kamcrm · {user}")
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    visits = (Visit.objects.filter(owner=user, starts_at__gte=now - dt.timedelta(days=PAST_DAYS),
                                   starts_at__lte=now + dt.timedelta(days=FUTURE_DAYS))
              .exclude(status=VisitStatus.CANCELLED).select_related("account").prefetch_related("contacts"))
    for visit in visits:
        event = Event()
        event.add("uid", f"visit-{visit.pk}@{host}")
        event.add("dtstamp", visit.updated_at)
        event.add("dtstart", visit.starts_at)
        event.add("dtend", visit.ends_at)
        event.add("summary", f"{visit.account.name} · {visit.purpose}")
        if visit.location:
            event.add("location", visit.location)
        people = ", ".join(c.name for c in visit.contacts.all())
        event.add("description", "\n".join(p for p in (people, visit.preparation, visit.outcome) if p))
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    tasks = Task.objects.filter(assignee=user, status=TaskStatus.OPEN, due_on__isnull=False,
                                due_on__gte=timezone.localdate() - dt.timedelta(days=PAST_DAYS))
    for task in tasks:
        event = Event()
        event.add("uid", f"task-{task.pk}@{host}")
        event.add("dtstamp", task.updated_at)
        event.add("dtstart", task.due_on)
        event.add("dtend", task.due_on + dt.timedelta(days=1))
        event.add("summary", task.title)
        if task.description:
            event.add("description", task.description)
        cal.add_component(event)
    return cal.to_ical()
