from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgreementsConfig(AppConfig):
    name = "kamcrm.agreements"
    label = "agreements"
    verbose_name = _("Agreements")

    def ready(self):
        from kamcrm.agreements.models import Agreement, AgreementLine, Order, OrderLine, RevenueRecognition
        from kamcrm.audit.registry import register
        from kamcrm.audit.timeline import register_kinds

        register(Agreement, exclude=("total_value", "status_since"), timeline=True)
        register(AgreementLine, exclude=("version",))
        register(Order, timeline=True)
        register(OrderLine)
        register(RevenueRecognition, exclude=("recorded_at",))
        register_kinds([("agreement_change", _("agreement change"))])
