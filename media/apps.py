from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        # Pillow's own decompression-bomb guard, at our limit rather than its 89-megapixel default.
        # The upload pipeline also checks the setting itself before decoding (media.images).
        Image.MAX_IMAGE_PIXELS = settings.MEDIA_MAX_IMAGE_PIXELS
