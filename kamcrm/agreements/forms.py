"""Agreements UI forms: input only. Views hand `service_data()` to an agreements service; the service
decides (status, dates, schedule rules) and its ValidationError comes back onto these fields."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamcrm.agreements.choices import AgreementStatus, AgreementType, BillingCycle, Remainder, Rule
from kamcrm.agreements.models import Agreement
from kamcrm.core.forms import (
    LookupChoiceField,
    TablerFormMixin,
    account_label,
    bound_or_initial,
    show_selected,
    user_label,
)
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, can, visible
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product
from kamcrm.sales.models import Opportunity

__all__ = ["AgreementFilterForm", "AgreementForm", "AgreementLineForm", "AmendForm", "AmendLineForm",
           "AsOfField", "AsOfForm", "parse_moment", "EffectiveForm", "OrderDeliverForm", "OrderFilterForm", "OrderForm",
           "OrderLineForm", "RenewForm", "SignForm", "amend_line_formset", "line_formset", "order_line_formset"]

USER_LOOKUP = reverse_lazy("user_lookup")
ACCOUNT_LOOKUP = reverse_lazy("customers:account_lookup")
DATE_ATTRS = {"class": "js-date", "autocomplete": "off", "placeholder": "YYYY-MM-DD"}
MONEY = {"max_digits": 16, "decimal_places": 2}


def _date_field(label: Any, *, required: bool = False, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=required,
                           widget=forms.DateInput(attrs=dict(DATE_ATTRS), format="%Y-%m-%d"), **kwargs)




def _invalid_choice() -> forms.ValidationError:
    return forms.ValidationError(forms.ModelChoiceField.default_error_messages["invalid_choice"],
                                 code="invalid_choice")


def _active_filters(form: forms.Form) -> dict[str, Any]:
    return {k: v for k, v in form.data.lists() if k in form.fields and any(x != "" for x in v)} \
        if form.is_bound else {}


def unit_queryset():
    return OrgUnit.objects.filter(is_active=True).order_by("path")


def product_choices(products: list[Product]) -> list[tuple[Any, str]]:
    return [("", "—"), *[(p.pk, f"{p.code} · {p.name}") for p in products]]


def active_products(extra: list[Product] | None = None) -> list[Product]:
    """The active catalogue, read once per page, plus products already on the record (even if retired)."""
    products = list(Product.objects.filter(status=ProductStatus.ACTIVE).order_by("code"))
    known = {p.pk for p in products}
    return products + [p for p in extra or [] if p.pk not in known]


# ---- the list's filters and the "as of" picker ---------------------------------------------------

class AgreementFilterForm(TablerFormMixin, forms.Form):
    """The list's filters: the names AgreementFilterSet (and the API and exports) take."""

    autofocus = False

    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "data-testid": "agreement-search",
                                                      "placeholder": _("Agreement number or title")}))
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=AgreementStatus.choices,
                                       widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", "—"), *AgreementType.choices])
    owner = LookupChoiceField(User.objects.all(), label=_("Owner"), required=False, search_url=USER_LOOKUP,
                              label_from=user_label)
    owner_unit = forms.ModelChoiceField(label=_("Owning unit"), required=False, queryset=OrgUnit.objects.none(),
                                        empty_label=_("Any unit"))
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False, search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    ends_from = _date_field(_("Ends from"))
    ends_to = _date_field(_("Ends by"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = unit_queryset()
        self.style_widgets()
        show_selected(self, "owner", User)
        show_selected(self, "account", Account)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("ends_from"), cleaned.get("ends_to")
        if start and end and end < start:
            self.add_error("ends_to", _("“Ends by” must not be before “ends from”."))
        return cleaned

    def active_filters(self) -> dict[str, Any]:
        return _active_filters(self)


def parse_moment(value: Any) -> dt.datetime | None:
    """"2026-01-15" (the end of that day, local time) or an ISO date-time → an aware datetime; empty →
    None; anything else → ValueError. The "as of" of the schedule, in the UI and the API."""
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    try:
        return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(value), dt.time.max))
    except ValueError:
        pass
    moment = dt.datetime.fromisoformat(value.replace(" ", "T", 1).replace("Z", "+00:00"))
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class AsOfField(forms.Field):
    """A moment: "2026-01-15" (the end of that day, local time) or an ISO date-time."""

    default_error_messages = {"invalid": _("Enter a date (YYYY-MM-DD) or a date and time.")}

    def to_python(self, value: Any) -> dt.datetime | None:
        try:
            return parse_moment(value)
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class AsOfForm(TablerFormMixin, forms.Form):
    autofocus = False

    as_of = AsOfField(label=_("Schedule as of"), required=False,
                      widget=forms.TextInput(attrs={**DATE_ATTRS, "data-testid": "as-of"}),
                      help_text=_("Empty: now. A past date shows the schedule as it was then."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        value = (self.data.get("as_of") or "").strip() if self.is_bound else ""
        if len(value) > 10:  # a moment to the microsecond (a change's link): shown as it is, no date picker
            attrs = self.fields["as_of"].widget.attrs
            attrs["class"] = " ".join(c for c in attrs.get("class", "").split() if c != "js-date")


# ---- the agreement and its lines ----------------------------------------------------------------

class AgreementForm(TablerFormMixin, forms.Form):
    """Create an agreement, or edit a draft (or one in approval). A signed one changes by amendment."""

    account = LookupChoiceField(Account.objects.all(), label=_("Account"), search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    number = forms.CharField(label=_("Agreement number"), max_length=60)
    title = forms.CharField(label=_("Agreement title"), max_length=200)
    type = forms.ChoiceField(label=_("Type"), choices=AgreementType.choices, initial=AgreementType.SERVICE)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), search_url=USER_LOOKUP,
                              label_from=user_label)
    signing_unit = forms.ModelChoiceField(label=_("Signing unit"), required=False, queryset=OrgUnit.objects.none(),
                                          empty_label=_("The owner's unit"))
    start_date = _date_field(_("Start date"), required=True)
    end_date = _date_field(_("End date"), required=True)
    opportunity = forms.ModelChoiceField(label=_("From opportunity"), required=False,
                                         queryset=Opportunity.objects.none(), empty_label="—")
    partner = forms.CharField(label=_("Partner"), max_length=200, required=False)
    renewal_notice_days = forms.IntegerField(label=_("Renewal reminder (days before the end)"), min_value=0,
                                             max_value=3650, initial=60)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    DATA_FIELDS = ["number", "title", "type", "owner", "start_date", "end_date", "partner", "renewal_notice_days",
                   "notes", "opportunity", "signing_unit"]

    def __init__(self, *args: Any, user: User, agreement: Agreement | None = None, **kwargs: Any) -> None:
        self.user, self.agreement = user, agreement
        if agreement is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(agreement, name) for name in self.DATA_FIELDS}
        super().__init__(*args, **kwargs)
        self.fields["signing_unit"].queryset = unit_queryset()
        if agreement is not None:
            del self.fields["account"]
            account_id = agreement.account_id
            self.fields["number"].widget.attrs["autofocus"] = True
        else:
            account_id = bound_or_initial(self, "account")
            show_selected(self, "account", Account)
            if self.initial.get("account") and not self.is_bound:
                self.fields["account"].widget.attrs.pop("autofocus", None)
                self.fields["number"].widget.attrs["autofocus"] = True
        try:
            account_id = int(account_id) if account_id not in (None, "") else None
        except (TypeError, ValueError):
            account_id = None
        opportunities = visible(Opportunity.objects.filter(account_id=account_id), user) if account_id \
            else Opportunity.objects.none()
        self.fields["opportunity"].queryset = opportunities.order_by("-updated_at", "id")
        if account_id is None:
            self.fields["opportunity"].help_text = _("Choose the account and save; then pick its opportunity.")
        for name in ("number", "title", "start_date", "end_date"):
            self.fields[name].widget.attrs["data-testid"] = f"agreement-{name.replace('_', '-')}"
        show_selected(self, "owner", User)
        self.style_widgets()

    def clean_account(self) -> Account:
        account = self.cleaned_data["account"]
        if not can(self.user, account, EDIT):
            raise _invalid_choice()
        return account

    def service_data(self, lines: list[dict[str, Any]] | None) -> dict[str, Any]:
        """cleaned_data in the shape agreement_create_for / agreement_update_for take."""
        c = self.cleaned_data
        data = {name: c.get(name) for name in self.DATA_FIELDS}
        data["number"] = (data["number"] or "").strip()
        if data["signing_unit"] is None:
            data.pop("signing_unit")
            if self.agreement is not None and c.get("owner") is not None:
                data["signing_unit"] = c["owner"].unit
        if lines is not None:
            data["lines"] = lines
        if self.agreement is None:
            data["account_id"] = c["account"].pk
        return data

    def field_groups(self) -> list[tuple[Any, list]]:
        first = ["account", "number", "title"] if self.agreement is None else ["number", "title"]
        groups = [
            (_("Agreement"), [*first, "type", "owner", "signing_unit", "start_date", "end_date"]),
            (_("Details"), ["opportunity", "partner", "renewal_notice_days", "notes"]),
        ]
        return [(title, [self[name] for name in names]) for title, names in groups]


