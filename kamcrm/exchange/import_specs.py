"""What can be imported: each entity declares its fields, how rows match existing records, and how a
batch is written. Apps register their entities in `import_entities.py` modules (autodiscovered), the
way they register exports; the engine in `importing.py` does the rest.

A field's value comes from a mapping (see `ImportMapping.steps`):

    {"column": "sector"}                          the cell of that column (header as written in the file)
    {"value": "EAST"}                             a constant for every row
    {"column": "office", "default": "HQ"}         the cell, or the constant when the cell is empty
    {"values": {"technolgy": "internet"}}         cell words replaced before the type is checked
                                                  (case and spaces ignored); fixes a source's typos
    {"transform": "username"}                     upper, lower, username (a login made of a name)
    {"by": "name"}                                for references: match the related record by this key
                                                  only (default: each of the field's keys in turn)
    {"date_format": "%m/%d/%Y"}                   for dates that are not ISO
    {"prefix": "MV-"}                             put before the value (e.g. to keep a source's codes apart)
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kamcrm.core.attributes import FALSE_WORDS, TRUE_WORDS, coerce_value, definitions_for

__all__ = [
    "FieldSpec",
    "ImportContext",
    "ImportEntity",
    "ImportRow",
    "Ref",
    "RowProblem",
    "entity_get",
    "entity_list",
    "norm",
    "register",
]

_ENTITIES: dict[str, ImportEntity] = {}

TEXT, INT, DECIMAL, DATE, BOOL, CHOICE, REF, LIST, ATTR = (
    "text", "int", "decimal", "date", "bool", "choice", "ref", "list", "attr")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
TRANSFORMS = ("upper", "lower", "username")


def norm(text: Any) -> str:
    """A word compared loosely: case, width (全角) and spaces, hyphens and underscores ignored."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return "".join(ch for ch in text if ch not in " _-\u3000\ufeff")


def username_from(text: str) -> str:
    """"Anna Snelling" -> "anna.snelling": a login made of a person's name (letters, digits, . _ - @)."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"\s+", ".", text)
    return re.sub(r"[^\w.@+-]", "", text)[:150]


@dataclass(frozen=True)
class Ref:
    """A reference to another record, looked up by one of `keys` (model fields), in that order."""

    model: type[models.Model]
    keys: tuple[str, ...]
    # external_id lookups are within the job's source system
    scope: Callable[[models.QuerySet], models.QuerySet] | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Any
    kind: str = TEXT
    required: bool = False  # needed on every row (else: only where the entity says, e.g. on create)
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    words: dict[str, str] = field(default_factory=dict)  # extra words accepted for choices
    ref: Ref | None = None
    help: Any = ""
    attribute: Any = None  # the AttributeDefinition of an attr_<key> field


@dataclass
class ImportRow:
    line: int
    step: int
    columns: dict[str, str] = field(default_factory=dict)  # field -> column it came from ("" for constants)
    raw: dict[str, Any] = field(default_factory=dict)  # field -> the value before its type was checked
    values: dict[str, Any] = field(default_factory=dict)  # field -> checked value (refs: the related id)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (field, kind, message)
    existing: Any = None  # the matched record, set by the entity's match()
    status: str = ""  # created / updated / unchanged, set by write()
    deferred: list[tuple[str, str, Any]] = field(default_factory=list)  # (field, key, value) to set later

    def error(self, field_name: str, kind: str, message: str) -> None:
        self.errors.append((field_name, kind, str(message)))

    @property
    def ok(self) -> bool:
        return not self.errors


class RowProblem(Exception):
    """A row the write found wrong after all (e.g. a rule only the service checks): it is rejected and
    its batch is written again without it."""

    def __init__(self, row: ImportRow, field_name: str, message: str, kind: str = "invalid"):
        super().__init__(message)
        self.row, self.field_name, self.message, self.kind = row, field_name, str(message), kind


class ImportEntity:
    """One importable entity. Subclasses set the class attributes and implement match() and write()."""

    name: str = ""
    label: Any = ""
    model: type[models.Model]
    fields: tuple[FieldSpec, ...] = ()
    attribute_entity: str = ""  # custom attributes importable as attr_<key>
    # Fields whose reference may point at a row of the same file (e.g. an account's parent): when the
    # target is not written yet, the field is set once it is.
    self_refs: tuple[str, ...] = ()
    # The keys a row of this entity is known by, for references from other rows of the file.
    file_keys: tuple[str, ...] = ("external_id",)

    def field_specs(self) -> dict[str, FieldSpec]:
        specs = {f.name: f for f in self.fields}
        if self.attribute_entity:
            for defn in definitions_for(self.attribute_entity):
                specs[f"attr_{defn.key}"] = FieldSpec(f"attr_{defn.key}", defn.label, ATTR,
                                                      required=defn.required, attribute=defn)
        return specs

    def permitted(self, user) -> bool:  # noqa: ANN001
        from kamcrm.org.selectors import is_administrator

        return user is None or is_administrator(user)

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        """The keys under which two rows of one file are the same record."""
        ext = row.values.get("external_id")
        return [("external_id", ext)] if ext else []

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """Set row.existing (or add an error) for every row, in as few queries as possible."""
        raise NotImplementedError

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """Create or update the rows' records, set row.status; raise RowProblem for a row that fails."""
        raise NotImplementedError

    def set_deferred(self, record_id: int, field_name: str, target_id: int, ctx: ImportContext) -> None:
        """Set a self-reference once its target exists."""
        raise NotImplementedError

    def set_deferred_many(self, links: list[tuple[int, str, int]], ctx: ImportContext) -> dict[int, ValidationError]:
        """Set several self-references, in order: (record id, field, target id). Returns the links refused
        (by their index), e.g. a parent that would make a loop; the others are set."""
        refused: dict[int, ValidationError] = {}
        for index, (record_id, field_name, target_id) in enumerate(links):
            try:
                with transaction.atomic():
                    self.set_deferred(record_id, field_name, target_id, ctx)
            except ValidationError as exc:
                refused[index] = exc
        return refused


