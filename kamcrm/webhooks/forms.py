from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.webhooks.events import event_type_choices
from kamcrm.webhooks.models import DeliveryStatus, WebhookSubscription


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    target_url = forms.CharField(label=_("Target URL"), max_length=500,
                                 help_text=_("http:// or https:// address that receives the events as POST requests."))
    event_types = forms.MultipleChoiceField(label=_("Event types"), choices=event_type_choices,
                                            widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    allow_private_targets = forms.BooleanField(
        label=_("Allow private targets"), required=False,
        help_text=_("Allow loopback, link-local and private network addresses. Administrators only; "
                    "turn on only for receivers inside your own network."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "target_url"):
            self.fields[name].widget.attrs["class"] = "form-control"
        for name in ("active", "allow_private_targets"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        self.fields["event_types"].widget.attrs["class"] = "form-check-input"

    @classmethod
    def initial_for(cls, s: WebhookSubscription) -> dict:
        return {"name": s.name, "target_url": s.target_url, "event_types": s.event_types, "active": s.active,
                "allow_private_targets": s.allow_private_targets}


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *DeliveryStatus.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].widget.attrs["class"] = "form-select"