MILESTONE_SPLIT = re.compile(r"[;；\n]+")


def parse_milestones(text: str) -> list[list[str]]:
    """"2026-03-31 1000; 2026-06-30 2000" (or with "=" or ":") → [["2026-03-31", "1000"], ...]."""
    out = []
    for part in MILESTONE_SPLIT.split(text or ""):
        part = part.strip()
        if not part:
            continue
        bits = re.split(r"[\s=:：,，]+", part, maxsplit=1)
        if len(bits) != 2:
            raise forms.ValidationError(_("Write each milestone as “date amount”, e.g. “2026-03-31 1000”; "
                                          "separate them with “;”."))
        try:
            day = dt.date.fromisoformat(bits[0].strip())
            amount = Decimal(bits[1].strip().replace(",", ""))
        except (ValueError, InvalidOperation):
            raise forms.ValidationError(_("“%(part)s” is not “date amount” (e.g. “2026-03-31 1000”).")
                                        % {"part": part}) from None
        out.append([day.isoformat(), str(amount)])
    return out


def format_milestones(milestones: list | None) -> str:
    return "; ".join(f"{d} {a}" for d, a in milestones or [])


class AgreementLineForm(TablerFormMixin, forms.Form):
    """One agreement line. Empty value: quantity × unit price; empty dates: the agreement's."""

    autofocus = False

    product = forms.ModelChoiceField(label=_("Product"), required=False, queryset=Product.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), required=False, min_value=Decimal("0"), max_digits=12,
                                  decimal_places=2)
    unit_price = forms.DecimalField(label=_("Unit price"), required=False, min_value=Decimal("0"), max_digits=14,
                                    decimal_places=2)
    amount = forms.DecimalField(label=_("Line value"), required=False, min_value=Decimal("0"), **MONEY,
                                help_text=_("Empty: quantity × unit price."))
    billing_cycle = forms.ChoiceField(label=_("Billing cycle"), choices=BillingCycle.choices,
                                      initial=BillingCycle.MONTHLY)
    rule = forms.ChoiceField(label=_("Revenue rule"), choices=Rule.choices, initial=Rule.MONTHLY)
    remainder = forms.ChoiceField(label=_("Rounding remainder to"), choices=Remainder.choices, initial=Remainder.LAST)
    start_date = _date_field(_("Start date"))
    end_date = _date_field(_("End date"))
    delivery_date = _date_field(_("Delivery date"), help_text=_("For the one-off rule."))
    milestones = forms.CharField(label=_("Milestones"), required=False,
                                 help_text=_("For the milestone rule: “2026-03-31 1000; 2026-06-30 2000”."))

    SERVICE_FIELDS = ["product", "quantity", "unit_price", "amount", "billing_cycle", "rule", "remainder",
                      "start_date", "end_date", "delivery_date", "milestones"]

    def clean_milestones(self) -> list[list[str]]:
        return parse_milestones(self.cleaned_data.get("milestones") or "")

    def clean(self):
        cleaned = super().clean()
        filled = any(cleaned.get(name) not in (None, "", []) for name in
                     ("quantity", "unit_price", "amount", "start_date", "end_date", "delivery_date", "milestones"))
        if cleaned.get("product") is None and filled:
            self.add_error("product", _("Choose a product for this line."))
        if cleaned.get("product") is not None and cleaned.get("amount") is None and cleaned.get("unit_price") is None:
            self.add_error("unit_price", _("Give a unit price or the line's value."))
        return cleaned

    def service_line(self) -> dict[str, Any] | None:
        c = getattr(self, "cleaned_data", None) or {}
        if not c.get("product") or c.get("DELETE"):
            return None
        line: dict[str, Any] = {"product": c["product"],
                                "quantity": c["quantity"] if c.get("quantity") is not None else Decimal("1")}
        for name in ("unit_price", "amount", "start_date", "end_date", "delivery_date"):
            if c.get(name) is not None:
                line[name] = c[name]
        for name in ("billing_cycle", "rule", "remainder"):
            if c.get(name):
                line[name] = c[name]
        if c.get("milestones"):
            line["milestones"] = c["milestones"]
        return line


