"""Export columns of accounts and contacts. Choice fields are exported as their labels in the
current language; related records by name (and, where another system needs a key, by code or
username); custom attributes are appended by the framework."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kamcrm.customers.choices import AccountStatus, Channel, DecisionRole, Industry, Tier
from kamcrm.customers.models import Account, Contact
from kamcrm.customers.selectors import ACCOUNT_SORTS, CONTACT_SORTS, account_queryset, contact_queryset
from kamcrm.exchange.export import Column, ExportEntity, choice_column, register

__all__ = ["ACCOUNTS", "CONTACTS"]


def _label(model, name: str):  # noqa: ANN001, ANN202
    return model._meta.get_field(name).verbose_name


def _field(model, name: str, width: int = 16) -> Column:  # noqa: ANN001
    return Column(name, _label(model, name), (name,), None, width)


PERSON_FIELDS = ("display_name", "first_name", "last_name", "username")


def _person(prefix: str):  # noqa: ANN202
    """How a user shows in the UI (User.__str__): display name, else full name, else username."""
    display_name, first_name, last_name, username = (f"{prefix}__{f}" for f in PERSON_FIELDS)

    def read(row):  # noqa: ANN001, ANN202
        if row[username] is None:
            return None
        full = f"{row[first_name]} {row[last_name]}".strip()
        return row[display_name] or full or row[username]
    return read


def _account_columns() -> list[Column]:
    a = Account
    return [
        Column("id", _("ID"), ("id",), None, 8),
        _field(a, "name", 32),
        _field(a, "short_name"),
        _field(a, "credit_code", 20),
        choice_column("tier", _label(a, "tier"), Tier.choices),
        choice_column("industry", _label(a, "industry"), Industry.choices, width=18),
        choice_column("status", _label(a, "status"), AccountStatus.choices),
        Column("region", _label(a, "region"), ("region__name",)),
        Column("region_code", _("region code"), ("region__code",), None, 12),
        Column("parent", _label(a, "parent"), ("parent__name",), None, 28),
        Column("owner", _label(a, "owner"), tuple(f"owner__{f}" for f in PERSON_FIELDS), _person("owner")),
        Column("owner_username", _("account manager (username)"), ("owner__username",), None, 14),
        Column("owner_unit", _label(a, "owner_unit"), ("owner_unit__name",)),
        Column("tags", _label(a, "tags"), ("tags",),
               lambda r: "; ".join(str(t) for t in r["tags"]) if isinstance(r["tags"], list) else r["tags"], 20),
        _field(a, "address", 32),
        _field(a, "website", 20),
        _field(a, "phone"),
        _field(a, "description", 40),
        _field(a, "source_system", 14),
        _field(a, "external_id", 14),
        _field(a, "created_at", 18),
        _field(a, "updated_at", 18),
    ]


def _contact_columns() -> list[Column]:
    c = Contact
    return [
        Column("id", _("ID"), ("id",), None, 8),
        _field(c, "name", 16),
        Column("account", _label(c, "account"), ("account__name",), None, 32),
        Column("account_id", _("account ID"), ("account_id",), None, 10),
        _field(c, "title"),
        _field(c, "department"),
        _field(c, "mobile", 14),
        _field(c, "phone", 14),
        _field(c, "email", 24),
        choice_column("decision_role", _label(c, "decision_role"), DecisionRole.choices),
        _field(c, "relationship_strength", 10),
        _field(c, "birthday", 12),
        choice_column("preferred_channel", _label(c, "preferred_channel"), Channel.choices),
        _field(c, "is_primary", 10),
        _field(c, "notes", 40),
        _field(c, "source_system", 14),
        _field(c, "external_id", 14),
        _field(c, "created_at", 18),
        _field(c, "updated_at", 18),
    ]


ACCOUNTS = register(ExportEntity(
    name="accounts", label=_("accounts"), queryset=account_queryset, sorts=ACCOUNT_SORTS,
    columns=_account_columns, attribute_entity="account",
    list_url="customers:account_list",
))
CONTACTS = register(ExportEntity(
    name="contacts", label=_("contacts"), queryset=contact_queryset, sorts=CONTACT_SORTS,
    columns=_contact_columns, attribute_entity="contact", list_url="customers:contact_list",
))
