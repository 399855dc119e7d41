"""Is an answer from AWS at all? ``foreign_answer`` tells, for ``_errors.translated``.

Why: botocore parses whatever comes back. A wrong endpoint URL, a corporate proxy or a captive
portal answers with an HTML page, and from an HTTP 200 page botocore makes an empty answer,
which for AdminConfirmSignUp (whose answer is empty) reads as "confirmed": a run against one
reported every user confirmed while nobody was. An error page (403, 404) becomes an error whose
code is the status ("403") and whose message is the page. Every real AWS answer carries an
``x-amzn-RequestId`` header and, from a JSON service such as Cognito, a JSON content type and a
JSON body (``{}`` for an empty result: an empty body is no answer either); moto sends both
headers too (``application/json`` on errors). An unparsable body is
invisible in botocore's parsed answer, so ``register_answer_check`` adds a ``before-parse``
handler to the client that marks it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MAPPING", "foreign_answer", "register_answer_check"]

MAPPING: Final = (dict, Mapping)
"""For ``isinstance``: botocore's answers are dicts, checked in C; ``Mapping`` alone goes
through the ABC's Python ``__instancecheck__`` (0.3 us, four times a call)."""

_JSON_TYPES: Final = frozenset(
    {"application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"}
)
"""What AWS JSON services answer with: Cognito sends the first, moto's errors the last."""
_UNPARSABLE: Final = "CognitoConfirmUnparsableBody"
"""The key ``register_answer_check``'s handler adds to a parsed answer whose body is not JSON."""


def foreign_answer(response: Mapping[str, Any]) -> str | None:
    """Why a botocore response did not come from AWS, or None when it did.

    Every AWS answer carries an ``x-amzn-RequestId`` header and, from a JSON service such as
    Cognito, a JSON content type and body. A response without ``ResponseMetadata.HTTPHeaders``
    did not come over HTTP (botocore's ``Stubber``, a test double) and is not judged.
    """
    metadata = response.get("ResponseMetadata")
    if not isinstance(metadata, MAPPING):
        return None
    headers = metadata.get("HTTPHeaders")
    if not isinstance(headers, MAPPING):
        return None
    if (
        headers.get("content-type") in _JSON_TYPES  # the usual answer, checked cheaply
        and metadata.get("RequestId")
        and _UNPARSABLE not in response
    ):
        return None
    problems = []
    if not metadata.get("RequestId"):
        problems.append("no x-amzn-RequestId")
    content_type = str(headers.get("content-type", "")).partition(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        problems.append(f"content type {content_type or '(none)'}")
    unparsable = response.get(_UNPARSABLE)
    if unparsable:
        problems.append(unparsable if isinstance(unparsable, str) else "a body that is not JSON")
    if not problems:
        return None
    return f"HTTP {metadata.get('HTTPStatusCode')} with {', '.join(problems)}"


def register_answer_check(client: Any) -> None:
    """Let ``foreign_answer`` see bodies that are not JSON, which botocore parses silently.

    botocore reads an unparsable JSON body as an empty answer (HTTP 200: a success), so a
    ``before-parse`` handler on the client marks such answers. Idempotent; harmless to the
    client's other calls (an unparsable answer just gains one key). A test double without
    botocore's event system is left alone, as its answers are by ``foreign_answer``.
    """
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        return
    events.register(
        "before-parse.cognito-identity-provider",
        _mark_unparsable,
        unique_id="cognito-confirm-answer-check",
    )


def _mark_unparsable(
    response_dict: Mapping[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    if response_dict.get("status_code", 0) >= 500:
        return
    body = response_dict.get("body")
    if body == b"{}":
        return  # AdminConfirmSignUp's answer, skipped: json.loads(b"{}") costs 2 us a call
    if not body:
        # Cognito answers an empty result as ``{}``: an empty body is no answer (botocore would
        # parse it as one, and an endpoint answering 200 with nothing read as "all confirmed").
        customized_response_dict[_UNPARSABLE] = "an empty body"
        return
    try:
        json.loads(body)
    except ValueError:
        customized_response_dict[_UNPARSABLE] = "a body that is not JSON"
