"""Receivables UI forms: input only. Views hand the cleaned values to a selector or a service; the
service decides (and its refusals land on the field they name)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import (
    BOOL_CHOICES,
    LookupChoiceField,
    TablerFormMixin,
    account_label,
    show_selected,
    user_label,
)
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.receivables.choices import CollectionKind, InvoiceStatus, PaymentMethod
from kamcrm.receivables.filtersets import BUCKET_CHOICES

__all__ = ["ActivityForm", "AdvanceForm", "AgingFilterForm", "InvoiceFilterForm", "InvoiceForm", "PaymentForm",
           "PromiseForm"]

USER_LOOKUP = reverse_lazy("user_lookup")
ACCOUNT_LOOKUP = reverse_lazy("customers:account_lookup")
DATE_ATTRS = {"class": "js-date", "autocomplete": "off", "placeholder": "YYYY-MM-DD"}
MONEY = {"max_digits": 16, "decimal_places": 2}


def _date(label: Any, *, required: bool = False, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=required,
                           widget=forms.DateInput(attrs=dict(DATE_ATTRS), format="%Y-%m-%d"), **kwargs)


def _money(label: Any, *, required: bool = True, minimum: str = "0.01", **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=required, min_value=Decimal(minimum), **MONEY, **kwargs)




def _units():
    return OrgUnit.objects.filter(is_active=True).order_by("path")


def _active(form: forms.Form, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    if not form.is_bound:
        return {}
    return {k: v for k, v in form.data.lists() if k in form.fields and k not in ignore and any(x != "" for x in v)}


class _ScopeFields(forms.Form):
    owner_unit = forms.ModelChoiceField(label=_("Owning unit"), required=False, queryset=OrgUnit.objects.none(),
                                        empty_label=_("Any unit"))
    owner = LookupChoiceField(User.objects.all(), label=_("Account manager"), required=False, search_url=USER_LOOKUP,
                              label_from=user_label)
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False, search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)


class AgingFilterForm(TablerFormMixin, _ScopeFields):
    """The receivables page: whose receivables (unit subtree, account manager, account) and as of which day."""

    autofocus = False

    as_of = _date(_("As of"), help_text=_("Empty: today. Only payments received by then count."))
    invoiced_from = _date(_("Invoiced from"), help_text=_("For the paid-late figures."))
    invoiced_to = _date(_("Invoiced to"))

    field_order = ["as_of", "owner_unit", "owner", "account", "invoiced_from", "invoiced_to"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _units()
        self.style_widgets()
        show_selected(self, "owner", User)
        show_selected(self, "account", Account)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("invoiced_from"), cleaned.get("invoiced_to")
        if start and end and end < start:
            self.add_error("invoiced_to", _("“Invoiced to” must not be before “invoiced from”."))
        return cleaned

    def scope(self) -> dict[str, Any]:
        """The selectors' scope filters (the invoice FilterSet's names), as the records chosen."""
        c = self.cleaned_data
        return {k: c[k] for k in ("owner_unit", "owner", "account") if c.get(k) is not None}

    def active_filters(self) -> dict[str, Any]:
        return _active(self)


class InvoiceFilterForm(TablerFormMixin, _ScopeFields):
    """The invoice list's filters; the same names the InvoiceFilterSet and the API take."""

    autofocus = False

    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Invoice number"),
                                                      "data-testid": "invoice-search"}))
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=InvoiceStatus.choices,
                                       widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=BOOL_CHOICES)
    disputed = forms.ChoiceField(label=_("Disputed"), required=False, choices=BOOL_CHOICES)
    invoice_from = _date(_("Invoice date from"))
    invoice_to = _date(_("Invoice date to"))
    due_from = _date(_("Due from"))
    due_to = _date(_("Due by"))
    as_of = _date(_("Open on"), help_text=_("Only invoices open at the end of this day."))
    bucket = forms.ChoiceField(label=_("Aging bucket"), required=False, choices=[("", "—"), *BUCKET_CHOICES])

    field_order = ["q", "status", "overdue", "disputed", "account", "owner", "owner_unit", "invoice_from", "invoice_to",
                   "due_from", "due_to", "as_of", "bucket"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _units()
        self.style_widgets()
        show_selected(self, "owner", User)
        show_selected(self, "account", Account)

    def active_filters(self) -> dict[str, Any]:
        return _active(self)


class InvoiceForm(TablerFormMixin, forms.Form):
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    number = forms.CharField(label=_("Invoice number"), max_length=60)
    invoice_date = _date(_("Invoice date"), required=True)
    due_date = _date(_("Due date"), help_text=_("Empty: 30 days after the invoice date."))
    amount = _money(_("Amount (net)"), minimum="0")
    tax = _money(_("Tax"), required=False, minimum="0")
    disputed = forms.BooleanField(label=_("Disputed"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "account", Account)

    def service_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"account": c["account"], "number": c["number"], "invoice_date": c["invoice_date"],
                "due_date": c.get("due_date"), "amount": c["amount"], "tax": c.get("tax") or Decimal("0"),
                "disputed": bool(c.get("disputed"))}


class PaymentForm(TablerFormMixin, forms.Form):
    """A payment received for one invoice: `allocate` of it pays the invoice, the rest stays an advance."""

    autofocus = False
    prefix = "payment"

    received_on = _date(_("Received on"), required=True)
    amount = _money(_("Amount received"))
    allocate = _money(_("Of which for this invoice"), required=False,
                      help_text=_("Empty: as much as the invoice has open. Whatever is left stays an advance."))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.TRANSFER)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)

    def clean(self):
        cleaned = super().clean()
        amount, allocate = cleaned.get("amount"), cleaned.get("allocate")
        if amount is not None and allocate is not None and allocate > amount:
            self.add_error("allocate", _("At most the amount received."))
        return cleaned


class AdvanceForm(TablerFormMixin, forms.Form):
    """Apply (part of) an advance — a payment's unallocated part — to this invoice."""

    autofocus = False
    prefix = "advance"

    payment = forms.TypedChoiceField(label=_("Advance"), coerce=int)
    amount = _money(_("Amount"), required=False, help_text=_("Empty: as much as both allow."))

    def __init__(self, *args: Any, advances: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [
            (p.pk, _("%(day)s · %(left)s left of %(amount)s") % {"day": p.received_on.isoformat(), "left": p.unallocated,
                                                                 "amount": p.amount})
            for p in advances or []]
        self.style_widgets()


class PromiseForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "promise"

    promised_on = _date(_("Promised for"), required=True)
    amount = _money(_("Amount"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ActivityForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "activity"

    kind = forms.ChoiceField(label=_("Kind"), choices=CollectionKind.choices)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
