"""Input checks taken from botocore's model of AdminConfirmSignUp, applied before any call."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from ._errors import InvalidClientMetadataError, InvalidUsernameError, InvalidUserPoolIdError

USERNAME_MAX_LENGTH: Final = 128
USER_POOL_ID_MAX_LENGTH: Final = 55

# botocore: UserPoolIdType, pattern [\w-]+_[0-9a-zA-Z]+, 1-55 characters.
_USER_POOL_ID: Final = re.compile(r"[\w-]+_[0-9a-zA-Z]+")
# botocore: UsernameType, pattern [\p{L}\p{M}\p{S}\p{N}\p{P}]+: letters, marks, symbols,
# numbers and punctuation; that is, no separators (spaces) and no control characters.
_USERNAME_CATEGORIES: Final = frozenset("LMSNP")
# Pool ids start with their region ("eu-west-1_AbCdEf123").
_REGION: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


def check_user_pool_id(user_pool_id: str) -> str:
    """Return the pool id unchanged, or raise InvalidUserPoolIdError saying what is wrong."""
    if not isinstance(user_pool_id, str):
        msg = f"user pool id must be a string, not {type(user_pool_id).__name__}"
        raise InvalidUserPoolIdError(msg)
    if not 1 <= len(user_pool_id) <= USER_POOL_ID_MAX_LENGTH:
        msg = (
            f"user pool id must be 1 to {USER_POOL_ID_MAX_LENGTH} characters, "
            f"got {len(user_pool_id)}"
        )
        raise InvalidUserPoolIdError(msg)
    if not _USER_POOL_ID.fullmatch(user_pool_id):
        msg = f"malformed user pool id {user_pool_id!r}: expected REGION_ID, e.g. us-east-1_AbC123"
        raise InvalidUserPoolIdError(msg)
    return user_pool_id


def region_of(user_pool_id: str) -> str | None:
    """The AWS region a pool id names (the part before the underscore), if it looks like one."""
    region = user_pool_id.rpartition("_")[0]
    return region if _REGION.fullmatch(region) else None


def username_problem(username: object) -> str | None:
    """Why botocore's model rejects this username, or None when it is valid.

    The reason never quotes the username: it is personal data and reasons end up in logs.
    """
    if not isinstance(username, str):
        return f"username must be a string, not {type(username).__name__}"
    if not username:
        return "username is empty"
    if len(username) > USERNAME_MAX_LENGTH:
        return f"username is {len(username)} characters long, at most {USERNAME_MAX_LENGTH} allowed"
    if username.isascii() and username.isprintable() and " " not in username:
        # The usual name, checked in C: every printable ASCII character but the space is a
        # letter, number, punctuation or symbol. The loop below took 3 us for a 12-character
        # name, a twentieth of the bulk engine's own CPU per user.
        return None
    for position, char in enumerate(username, start=1):
        category = unicodedata.category(char)
        if category[0] not in _USERNAME_CATEGORIES:
            kind = "a space" if category[0] == "Z" else "a control or unassigned character"
            return f"username has {kind} (U+{ord(char):04X}) at position {position}"
    return None


def check_username(username: str) -> str:
    """Return the username unchanged, or raise InvalidUsernameError saying what is wrong."""
    problem = username_problem(username)
    if problem is not None:
        raise InvalidUsernameError(
            problem, username=username if isinstance(username, str) else None
        )
    return username


def check_client_metadata(client_metadata: object) -> dict[str, str] | None:
    """A copy of ``client_metadata`` (None for none or empty), or raise InvalidClientMetadataError.

    botocore's model: ``ClientMetadataType``, a map of strings to strings. botocore checks it only
    when a call is sent, and its error quotes the offending value, so a bulk run turned it into
    failed users, a ``RepeatedFailureError`` and the value in a log. The message here names the
    key and the value's type, never the value.
    """
    if client_metadata is None:
        return None
    if not isinstance(client_metadata, Mapping):
        kind = type(client_metadata).__name__
        msg = f"client_metadata must be a mapping of str to str, not {kind}"
        raise InvalidClientMetadataError(msg)
    for key, value in client_metadata.items():
        if not isinstance(key, str):
            msg = f"client_metadata keys must be strings, got a {type(key).__name__}"
            raise InvalidClientMetadataError(msg)
        if not isinstance(value, str):
            msg = f"client_metadata[{key!r}] must be a string, not {type(value).__name__}"
            raise InvalidClientMetadataError(msg)
    return dict(client_metadata) or None