class AgreementLineFormSet(forms.BaseFormSet):
    """The agreement's lines. Products are read once for the whole formset, not once per row."""

    testid = "line"

    def __init__(self, *args: Any, products: list[Product] | None = None, **kwargs: Any) -> None:
        self.products = products if products is not None else []
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):  # noqa: ANN001
        form = super()._construct_form(i, **kwargs)
        field = form.fields["product"]
        field.queryset = Product.objects.all()
        field.widget.choices = product_choices(self.products)
        for name in ("product", "quantity", "unit_price", "amount", "rule", "start_date", "end_date"):
            form.fields[name].widget.attrs["data-testid"] = f"{self.testid}-{name.replace('_', '-')}-{i}"
        return form

    def service_lines(self) -> list[dict[str, Any]]:
        return [line for line in (form.service_line() for form in self.forms) if line is not None]

    def live_forms(self) -> list[forms.Form]:
        """The forms that became lines, in the order service_lines() lists them."""
        return [form for form in self.forms if form.service_line() is not None]


def line_formset(data=None, *, lines=None, extra: int = 2, prefix: str = "lines",  # noqa: ANN001
                 can_delete: bool = True) -> AgreementLineFormSet:
    """The lines formset: the existing lines (if any) plus `extra` empty rows."""
    products = active_products([line.product for line in lines or []])
    initial = None
    if lines:
        initial = [{"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price,
                    "amount": line.amount, "billing_cycle": line.billing_cycle, "rule": line.rule,
                    "remainder": line.remainder, "start_date": line.start_date, "end_date": line.end_date,
                    "delivery_date": line.delivery_date, "milestones": format_milestones(line.milestones)}
                   for line in lines]
    cls = forms.formset_factory(AgreementLineForm, formset=AgreementLineFormSet, extra=extra, can_delete=can_delete,
                                max_num=100, validate_max=True)
    formset = cls(data, initial=initial, prefix=prefix, products=products)
    formset.testid = "add-line" if prefix == "add" else "line"  # before the forms are built (lazily)
    return formset


