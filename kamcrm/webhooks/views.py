"""Webhooks UI, administrators only: subscriptions, their signing secret and their delivery log."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from kamcrm.core.pagination import bounded_count, keyset_page
from kamcrm.core.services import validation_error_dict
from kamcrm.org.selectors import is_administrator
from kamcrm.webhooks import selectors, services
from kamcrm.webhooks.events import EVENT_TYPES
from kamcrm.webhooks.forms import DeliveryFilterForm, SubscriptionForm
from kamcrm.webhooks.models import Delivery, DeliveryStatus, WebhookSubscription

PAGE_SIZE = 50


class AdminView(LoginRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_administrator(request.user):
            raise PermissionDenied(_("Only administrators may do this."))
        return super().dispatch(request, *args, **kwargs)


def _cursor_page(request, qs, order):
    try:
        return keyset_page(qs, order=order, cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        return keyset_page(qs, order=order, page_size=PAGE_SIZE)


class SubscriptionListView(AdminView):
    def get(self, request):
        qs = selectors.subscription_list()
        page = _cursor_page(request, qs, ["name", "id"])
        count, capped = bounded_count(qs)
        return render(request, "webhooks/subscription_list.html",
                      {"page": page, "count": count, "capped": capped, "event_labels": EVENT_TYPES})


class SubscriptionView(AdminView):
    def get(self, request, pk: int):
        subscription = get_object_or_404(WebhookSubscription.objects.select_related("created_by"), pk=pk)
        filters = DeliveryFilterForm(request.GET or None)
        status = filters.cleaned_data["status"] if filters.is_valid() else ""
        qs = selectors.delivery_list(subscription=subscription, status=status)
        page = _cursor_page(request, qs, ["-id"])
        count, capped = bounded_count(qs)
        return render(request, "webhooks/subscription.html", {
            "object": subscription, "filters": filters, "page": page, "count": count, "capped": capped,
            "event_labels": [EVENT_TYPES.get(t, t) for t in subscription.event_types],
            "redeliverable": (DeliveryStatus.FAILED, DeliveryStatus.DEAD),
        })


class SubscriptionEditView(AdminView):
    template_name = "webhooks/subscription_form.html"

    def _object(self, pk):
        return get_object_or_404(WebhookSubscription, pk=pk) if pk is not None else None

    def get(self, request, pk: int | None = None):
        obj = self._object(pk)
        form = SubscriptionForm(initial=SubscriptionForm.initial_for(obj)) if obj else SubscriptionForm()
        return render(request, self.template_name, {"form": form, "object": obj})

    def post(self, request, pk: int | None = None):
        obj = self._object(pk)
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                if obj is None:
                    obj = services.subscription_create(by=request.user, **form.cleaned_data)
                else:
                    obj = services.subscription_update(subscription=obj, data=form.cleaned_data, by=request.user)
            except ValidationError as exc:
                for key, msgs in validation_error_dict(exc).items():
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
            else:
                messages.success(request, _("Saved “%(obj)s”.") % {"obj": obj})
                return redirect("webhooks:subscription", pk=obj.pk)
        return render(request, self.template_name, {"form": form, "object": obj})


class SubscriptionSecretRotateView(AdminView):
    def post(self, request, pk: int):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        services.subscription_secret_rotate(subscription=subscription, by=request.user)
        messages.success(request, _("A new signing secret was generated; update the receiver."))
        return redirect("webhooks:subscription", pk=pk)


class DeliveryRedeliverView(AdminView):
    def post(self, request, pk: int, delivery_pk: int):
        delivery = get_object_or_404(Delivery, pk=delivery_pk, subscription_id=pk)
        try:
            services.delivery_redeliver(delivery=delivery, by=request.user)
        except ValidationError as exc:
            for msgs in validation_error_dict(exc).values():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            messages.success(request, _("The delivery will be sent again shortly."))
        return redirect(reverse("webhooks:subscription", kwargs={"pk": pk}))
