from functools import cache

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


@cache
def _hashed_default() -> str:
    # Hash once: Argon2 is deliberately slow and factories run hundreds of times.
    return make_password(DEFAULT_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.LazyFunction(_hashed_default)
