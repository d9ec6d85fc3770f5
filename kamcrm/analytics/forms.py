"""The revenue analysis page's filters."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import LookupChoiceField, TablerFormMixin, show_selected, user_label
from kamcrm.org.choices import UnitKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.sales.forms import USER_LOOKUP, unit_queryset

MEASURE_LABELS = {"expected": _("Expected revenue"), "billed": _("Billed revenue"), "collected": _("Collected cash"),
                  "recognised": _("Recognised revenue")}


class RevenueFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    unit = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=OrgUnit.objects.none(),
                                  empty_label=_("Everything I may see"))
    region = forms.ModelChoiceField(label=_("Region"), required=False, queryset=OrgUnit.objects.none(),
                                    empty_label=_("Any region"))
    owner = LookupChoiceField(User.objects.all(), label=_("Owner"), required=False, search_url=USER_LOOKUP,
                              label_from=user_label)
    measure = forms.ChoiceField(label=_("Units × months shows"), required=False, initial="expected",
                                choices=list(MEASURE_LABELS.items()))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset()
        self.fields["region"].queryset = OrgUnit.objects.filter(
            is_active=True, kind__in=[UnitKind.BRANCH, UnitKind.REGION]).order_by("path")
        self.style_widgets()
        show_selected(self, "owner", User)

    def args(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"year": c.get("year") or timezone.localdate().year, "unit": c.get("unit"), "region": c.get("region"),
                "owner": c.get("owner"), "measure": c.get("measure") or "expected"}
