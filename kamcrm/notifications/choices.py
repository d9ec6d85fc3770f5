from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a notification is about; each kind has its own dedupe-key scheme (see events.py)."""

    TARGET_ASSIGNED = "target_assigned", _("targets approved")
    PLAN_SENT_BACK = "plan_sent_back", _("targets sent back")
    ACTION_OVERDUE = "action_overdue", _("action overdue")
    COMPLETION_BELOW = "completion_below", _("completion behind")
