import uuid

import factory
from django.core.files.base import ContentFile

from accounts.tests.factories import UserFactory
from media.models import Attachment
from media.storage import storage_keys, storage_save
from media.tests.samples import image_bytes, pdf_bytes


def _store(attachment, *, thumbnail: bool) -> str:
    key = storage_keys(attachment_id=attachment.id, extension=attachment.extension)[1 if thumbnail else 0]
    if thumbnail:
        if attachment.thumbnail is None:
            return ""
        return storage_save(key=key, content=ContentFile(attachment.thumbnail), content_type="image/webp")
    return storage_save(key=key, content=ContentFile(attachment.content), content_type=attachment.content_type)


class AttachmentFactory(factory.django.DjangoModelFactory):
    """A PDF, stored for real on the current default storage (pass `content=` for other bytes)."""

    class Meta:
        model = Attachment

    class Params:
        content = factory.LazyFunction(pdf_bytes)
        extension = ".pdf"
        thumbnail = None

    id = factory.LazyFunction(uuid.uuid4)
    uploader = factory.SubFactory(UserFactory)
    kind = Attachment.Kind.FILE
    content_type = "application/pdf"
    original_filename = factory.Sequence(lambda n: f"document{n}.pdf")
    size = factory.LazyAttribute(lambda o: len(o.content))
    storage_key = factory.LazyAttribute(lambda o: _store(o, thumbnail=False))
    thumbnail_key = factory.LazyAttribute(lambda o: _store(o, thumbnail=True))


class ImageAttachmentFactory(AttachmentFactory):
    """A JPEG with its WebP thumbnail, both stored."""

    class Params:
        content = factory.LazyFunction(lambda: image_bytes("JPEG", size=(40, 30)))
        extension = ".jpg"
        thumbnail = factory.LazyFunction(lambda: image_bytes("WEBP", size=(40, 30)))

    kind = Attachment.Kind.IMAGE
    content_type = "image/jpeg"
    original_filename = factory.Sequence(lambda n: f"photo{n}.jpg")
    width = 40
    height = 30
