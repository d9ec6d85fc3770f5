"""The kinds of timeline event and their labels, in one place.

Each app that writes TimelineEvent rows registers its kinds in its AppConfig.ready(), so pages that
show a timeline label and order kinds without knowing which app wrote them.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

_KINDS: dict[str, object] = {}


def register_kinds(choices: Iterable[tuple[str, object]]) -> None:
    for kind, label in choices:
        _KINDS[kind] = label


# Written by the audit receiver for every audited record that hangs off an account.
AUDIT_KINDS = {"field_change": _("field change"), "record_created": _("record created")}


def kind_label(kind: str) -> str:
    return str(_KINDS.get(kind) or AUDIT_KINDS.get(kind) or kind.replace("_", " "))


def kind_order() -> list[str]:
    """Registered kinds in registration order (interactions, then feeds), the audit's own last."""
    return [*_KINDS, *AUDIT_KINDS]
