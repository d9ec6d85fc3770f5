# STUB: replaced by the API work.
urlpatterns: list = []
