"""The functions other apps call: attachments for a message, avatar candidates, visibility."""

import uuid

import pytest

from media.models import Attachment
from media.selectors import (
    attachment_get_avatar_candidate,
    attachment_get_for_user,
    attachment_list_for_message,
    attachment_list_visible_to,
)
from media.tests.conftest import share_in_chat
from media.tests.factories import AttachmentFactory, ImageAttachmentFactory
from messenger.errors import ApplicationError

pytestmark = pytest.mark.django_db


class TestAttachmentListForMessage:
    def test_returns_own_uploads_in_the_given_order(self, user):
        first, second, third = AttachmentFactory.create_batch(3, uploader=user)
        ids = [third.pk, first.pk, str(second.pk)]
        assert attachment_list_for_message(uploader=user, attachment_ids=ids) == [third, first, second]

    def test_repeats_are_dropped(self, user):
        attachment = AttachmentFactory(uploader=user)
        ids = [attachment.pk, str(attachment.pk)]
        assert attachment_list_for_message(uploader=user, attachment_ids=ids) == [attachment]

    def test_empty(self, user):
        assert attachment_list_for_message(uploader=user, attachment_ids=[]) == []

    def test_someone_elses_upload_is_not_found(self, user, other_user):
        mine = AttachmentFactory(uploader=user)
        theirs = AttachmentFactory(uploader=other_user)
        with pytest.raises(ApplicationError) as error:
            attachment_list_for_message(uploader=user, attachment_ids=[mine.pk, theirs.pk])
        assert (error.value.code, error.value.status) == ("attachment_not_found", 400)
        assert error.value.details == {"attachment_ids": [str(theirs.pk)]}

    @pytest.mark.parametrize("bad_id", ["nope", "00000000-0000-0000-0000-000000000000", 42])
    def test_malformed_or_unknown_ids_are_not_found(self, user, bad_id):
        with pytest.raises(ApplicationError) as error:
            attachment_list_for_message(uploader=user, attachment_ids=[bad_id])
        assert error.value.code == "attachment_not_found"

    def test_at_most_ten(self, user, settings):
        attachments = AttachmentFactory.create_batch(11, uploader=user)
        assert len(attachment_list_for_message(uploader=user, attachment_ids=[a.pk for a in attachments[:10]])) == 10
        with pytest.raises(ApplicationError) as error:
            attachment_list_for_message(uploader=user, attachment_ids=[a.pk for a in attachments])
        assert error.value.code == "too_many_attachments"


class TestAvatarCandidate:
    def test_own_image(self, user):
        image = ImageAttachmentFactory(uploader=user)
        assert attachment_get_avatar_candidate(uploader=user, attachment_id=str(image.pk)) == image

    @pytest.mark.parametrize("case", ["not_image", "not_mine", "missing", "malformed"])
    def test_anything_else_is_invalid(self, user, other_user, case):
        attachment_id = {
            "not_image": lambda: AttachmentFactory(uploader=user).pk,
            "not_mine": lambda: ImageAttachmentFactory(uploader=other_user).pk,
            "missing": uuid.uuid4,
            "malformed": lambda: "x",
        }[case]()
        with pytest.raises(ApplicationError) as error:
            attachment_get_avatar_candidate(uploader=user, attachment_id=attachment_id)
        assert (error.value.code, error.value.status) == ("invalid_avatar", 400)


class TestVisibility:
    def test_shared_in_two_chats_is_listed_once(self, user, other_user):
        attachment = AttachmentFactory(uploader=user)
        share_in_chat(attachment, sender=user, members=[other_user])
        share_in_chat(attachment, sender=user, members=[other_user])
        assert list(attachment_list_visible_to(user=other_user)) == [attachment]
        assert attachment_get_for_user(user=other_user, attachment_id=attachment.pk) == attachment

    def test_query_count_is_constant(self, user, django_assert_num_queries):
        attachment = AttachmentFactory(uploader=user)
        with django_assert_num_queries(1):
            assert attachment_get_for_user(user=user, attachment_id=attachment.pk).pk == attachment.pk
        assert Attachment.objects.count() == 1
