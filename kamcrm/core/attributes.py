"""The custom-attribute engine: validate values on write, coerce filter input, build filters.

Values are stored in each entity's `attributes` JSON column as JSON-native types: text and
choices as strings, numbers as ints, decimals as strings (exact), dates as ISO strings, booleans
as booleans, multi-choices as lists of strings.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from kamcrm.core.models import AttributeDefinition, AttributeType

TRUE_WORDS = {"true", "1", "yes", "y", "是", "真"}
FALSE_WORDS = {"false", "0", "no", "n", "否", "假"}


def _plain(number: Decimal) -> str:
    """One spelling per value, without rounding: "1.50" and "1.5" -> "1.5", "1E+3" -> "1000", "-0" -> "0"."""
    if number.is_zero():
        return "0"
    exact = number.normalize(Context(prec=max(1, len(number.as_tuple().digits))))
    return format(exact, "f")


def definitions_for(entity: str) -> list[AttributeDefinition]:
    return list(AttributeDefinition.objects.filter(entity=entity))


def coerce_value(defn: AttributeDefinition, raw: Any) -> Any:
    """Turn input (from a form, JSON or a CSV cell) into the stored JSON value, or raise ValueError."""
    if raw is None or raw == "" or raw == []:
        return None
    t = defn.type
    if t == AttributeType.TEXT:
        value = str(raw).strip()
        if defn.max_length and len(value) > defn.max_length:
            raise ValueError(_("at most %(n)d characters") % {"n": defn.max_length})
        return value
    if t in (AttributeType.NUMBER, AttributeType.DECIMAL):
        if isinstance(raw, bool):
            raise ValueError(_("a number is required"))
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("“%(v)s” is not a number") % {"v": raw}) from None
        if not number.is_finite():
            raise ValueError(_("a finite number is required"))
        # Magnitudes from 1e-20 up to (not including) 1e20: int() of "1e9999999" would hold a worker for minutes.
        if not number.is_zero() and not -20 <= number.adjusted() < 20:
            raise ValueError(_("“%(v)s” is out of range") % {"v": raw})
        if t == AttributeType.NUMBER and number != number.to_integral_value():
            raise ValueError(_("a whole number is required"))
        if defn.min_value is not None and number < defn.min_value:
            raise ValueError(_("must be at least %(v)s") % {"v": _plain(defn.min_value)})
        if defn.max_value is not None and number > defn.max_value:
            raise ValueError(_("must be at most %(v)s") % {"v": _plain(defn.max_value)})
        return int(number) if t == AttributeType.NUMBER else _plain(number)
    if t == AttributeType.DATE:
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(_("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": raw}) from None
    if t == AttributeType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("“%(v)s” is not yes or no") % {"v": raw})
    if t == AttributeType.CHOICE:
        value = str(raw).strip()
        if value not in defn.choices:
            raise ValueError(_("“%(v)s” is not one of: %(c)s") % {"v": value, "c": ", ".join(defn.choices)})
        return value
    if t == AttributeType.MULTI_CHOICE:
        items = raw if isinstance(raw, list | tuple) else [p for p in str(raw).replace("；", ";").split(";")]
        values = [str(v).strip() for v in items if str(v).strip()]
        unknown = [v for v in values if v not in defn.choices]
        if unknown:
            raise ValueError(_("“%(v)s” is not one of: %(c)s") % {"v": unknown[0], "c": ", ".join(defn.choices)})
        return sorted(set(values), key=defn.choices.index)
    raise ValueError(f"unknown attribute type {t}")


def clean_attributes(entity: str, values: dict[str, Any] | None, *, partial_base: dict | None = None,
                     definitions: list[AttributeDefinition] | None = None) -> dict[str, Any]:
    """Validate a whole attribute dict for `entity`; errors are keyed `attributes.<key>`.

    `partial_base` holds the values already stored, for updates that send only some keys.
    """
    if values is not None and not isinstance(values, dict):
        raise ValidationError({"attributes": [_("Custom attributes must be given as key: value pairs.")]})
    defs = {d.key: d for d in (definitions if definitions is not None else definitions_for(entity))}
    # Stored values of attributes an administrator has since removed are dropped, not refused.
    base = partial_base if isinstance(partial_base, dict) else {}
    merged = {k: v for k, v in base.items() if k in defs}
    merged.update(values or {})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in merged.items():
        defn = defs.get(key)
        if defn is None:
            errors[f"attributes.{key}"] = [_("Unknown attribute “%(k)s”.") % {"k": key}]
            continue
        try:
            value = coerce_value(defn, raw)
        except ValueError as exc:
            errors[f"attributes.{key}"] = [str(exc)]
            continue
        if value is not None:
            cleaned[key] = value
    for key, defn in defs.items():
        if defn.required and key not in cleaned and f"attributes.{key}" not in errors:
            errors[f"attributes.{key}"] = [_("This attribute is required.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def json_array_has(field: str, item: str) -> Q:
    """Rows whose JSON array at `field` holds the string `item` as a whole element, on SQLite and PostgreSQL.

    Matches the quoted element inside the array's JSON text, so "云" does not match "云服务".
    PostgreSQL renders jsonb text unescaped; SQLite keeps the stored text, which Django writes
    ASCII-escaped ("\\u4e91"), so both spellings are tried.
    """
    q = Q()
    for spelling in dict.fromkeys([json.dumps(item), json.dumps(item, ensure_ascii=False)]):
        q |= Q(**{f"{field}__icontains": spelling})
    return q


def attribute_filter(defn: AttributeDefinition, raw: str, *, prefix: str = "") -> Q:
    """A Q filtering on one attribute, portable between SQLite and PostgreSQL."""
    field = f"{prefix}attributes__{defn.key}"
    if defn.type == AttributeType.MULTI_CHOICE:
        value = coerce_value(defn, raw)
        q = Q()
        for item in value or []:
            q &= json_array_has(field, item)
        return q
    value = coerce_value(defn, raw)
    if value is None:
        return Q()
    return Q(**{field: value})
