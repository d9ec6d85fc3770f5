"""Writes of the export side: the export log."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from kamcrm.exchange.models import ExportLog
from kamcrm.org.models import User

__all__ = ["export_log_record"]


def export_log_record(*, user: User, entity: str, format: str, channel: str, filters: dict[str, Any],
                      sort: str, row_count: int, started_at: dt.datetime, duration_ms: int,
                      completed: bool) -> ExportLog:
    return ExportLog.objects.create(
        user=user, username=user.get_username(), started_at=started_at, finished_at=timezone.now(),
        duration_ms=max(0, duration_ms), entity=entity, format=format, channel=channel, filters=filters,
        sort=sort, row_count=row_count, completed=completed,
    )
