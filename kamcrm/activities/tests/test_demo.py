"""The demo's sales plans, visits and funnel health rules: built once, with at least one alert fired."""
import io

import pytest
from django.core.management import call_command

from kamcrm.activities.models import SalesPlan, Task, Visit
from kamcrm.sales.models import FunnelAlert, FunnelRule

pytestmark = pytest.mark.django_db


def test_the_demo_has_plans_visits_and_a_fired_funnel_alert_and_a_rerun_adds_nothing(db):
    call_command("demo", "--accounts", "120", stdout=io.StringIO())
    counts = (SalesPlan.objects.count(), Visit.objects.count(), FunnelRule.objects.count(),
              FunnelAlert.objects.count())
    assert counts[0] > 0 and counts[1] > 0 and counts[2] == 3
    assert counts[3] >= 1, "at least one funnel-health alert has fired"
    assert all(alert.task is not None for alert in FunnelAlert.objects.all())
    assert Visit.objects.filter(status="done").exists() and Visit.objects.filter(status="planned").exists()
    assert Task.objects.filter(source="funnel_alert").exists()
    call_command("demo", "--accounts", "120", stdout=io.StringIO())
    assert (SalesPlan.objects.count(), Visit.objects.count(), FunnelRule.objects.count(),
            FunnelAlert.objects.count()) == counts