# ---- actions on a signed agreement --------------------------------------------------------------

class SignForm(TablerFormMixin, forms.Form):
    autofocus = False

    signed_on = _date_field(_("Signed on"), help_text=_("Empty: today."))


class EffectiveForm(TablerFormMixin, forms.Form):
    """Suspend, resume or terminate from a date."""

    autofocus = False

    effective = _date_field(_("Effective from"), required=True)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, action: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective"].widget.attrs["data-testid"] = f"{action}-effective"
        self.fields["effective"].widget.attrs["id"] = f"id_{action}_effective"
        self.fields["note"].widget.attrs["id"] = f"id_{action}_note"


class RenewForm(TablerFormMixin, forms.Form):
    number = forms.CharField(label=_("New agreement number"), max_length=60,
                             widget=forms.TextInput(attrs={"data-testid": "renew-number"}))
    end_date = _date_field(_("New end date"), required=True)
    start_date = _date_field(_("Start date"), help_text=_("Empty: the day after this agreement ends."))
    title = forms.CharField(label=_("Agreement title"), max_length=200, required=False, help_text=_("Empty: this one's title."))

    def service_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data: dict[str, Any] = {"number": c["number"].strip(), "end_date": c["end_date"]}
        if c.get("start_date"):
            data["start_date"] = c["start_date"]
        if c.get("title"):
            data["title"] = c["title"].strip()
        return data


