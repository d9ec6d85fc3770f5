"""Sales UI forms: input only. Views hand `service_data()` to a service; the service decides."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import (
    LookupChoiceField,
    LookupSelect,
    TablerFormMixin,
    account_label,
    bound_or_initial,
    show_selected,
    user_label,
)
from kamcrm.customers.models import Account, Contact
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, can, visible
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product, ProductLine
from kamcrm.sales.choices import OpportunitySource, StageKind
from kamcrm.sales.models import Stage

__all__ = ["FunnelFilterForm", "OpportunityFilterForm", "OpportunityForm", "OpportunityLineForm",
           "OpportunityLineFormSet", "MoveForm", "line_formset"]

USER_LOOKUP = reverse_lazy("user_lookup")
ACCOUNT_LOOKUP = reverse_lazy("customers:account_lookup")
DATE_ATTRS = {"class": "js-date", "autocomplete": "off", "placeholder": "YYYY-MM-DD"}


def _date_field(label: str, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs=dict(DATE_ATTRS), format="%Y-%m-%d"),
                           **kwargs)




class LookupSelectMultiple(LookupSelect, forms.SelectMultiple):
    """LookupSelect for several rows: the picker (static/kamcrm/app.js, `select[data-search-url]`)
    searches the server as one types; Enter adds the highlighted row, Escape clears the search text,
    Backspace (in an empty search) removes the last row."""


class LookupMultipleChoiceField(forms.ModelMultipleChoiceField):
    """LookupChoiceField's many-valued twin: validates against the queryset, renders only the chosen rows."""

    def __init__(self, queryset, *, search_url: str = "", label_from=None, **kwargs: Any) -> None:  # noqa: ANN001
        kwargs.setdefault("widget", LookupSelectMultiple(search_url))
        super().__init__(queryset, **kwargs)
        self.widget.choices = []
        self.label_from = label_from or str

    def _set_queryset(self, queryset) -> None:  # noqa: ANN001
        # As LookupChoiceField: never point the widget at an iterator over the whole table.
        self._queryset = None if queryset is None else queryset.all()

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def show_selected(self, objs) -> None:  # noqa: ANN001
        self.widget.choices = [(obj.pk, self.label_from(obj)) for obj in objs]


def _show_selected_users(form: forms.Form, name: str) -> None:
    """Label the chosen people of a multi-valued user lookup: the initial User rows as given, or the
    posted ids in one query."""
    if form.is_bound:
        ids = []
        for value in form.fields[name].widget.value_from_datadict(form.data, form.files, form.add_prefix(name)) or []:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                continue
        users = list(User.objects.select_related("unit").filter(pk__in=ids).order_by("username", "id")) if ids else []
    else:
        users = [u for u in form.initial.get(name) or [] if isinstance(u, User)]
    form.fields[name].show_selected(users)


def _invalid_choice() -> forms.ValidationError:
    return forms.ValidationError(forms.ModelChoiceField.default_error_messages["invalid_choice"],
                                 code="invalid_choice")


def unit_queryset():
    return OrgUnit.objects.filter(is_active=True).order_by("path")


def _active_filters(form: forms.Form) -> dict[str, Any]:
    return {k: v for k, v in form.data.lists() if k in form.fields and any(x != "" for x in v)} \
        if form.is_bound else {}


