"""Import UI: upload a file, map its columns (or pick a saved mapping), follow the job's progress,
download the rejected rows; resume or cancel a job; download an entity's template.

Each page is thin: the rules are in import_services.py and the engine (importing.py).
"""
from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kamcrm.core.forms import TablerFormMixin
from kamcrm.core.pagination import keyset_page
from kamcrm.core.services import validation_error_dict
from kamcrm.exchange.import_files import FileProblem, open_table
from kamcrm.exchange.import_selectors import import_job_queryset, import_mapping_queryset
from kamcrm.exchange.import_services import (
    import_errors_csv,
    import_job_cancel,
    import_job_create,
    import_job_map,
    import_job_resume,
    import_template_csv,
    template_steps,
)
from kamcrm.exchange.import_specs import REF, entity_get, entity_list, norm
from kamcrm.exchange.models import ImportJob, ImportRowError, ImportStatus

__all__ = ["import_cancel", "import_detail", "import_errors", "import_list", "import_map", "import_new",
           "import_progress", "import_resume", "import_template"]

PAGE_SIZE = 50


class ImportUploadForm(TablerFormMixin, forms.Form):
    file = forms.FileField(label=gettext_lazy("File"),
                           help_text=gettext_lazy("CSV (UTF-8 or GBK/GB18030, as Excel and WPS save it) or .xlsx; "
                                                  "the first row names the columns."))
    mapping = forms.ModelChoiceField(label=gettext_lazy("Saved mapping"), queryset=None, required=False,
                                     empty_label=gettext_lazy("— map the columns next —"), to_field_name="name")
    entity = forms.ChoiceField(label=gettext_lazy("What the file holds"), required=False)
    source_system = forms.CharField(label=gettext_lazy("Source system"), max_length=40, required=False,
                                    help_text=gettext_lazy("Where the file comes from (e.g. billing); with each row's "
                                                           "external id it lets a second import update, not add."))
    dry_run = forms.BooleanField(label=gettext_lazy("Dry run: check every row, write nothing"), required=False)

    def __init__(self, *args, user=None, **kwargs):  # noqa: ANN001
        super().__init__(*args, **kwargs)
        self.fields["mapping"].queryset = import_mapping_queryset(user)
        self.fields["entity"].choices = [("", "—")] + [(e.name, e.label) for e in entity_list() if e.permitted(user)]
        self.style_widgets()

    def clean(self):
        data = super().clean()
        if not data.get("mapping") and not data.get("entity"):
            self.add_error("entity", _("Choose what the file holds, or a saved mapping."))
        if not data.get("mapping") and not (data.get("source_system") or "").strip():
            self.add_error("source_system", _("Name the system the file comes from."))
        return data


