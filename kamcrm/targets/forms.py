"""Filters of the target pages."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import TablerFormMixin
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets.choices import Period, ReviewAction
from kamcrm.targets.models import Metric


class PlanGridForm(TablerFormMixin, forms.Form):
    autofocus = False

    metric = forms.ModelChoiceField(label=_("Metric"), required=False, to_field_name="code",
                                    queryset=Metric.objects.filter(is_active=True), empty_label=None)


class CompletionFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    unit = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=OrgUnit.objects.filter(is_active=True),
                                  empty_label=_("Myself"))
    person = forms.ModelChoiceField(label=_("Person"), required=False, queryset=User.objects.none(),
                                    widget=forms.HiddenInput)
    period = forms.ChoiceField(label=_("Period"), required=False, choices=Period.choices, initial=Period.MONTH)
    on = forms.DateField(label=_("As of"), required=False)
    metric = forms.ModelChoiceField(label=_("Ranking by"), required=False, to_field_name="code",
                                    queryset=Metric.objects.filter(is_active=True), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = User.objects.filter(is_active=True).select_related("unit")


class PlanCreateForm(TablerFormMixin, forms.Form):
    autofocus = False

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)


class MonthsForm(TablerFormMixin, forms.Form):
    """Twelve months for each of some rows (a node set directly, or the children a parent is split onto):
    fields `r<i>_m<month>`, named so that an error names the row and the month."""

    autofocus = False

    def __init__(self, *args, rows: list, initial_months: dict[int, list], metric: Metric, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        places = 0 if metric.is_count else 2
        for i, row in enumerate(rows):
            for month in range(1, 13):
                value = initial_months.get(i, [None] * 12)[month - 1]
                self.fields[f"r{i}_m{month}"] = forms.DecimalField(
                    label=f"{row} · {month}", required=False, min_value=0, decimal_places=places, max_digits=18,
                    initial=value, widget=forms.NumberInput(attrs={"step": "1" if places == 0 else "0.01",
                                                                   "class": "form-control form-control-sm text-end"}))

    def cells(self) -> list[tuple]:
        """(row, [bound fields for months 1–12]) for the template."""
        return [(row, [self[f"r{i}_m{m}"] for m in range(1, 13)]) for i, row in enumerate(self.rows)]

    def amounts(self) -> dict:
        """{row: [twelve amounts]} from the cleaned data (an empty cell is 0)."""
        return {row: [self.cleaned_data.get(f"r{i}_m{m}") or 0 for m in range(1, 13)]
                for i, row in enumerate(self.rows)}


class SuggestForm(TablerFormMixin, forms.Form):
    autofocus = False

    basis = forms.ChoiceField(label=_("Start from"), choices=[
        ("schedule", _("expected revenue in the schedules + weighted pipeline")),
        ("last_year", _("last year's actuals × (1 + growth)"))])
    growth = forms.DecimalField(label=_("Growth %"), required=False, max_digits=6, decimal_places=2, initial=0)


class ReviewForm(TablerFormMixin, forms.Form):
    autofocus = False

    unit = forms.ModelChoiceField(label=_("Level"), queryset=OrgUnit.objects.filter(is_active=True))
    action = forms.ChoiceField(label=_("Action"), choices=ReviewAction.choices)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
