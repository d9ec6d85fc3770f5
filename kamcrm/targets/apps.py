from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "kamcrm.targets"
    label = "targets"
    verbose_name = _("Targets")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.targets.models import Metric, TargetLine, TargetPlan, TargetReview

        register(Metric)
        register(TargetPlan)
        register(TargetLine)
        register(TargetReview)