def _job_or_404(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(import_job_queryset(request.user), pk=pk)


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """The user's imports (administrators: everyone's), newest first, one keyset page at a time."""
    try:
        page = keyset_page(import_job_queryset(request.user), order=["-id"], cursor=request.GET.get("cursor") or None,
                           page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    entities = [e for e in entity_list() if e.permitted(request.user)]
    return render(request, "exchange/import_list.html", {"page": page, "entities": entities})


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        mapping = data.get("mapping")
        try:
            if mapping is not None:
                job = import_job_create(by=request.user, file=upload, file_name=upload.name, mapping=mapping,
                                        source_system=data.get("source_system", ""), dry_run=data["dry_run"])
                return redirect("exchange:import_detail", pk=job.pk)
            job = import_job_create(by=request.user, file=upload, file_name=upload.name,
                                    steps=[{"entity": data["entity"], "fields": {}}],
                                    source_system=data["source_system"], dry_run=data["dry_run"], draft=True)
            return redirect("exchange:import_map", pk=job.pk)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            for name, messages in validation_error_dict(exc).items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, message)
    return render(request, "exchange/import_new.html", {"form": form}, status=400 if form.errors else 200)


def _guess(field_name: str, label: str, headers: list[str]) -> str:
    """The column a field most likely reads: "[field]" (our template), the field's name or label."""
    wanted = {norm(field_name), norm(label)}
    for header in headers:
        if header.rstrip().endswith(f"[{field_name}]") or norm(header) in wanted:
            return header
    return ""


@login_required
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    """Map each field to a column of the file or a constant, then queue the job."""
    job = _job_or_404(request, pk)
    if job.status != ImportStatus.DRAFT:
        return redirect("exchange:import_detail", pk=job.pk)
    entity = entity_get(job.entity)
    if entity is None:
        raise Http404
    try:
        headers = open_table(Path(settings.KAMCRM_IMPORT_DIR) / str(job.pk) / job.file_path, job.file_format).headers
    except FileProblem as exc:
        return render(request, "exchange/import_map.html", {"job": job, "file_error": str(exc)}, status=400)
    specs = entity.field_specs()
    guessed = template_steps(entity.name, headers)[0]["fields"]
    errors: list[str] = []
    rows = []
    for name, spec in specs.items():
        column = request.POST.get(f"col_{name}") if request.method == "POST" else (
            guessed.get(name, {}).get("column") or _guess(name, str(spec.label), headers))
        value = request.POST.get(f"val_{name}", "").strip() if request.method == "POST" else ""
        rows.append({"name": name, "spec": spec, "column": column or "", "value": value,
                     "is_ref": spec.kind == REF})
    save_as = request.POST.get("save_as", "").strip()
    if request.method == "POST":
        fields = {}
        for row in rows:
            if row["column"]:
                fields[row["name"]] = {"column": row["column"]}
                if row["value"]:
                    fields[row["name"]]["default"] = row["value"]
            elif row["value"]:
                fields[row["name"]] = {"value": row["value"]}
        try:
            import_job_map(job=job, steps=[{"entity": entity.name, "fields": fields}], headers=headers,
                           by=request.user, save_as=save_as)
            return redirect("exchange:import_detail", pk=job.pk)
        except ValidationError as exc:
            errors = [m for messages in validation_error_dict(exc).values() for m in messages]
    return render(request, "exchange/import_map.html",
                  {"job": job, "entity": entity, "headers": headers, "rows": rows, "errors": errors,
                   "save_as": save_as}, status=400 if errors else 200)


def _detail_context(request: HttpRequest, job: ImportJob) -> dict:
    steps = []
    for index, step in enumerate(job.steps or []):
        entity = entity_get(step.get("entity", ""))
        steps.append({"label": entity.label if entity else step.get("entity"),
                      "counts": (job.counts or {}).get(str(index), {})})
    # A worker that died leaves its lease behind; once the lease runs out the job may be resumed.
    stale = job.is_active and job.lease_until is not None and job.lease_until <= timezone.now()
    return {"job": job, "steps": steps, "stale": stale}


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    try:
        errors = keyset_page(ImportRowError.objects.filter(job=job), order=["line", "id"],
                             cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    return render(request, "exchange/import_detail.html", {**_detail_context(request, job), "errors": errors})


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone, polled by htmx while the job runs."""
    job = _job_or_404(request, pk)
    response = render(request, "exchange/import_progress.html", _detail_context(request, job))
    if not job.is_active:
        response["HX-Refresh"] = "true"  # reload once, to show the rejected rows
    return response


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    response = StreamingHttpResponse(import_errors_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{job.job_id}-errors.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:  # noqa: ANN001
    job = _job_or_404(request, pk)
    try:
        action(job=job, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("exchange:import_detail", pk=job.pk)


@login_required
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, import_job_resume)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, import_job_cancel)


@login_required
@require_GET
def import_template(request: HttpRequest, entity: str) -> HttpResponse:
    found = entity_get(entity)
    if found is None or not found.permitted(request.user):
        raise Http404
    response = HttpResponse(import_template_csv(entity), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{entity}-template.csv"'
    return response
