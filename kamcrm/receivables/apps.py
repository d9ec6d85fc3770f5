from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceivablesConfig(AppConfig):
    name = "kamcrm.receivables"
    label = "receivables"
    verbose_name = _("Receivables")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.audit.timeline import register_kinds
        from kamcrm.receivables.models import (
            CollectionActivity,
            CollectionPromise,
            Invoice,
            Payment,
            PaymentAllocation,
        )

        register(Invoice, exclude=("paid_amount", "status", "settled_on"), timeline=True)
        register(Payment, exclude=("allocated",), timeline=True)
        register(PaymentAllocation)
        register(CollectionPromise)
        register(CollectionActivity)  # its timeline entry is written by services.activity_log
        register_kinds([("collection", _("collection"))])