class AmendForm(TablerFormMixin, forms.Form):
    effective = _date_field(_("Effective from"), required=True,
                            help_text=_("The months before this date's month keep their figures."))
    end_date = _date_field(_("New end of the agreement"),
                           help_text=_("Empty: unchanged. Lines that ran to the old end follow."))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective"].widget.attrs["data-testid"] = "amend-effective"


class AmendLineForm(TablerFormMixin, forms.Form):
    """One existing line in an amendment: only what differs from the line is sent to the service."""

    autofocus = False

    line_id = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(label=_("New value"), required=False, min_value=Decimal("0"), **MONEY,
                                help_text=_("The line's new total value."))
    end_date = _date_field(_("New end date"))
    rule = forms.ChoiceField(label=_("Revenue rule"), required=False, choices=Rule.choices)
    remove = forms.BooleanField(label=_("End this line"), required=False,
                                help_text=_("Ended the day before the effective date."))

    def changes(self) -> tuple[dict[str, Any] | None, int | None]:
        """(the line's changes for agreement_amend, or None) and (its id if it is removed)."""
        c = self.cleaned_data
        line_id = c["line_id"]
        if c.get("remove"):
            return None, line_id
        line = self.initial.get("_line")
        row: dict[str, Any] = {"id": line_id}
        if c.get("amount") is not None and (line is None or c["amount"] != line.amount):
            row["amount"] = c["amount"]
        if c.get("end_date") and (line is None or c["end_date"] != line.end_date):
            row["end_date"] = c["end_date"]
        if c.get("rule") and (line is None or c["rule"] != line.rule):
            row["rule"] = c["rule"]
        return (row if len(row) > 1 else None), None


class AmendLineFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):  # noqa: ANN001
        form = super()._construct_form(i, **kwargs)
        form.fields["amount"].widget.attrs["data-testid"] = f"amend-amount-{i}"
        form.fields["end_date"].widget.attrs["data-testid"] = f"amend-end-{i}"
        form.fields["rule"].widget.attrs["data-testid"] = f"amend-rule-{i}"
        form.fields["remove"].widget.attrs["data-testid"] = f"amend-remove-{i}"
        return form

    def clean(self):
        super().clean()
        allowed = set(self.line_ids)
        for form in self.forms:
            line_id = (getattr(form, "cleaned_data", None) or {}).get("line_id")
            if line_id is not None and line_id not in allowed:
                raise forms.ValidationError(_("Line %(id)s is not on this agreement.") % {"id": line_id})

    def service_changes(self) -> tuple[list[dict[str, Any]], list[int]]:
        rows, removed = [], []
        for form in self.forms:
            row, gone = form.changes()
            if row is not None:
                rows.append(row)
            if gone is not None:
                removed.append(gone)
        return rows, removed


def amend_line_formset(data=None, *, lines) -> AmendLineFormSet:  # noqa: ANN001
    initial = [{"line_id": line.pk, "amount": line.amount, "end_date": line.end_date, "rule": line.rule,
                "_line": line} for line in lines]
    cls = forms.formset_factory(AmendLineForm, formset=AmendLineFormSet, extra=0, max_num=len(lines),
                                validate_max=True)
    formset = cls(data, initial=initial, prefix="change")
    formset.line_ids = [line.pk for line in lines]
    for form, line in zip(formset.forms, lines, strict=False):
        form.line = line
    return formset


# ---- orders -------------------------------------------------------------------------------------

class OrderFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False, search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    agreement = forms.IntegerField(label=_("Agreement"), required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "account", Account)

    def active_filters(self) -> dict[str, Any]:
        return _active_filters(self)


