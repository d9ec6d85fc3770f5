from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kamcrm.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.core.models import AttributeDefinition

        register(AttributeDefinition)
