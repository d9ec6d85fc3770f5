"""The UI shell: login (throttled), the home dashboard, global search and the user picker lookup."""
from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kamcrm.core.forms import LoginForm, user_label
from kamcrm.customers import selectors
from kamcrm.org.selectors import user_lookup as user_lookup_selector

__all__ = ["LoginView", "home", "search", "search_suggest", "user_lookup"]

SEARCH_LIMIT = 20
SUGGEST_LIMIT = 5


class LoginView(auth_views.LoginView):
    """Django's login view with the throttled form and a Tabler page."""

    authentication_form = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    dashboard = selectors.account_dashboard(user=request.user)
    return render(request, "core/home.html", {"dashboard": dashboard})


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    results = selectors.global_search(user=request.user, q=q, limit=SEARCH_LIMIT)
    return render(request, "core/search.html", {"q": q, "results": results, "limit": SEARCH_LIMIT})


@login_required
@require_GET
def search_suggest(request: HttpRequest) -> HttpResponse:
    """The navbar box's dropdown (an htmx partial); empty when there is nothing to suggest."""
    q = request.GET.get("q", "").strip()
    if not q:
        return HttpResponse("")
    results = selectors.global_search(user=request.user, q=q, limit=SUGGEST_LIMIT)
    return render(request, "core/_search_suggest.html", {"q": q, "results": results})


@login_required
@require_GET
def user_lookup(request: HttpRequest) -> JsonResponse:
    """Active users for the owner and team-member pickers: {"results": [{"id", "text"}]}."""
    users = user_lookup_selector(q=request.GET.get("q", ""))
    return JsonResponse({"results": [{"id": u.pk, "text": user_label(u)} for u in users]})

