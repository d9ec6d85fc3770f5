"""The upload form: shape only; the service decides what may be attached (and says why not)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.attachments import files
from kamcrm.core.forms import TablerFormMixin


class AttachmentForm(TablerFormMixin, forms.Form):
    autofocus = False  # it sits on the owner's page, below other content

    # allow_empty_file: the service refuses an empty file with the same message for the UI and the API.
    file = forms.FileField(label=_("File"), allow_empty_file=True, max_length=1000,
                           widget=forms.ClearableFileInput(attrs={
                               "accept": ",".join(f".{ext}" for ext in sorted(files.ALLOWED))}))
    description = forms.CharField(label=_("Description"), required=False, max_length=500)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("PDF, Word, Excel, images, text, CSV or ZIP; at most %(limit)s.") % {
            "limit": _limit()}


def _limit() -> str:
    from django.template.defaultfilters import filesizeformat

    from kamcrm.attachments.services import max_bytes

    return filesizeformat(max_bytes())
