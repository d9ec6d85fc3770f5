"""Django admin for custom-attribute definitions, validated by the same rules as the product UI."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kamcrm.core import attribute_services
from kamcrm.core.models import AttributeDefinition


class AttributeDefinitionAdminForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = attribute_services.ATTRIBUTE_FIELDS

    def _post_clean(self):
        super()._post_clean()
        original = AttributeDefinition.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        try:
            attribute_services.attribute_definition_validate(definition=self.instance, original=original)
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(AttributeDefinition)
class AttributeDefinitionAdmin(admin.ModelAdmin):
    form = AttributeDefinitionAdminForm
    list_display = ["entity", "key", "label_zh", "label_en", "type", "required", "filterable", "order"]
    list_filter = ["entity", "type", "required", "filterable"]
    search_fields = ["key", "label_zh", "label_en"]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in attribute_services.ATTRIBUTE_FIELDS if name in form.cleaned_data}
        if change:
            definition = AttributeDefinition.objects.get(pk=obj.pk)
            attribute_services.attribute_definition_update(definition=definition, data=data)
        else:
            saved = attribute_services.attribute_definition_create(**data)
            obj.pk = saved.pk
            obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        # Deleting checks for stored values first: use Organisation → Custom attributes in the product.
        return False
