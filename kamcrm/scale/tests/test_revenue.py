"""The scale data set's agreements: counts, schedules that add up to each agreement's value, the
statuses the dates imply, and revenue facts (rebuilt set-based) equal to a direct sum."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kamcrm.agreements.choices import AgreementStatus
from kamcrm.agreements.models import Agreement, AgreementChange, AgreementLine, RevenueSlice
from kamcrm.analytics.facts import facts_direct, facts_rebuild_sql, rollup_totals
from kamcrm.analytics.models import RevenueFact
from kamcrm.analytics.selectors import revenue_by_unit_month
from kamcrm.org.models import User
from kamcrm.scale.generator import USER_PREFIX, generate
from kamcrm.scale.revenue import agreements_for, generate_revenue

SCALE = 0.0005
TODAY = dt.date(2026, 11, 27)
pytestmark = pytest.mark.django_db


def test_agreements_schedules_and_facts():
    generate(scale=SCALE, seed=1, today=TODAY, chunk=700, analyze=False)
    result = generate_revenue(scale=SCALE, seed=1, today=TODAY, chunk=700)
    n = agreements_for(SCALE)
    assert Agreement.objects.count() == n == AgreementChange.objects.filter(kind="signed").count()
    assert result["slices"] == RevenueSlice.objects.count() > 12 * n
    totals = defaultdict(Decimal)
    for agreement_id, amount in RevenueSlice.objects.values_list("agreement_id", "amount"):
        totals[agreement_id] += amount
    for agreement in Agreement.objects.all():
        assert totals[agreement.pk] == agreement.total_value
        expected = (AgreementStatus.SIGNED if agreement.start_date > TODAY else
                    AgreementStatus.EXPIRED if agreement.end_date < TODAY else AgreementStatus.ACTIVE)
        assert agreement.status == expected
    for line in AgreementLine.objects.all():
        months = RevenueSlice.objects.filter(line=line).count()
        assert 12 <= months <= 61
    stored = {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                          "collected": f.collected, "recognised": f.recognised}
              for f in RevenueFact.objects.all()}
    assert stored == facts_direct()
    assert sum(v["expected"] for v in rollup_totals().values()) == sum(totals.values())
    # Rebuilt in many ranges of account ids (as at 1M accounts), foreign-key checks off: the same facts and roll-ups.
    rollups = rollup_totals()
    facts_rebuild_sql(accounts_per_statement=37, fk_checks=False)
    assert {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                         "collected": f.collected, "recognised": f.recognised}
            for f in RevenueFact.objects.all()} == stored
    assert rollup_totals() == rollups
    grid = revenue_by_unit_month(user=User.objects.get(username=f"{USER_PREFIX}exec"), year=TODAY.year)
    in_year = sum(a for m, a in RevenueSlice.objects.values_list("month", "amount") if m.year == TODAY.year)
    assert grid.total == in_year > 0
    with pytest.raises(CommandError):
        call_command("generate_revenue", "--scale", str(SCALE))
