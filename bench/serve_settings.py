"""Settings for `bench/run.py --serve` only: the product's settings with a URLconf that adds one trivial
view (bench/serve_urls.py), plain HTTP on 127.0.0.1. Never used by the product."""
from kamcrm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.serve_urls"
SECURE_SSL_REDIRECT = False
