from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoaConfig(AppConfig):
    name = "kamcrm.poa"
    label = "poa"
    verbose_name = _("Action plans (POA)")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.poa.models import Action, ActionPlan, Objective, PlanCycle, WeeklyItem, WeeklyPlan

        register(ActionPlan, timeline=False)
        register(PlanCycle)
        register(Objective)
        register(Action)
        register(WeeklyPlan)
        register(WeeklyItem)
