"""The products app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
ROUTES: list = []
