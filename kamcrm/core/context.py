"""Who is changing data, through which channel, in which request.

The audit receiver reads this; middleware, the API, importers and jobs set it. A contextvar works
for threads and async alike and needs nothing passed down through the services.
"""
from __future__ import annotations

import contextlib
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


class Channel:
    UI = "ui"
    API = "api"
    IMPORT = "import"
    JOB = "job"
    SHELL = "shell"
    CHOICES = [(UI, _("UI")), (API, _("API")), (IMPORT, _("import")), (JOB, _("job")), (SHELL, _("shell"))]


@dataclass
class ChangeContext:
    channel: str = Channel.SHELL
    request: Any = None
    actor: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    job_id: str = ""
    # Per-request memo (e.g. the visibility reach): lives and dies with one request or job.
    memo: dict = field(default_factory=dict)

    def current_actor(self):
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user
        return None


_current: ContextVar[ChangeContext | None] = ContextVar("kamcrm_change_context", default=None)


def current() -> ChangeContext:
    ctx = _current.get()
    return ctx if ctx is not None else ChangeContext()


@contextlib.contextmanager
def change_context(*, channel: str, actor=None, request=None, job_id: str = ""):
    """Run a block as one channel (e.g. an import job or a management command)."""
    token = _current.set(ChangeContext(channel=channel, actor=actor, request=request, job_id=job_id))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def set_channel(channel: str) -> None:
    """Re-label the running context (the API does this once it knows a request is an API call)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.channel = channel
