"""Reads of the import side. A job, its file and its rejected rows are seen by the person who
started it and by administrators; saved mappings hold no customer data and are seen by everyone."""
from __future__ import annotations

from django.db.models import QuerySet

from kamcrm.exchange.models import ImportJob, ImportMapping
from kamcrm.org.models import User
from kamcrm.org.selectors import is_administrator

__all__ = ["import_job_queryset", "import_mapping_queryset"]


def import_job_queryset(user: User) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by", "mapping")
    if not user.is_authenticated:
        return qs.none()
    return qs if is_administrator(user) else qs.filter(created_by=user)


def import_mapping_queryset(user: User) -> QuerySet[ImportMapping]:
    return ImportMapping.objects.all() if user.is_authenticated else ImportMapping.objects.none()
