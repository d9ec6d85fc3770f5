"""Products UI: the catalogue (product lines and products), product pages and forms, and the yearly
product plan grid. Everyone signed in reads; administrators and business management maintain
(`selectors.can_maintain_catalogue`; the services refuse anyone else with 403)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import bounded_count
from kamcrm.core.services import validation_error_dict
from kamcrm.products import selectors, services
from kamcrm.products.choices import PlanPriority
from kamcrm.products.forms import PlanGridForm, ProductFilterForm, ProductForm, ProductLineForm

__all__ = ["line_add", "line_edit", "line_list", "plan", "plan_current", "product_add", "product_detail",
           "product_edit", "product_list"]

PAGE_SIZE = 50
SORT_LABELS = {"code": gettext_lazy("Code"), "name": gettext_lazy("Name A–Z")}
MIN_YEAR, MAX_YEAR = 2000, 2100


def _filters(request: HttpRequest) -> QueryDict:
    data = request.GET.copy()
    for key in ("sort", "cursor"):
        data.pop(key, None)
    return data


def _bad(form) -> int:  # noqa: ANN001
    return 400 if form.is_bound and form.errors else 200


def _context(request: HttpRequest, **extra) -> dict:  # noqa: ANN003
    return {"section": "products", "may_maintain": selectors.can_maintain_catalogue(request.user), **extra}


# ---- products -------------------------------------------------------------------------------------

@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET)
    sort = request.GET.get("sort") or "code"
    page, count, capped = None, 0, False
    if form.is_valid():
        try:
            filters = _filters(request)
            page = selectors.product_list(user=request.user, filters=filters, sort=sort,
                                          cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
            count, capped = bounded_count(selectors.product_queryset(user=request.user, filters=filters))
        except ValidationError as exc:
            add_service_errors(form, exc)
            page = None
    context = _context(request, form=form, page=page, count=count,
                       count_label=f"{intcomma(count)}+" if capped else intcomma(count), sort=sort,
                       sorts=list(SORT_LABELS.items()), filtered=bool(form.active_filters()),
                       lines=selectors.product_lines())
    return render(request, "products/product_list.html", context, status=_bad(form))


@login_required
@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(pk=pk)
    return render(request, "products/product.html", _context(request, product=product))


def _product_form(request: HttpRequest, product=None) -> HttpResponse:  # noqa: ANN001
    services.catalogue_require(user=request.user)
    form = ProductForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.product_create(**form.service_data())
                message = _("Product “%(name)s” created.")
            else:
                product = services.product_update(product=product, data=form.service_data())
                message = _("Product “%(name)s” saved.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message % {"name": product})
            return redirect("products:product", pk=product.pk)
    return render(request, "products/product_form.html", _context(request, form=form, product=product),
                  status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def product_add(request: HttpRequest) -> HttpResponse:
    return _product_form(request)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_form(request, selectors.product_get(pk=pk))


# ---- product lines --------------------------------------------------------------------------------

@login_required
@require_GET
def line_list(request: HttpRequest) -> HttpResponse:
    return render(request, "products/line_list.html", _context(request, lines=selectors.product_lines()))


def _line_form(request: HttpRequest, line=None) -> HttpResponse:  # noqa: ANN001
    services.catalogue_require(user=request.user)
    form = ProductLineForm(request.POST or None, line=line)
    if request.method == "POST" and form.is_valid():
        try:
            if line is None:
                line = services.product_line_create(**form.service_data())
                message = _("Product line “%(name)s” created.")
            else:
                line = services.product_line_update(line=line, data=form.service_data())
                message = _("Product line “%(name)s” saved.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message % {"name": line})
            return redirect("products:line_list")
    return render(request, "products/line_form.html", _context(request, form=form, line=line), status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def line_add(request: HttpRequest) -> HttpResponse:
    return _line_form(request)


@login_required
@require_http_methods(["GET", "POST"])
def line_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _line_form(request, selectors.product_line_get(pk=pk))


# ---- the product plan -----------------------------------------------------------------------------

@login_required
@require_GET
def plan_current(request: HttpRequest) -> HttpResponse:
    return redirect("products:plan", year=timezone.localdate().year)


@login_required
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, year: int) -> HttpResponse:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    may_maintain = selectors.can_maintain_catalogue(request.user)
    if request.method == "POST":
        services.catalogue_require(user=request.user)
    grid = selectors.plan_grid(year=year)
    form = PlanGridForm(request.POST or None, grid=grid)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.product_plan_apply(year=year, entries=form.entries(), by=request.user)
        except ValidationError as exc:
            form.add_service_errors(validation_error_dict(exc))
        else:
            messages.success(request, _("Product plan %(year)s saved (%(n)s changes).") % {"year": year, "n": changed})
            return redirect("products:plan", year=year)
    totals = {}
    for (_line_id, region_id), entry in grid.cells.items():
        if entry.target_amount is not None:
            totals[region_id] = totals.get(region_id, 0) + entry.target_amount
    return render(request, "products/plan.html", _context(
        request, year=year, grid=grid, form=form, rows=form.cells(), may_maintain=may_maintain,
        priorities=PlanPriority.choices, totals=[totals.get(r.pk) for r in grid.regions],
        previous_year=year - 1 if year > MIN_YEAR else None, next_year=year + 1 if year < MAX_YEAR else None,
    ), status=_bad(form))
