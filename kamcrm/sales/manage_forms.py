"""Forms of the sales managers' pages: reassigning an account."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import LookupChoiceField, TablerFormMixin, user_label
from kamcrm.customers.forms import USER_LOOKUP
from kamcrm.org.models import User

POLICY_CHOICES = [
    ("open", _("Move the open deals, the deals won from the effective date and the open tasks")),
    ("account_only", _("Move only the account")),
]


class ReassignForm(TablerFormMixin, forms.Form):
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("New account manager"),
                              search_url=USER_LOOKUP, label_from=user_label)
    effective_on = forms.DateField(label=_("Effective date"), widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=_("Today or earlier. Deals the current owner closed before this date stay "
                                               "theirs."))
    policy = forms.ChoiceField(label=_("What moves with it"), choices=POLICY_CHOICES, initial="open",
                               widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("effective_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.style_widgets()
        value = self.data.get("owner") if self.is_bound else None
        if value:
            try:
                self.fields["owner"].show_selected(User.objects.select_related("unit").filter(pk=int(value)).first())
            except (TypeError, ValueError):
                pass
