from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttachmentsConfig(AppConfig):
    name = "kamcrm.attachments"
    label = "attachments"
    verbose_name = _("Attachments")

    def ready(self):
        from django.urls import reverse

        from kamcrm.agreements.models import Agreement
        from kamcrm.attachments.registry import register
        from kamcrm.audit.timeline import register_kinds

        # Which records take attachments. Another app may register its own models in its ready().
        register(Agreement, key="agreement", api_prefix="agreements",
                 url=lambda agreement: reverse("agreements:agreement", args=[agreement.pk]))
        register_kinds([("attachment_added", _("attachment added")),
                        ("attachment_deleted", _("attachment deleted"))])
