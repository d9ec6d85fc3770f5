from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "kamcrm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.audit.timeline import register_kinds
        from kamcrm.sales.models import FunnelRule, Opportunity, OpportunityLine, Stage

        register(Stage)
        register(Opportunity, exclude=("stage_entered_at",), timeline=True)
        register(OpportunityLine)
        register(FunnelRule)  # business settings, changed in the UI and the API
        register_kinds([("stage_change", _("stage change")), ("owner_change", _("account manager change"))])
