"""Small builders for the receivables tests."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

from kamcrm.receivables import services

D = Decimal
_numbers = count(1)


def invoice(account, *, amount="100.00", day=dt.date(2026, 1, 10), due=None, tax="0", number=None, **extra):
    return services.invoice_create(account=account, number=number or f"T{next(_numbers):06d}", invoice_date=day,
                                   due_date=due, amount=D(amount), tax=D(tax), **extra)


def pay(account, amount, *, day=dt.date(2026, 1, 20), allocations=None, **extra):
    return services.payment_create(account=account, received_on=day, amount=D(amount),
                                   allocations=[(i, D(a)) for i, a in (allocations or [])], **extra)
