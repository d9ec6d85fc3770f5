from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kamcrm.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        import kamcrm.core.lookups  # noqa: F401  (registers `__in_ids`)
        from kamcrm.audit.registry import register
        from kamcrm.core.models import AttributeDefinition

        register(AttributeDefinition)
