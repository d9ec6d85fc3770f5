from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "kamcrm.activities"
    label = "activities"
    verbose_name = _("Tasks")

    def ready(self):
        from kamcrm.activities.models import SalesPlan, Task, Visit
        from kamcrm.audit.registry import register

        register(Task)
        register(SalesPlan)
        register(Visit)
