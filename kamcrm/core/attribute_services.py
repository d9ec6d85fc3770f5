"""Writes to custom-attribute definitions, with the rules that keep stored values meaningful.

A definition's key, entity and type say how the values already stored in the entities' JSON
columns are read; so once values exist they are fixed, and a choice still in use cannot be
removed. Errors are ValidationError dicts keyed by field name, as everywhere else.
"""
from __future__ import annotations

import json
import re
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext as _

from kamcrm.core.models import AttributeDefinition, AttributeType
from kamcrm.core.services import model_update

__all__ = [
    "ATTRIBUTE_FIELDS",
    "attribute_definition_create",
    "attribute_definition_delete",
    "attribute_definition_update",
    "attribute_definition_validate",
    "attribute_value_count",
]

ATTRIBUTE_FIELDS = ["entity", "key", "label_zh", "label_en", "type", "choices", "required", "filterable",
                    "min_value", "max_value", "max_length", "order"]
# Which model stores the values of each entity's attributes (in its `attributes` JSON column).
ENTITY_MODELS = {"account": "customers.Account", "contact": "customers.Contact"}
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_TYPES = {AttributeType.CHOICE, AttributeType.MULTI_CHOICE}
NUMBER_TYPES = {AttributeType.NUMBER, AttributeType.DECIMAL}


def _entity_model(entity: str) -> type[models.Model] | None:
    label = ENTITY_MODELS.get(entity)
    return apps.get_model(label) if label else None


def attribute_value_count(*, entity: str, key: str, value: str | None = None, multi: bool = False) -> int:
    """How many records of `entity` store a value for `key` (or store exactly `value`)."""
    model = _entity_model(entity)
    if model is None or not key:
        return 0
    qs = model._default_manager.filter(attributes__has_key=key)
    if value is not None:
        # KeyTransform rather than "attributes__<key>": a key may be spelt like a lookup ("contains").
        qs = qs.alias(_attr_value=KeyTransform(key, "attributes"))
        if multi:
            # A JSON array's text: SQLite keeps json.dumps' \\u escapes, PostgreSQL shows the characters.
            qs = qs.filter(Q(_attr_value__icontains=f'"{value}"') | Q(_attr_value__icontains=json.dumps(value)))
        else:
            qs = qs.filter(_attr_value=value)
    return qs.count()


def _clean_choices(raw: Any) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list | tuple):
        raise ValidationError({"choices": _("Give the choices as a list, one value per line.")})
    return [str(c).strip() for c in raw if str(c).strip()]


def attribute_definition_validate(*, definition: AttributeDefinition, original: AttributeDefinition | None = None) -> None:
    """Check one definition (new, or changed from `original`); raise a ValidationError dict."""
    errors: dict[str, list[str]] = {}
    d = definition
    if not KEY_RE.match(d.key or ""):
        errors.setdefault("key", []).append(
            _("Use lower-case letters, digits and underscores, starting with a letter (e.g. “contract_level”)."))
    if d.type in CHOICE_TYPES:
        if not d.choices:
            errors.setdefault("choices", []).append(_("A choice attribute needs at least one choice."))
        else:
            seen: set[str] = set()
            dupes = [c for c in d.choices if c in seen or seen.add(c)]
            if dupes:
                errors.setdefault("choices", []).append(_("Choice “%(c)s” is listed twice.") % {"c": dupes[0]})
            if d.type == AttributeType.MULTI_CHOICE:
                bad = [c for c in d.choices if ";" in c or "；" in c]
                if bad:
                    errors.setdefault("choices", []).append(
                        _("Choice “%(c)s” contains “;”, which separates the values of a multiple choice.") % {"c": bad[0]})
    elif d.choices:
        errors.setdefault("choices", []).append(_("Only choice and multiple-choice attributes have choices."))
    if d.type not in NUMBER_TYPES:
        for name in ("min_value", "max_value"):
            if getattr(d, name) is not None:
                errors.setdefault(name, []).append(_("Only number and decimal attributes have a minimum or maximum."))
    elif d.min_value is not None and d.max_value is not None and d.min_value > d.max_value:
        errors.setdefault("max_value", []).append(_("The maximum must not be less than the minimum."))
    if d.max_length is not None and d.type != AttributeType.TEXT:
        errors.setdefault("max_length", []).append(_("Only text attributes have a maximum length."))
    if d.entity and d.key and "key" not in errors:
        clash = AttributeDefinition.objects.filter(entity=d.entity, key=d.key)
        if d.pk:
            clash = clash.exclude(pk=d.pk)
        if clash.exists():
            errors.setdefault("key", []).append(
                _("This entity already has an attribute with key “%(k)s”.") % {"k": d.key})

    if original is not None and not errors:
        stored = attribute_value_count(entity=original.entity, key=original.key)
        if stored:
            for name, label in (("type", _("type")), ("key", _("key")), ("entity", _("entity"))):
                if getattr(d, name) != getattr(original, name):
                    errors.setdefault(name, []).append(
                        _("%(n)d records already store a value for this attribute, so its %(what)s cannot change; "
                          "create a new attribute instead.") % {"n": stored, "what": label})
            if d.type == original.type and original.type in CHOICE_TYPES:
                for removed in [c for c in original.choices if c not in d.choices]:
                    used = attribute_value_count(entity=original.entity, key=original.key, value=removed,
                                                 multi=original.type == AttributeType.MULTI_CHOICE)
                    if used:
                        errors.setdefault("choices", []).append(
                            _("Choice “%(c)s” is still stored on %(n)d records; it cannot be removed.")
                            % {"c": removed, "n": used})
    if errors:
        raise ValidationError(errors)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "choices" in data:
        data["choices"] = _clean_choices(data["choices"])
    for name in ("key", "label_zh", "label_en"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data


@transaction.atomic
def attribute_definition_create(**data: Any) -> AttributeDefinition:
    data = _normalise(data)
    definition = AttributeDefinition(**data)
    attribute_definition_validate(definition=definition)
    definition.full_clean()
    definition.save()
    return definition


@transaction.atomic
def attribute_definition_update(*, definition: AttributeDefinition, data: dict[str, Any]) -> AttributeDefinition:
    data = _normalise(data)
    original = AttributeDefinition.objects.select_for_update().get(pk=definition.pk)
    probe = AttributeDefinition(pk=original.pk, **{f: data.get(f, getattr(original, f)) for f in ATTRIBUTE_FIELDS})
    attribute_definition_validate(definition=probe, original=original)
    definition, _changed = model_update(instance=definition, fields=ATTRIBUTE_FIELDS, data=data)
    return definition


@transaction.atomic
def attribute_definition_delete(*, definition: AttributeDefinition) -> None:
    """Delete a definition no record uses; with values stored, refuse (they would become unreadable)."""
    stored = attribute_value_count(entity=definition.entity, key=definition.key)
    if stored:
        raise ValidationError({"__all__": [
            _("%(n)d records still store a value for “%(k)s”; clear those values before deleting it.")
            % {"n": stored, "k": definition.key}]})
    definition.delete()
