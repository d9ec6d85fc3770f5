from kamcrm.core.context import Channel, change_context


class ChangeContextMiddleware:
    """Label every request's writes with the channel (UI or API), the user and a request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = Channel.API if request.path.startswith("/api/") else Channel.UI
        with change_context(channel=channel, request=request) as ctx:
            request.request_id = ctx.request_id
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """A strict CSP: every asset is served by us, so nothing else is allowed."""

    POLICY = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's admin ships inline scripts; every other page, the API docs included, gets the strict policy.
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response

