"""Forms of the integrations UI (administrators only)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.integrations.models import TokenScope
from kamcrm.org.forms import StyledFormMixin, UserPicker, add_service_errors, user_lookup_url
from kamcrm.org.models import User

__all__ = ["ApiTokenForm", "IntegrationForm", "add_service_errors"]


class IntegrationForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    code = forms.SlugField(label=_("source system"), max_length=40,
                           help_text=_("Short code of the other system, e.g. billing; used as the source system "
                                       "of the records it feeds. It cannot be changed later."))
    description = forms.CharField(label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    contact = forms.ModelChoiceField(label=_("contact person"), queryset=User.objects.all(), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].widget = UserPicker(search_url=user_lookup_url())
        self._style()


class ApiTokenForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100, help_text=_("What the token is for, e.g. nightly billing feed."))
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=TokenScope.choices,
                                       widget=forms.CheckboxSelectMultiple, initial=[TokenScope.READ])
    rate_limit_per_minute = forms.IntegerField(label=_("requests per minute"), min_value=1, max_value=100_000,
                                               initial=600)
    expires_at = forms.DateTimeField(label=_("expires at"), required=False,
                                     help_text=_("Leave empty for a token that does not expire."),
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
        self.fields["scopes"].widget.attrs["class"] = "form-check-input"
