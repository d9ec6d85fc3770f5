"""Products UI forms: input only. Views hand `cleaned_data` to a service; the service decides."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import TablerFormMixin
from kamcrm.products.choices import PlanPriority, ProductStatus
from kamcrm.products.models import ProductLine
from kamcrm.products.selectors import PlanGrid

__all__ = ["PlanGridForm", "ProductFilterForm", "ProductForm", "ProductLineForm"]

DATE_ATTRS = {"class": "js-date", "autocomplete": "off", "placeholder": "YYYY-MM-DD"}


class ProductFilterForm(TablerFormMixin, forms.Form):
    """The product list's filters; the same names the ProductFilterSet and the API take."""

    autofocus = False

    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "data-testid": "product-search",
                                                      "placeholder": _("Name or code")}))
    line = forms.ModelChoiceField(label=_("Product line"), required=False, queryset=ProductLine.objects.none(),
                                  empty_label=_("Any product line"))
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=ProductStatus.choices,
                                       widget=forms.SelectMultiple(attrs={"class": "js-choices"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = ProductLine.objects.order_by("code")

    def active_filters(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.lists() if k in self.fields and any(x != "" for x in v)} \
            if self.is_bound else {}


class ProductLineForm(TablerFormMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, line: ProductLine | None = None, **kwargs: Any) -> None:
        if line is not None:
            kwargs.setdefault("initial", {name: getattr(line, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ProductForm(TablerFormMixin, forms.Form):
    line = forms.ModelChoiceField(label=_("Product line"), queryset=ProductLine.objects.none())
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False, help_text=_("e.g. 条/月, 套, 年"))
    list_price = forms.DecimalField(label=_("List price"), max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    status = forms.ChoiceField(label=_("Status"), choices=ProductStatus.choices, initial=ProductStatus.ACTIVE)
    launched_on = forms.DateField(label=_("Launched on"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS))
    end_of_sale_on = forms.DateField(label=_("End of sale"), required=False,
                                     widget=forms.DateInput(attrs=DATE_ATTRS))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, product=None, **kwargs: Any) -> None:  # noqa: ANN001
        from django.conf import settings

        initial = kwargs.setdefault("initial", {})
        if product is not None:
            for name in self.base_fields:
                initial.setdefault(name, getattr(product, name))
        initial.setdefault("currency", settings.CURRENCY)
        super().__init__(*args, **kwargs)
        lines = ProductLine.objects.order_by("code")
        if product is None:
            lines = lines.filter(is_active=True)
        self.fields["line"].queryset = lines

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["currency"] = (data.get("currency") or "").upper()
        return data


class PlanGridForm(forms.Form):
    """One priority and target per (product line, region) cell of the year's plan grid.

    Field names are `p_<line id>_<region id>` (priority; empty = not in the plan) and
    `t_<line id>_<region id>` (target amount)."""

    def __init__(self, *args: Any, grid: PlanGrid, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grid = grid
        choices = [("", "—"), *PlanPriority.choices]
        for line, cells in grid.rows():
            for region, plan in cells:
                key = f"{line.pk}_{region.pk}"
                label = f"{line} · {region}"
                self.fields[f"p_{key}"] = forms.ChoiceField(
                    label=_("Priority of %(cell)s") % {"cell": label}, choices=choices, required=False,
                    initial=plan.priority if plan else "",
                    widget=forms.Select(attrs={"class": "form-select form-select-sm",
                                               "data-testid": f"priority-{key}"}))
                self.fields[f"t_{key}"] = forms.DecimalField(
                    label=_("Target amount of %(cell)s") % {"cell": label}, required=False, min_value=0,
                    max_digits=16, decimal_places=2, initial=plan.target_amount if plan else None,
                    widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "0.01",
                                                    "min": "0", "placeholder": _("target"),
                                                    "data-testid": f"target-{key}"}))

    def cells(self):  # noqa: ANN201
        """Rows for the template: (line, [(region, priority field, target field, errors)])."""
        out = []
        for line, cells in self.grid.rows():
            row = []
            for region, _plan in cells:
                key = f"{line.pk}_{region.pk}"
                p, t = self[f"p_{key}"], self[f"t_{key}"]
                row.append((region, p, t, [*p.errors, *t.errors]))
            out.append((line, row))
        return out

    def entries(self) -> list[dict[str, Any]]:
        out = []
        for line, cells in self.grid.rows():
            for region, plan in cells:
                key = f"{line.pk}_{region.pk}"
                out.append({"line": line, "region": region, "priority": self.cleaned_data.get(f"p_{key}") or "",
                            "target_amount": self.cleaned_data.get(f"t_{key}"),
                            "notes": plan.notes if plan else ""})
        return out

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            cell, _sep, name = key.partition(".")
            target = f"t_{cell}" if name == "target_amount" else f"p_{cell}"
            for message in messages:
                self.add_error(target if target in self.fields else None, message)
