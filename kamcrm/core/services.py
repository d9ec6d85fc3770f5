"""Generic write helpers used by every app's services."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def model_update(*, instance: models.Model, fields: list[str], data: dict[str, Any]) -> tuple[models.Model, bool]:
    """Set the listed fields that `data` carries, validate, save only those; report whether anything changed.

    Foreign keys are passed as instances under the field name (e.g. data["owner"] = user).
    """
    changed = [name for name in fields if name in data and getattr(instance, name) != _as_python(instance, name, data[name])]
    if not changed:
        return instance, False
    before = {name: getattr(instance, name) for name in changed}
    for name in changed:
        setattr(instance, name, data[name])
    try:
        instance.full_clean()
    except ValidationError:
        for name, value in before.items():  # leave the instance as it was, like the row
            setattr(instance, name, value)
        raise
    update_fields = [*changed, "updated_at"] if any(f.name == "updated_at" for f in instance._meta.fields) else changed
    instance.save(update_fields=update_fields)
    return instance, True


def _as_python(instance: models.Model, name: str, value: Any) -> Any:
    """The value as the field holds it ("2025-01-31" -> date), so that equal values do not count as a change."""
    field = instance._meta.get_field(name)
    if field.is_relation or value is None:
        return value
    try:
        return field.to_python(value)
    except ValidationError:
        return value  # full_clean() reports it against the field


def validation_error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as {field: [messages]}; non-field errors under "__all__"."""
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}
