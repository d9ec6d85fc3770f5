"""Integrations UI: other systems, their API tokens and the events they posted. Administrators only
(`kamcrm.org.selectors.is_administrator`); everyone else gets 403."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from kamcrm.integrations import selectors, services
from kamcrm.integrations.forms import ApiTokenForm, IntegrationForm, add_service_errors
from kamcrm.integrations.models import ApiToken, Integration
from kamcrm.org.selectors import is_administrator

__all__ = ["IntegrationEditView", "IntegrationListView", "IntegrationView", "TokenAddView", "TokenRevokeView"]


class AdminView(LoginRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_administrator(request.user):
            raise PermissionDenied(_("Only administrators may do this."))
        return super().dispatch(request, *args, **kwargs)

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        return render(self.request, template, context, status=status)

    def integration(self, pk: int) -> Integration:
        try:
            return selectors.integration_get(pk=pk)
        except Integration.DoesNotExist:
            raise Http404 from None


class IntegrationListView(AdminView):
    def get(self, request):
        try:
            page = selectors.integration_list(cursor=request.GET.get("cursor") or None)
        except ValidationError:
            raise Http404 from None
        return self.render("integrations/integration_list.html", {"page": page, "integrations": page.items})


class IntegrationEditView(AdminView):
    def get(self, request):
        return self.render("integrations/integration_form.html", {"form": IntegrationForm()})

    def post(self, request):
        form = IntegrationForm(request.POST)
        if form.is_valid():
            try:
                integration = services.integration_create(**form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Saved “%(obj)s”.") % {"obj": integration})
                return redirect("integrations:integration", integration.pk)
        return self.render("integrations/integration_form.html", {"form": form})


class IntegrationView(AdminView):
    def get(self, request, pk: int):
        integration = self.integration(pk)
        try:
            events = selectors.integration_events(integration=integration, cursor=request.GET.get("cursor") or None)
        except ValidationError:
            raise Http404 from None
        return self.render("integrations/integration.html", {
            "integration": integration, "tokens": selectors.integration_tokens(integration=integration),
            "page": events, "events": events.items,
        })


class TokenAddView(AdminView):
    def get(self, request, pk: int):
        integration = self.integration(pk)
        return self.render("integrations/token_form.html", {"integration": integration, "form": ApiTokenForm()})

    def post(self, request, pk: int):
        integration = self.integration(pk)
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                token, plain = services.api_token_create(integration=integration, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                # The only time the plain token is shown: rendered, not redirected, and never stored.
                response = self.render("integrations/token_created.html",
                                       {"integration": integration, "token": token, "plain": plain})
                response.headers["Cache-Control"] = "no-store"
                return response
        return self.render("integrations/token_form.html", {"integration": integration, "form": form})


class TokenRevokeView(AdminView):
    http_method_names = ["post"]

    def post(self, request, pk: int, token_pk: int):
        integration = self.integration(pk)
        token = ApiToken.objects.filter(integration=integration, pk=token_pk).first()
        if token is None:
            raise Http404
        services.api_token_revoke(token=token)
        messages.success(request, _("Revoked the API token “%(token)s”.") % {"token": token})
        return redirect("integrations:integration", integration.pk)
