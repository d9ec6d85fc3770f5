"""The product's URLs plus /bench/trivial/: the smallest Django view, through the same middleware, as
the yardstick for requests/s (bench/serve.py). Bench-only; the product has no such route."""
from django.http import HttpResponse
from django.urls import path

from kamcrm.urls import urlpatterns as product_urlpatterns


def trivial(request):  # noqa: ANN001, ANN201
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *product_urlpatterns]
