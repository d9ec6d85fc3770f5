"""Accounts and contacts through the import framework (kamcrm/exchange/importing.py).

Accounts are written in bulk (one INSERT and one UPDATE per batch, audit rows and webhook events in
bulk too) with the same rules the services apply one at a time: normalised names and credit codes,
the owner's unit kept in owner_unit, custom attributes checked, group trees without loops.

Matching an existing account: (source system, external id); else the unified social credit code;
else name + region. A row whose credit code or name + region belongs to an account that another
external id already claims is a duplicate of an existing record, not an update.
Contacts match by (source system, external id); else e-mail, else mobile, within their account.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kamcrm.audit.registry import record_bulk, snapshot
from kamcrm.core.services import validation_error_dict
from kamcrm.core.validators import validate_credit_code
from kamcrm.customers import services
from kamcrm.customers.choices import AccountStatus, Channel, DecisionRole, Industry, Tier
from kamcrm.customers.models import Account, Contact
from kamcrm.exchange.import_specs import (
    BOOL,
    CHOICE,
    DATE,
    INT,
    LIST,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    Ref,
    RowProblem,
    register,
)
from kamcrm.exchange.models import ImportErrorKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, is_administrator, visible
from kamcrm.webhooks import services as webhooks

# Chinese words for industries that sources use besides our labels (GLOSSARY.md first).
INDUSTRY_WORDS = {
    "政府": Industry.GOVERNMENT, "政务": Industry.GOVERNMENT, "金融": Industry.FINANCE, "银行": Industry.FINANCE,
    "保险": Industry.FINANCE, "制造": Industry.MANUFACTURING, "制造业": Industry.MANUFACTURING,
    "能源": Industry.ENERGY, "电力": Industry.ENERGY, "交通": Industry.TRANSPORT, "物流": Industry.TRANSPORT,
    "医疗": Industry.HEALTHCARE, "卫生": Industry.HEALTHCARE, "教育": Industry.EDUCATION, "零售": Industry.RETAIL,
    "酒店": Industry.HOSPITALITY, "互联网": Industry.INTERNET, "信息技术": Industry.INTERNET, "IT": Industry.INTERNET,
    "媒体": Industry.MEDIA, "房地产": Industry.REAL_ESTATE, "建筑": Industry.REAL_ESTATE, "其他": Industry.OTHER,
}

ACCOUNT_REF = Ref(Account, ("external_id", "credit_code", "name"))
UNIT_REF = Ref(OrgUnit, ("code", "name", "external_id"))
USER_REF = Ref(User, ("username", "email", "external_id", "display_name"))

# Fields an import may set, in the order the template lists them.
ACCOUNT_IMPORT_FIELDS = ("name", "short_name", "credit_code", "industry", "tier", "status", "region", "parent",
                         "owner", "tags", "address", "website", "phone", "description", "external_id")


def _may_edit(user, ids: set[int]) -> set[int]:  # noqa: ANN001
    if not ids or user is None or is_administrator(user):
        return ids
    return set(visible(Account.objects.filter(pk__in=ids), user, EDIT).values_list("pk", flat=True))


class AccountImport(ImportEntity):
    name = "account"
    label = gettext_lazy("accounts")
    model = Account
    attribute_entity = "account"
    self_refs = ("parent",)
    file_keys = ("external_id", "credit_code", "name")
    fields = (
        FieldSpec("name", gettext_lazy("name"), required=True, max_length=200),
        FieldSpec("short_name", gettext_lazy("short name"), max_length=60),
        FieldSpec("credit_code", gettext_lazy("unified social credit code"), max_length=18),
        FieldSpec("industry", gettext_lazy("industry"), CHOICE, choices=Industry, words=INDUSTRY_WORDS),
        FieldSpec("tier", gettext_lazy("tier"), CHOICE, choices=Tier),
        FieldSpec("status", gettext_lazy("status"), CHOICE, choices=AccountStatus),
        FieldSpec("region", gettext_lazy("region"), REF, ref=UNIT_REF,
                  help=gettext_lazy("Needed for a new account: a unit's code, name or external id.")),
        FieldSpec("parent", gettext_lazy("group customer (parent)"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("The parent account's external id, credit code or name; it may be further down the file.")),
        FieldSpec("owner", gettext_lazy("account manager"), REF, ref=USER_REF,
                  help=gettext_lazy("Needed for a new account: a username, e-mail, external id or display name.")),
        FieldSpec("tags", gettext_lazy("tags"), LIST),
        FieldSpec("address", gettext_lazy("address"), max_length=200),
        FieldSpec("website", gettext_lazy("website"), max_length=200),
        FieldSpec("phone", gettext_lazy("phone"), max_length=30),
        FieldSpec("description", gettext_lazy("description")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The record's id in the source system: importing again updates it.")),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        # Anyone who may edit accounts at all; each row is then checked against their reach.
        return user is None or user.is_authenticated

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        """The external id when there is one (two ids are two records, even with one name); the credit
        code always (it is unique by law); name + region only for rows without an external id."""
        v = row.values
        keys: list[tuple[str, Any]] = []
        if v.get("external_id"):
            keys.append(("external_id", v["external_id"]))
        if v.get("credit_code"):
            keys.append(("credit_code", v["credit_code"]))
        if not v.get("external_id") and v.get("name") and v.get("region"):
            keys.append(("name+region", f"{v['name']}\x1f{v['region']}"))
        return keys

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        for row in rows:
            v = row.values
            if "name" in v:
                v["name"] = v["name"].strip()
            if v.get("credit_code"):
                v["credit_code"] = v["credit_code"].strip().upper()
                try:
                    validate_credit_code(v["credit_code"])
                except ValidationError as exc:
                    row.error("credit_code", ImportErrorKind.TYPE, "; ".join(exc.messages))
        rows = [r for r in rows if r.ok]
        ext_ids = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        by_ext: dict[str, Account] = {}
        by_code: dict[str, Account] = {}
        by_name: dict[tuple[str, int], list[Account]] = defaultdict(list)
        if ext_ids:
            by_ext = {a.external_id: a for a in Account.objects.filter(source_system=ctx.source_system,
                                                                        external_id__in=ext_ids)}
        # Codes and names are looked up only where the external id did not settle it (a re-import
        # would otherwise load every account three times).
        unsettled = [r for r in rows if by_ext.get(r.values.get("external_id") or "") is None]
        codes = {r.values["credit_code"] for r in unsettled if r.values.get("credit_code")}
        codes |= {r.values["credit_code"] for r in rows if r.values.get("credit_code")
                  and by_ext.get(r.values.get("external_id") or "") is not None
                  and by_ext[r.values["external_id"]].credit_code != r.values["credit_code"]}
        if codes:
            by_code = {a.credit_code: a for a in Account.objects.filter(credit_code__in=codes)}
        names = {r.values["name"] for r in unsettled if r.values.get("name") and r.values.get("credit_code") not in by_code}
        if names:
            for a in Account.objects.filter(name__in=names):
                by_name[(a.name, a.region_id)].append(a)
        for row in rows:
            v = row.values
            ext = v.get("external_id", "")
            found = by_ext.get(ext) if ext else None
            if found is None:
                rule, candidate = "", None
                if v.get("credit_code") in by_code:
                    rule, candidate = "credit_code", by_code[v["credit_code"]]
                elif (v.get("name"), v.get("region")) in by_name:
                    same = by_name[(v["name"], v["region"])]
                    if ext:  # a source's other record of the same name is another company; adopt only an unclaimed one
                        same = [a for a in same if not a.external_id]
                    if not same:
                        same = [None]
                    elif len(same) > 1:
                        row.error("name", ImportErrorKind.DUPLICATE_EXISTING,
                                  _("%(n)d existing accounts in this region are called “%(v)s”; give an external id or "
                                    "credit code to say which.") % {"n": len(same), "v": v["name"]})
                        continue
                    rule, candidate = ("name", same[0]) if same[0] is not None else ("", None)
                if candidate is not None and ext and candidate.external_id:
                    row.error(rule, ImportErrorKind.DUPLICATE_EXISTING,
                              _("Duplicate of the existing account “%(a)s” (#%(id)d, same %(rule)s), which has the "
                                "external id %(ext)s.")
                              % {"a": candidate.name, "id": candidate.pk, "rule": rule.replace("_", " "),
                                 "ext": f"{candidate.source_system}:{candidate.external_id}"})
                    continue
                found = candidate
            elif v.get("credit_code") and by_code.get(v["credit_code"], found).pk != found.pk:
                other = by_code[v["credit_code"]]
                row.error("credit_code", ImportErrorKind.DUPLICATE_EXISTING,
                          _("Another existing account (“%(a)s”, #%(id)d) has this credit code.")
                          % {"a": other.name, "id": other.pk})
                continue
            row.existing = found
            if found is None:
                for name in ("region", "owner"):
                    if name not in v and name not in [f for f, _k, _m in row.errors]:
                        row.error(name, ImportErrorKind.MISSING, _("A new account needs a value here."))
        self._check_reach(rows, ctx)

    def _check_reach(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        rows = [r for r in rows if r.ok]
        owner_ids = {r.values["owner"] for r in rows if r.values.get("owner")}
        owners = ctx.memo.setdefault("owners", {})
        missing = owner_ids - owners.keys()
        if missing:
            owners.update({u.pk: u for u in User.objects.filter(pk__in=missing).select_related("unit")})
        user = ctx.user
        limited = user is not None and not is_administrator(user)
        editable = _may_edit(user, {r.existing.pk for r in rows if r.existing is not None})
        assignable = ctx.memo.setdefault("assignable", {})
        for row in rows:
            owner = owners.get(row.values.get("owner"))
            if owner is not None and not owner.unit_id:
                row.error("owner", ImportErrorKind.INVALID,
                          _("The account manager has no primary unit; assign one first."))
            if not limited:
                continue
            if row.existing is not None and row.existing.pk not in editable:
                row.error("name", ImportErrorKind.PERMISSION, _("You may not edit this existing account."))
            elif owner is not None and (row.existing is None or owner.pk != row.existing.owner_id):
                if owner.pk not in assignable:
                    assignable[owner.pk] = services.owner_assignable(by=user, owner=owner)
                if not assignable[owner.pk]:
                    row.error("owner", ImportErrorKind.PERMISSION,
                              _("The account manager must be you or someone whose accounts you may edit."))

    def _attributes(self, row: ImportRow, base: dict[str, Any]) -> dict[str, Any]:
        attrs = dict(base)
        for name, value in row.values.items():
            if name.startswith("attr_"):
                attrs[name[5:]] = value
        return attrs

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        now = timezone.now()
        owners = ctx.memo.setdefault("owners", {})
        wanted_owners = {r.values["owner"] for r in rows if r.values.get("owner")} - owners.keys()
        if wanted_owners:
            owners.update({u.pk: u for u in User.objects.filter(pk__in=wanted_owners).select_related("unit")})
        created: list[Account] = []
        updated: list[tuple[Account, dict[str, Any], dict[str, list[Any]]]] = []
        for row in rows:
            v = row.values
            data: dict[str, Any] = {k: v[k] for k in ACCOUNT_IMPORT_FIELDS if k in v}
            for ref in ("region", "parent", "owner"):
                if ref in data:
                    data[f"{ref}_id"] = data.pop(ref)
            if "external_id" in data:
                data["source_system"] = ctx.source_system
            account = row.existing
            if account is None:
                account = Account(**data, attributes=self._attributes(row, {}), created_at=now, updated_at=now)
                account.owner_unit_id = owners[account.owner_id].unit_id
                row.existing, row.status = account, "created"
                created.append(account)
                continue
            if any(k.startswith("attr_") for k in v):
                data["attributes"] = self._attributes(row, account.attributes or {})
            if all(getattr(account, key) == value for key, value in data.items()):
                row.status = "unchanged"  # the common case of a re-import: no snapshots needed
                continue
            before = snapshot(account)
            payload_before = webhooks.record_snapshot(account, webhooks.ACCOUNT_PAYLOAD_FIELDS)
            if data.get("owner_id") and data["owner_id"] != account.owner_id:
                data["owner_unit_id"] = owners[data["owner_id"]].unit_id
            if data.get("parent_id") and data["parent_id"] != account.parent_id:
                try:
                    services._check_parent(account, Account(pk=data["parent_id"]))
                except ValidationError as exc:
                    raise RowProblem(row, "parent", "; ".join(validation_error_dict(exc).get("parent", exc.messages))) from None
            for key, value in data.items():
                setattr(account, key, value)
            after = snapshot(account)
            diff = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
            if diff:
                account.updated_at = now
                row.status = "updated"
                updated.append((account, payload_before, diff))
            else:
                row.status = "unchanged"
        if created:
            Account.objects.bulk_create(created)
            record_bulk(created, action="create")
            webhooks.events_emit_many(type="account.created", items=(
                (webhooks.record_payload(a, webhooks.ACCOUNT_PAYLOAD_FIELDS), a.pk) for a in created))
        if updated:
            fields = sorted({k for _a, _p, diff in updated for k in diff} | {"updated_at"})
            names = {f.attname: f.name for f in Account._meta.concrete_fields}
            moved = [a for a, _p, diff in updated if {"owner_id", "owner_unit_id", "region_id"} & set(diff)]
            funnel = services._funnel_before(moved) if moved else None
            Account.objects.bulk_update([a for a, _p, _d in updated], [names[f] for f in fields])
            if funnel is not None:
                services._funnel_after(*funnel)
            diffs = {id(a): d for a, _p, d in updated}
            record_bulk([a for a, _p, _d in updated], action="update", changes_for=lambda a: diffs[id(a)])
            webhooks.events_emit_many(type="account.changed", items=(
                (webhooks.record_payload(a, webhooks.ACCOUNT_PAYLOAD_FIELDS, before=p), a.pk) for a, p, _d in updated))

    def set_deferred(self, record_id: int, field_name: str, target_id: int, ctx: ImportContext) -> None:
        account = Account.objects.get(pk=record_id)
        services.account_update(account=account, data={field_name: Account.objects.get(pk=target_id)})

    def set_deferred_many(self, links: list[tuple[int, str, int]], ctx: ImportContext) -> dict[int, ValidationError]:
        """Parents (the one self-reference) in bulk, the way write() writes: the loop check of
        services._check_parent (with the links of this call applied in order), one UPDATE, the audit
        rows and webhook events in bulk. The service one link at a time took ~40 ms a link."""
        if any(name != "parent" for _pk, name, _t in links):
            return super().set_deferred_many(links, ctx)
        accounts = {a.pk: a for a in Account.objects.filter(pk__in={pk for pk, _n, _t in links})}
        parent_of: dict[int, int | None] = {}  # links set by this call, ahead of the database

        def parent(pk: int) -> int | None:
            if pk not in parent_of:
                parent_of[pk] = Account.objects.filter(pk=pk).values_list("parent_id", flat=True).first()
            return parent_of[pk]

        refused: dict[int, ValidationError] = {}
        changed: dict[int, tuple[Account, dict[str, Any]]] = {}
        for index, (pk, _name, target) in enumerate(links):
            account = accounts[pk]
            if parent(pk) == target:
                continue
            seen: set[int] = set()
            current: int | None = target
            while current is not None and current not in seen:
                if current == pk:
                    refused[index] = ValidationError(
                        _("An account cannot be a subsidiary of itself or of its own subsidiary."))
                    break
                seen.add(current)
                current = parent(current)
            if index in refused:
                continue
            parent_of[pk] = target
            if pk not in changed:
                changed[pk] = (account, webhooks.record_snapshot(account, webhooks.ACCOUNT_PAYLOAD_FIELDS))
        if not changed:
            return refused
        now = timezone.now()
        diffs = {}
        for pk, (account, _before) in changed.items():
            before = snapshot(account)
            account.parent_id = parent_of[pk]
            after = snapshot(account)
            diffs[pk] = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
            account.updated_at = now
        items = [a for a, _p in changed.values()]
        Account.objects.bulk_update(items, ["parent", "updated_at"])
        record_bulk(items, action="update", changes_for=lambda a: diffs[a.pk])
        webhooks.events_emit_many(type="account.changed", items=(
            (webhooks.record_payload(a, webhooks.ACCOUNT_PAYLOAD_FIELDS, before=p), a.pk) for a, p in changed.values()))
        return refused


class ContactImport(ImportEntity):
    name = "contact"
    label = gettext_lazy("contacts")
    model = Contact
    attribute_entity = "contact"
    fields = (
        FieldSpec("account", gettext_lazy("account"), REF, required=True, ref=ACCOUNT_REF,
                  help=gettext_lazy("The account's external id, credit code or name.")),
        FieldSpec("name", pgettext_lazy("person", "name"), required=True, max_length=100),
        FieldSpec("title", gettext_lazy("title"), max_length=100),
        FieldSpec("department", gettext_lazy("department"), max_length=100),
        FieldSpec("mobile", gettext_lazy("mobile"), max_length=30),
        FieldSpec("phone", gettext_lazy("office phone"), max_length=30),
        FieldSpec("email", pgettext_lazy("field", "email"), max_length=254),
        FieldSpec("decision_role", gettext_lazy("decision role"), CHOICE, choices=DecisionRole),
        FieldSpec("relationship_strength", gettext_lazy("relationship strength"), INT),
        FieldSpec("birthday", gettext_lazy("birthday"), DATE),
        FieldSpec("preferred_channel", gettext_lazy("preferred channel"), CHOICE, choices=Channel),
        FieldSpec("is_primary", gettext_lazy("primary contact"), BOOL),
        FieldSpec("notes", gettext_lazy("notes")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        return user is None or user.is_authenticated

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        v = row.values
        keys: list[tuple[str, Any]] = []
        if v.get("external_id"):
            keys.append(("external_id", v["external_id"]))
        if v.get("email") and v.get("account"):
            keys.append(("account+email", f"{v['account']}\x1f{v['email'].lower()}"))
        if v.get("mobile") and v.get("account"):
            keys.append(("account+mobile", f"{v['account']}\x1f{v['mobile']}"))
        return keys

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        ext_ids = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        account_ids = {r.values["account"] for r in rows if r.values.get("account")}
        by_ext = {c.external_id: c for c in Contact.objects.filter(source_system=ctx.source_system,
                                                                   external_id__in=ext_ids)} if ext_ids else {}
        by_email: dict[tuple[int, str], Contact] = {}
        by_mobile: dict[tuple[int, str], Contact] = {}
        if account_ids:
            for c in Contact.objects.filter(account_id__in=account_ids):
                if c.email:
                    by_email.setdefault((c.account_id, c.email.lower()), c)
                if c.mobile:
                    by_mobile.setdefault((c.account_id, c.mobile), c)
        editable = _may_edit(ctx.user, account_ids)
        for row in rows:
            v = row.values
            found = by_ext.get(v.get("external_id", "")) if v.get("external_id") else None
            if found is None:
                candidate = (by_email.get((v.get("account"), (v.get("email") or "").lower()))
                             or by_mobile.get((v.get("account"), v.get("mobile"))))
                if candidate is not None and v.get("external_id") and candidate.external_id:
                    row.error("email" if v.get("email") else "mobile", ImportErrorKind.DUPLICATE_EXISTING,
                              _("Duplicate of the existing contact “%(c)s” (#%(id)d) of this account, which has "
                                "another external id.") % {"c": candidate.name, "id": candidate.pk})
                    continue
                found = candidate
            row.existing = found
            if v.get("account") not in editable:
                row.error("account", ImportErrorKind.PERMISSION, _("You may not edit this account's contacts."))

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        accounts = {a.pk: a for a in Account.objects.filter(pk__in={r.values["account"] for r in rows})}
        for row in rows:
            data = {k: v for k, v in row.values.items() if not k.startswith("attr_")}
            data["account"] = accounts[data["account"]]
            attrs = {k[5:]: v for k, v in row.values.items() if k.startswith("attr_")}
            if attrs:
                data["attributes"] = attrs
            if "external_id" in data:
                data["source_system"] = ctx.source_system
            try:
                if row.existing is None:
                    row.existing = services.contact_create(**data)
                    row.status = "created"
                else:
                    before = row.existing.updated_at
                    row.existing = services.contact_update(contact=row.existing, data=data)
                    row.status = "updated" if row.existing.updated_at != before else "unchanged"
            except ValidationError as exc:
                name, messages = next(iter(validation_error_dict(exc).items()))
                if name.startswith("attributes."):
                    name = f"attr_{name.removeprefix('attributes.')}"
                raise RowProblem(row, name, "; ".join(messages)) from None


register(AccountImport())
register(ContactImport())
