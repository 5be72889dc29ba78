from django.urls import path

from media.api import views

urlpatterns = [
    path("media", views.AttachmentUploadView.as_view(), name="media-upload"),
    path("media/<uuid:attachment_id>", views.AttachmentDetailView.as_view(), name="media-detail"),
    path("media/<uuid:attachment_id>/download", views.AttachmentDownloadView.as_view(), name="media-download"),
    path("media/<uuid:attachment_id>/thumbnail", views.AttachmentThumbnailView.as_view(), name="media-thumbnail"),
]