class OrderForm(TablerFormMixin, forms.Form):
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    agreement = forms.ModelChoiceField(label=_("Agreement"), required=False, queryset=Agreement.objects.none(),
                                       empty_label="—")
    number = forms.CharField(label=_("Order number"), max_length=60,
                             widget=forms.TextInput(attrs={"data-testid": "order-number"}))
    ordered_on = _date_field(_("Ordered on"), required=True)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), search_url=USER_LOOKUP,
                              label_from=user_label)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        account_id = bound_or_initial(self, "account")
        try:
            account_id = int(account_id) if account_id not in (None, "") else None
        except (TypeError, ValueError):
            account_id = None
        agreements = visible(Agreement.objects.filter(account_id=account_id), user) if account_id \
            else Agreement.objects.none()
        self.fields["agreement"].queryset = agreements.order_by("-start_date", "-id")
        if account_id is None:
            self.fields["agreement"].help_text = _("Choose the account first; then pick one of its agreements.")
        if self.initial.get("account") and not self.is_bound:
            self.fields["account"].widget.attrs.pop("autofocus", None)
            self.fields["number"].widget.attrs["autofocus"] = True
        self.fields["ordered_on"].widget.attrs["data-testid"] = "order-ordered-on"
        show_selected(self, "account", Account)
        show_selected(self, "owner", User)
        self.style_widgets()

    def clean_account(self) -> Account:
        account = self.cleaned_data["account"]
        if not can(self.user, account, EDIT):
            raise _invalid_choice()
        return account

    def service_data(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        c = self.cleaned_data
        return {"account_id": c["account"].pk, "agreement_id": c["agreement"].pk if c.get("agreement") else None,
                "number": c["number"].strip(), "ordered_on": c["ordered_on"], "owner": c["owner"], "lines": lines}


class OrderLineForm(TablerFormMixin, forms.Form):
    autofocus = False

    product = forms.ModelChoiceField(label=_("Product"), required=False, queryset=Product.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), required=False, min_value=Decimal("0.01"), max_digits=12,
                                  decimal_places=2)
    unit_price = forms.DecimalField(label=_("Unit price"), required=False, min_value=Decimal("0"), max_digits=14,
                                    decimal_places=2)
    delivered_quantity = forms.DecimalField(label=_("Already delivered"), required=False, min_value=Decimal("0"),
                                            max_digits=12, decimal_places=2)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("product") is None and any(cleaned.get(n) is not None for n in
                                                  ("quantity", "unit_price", "delivered_quantity")):
            self.add_error("product", _("Choose a product for this line."))
        elif cleaned.get("product") is not None and cleaned.get("unit_price") is None:
            self.add_error("unit_price", _("Give the unit price."))
        return cleaned


class OrderLineFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, products: list[Product] | None = None, **kwargs: Any) -> None:
        self.products = products or []
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):  # noqa: ANN001
        form = super()._construct_form(i, **kwargs)
        form.fields["product"].queryset = Product.objects.all()
        form.fields["product"].widget.choices = product_choices(self.products)
        for name in ("product", "quantity", "unit_price", "delivered_quantity"):
            form.fields[name].widget.attrs["data-testid"] = f"order-line-{name.replace('_', '-')}-{i}"
        return form

    def service_lines(self) -> list[dict[str, Any]]:
        lines = []
        for form in self.forms:
            c = getattr(form, "cleaned_data", None) or {}
            if not c.get("product"):
                continue
            lines.append({"product": c["product"], "quantity": c.get("quantity") or Decimal("1"),
                          "unit_price": c["unit_price"], "delivered_quantity": c.get("delivered_quantity") or 0})
        return lines


def order_line_formset(data=None, *, initial=None, extra: int = 3) -> OrderLineFormSet:  # noqa: ANN001
    cls = forms.formset_factory(OrderLineForm, formset=OrderLineFormSet, extra=extra, max_num=100, validate_max=True)
    return cls(data, initial=initial, prefix="lines", products=active_products())


class OrderDeliverForm(TablerFormMixin, forms.Form):
    autofocus = False

    line = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.DecimalField(label=_("Delivered now"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
