"""Writes of the import side: saved mappings, starting, resuming and cancelling jobs, the error file."""
from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.exchange.export import neutralise
from kamcrm.exchange.import_files import FileProblem, detect_format
from kamcrm.exchange.import_specs import entity_get
from kamcrm.exchange.models import ImportJob, ImportMapping, ImportRowError, ImportStatus
from kamcrm.org.models import User
from kamcrm.org.selectors import is_administrator

__all__ = [
    "import_job_cancel",
    "import_job_create",
    "import_job_enqueue",
    "import_job_map",
    "import_job_resume",
    "import_errors_csv",
    "import_template_csv",
    "mapping_save",
    "steps_check",
    "template_steps",
]


def steps_check(steps: Any) -> list[dict[str, Any]]:
    """The shape of a mapping's steps (the file's columns are checked when a job reads it)."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError({"steps": _("A mapping needs at least one step: [{\"entity\": ..., \"fields\": {...}}].")})
    for index, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("fields"), dict):
            raise ValidationError({"steps": _("Step %(n)d must be an object with “entity” and “fields”.") % {"n": index}})
        entity = entity_get(step.get("entity", ""))
        if entity is None:
            raise ValidationError({"steps": _("Step %(n)d: unknown entity “%(e)s”.") % {"n": index, "e": step.get("entity")}})
        specs = entity.field_specs()
        unknown = [name for name in step["fields"] if name not in specs]
        if unknown:
            raise ValidationError({"steps": _("Step %(n)d: %(e)s has no field %(f)s.")
                                   % {"n": index, "e": entity.label, "f": ", ".join(unknown)}})
    return steps


def _check_permitted(user: User | None, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        entity = entity_get(step.get("entity", ""))
        if entity is not None and not entity.permitted(user):
            raise PermissionDenied(_("You may not import %(e)s.") % {"e": entity.label})


@transaction.atomic
def mapping_save(*, name: str, source_system: str, steps: Any, description: str = "",
                 by: User | None = None) -> ImportMapping:
    """Create or replace the mapping called `name`."""
    steps = steps_check(steps)
    _check_permitted(by, steps)
    source_system = (source_system or "").strip()
    if not source_system:
        raise ValidationError({"source_system": _("Name the system the files come from.")})
    mapping = ImportMapping.objects.select_for_update().filter(name=name).first() or ImportMapping(name=name, created_by=by)
    mapping.source_system, mapping.steps, mapping.description = source_system, steps, description
    mapping.full_clean()
    mapping.save()
    return mapping


_SAFE_NAME = re.compile(r"[^\w.\-]+")


@transaction.atomic
def import_job_create(*, by: User | None, file: BinaryIO, file_name: str, mapping: ImportMapping | None = None,
                      steps: list[dict[str, Any]] | None = None, source_system: str = "", dry_run: bool = False,
                      enqueue: bool = True, draft: bool = False) -> ImportJob:
    """Store the upload and queue its job (a draft waits for its columns to be mapped: import_job_map)."""
    if mapping is not None:
        # Given steps are the mapping adjusted for this run (e.g. the CLI's --set constants).
        steps, source_system = steps or mapping.steps, source_system or mapping.source_system
    steps = steps_check(steps)
    _check_permitted(by, steps)
    source_system = (source_system or "").strip()
    if not source_system:
        raise ValidationError({"source_system": _("Name the system the file comes from.")})
    head = file.read(8)
    file.seek(0)
    try:
        fmt = detect_format(file_name, head)
    except FileProblem as exc:
        raise ValidationError({"file": str(exc)}) from None
    job = ImportJob.objects.create(
        created_by=by, mapping=mapping, source_system=source_system[:40], steps=steps,
        entity=steps[0]["entity"], file_name=Path(file_name).name[:200], file_format=fmt, dry_run=dry_run,
        file_path="upload." + fmt, status=ImportStatus.DRAFT if draft else ImportStatus.QUEUED,
    )
    folder = Path(settings.KAMCRM_IMPORT_DIR) / str(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    with (folder / job.file_path).open("wb") as out:
        while chunk := file.read(1 << 20):
            size += len(chunk)
            if size > settings.KAMCRM_IMPORT_MAX_BYTES:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise ValidationError({"file": _("The file is larger than %(n)d MB.")
                                       % {"n": settings.KAMCRM_IMPORT_MAX_BYTES // (1024 * 1024)}})
            out.write(chunk)
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationError({"file": _("The file is empty.")})
    job.file_size = size
    job.save(update_fields=["file_size"])
    if enqueue and not draft:
        import_job_enqueue(job)
    return job


@transaction.atomic
def import_job_map(*, job: ImportJob, steps: list[dict[str, Any]], headers: list[str], by: User | None = None,
                   save_as: str = "", description: str = "") -> ImportJob:
    """Give a draft job its mapping (checked against the file's header), optionally save the mapping
    for the next file from the same source, and queue the job."""
    from kamcrm.exchange.importing import MappingProblem, compile_steps

    _may_manage(job, by)
    steps = steps_check(steps)
    _check_permitted(by, steps)
    if job.status != ImportStatus.DRAFT:
        raise ValidationError(_("This import has already started."))
    try:
        compile_steps(steps, headers)
    except MappingProblem as exc:
        raise ValidationError({"steps": [m for _c, m in exc.problems]}) from None
    if save_as:
        job.mapping = mapping_save(name=save_as, source_system=job.source_system, steps=steps,
                                   description=description, by=by)
    job.steps, job.entity, job.status = steps, steps[0]["entity"], ImportStatus.QUEUED
    job.save()
    import_job_enqueue(job)
    return job


def import_job_enqueue(job: ImportJob) -> None:
    """Hand the job to the task queue once the transaction that made it commits."""
    from kamcrm.exchange.tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(job.pk))


def _may_manage(job: ImportJob, by: User | None) -> None:
    if by is not None and job.created_by_id != by.pk and not is_administrator(by):
        raise PermissionDenied(_("Only the person who started an import, or an administrator, may do this."))


@transaction.atomic
def import_job_resume(*, job: ImportJob, by: User | None = None, enqueue: bool = True) -> ImportJob:
    """Start a failed job again, or one whose worker died (its lease ran out) or that no worker has
    picked up, from its last committed batch. Queuing a job twice is harmless: a live worker's lease
    keeps the second one out."""
    _may_manage(job, by)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    stale = job.is_active and (job.lease_until is None or job.lease_until <= timezone.now())
    if job.status != ImportStatus.FAILED and not stale:
        raise ValidationError(_("Only a failed import, or one whose worker has stopped, can be resumed."))
    if job.status == ImportStatus.FAILED:
        job.status = ImportStatus.WRITING if job.validated and not job.dry_run else ImportStatus.VALIDATING
    job.lease_until = None
    job.error_message = ""
    job.finished_at = None
    job.save()
    if enqueue:
        import_job_enqueue(job)
    return job


@transaction.atomic
def import_job_cancel(*, job: ImportJob, by: User | None = None) -> ImportJob:
    """Stop a queued or running job after its current batch; what is committed stays."""
    _may_manage(job, by)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=ImportJob.ACTIVE).update(
        status=ImportStatus.CANCELLED, finished_at=timezone.now(), lease_until=None)
    if not updated:
        raise ValidationError(_("This import has already finished."))
    job.refresh_from_db()
    return job


def import_errors_csv(job: ImportJob) -> Iterator[bytes]:
    """The job's rejected rows as CSV (UTF-8 with BOM for Excel): line, column, value, problem, reason."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("line"), _("column"), _("value"), _("problem"), _("reason")])
    yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for error in ImportRowError.objects.filter(job=job).order_by("line", "id").iterator(chunk_size=2000):
        writer.writerow([error.line, neutralise(error.column), neutralise(error.value), error.get_kind_display(),
                         neutralise(error.message)])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def import_template_csv(entity_name: str, *, chinese: bool = False) -> bytes:
    """An empty CSV with one column per importable field (labels in the user's language, the field's
    name in brackets), to fill in and import with the mapping built from it."""
    entity = entity_get(entity_name)
    if entity is None:
        raise ValidationError({"entity": _("Unknown entity.")})
    buffer = io.StringIO()
    csv.writer(buffer).writerow([template_header(name, spec.label) for name, spec in entity.field_specs().items()])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_header(name: str, label: Any) -> str:
    return f"{label} [{name}]"


def template_steps(entity_name: str, headers: list[str]) -> list[dict[str, Any]]:
    """The mapping a file made from the template needs: each "label [field]" column feeds its field."""
    fields: dict[str, Any] = {}
    for header in headers:
        match = re.search(r"\[([a-z0-9_]+)\]\s*$", header)
        if match:
            fields[match.group(1)] = {"column": header}
    entity = entity_get(entity_name)
    specs = entity.field_specs() if entity is not None else {}
    fields = {name: value for name, value in fields.items() if name in specs}
    return [{"entity": entity_name, "fields": fields}]