@dataclass
class ImportContext:
    user: Any
    source_system: str
    job: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)


def register(entity: ImportEntity) -> ImportEntity:
    _ENTITIES[entity.name] = entity
    return entity


def entity_get(name: str) -> ImportEntity | None:
    return _ENTITIES.get(name)


def entity_list() -> list[ImportEntity]:
    return sorted(_ENTITIES.values(), key=lambda e: e.name)


# --- turning a raw value into a field's value ----------------------------------------------------------


def choice_table(choices: type[models.TextChoices], words: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in choices.choices:
        table[norm(value)] = value
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                table[norm(str(label))] = value
    for word, value in words.items():
        table[norm(word)] = value
    return table


_CHOICE_TABLES: dict[tuple[type, int], dict[str, str]] = {}


def coerce(spec: FieldSpec, raw: Any, *, date_format: str = "") -> Any:
    """The field's value from a raw cell, or ValueError with the reason. Empty stays None."""
    if raw is None or raw == "":
        return None
    kind = spec.kind
    if kind == TEXT:
        value = str(raw).strip()
        if spec.max_length and len(value) > spec.max_length:
            raise ValueError(_("at most %(n)d characters (this has %(m)d)") % {"n": spec.max_length, "m": len(value)})
        return value
    if kind == INT:
        try:
            number = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            raise ValueError(_("“%(v)s” is not a whole number") % {"v": raw}) from None
        if not number.is_finite() or number != number.to_integral_value() or abs(number) > 2**31:
            raise ValueError(_("“%(v)s” is not a whole number") % {"v": raw})
        return int(number)
    if kind == DECIMAL:
        try:
            number = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            raise ValueError(_("“%(v)s” is not a number") % {"v": raw}) from None
        if not number.is_finite():
            raise ValueError(_("“%(v)s” is not a number") % {"v": raw})
        return number
    if kind == DATE:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        text = str(raw).strip()
        for fmt in ((date_format,) if date_format else DATE_FORMATS):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(_("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": raw})
    if kind == BOOL:
        word = norm(raw)
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("“%(v)s” is not yes or no") % {"v": raw})
    if kind == CHOICE:
        key = (spec.choices, id(spec.words))
        table = _CHOICE_TABLES.get(key)
        if table is None:
            table = _CHOICE_TABLES[key] = choice_table(spec.choices, spec.words)
        value = table.get(norm(raw))
        if value is None:
            raise ValueError(_("“%(v)s” is not one of: %(c)s") % {"v": raw, "c": ", ".join(spec.choices.values)})
        return value
    if kind == LIST:
        parts = re.split(r"[,，;；]", str(raw))
        return sorted({p.strip() for p in parts if p.strip()})
    if kind == ATTR:
        return coerce_value(spec.attribute, raw)
    raise ValueError(f"field kind {kind} is not coerced here")


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

