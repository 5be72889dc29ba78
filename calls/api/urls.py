from django.urls import path

from calls.api import views

urlpatterns = [
    path("calls", views.CallListView.as_view(), name="calls"),
    path("calls/ice-servers", views.IceServersView.as_view(), name="calls-ice-servers"),
    path("calls/<uuid:call_id>", views.CallDetailView.as_view(), name="calls-detail"),
    path("calls/<uuid:call_id>/end", views.CallEndView.as_view(), name="calls-end"),
]
