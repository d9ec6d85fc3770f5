"""One error format for the whole API: {"detail": "...", "errors": {field: [messages]}}.

Django ValidationErrors raised by services (with field keys like "credit_code" or
"attributes.segment") come out the same way as serializer errors; errors that belong to no one
field are listed under "__all__" (DRF's "non_field_errors" is renamed to match the services).
"""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from kamcrm.core.services import validation_error_dict


def _rename_non_field(errors: dict) -> dict:
    key = api_settings.NON_FIELD_ERRORS_KEY
    if key in errors:
        errors = {("__all__" if k == key else k): v for k, v in errors.items()}
    return errors


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": _("Invalid input."), "errors": validation_error_dict(exc)},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response({"detail": _("This record is still referenced by other records and cannot be deleted.")},
                        status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"__all__": response.data}
        response.data = {"detail": _("Invalid input."), "errors": _rename_non_field(errors)}
    elif isinstance(exc, Http404):
        response.data = {"detail": _("Not found.")}
    return response
