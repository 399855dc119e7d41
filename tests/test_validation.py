"""Input checks mirror botocore's model of AdminConfirmSignUp."""

from __future__ import annotations

import unicodedata

import botocore.session
import pytest

from cognito_confirm import (
    InvalidUsernameError,
    InvalidUserPoolIdError,
    check_user_pool_id,
    check_username,
    username_problem,
)
from cognito_confirm._validation import region_of


def _shape(name: str) -> dict[str, object]:
    model = botocore.session.get_session().get_service_model("cognito-idp")
    shape = model.operation_model("AdminConfirmSignUp").input_shape
    assert shape is not None
    member = shape.members[name]
    return dict(member.metadata)


def test_limits_match_botocore_model() -> None:
    """The lengths we enforce are the ones botocore's model declares."""
    assert _shape("Username")["max"] == 128
    assert _shape("Username")["min"] == 1
    assert _shape("UserPoolId")["max"] == 55
    assert _shape("UserPoolId")["pattern"] == r"[\w-]+_[0-9a-zA-Z]+"
    assert _shape("Username")["pattern"] == r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+"
    assert _shape("Username")["sensitive"] is True


@pytest.mark.parametrize(
    "username",
    ["alice", "a", "x" * 128, "élodie@example.com", "user+tag", "名前", "a_b-c.d", "€$", "1234"],
)
def test_valid_usernames(username: str) -> None:
    """Letters, marks, symbols, numbers and punctuation of any script pass."""
    assert username_problem(username) is None
    assert check_username(username) == username


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("", "empty"),
        ("x" * 129, "129 characters"),
        ("two words", "a space (U+0020) at position 4"),
        ("no\u00a0break", "a space"),
        ("tab\tin", "control"),
        ("nul\x00", "control"),
        ("line\n", "control"),
    ],
)
def test_invalid_usernames(username: str, reason: str) -> None:
    """Each broken rule is named, and the username itself never appears in the reason."""
    problem = username_problem(username)
    assert problem is not None
    assert reason in problem
    with pytest.raises(InvalidUsernameError, match="username") as caught:
        check_username(username)
    assert isinstance(caught.value, ValueError)
    if username:
        assert username not in str(caught.value)


def test_non_string_username() -> None:
    """A non-string is invalid, not a crash."""
    assert username_problem(42) == "username must be a string, not int"


@pytest.mark.parametrize(
    ("pool_id", "reason"),
    [
        ("", "1 to 55"),
        ("us-east-1_" + "a" * 46, "1 to 55"),
        ("us-east-1", "malformed"),
        ("us-east-1_ab!c", "malformed"),
        ("_abc", "malformed"),
    ],
)
def test_invalid_pool_ids(pool_id: str, reason: str) -> None:
    """Malformed pool ids fail with a message saying what a pool id looks like."""
    with pytest.raises(InvalidUserPoolIdError, match=reason) as caught:
        check_user_pool_id(pool_id)
    assert isinstance(caught.value, ValueError)


def test_non_string_pool_id() -> None:
    """A non-string pool id is a clear error."""
    with pytest.raises(InvalidUserPoolIdError, match="string"):
        check_user_pool_id(None)  # type: ignore[arg-type]


def test_region_of_pool_id() -> None:
    """The region prefix of a pool id is recognised, and nonsense is not taken for one."""
    assert region_of("eu-west-1_AbC123") == "eu-west-1"
    assert region_of("us-gov-west-1_AbC123") == "us-gov-west-1"
    assert region_of("local_AbC123") is None


def test_ascii_fast_path_agrees_with_the_model() -> None:
    """Every ASCII character gets the same verdict from the fast path as from the categories."""
    for code in range(128):
        char = chr(code)
        expected = unicodedata.category(char)[0] in "LMSNP"
        assert (username_problem(f"a{char}b") is None) is expected, repr(char)
