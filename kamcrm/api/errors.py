"""One error format for the whole API: {"errors": {field: [messages]}, "detail": "..."}.

Django ValidationErrors raised by services (with field keys like "credit_code" or
"attributes.segment") come out the same way as serializer errors.
"""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kamcrm.core.services import validation_error_dict


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": "Invalid input.", "errors": validation_error_dict(exc)},
                        status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"__all__": response.data}
        response.data = {"detail": "Invalid input.", "errors": errors}
    elif isinstance(exc, Http404):
        response.data = {"detail": "Not found."}
    return response
