"""Base models and the custom-attribute definitions every entity shares."""
from django.db import models
from django.db.models import Q
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _

_CHOICE_LABELS: dict[models.Field, dict] = {}


class ChoiceLabelsModel(models.Model):
    """`get_<field>_display()` from a {value: label} map built once per field.

    Django rebuilds that map on every call, hashing each lazy label — that is, translating every choice
    of the field — which was a tenth of a 50-row list page's time. The labels stay lazy, so each call
    still answers in the active language."""

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field):  # noqa: N802 (Django's name)
        labels = _CHOICE_LABELS.get(field)
        if labels is None:
            labels = _CHOICE_LABELS[field] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)


class TimeStampedModel(ChoiceLabelsModel):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class ExternalIdModel(models.Model):
    """A record another system feeds: (source system, external id) is unique, so upserts are idempotent."""

    source_system = models.CharField(_("source system"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=100, blank=True, default="")

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~Q(external_id=""),
                name="%(app_label)s_%(class)s_external_id_uniq",
            )
        ]


class AttributeType(models.TextChoices):
    TEXT = "text", _("text")
    NUMBER = "number", _("whole number")
    DECIMAL = "decimal", _("decimal")
    DATE = "date", _("date")
    CHOICE = "choice", _("choice")
    MULTI_CHOICE = "multi_choice", _("multiple choice")
    BOOLEAN = "boolean", _("yes/no")


class AttributeEntity(models.TextChoices):
    ACCOUNT = "account", _("account")
    CONTACT = "contact", _("contact")
    OPPORTUNITY = "opportunity", _("opportunity")


class AttributeDefinition(TimeStampedModel):
    """An administrator-defined, typed attribute of an entity; values live in the entity's JSON column."""

    entity = models.CharField(_("entity"), max_length=30, choices=AttributeEntity.choices)
    key = models.SlugField(_("key"), max_length=50, help_text=_("Lower-case letters, digits and underscores."))
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    type = models.CharField(_("type"), max_length=20, choices=AttributeType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True,
                               help_text=_("For choice types: the allowed values."))
    required = models.BooleanField(_("required"), default=False)
    filterable = models.BooleanField(_("usable as list filter"), default=True)
    min_value = models.DecimalField(_("minimum"), max_digits=20, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=20, decimal_places=4, null=True, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    order = models.PositiveIntegerField(_("order"), default=100)

    class Meta:
        ordering = ["entity", "order", "key"]
        verbose_name = _("custom attribute")
        verbose_name_plural = _("custom attributes")
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="core_attrdef_entity_key_uniq")]

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en
