"""A digest of the generated data: the same seed (and date) on a fresh database gives the same digest."""
from __future__ import annotations

import hashlib

from django.db import models

from kamcrm.audit.models import TimelineEvent
from kamcrm.customers.models import Account, Contact
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.models import Product, ProductLine, ProductPlan
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange

MODELS: list[type[models.Model]] = [OrgUnit, User, ProductLine, Product, ProductPlan, Account, Contact, Opportunity,
                                    OpportunityLine, OpportunityStageChange, TimelineEvent]


def data_digest(*, models_: list[type[models.Model]] | None = None) -> str:
    """SHA-256 over every column of every row of the generated tables, in primary-key order."""
    digest = hashlib.sha256()
    for model in models_ or MODELS:
        fields = [f.attname for f in model._meta.concrete_fields]
        digest.update(model._meta.db_table.encode())
        for row in model.objects.order_by("pk").values_list(*fields).iterator(chunk_size=5000):
            digest.update(repr(row).encode())
    return digest.hexdigest()
