"""Exports cost a fixed number of queries and a bounded amount of memory, whatever their size."""
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kamcrm.core import attribute_services
from kamcrm.customers.models import Account
from kamcrm.exchange.tests.helpers import body

MEMORY_ROWS = 20_000
MEMORY_BOUND_MB = 16  # measured: 5.7 MB (CSV, 20,000 rows), 4.2 MB (.xlsx, 3,000 rows); bench: flat ~6 MB


def generate(org, n: int, start: int = 0) -> None:
    """n of the rep's accounts, written in bulk (test data; the export is what is measured)."""
    Account.objects.bulk_create(
        [Account(name=f"生成客户{i:06d}", short_name=f"客户{i}", region=org.east, owner=org.rep,
                 owner_unit=org.team_e1, tier="key", description="=1+1 " * 10, tags=["甲", "乙"],
                 attributes={"employees": i, "revenue": f"{i}.25"})
         for i in range(start, start + n)],
        batch_size=1000,
    )


@pytest.fixture
def attributes(db):
    attribute_services.attribute_definition_create(entity="account", key="employees", label_zh="员工人数",
                                                   label_en="Employees", type="number")
    attribute_services.attribute_definition_create(entity="account", key="revenue", label_zh="年收入",
                                                   label_en="Annual revenue", type="decimal")


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200
        body(response) if response.streaming else None
    return len(captured)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_query_count_does_not_grow_with_the_rows(org, client_for, attributes, fmt):
    # given
    client = client_for(org.rep)
    generate(org, 10)
    small = queries_for(client, f"/exchange/export/accounts.{fmt}?tier=key")
    generate(org, 290, start=10)
    # when
    large = queries_for(client, f"/exchange/export/accounts.{fmt}?tier=key")
    # then
    assert large <= small + 1, (small, large)
    assert large <= 20


def peak_mb(client, url: str) -> tuple[float, int]:
    tracemalloc.start()
    try:
        response = client.get(url)
        size = 0
        for chunk in response.streaming_content:
            size += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024 / 1024, size


# .xlsx goes through openpyxl, which tracemalloc slows tenfold: the suite measures it on 3,000 rows
# (two chunks, so past the point where memory stops growing); bench/export_memory.py runs 50,000.
@pytest.mark.parametrize(("fmt", "rows"), [("csv", MEMORY_ROWS), ("xlsx", 3_000)])
def test_an_export_stays_within_a_small_memory_bound(org, client_for, attributes, fmt, rows):
    # given
    generate(org, rows)
    client = client_for(org.rep)
    # when
    peak, size = peak_mb(client, f"/exchange/export/accounts.{fmt}")
    # then
    assert size > rows * 20  # the file really holds the rows
    assert peak < MEMORY_BOUND_MB, f"peak {peak:.1f} MB"
    print(f"{fmt}: {rows} rows, {size / 1e6:.1f} MB file, tracemalloc peak {peak:.1f} MB")