class OpportunityFilterForm(TablerFormMixin, forms.Form):
    """The list's and the board's filters; the same names the OpportunityFilterSet and the API take."""

    autofocus = False

    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "data-testid": "opportunity-search",
                                                      "placeholder": _("Opportunity name")}))
    stage = forms.ModelMultipleChoiceField(label=_("Stage"), required=False, queryset=Stage.objects.none(),
                                           widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    kind = forms.ChoiceField(label=_("Open, won or lost"), required=False, choices=[("", "—"), *StageKind.choices])
    owner = LookupChoiceField(User.objects.all(), label=_("Owner"), required=False, search_url=USER_LOOKUP,
                              label_from=user_label)
    owner_unit = forms.ModelChoiceField(label=_("Owning unit"), required=False, queryset=OrgUnit.objects.none(),
                                        empty_label=_("Any unit"))
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False, search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                          queryset=ProductLine.objects.none(), empty_label=_("Any product line"))
    source = forms.MultipleChoiceField(label=_("Source"), required=False, choices=OpportunitySource.choices,
                                       widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    close_from = _date_field(_("Expected close from"))
    close_to = _date_field(_("Expected close to"))

    def __init__(self, *args: Any, stages: list[Stage] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.order_by("order", "id")
        if stages is not None:  # the page already read them: no second query to render the choices
            self.fields["stage"].widget.choices = [(s.pk, s.label) for s in stages]
        self.fields["owner_unit"].queryset = unit_queryset()
        self.fields["product_line"].queryset = ProductLine.objects.order_by("code")
        self.style_widgets()
        show_selected(self, "owner", User)
        show_selected(self, "account", Account)

    def active_filters(self) -> dict[str, Any]:
        return _active_filters(self)


class FunnelFilterForm(TablerFormMixin, forms.Form):
    """The funnel's filters: unit subtree, owner, product line, expected close period, "as of" date."""

    autofocus = False
    MEASURES = [("count", _("Count")), ("amount", _("Amount")), ("reached", _("Reached"))]

    unit = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=OrgUnit.objects.none(),
                                  empty_label=_("Everything I may see"))
    owner = LookupChoiceField(User.objects.all(), label=_("Owner"), required=False, search_url=USER_LOOKUP,
                              label_from=user_label)
    product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                          queryset=ProductLine.objects.none(), empty_label=_("Any product line"))
    close_from = _date_field(_("Expected close from"))
    close_to = _date_field(_("Expected close to"))
    as_of = _date_field(_("As of"), help_text=_("Empty: today. A past date rebuilds the funnel from the stage history."))
    measure = forms.ChoiceField(label=_("Chart"), required=False, choices=MEASURES, initial="count",
                                widget=forms.Select(attrs={"data-testid": "funnel-measure"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset()
        self.fields["product_line"].queryset = ProductLine.objects.order_by("code")
        self.style_widgets()
        show_selected(self, "owner", User)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("close_from"), cleaned.get("close_to")
        if start and end and end < start:
            self.add_error("close_to", _("“Expected close to” must not be before “expected close from”."))
        return cleaned

    def active_filters(self) -> dict[str, Any]:
        return {k: v for k, v in _active_filters(self).items() if k != "measure"}

    def selector_args(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"unit": c.get("unit"), "owner": c.get("owner"),
                "line_id": c["product_line"].pk if c.get("product_line") else None,
                "close_from": c.get("close_from"), "close_to": c.get("close_to"), "as_of": c.get("as_of")}

    def list_query(self) -> list[tuple[str, str]]:
        """The same filters in the list's names, for the drill-down links."""
        c = self.cleaned_data
        pairs = []
        if c.get("unit"):
            pairs.append(("owner_unit", str(c["unit"].pk)))
        if c.get("owner"):
            pairs.append(("owner", str(c["owner"].pk)))
        if c.get("product_line"):
            pairs.append(("product_line", str(c["product_line"].pk)))
        for name in ("close_from", "close_to"):
            if c.get(name):
                pairs.append((name, c[name].isoformat()))
        return pairs


class OpportunityForm(TablerFormMixin, forms.Form):
    """Create or edit an opportunity. The stage is chosen at creation only; afterwards the stage
    buttons move it (opportunity_move checks exit criteria and required fields)."""

    account = LookupChoiceField(Account.objects.all(), label=_("Account"), search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    name = forms.CharField(label=_("Name"), max_length=200)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), search_url=USER_LOOKUP,
                              label_from=user_label)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), empty_label=None)
    expected_close_date = _date_field(_("Expected close date"))
    amount = forms.DecimalField(label=_("Amount (CNY)"), required=False, min_value=Decimal("0"), max_digits=16,
                                decimal_places=2,
                                help_text=_("Only without product lines; with lines the amount is their sum."))
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", "—"), *OpportunitySource.choices])
    competitor = forms.CharField(label=_("Competitor"), max_length=100, required=False)
    contacts = forms.ModelMultipleChoiceField(label=_("Contacts involved"), required=False,
                                              queryset=Contact.objects.none(),
                                              widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    # Any user, so that the service (not a generic "invalid choice") says why an inactive one is refused.
    collaborators = LookupMultipleChoiceField(User.objects.all(), label=_("Collaborators"), required=False,
                                              search_url=USER_LOOKUP, label_from=user_label,
                                              help_text=_("Colleagues from any unit, or partners, who help win it."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    DATA_FIELDS = ["name", "owner", "expected_close_date", "source", "competitor", "description"]

    def __init__(self, *args: Any, user: User, opportunity=None, **kwargs: Any) -> None:  # noqa: ANN001
        self.user, self.opportunity = user, opportunity
        if opportunity is not None and "initial" not in kwargs:
            initial = {name: getattr(opportunity, name) for name in self.DATA_FIELDS}
            initial["amount"] = opportunity.amount
            initial["contacts"] = [c.pk for c in opportunity.contacts.all()]
            initial["collaborators"] = list(opportunity.collaborators.select_related("unit").order_by("username",
                                                                                                      "id"))
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        if opportunity is not None:
            del self.fields["account"]
            del self.fields["stage"]
            account_id = opportunity.account_id
            self.fields["name"].widget.attrs["autofocus"] = True
        else:
            self.fields["stage"].queryset = Stage.objects.filter(is_active=True, kind=StageKind.OPEN).order_by(
                "order", "id")
            account_id = bound_or_initial(self, "account")
            show_selected(self, "account", Account)
            if self.initial.get("account") and not self.is_bound:
                self.fields["account"].widget.attrs.pop("autofocus", None)
                self.fields["name"].widget.attrs["autofocus"] = True
        try:
            account_id = int(account_id) if account_id not in (None, "") else None
        except (TypeError, ValueError):
            account_id = None
        # Only contacts the user may edit through their account: an unknown account's contacts stay unknown.
        contacts = visible(Contact.objects.filter(account_id=account_id), user, EDIT) if account_id \
            else Contact.objects.none()
        self.fields["contacts"].queryset = contacts.order_by("name", "id")
        if account_id is None:
            self.fields["contacts"].help_text = _("Choose the account and save; then pick its contacts.")
        self.fields["contacts"].widget.attrs["data-testid"] = "opportunity-contacts"
        self.fields["collaborators"].widget.attrs["data-testid"] = "opportunity-collaborators"
        show_selected(self, "owner", User)
        _show_selected_users(self, "collaborators")
        self.style_widgets()

    def clean_account(self) -> Account:
        account = self.cleaned_data["account"]
        if not can(self.user, account, EDIT):
            raise _invalid_choice()
        return account

    def service_data(self, lines: list[dict[str, Any]] | None) -> dict[str, Any]:
        """cleaned_data in the shape opportunity_create_for / opportunity_update_for take."""
        c = self.cleaned_data
        data = {name: c[name] for name in self.DATA_FIELDS}
        data["contacts"] = list(c["contacts"])
        data["collaborators"] = list(c["collaborators"])
        if lines is not None:
            data["lines"] = lines
        if not lines and c.get("amount") is not None:
            data["amount"] = c["amount"]
        if self.opportunity is None:
            data["account_id"] = c["account"].pk
            data["stage"] = c["stage"]
        return data

    def field_groups(self) -> list[tuple[str, list]]:
        first = ["account", "name", "owner", "stage"] if self.opportunity is None else ["name", "owner"]
        groups = [
            (_("Opportunity"), [*first, "expected_close_date", "amount"]),
            (_("Details"), ["source", "competitor", "contacts", "collaborators", "description"]),
        ]
        return [(title, [self[name] for name in names]) for title, names in groups]


class OpportunityLineForm(TablerFormMixin, forms.Form):
    autofocus = False

    product = forms.ModelChoiceField(label=_("Product"), required=False, queryset=Product.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), required=False, min_value=Decimal("0.01"), max_digits=12,
                                  decimal_places=2)
    unit_price = forms.DecimalField(label=_("Unit price"), required=False, min_value=Decimal("0"), max_digits=14,
                                    decimal_places=2, help_text=_("Empty: the list price."))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("product") is None and (cleaned.get("quantity") is not None
                                               or cleaned.get("unit_price") is not None):
            self.add_error("product", _("Choose a product for this line."))
        return cleaned


class OpportunityLineFormSet(forms.BaseFormSet):
    """The product lines. Products are read once for the whole formset, not once per row."""

    def __init__(self, *args: Any, products: list[Product] | None = None, **kwargs: Any) -> None:
        self.products = products if products is not None else []
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):  # noqa: ANN001
        form = super()._construct_form(i, **kwargs)
        field = form.fields["product"]
        field.queryset = Product.objects.all()
        field.widget.choices = [("", "—"), *[(p.pk, f"{p.code} · {p.name}") for p in self.products]]
        field.widget.attrs["data-testid"] = f"line-product-{i}"
        form.fields["quantity"].widget.attrs["data-testid"] = f"line-quantity-{i}"
        form.fields["unit_price"].widget.attrs["data-testid"] = f"line-price-{i}"
        return form

    def service_lines(self) -> list[dict[str, Any]]:
        lines = []
        for form in self.forms:
            c = getattr(form, "cleaned_data", None) or {}
            if not c.get("product") or c.get("DELETE"):
                continue
            lines.append({"product": c["product"],
                          "quantity": c["quantity"] if c.get("quantity") is not None else Decimal("1"),
                          "unit_price": c.get("unit_price")})
        return lines


def line_formset(data=None, *, opportunity=None, lines=None, extra: int = 2) -> OpportunityLineFormSet:  # noqa: ANN001
    """The lines formset: the existing lines (if any) plus `extra` empty rows."""
    products = list(Product.objects.filter(status=ProductStatus.ACTIVE).order_by("code"))
    initial = None
    if lines:
        initial = [{"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
                   for line in lines]
        known = {p.pk for p in products}
        products += [line.product for line in lines if line.product_id not in known]
    cls = forms.formset_factory(OpportunityLineForm, formset=OpportunityLineFormSet, extra=extra, can_delete=True,
                                max_num=50, validate_max=True)
    return cls(data, initial=initial, prefix="lines", products=products)


class MoveForm(forms.Form):
    """A stage move from the detail page or the board."""

    stage = forms.IntegerField(min_value=1)
    lost_reason = forms.CharField(max_length=200, required=False)
    next = forms.CharField(required=False)

    def lost_reason_or_none(self) -> str | None:
        reason = (self.cleaned_data.get("lost_reason") or "").strip()
        return reason or None

