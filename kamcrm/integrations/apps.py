from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "kamcrm.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from kamcrm.audit.registry import register
        from kamcrm.audit.timeline import register_kinds
        from kamcrm.integrations.models import ApiToken, EventType, InboundEvent, Integration

        register(Integration)
        # last_used_at is written with a queryset update (no signal), so it never floods the log.
        register(ApiToken, exclude=("token_hash", "last_used_at"))
        # Received events are audited too (the timeline entry is written by the service itself).
        register(InboundEvent, exclude=("payload", "fingerprint", "timeline_event"))
        register_kinds(EventType.choices)
