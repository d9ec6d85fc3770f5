"""Audit: the one signal receiver in the project (see docs/architecture.md, house rule 4).

Every audited model's instances remember their loaded field values (post_init); post_save and
post_delete compare and write an ObjectChange with the actor and channel from core.context.
QuerySet.update() and bulk_create() bypass signals: services that use them call record_bulk().
"""
from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import post_delete, post_init, post_save

from kamcrm.core import context

_REGISTRY: dict[type[models.Model], dict[str, Any]] = {}
SNAPSHOT_ATTR = "_audit_snapshot"


def register(model: type[models.Model], *, exclude: tuple[str, ...] = (), timeline: bool = False) -> None:
    """Audit `model`. With timeline=True, changes also appear on the related account's timeline."""
    fields = [f for f in model._meta.concrete_fields if f.name not in exclude and f.name not in ("created_at", "updated_at")]
    _REGISTRY[model] = {"fields": fields, "attnames": [f.attname for f in fields], "timeline": timeline}
    uid = f"audit-{model._meta.label}"
    post_init.connect(_remember, sender=model, dispatch_uid=uid + "-init", weak=False)
    post_save.connect(_saved, sender=model, dispatch_uid=uid + "-save", weak=False)
    post_delete.connect(_deleted, sender=model, dispatch_uid=uid + "-delete", weak=False)


def is_audited(model) -> bool:
    return model in _REGISTRY


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | dict | str | int | float | bool) or value is None:
        return value
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The audited fields' current values, as JSON-ready values."""
    return _as_json(_values(instance))


def _values(instance: models.Model) -> dict[str, Any]:
    data = instance.__dict__
    return {a: data[a] for a in _REGISTRY[type(instance)]["attnames"] if a in data}


def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return {a: _jsonable(v) for a, v in values.items()}


def _remember(sender, instance, **kwargs):
    # Every loaded row passes here (an API list of 50 opportunities loads ~400 instances), and few are
    # ever saved: keep a plain copy of the loaded values (one C call); the audited fields are picked
    # out and turned into JSON only when a save or a delete compares them (`_loaded`).
    data = instance.__dict__
    data[SNAPSHOT_ATTR] = data.copy() if instance.pk else None


def _loaded(instance) -> dict[str, Any] | None:
    raw = getattr(instance, SNAPSHOT_ATTR, None)
    if raw is None:
        return None
    return _as_json({a: raw[a] for a in _REGISTRY[type(instance)]["attnames"] if a in raw})


def _account_id(instance) -> int | None:
    path = getattr(type(instance), "ACCOUNT_PATH", None)
    if path is None:
        return None
    if path == "":
        return instance.pk
    return getattr(instance, path.rstrip("_") + "_id", None)


def _entries(instance, action: str, changes: dict, ctx: context.ChangeContext | None = None):
    """The audit row (and timeline row, where the model asks for one) for one change, unsaved."""
    from django.utils import timezone

    from kamcrm.audit.models import ObjectChange, TimelineEvent

    ctx = ctx or context.current()
    actor = ctx.current_actor()
    actor = actor if actor is not None and actor.pk else None
    account_id = _account_id(instance)
    content_type = ContentType.objects.get_for_model(type(instance))
    change = ObjectChange(
        actor=actor,
        actor_name=str(actor) if actor is not None else "",
        channel=ctx.channel,
        request_id=ctx.request_id,
        job_id=ctx.job_id,
        content_type=content_type,
        object_id=instance.pk,
        object_repr=str(instance)[:200],
        action=action,
        changes=changes,
        account_id=account_id,
    )
    event = None
    if _REGISTRY[type(instance)]["timeline"] and account_id and action != "delete":
        event = TimelineEvent(
            account_id=account_id,
            occurred_at=timezone.now(),
            kind="field_change" if action == "update" else "record_created",
            summary=f"{instance._meta.verbose_name}: {str(instance)[:200]}",
            actor=actor,
            content_type=content_type,
            object_id=instance.pk,
            data={"changes": changes, "action": action},
        )
    return change, event


def _write(instance, action: str, changes: dict, ctx: context.ChangeContext | None = None) -> None:
    change, event = _entries(instance, action, changes, ctx)
    change.save()
    if event is not None:
        event.save()


def _saved(sender, instance, created, raw=False, **kwargs):
    if raw:  # fixtures loading
        return
    values = _values(instance)
    after = _as_json(values)
    before = _loaded(instance)
    if created or before is None:
        changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})}
        _write(instance, "create", changes)
    else:
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            setattr(instance, SNAPSHOT_ATTR, values)
            return
        _write(instance, "update", changes)
    setattr(instance, SNAPSHOT_ATTR, values)


def _deleted(sender, instance, **kwargs):
    before = _loaded(instance) or snapshot(instance)
    _write(instance, "delete", {k: [v, None] for k, v in before.items() if v not in (None, "", [], {})})


def record_bulk(instances, *, action: str, changes_for=None) -> None:
    """For services that write with bulk_create()/bulk_update(): log what signals did not see, in two
    INSERTs however many rows there are. Without `changes_for`, a create logs every non-empty field."""
    from kamcrm.audit.models import ObjectChange, TimelineEvent

    ctx = context.current()
    changes: list[ObjectChange] = []
    events: list[TimelineEvent] = []
    for instance in instances:
        values = _values(instance)
        after = _as_json(values)
        if changes_for is not None:
            diff = changes_for(instance)
        elif action == "create":
            diff = {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})}
        else:
            diff = {}
        change, event = _entries(instance, action, diff, ctx)
        changes.append(change)
        if event is not None:
            events.append(event)
        setattr(instance, SNAPSHOT_ATTR, values)
    ObjectChange.objects.bulk_create(changes, batch_size=1000)
    TimelineEvent.objects.bulk_create(events, batch_size=1000)
