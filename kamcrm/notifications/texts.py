"""The words of each notification, as translatable message ids: rows store a message key and its
parameters, and are put into words when read, in the reader's language (see models.py)."""
from django.utils.translation import gettext_lazy as _

from kamcrm.notifications.choices import Kind

TITLES = {
    Kind.TARGET_ASSIGNED: _("Targets approved"),
    Kind.PLAN_SENT_BACK: _("Targets sent back"),
    Kind.ACTION_OVERDUE: _("Action overdue"),
    Kind.COMPLETION_BELOW: _("Completion behind"),
}

# message key → text; parameters are filled in with %-formatting (a missing one shows as "…").
MESSAGES = {
    "target_assigned": _("Your targets for %(year)s were approved at the level of %(unit)s."),
    "plan_sent_back": _("The targets below %(unit)s in plan %(plan)s were sent back by %(by)s: %(comment)s"),
    "action_overdue": _("“%(action)s” of the action plan %(plan)s was due on %(due)s and is not done."),
    "completion_below": _("Your month-to-date completion of %(metric)s for %(month)s is %(ratio)s, "
                          "below %(threshold)s."),
    "completion_below_report": _("Month-to-date completion of %(metric)s for %(month)s by %(person)s is "
                                 "%(ratio)s, below %(threshold)s."),
}
