"""A fault-injecting fake Amazon Cognito user pool endpoint, for tests and benchmarks.

Why not just moto: moto answers every call at once and never misbehaves, so it cannot show how
a bulk confirmer copes with what real Cognito does under load. This fake reproduces exactly
those behaviours: throttling answered as HTTP 400 ``TooManyRequestsException`` "Rate exceeded"
(never 429), ``InternalErrorException`` as HTTP 500 (Cognito's only server fault), connections
dropped with no answer (before *or after* the user was confirmed), latency, the
"already confirmed" ``NotAuthorizedException`` and scripted Lambda trigger errors; and, for the
whole endpoint, what no real Cognito answer looks like: an outage (refused, dropped or hanging
connections), any error code for every call, a proxy's HTML page.

It speaks the AWS JSON 1.1 protocol as Cognito does, so an unmodified botocore / aiobotocore
``cognito-idp`` client pointed at `FakeCognito.endpoint_url` (any credentials, region
``us-east-1``) parses its answers exactly as it parses Cognito's:

    with FakeCognito(quota=50) as fake:
        fake.add_users(["alice", "bob"])
        ...  # session.create_client("cognito-idp", endpoint_url=fake.endpoint_url, ...)
        assert fake.stats().confirmations["alice"] == 1

ListUsers pagination hazard (deliberate, as in Cognito): the pagination token is an *offset
into the current filtered list*. A pager that lists ``cognito:user_status = "UNCONFIRMED"``
while confirming the users it has seen makes that list shrink under it, so the next offset
skips as many users as left the list. A correct client re-lists from the start until a pass
finds nothing (or otherwise tolerates the skip).

For another process (benchmarks, a CLI): ``python -m cognito_confirm.testing --users 1000``
prints ``endpoint_url=http://127.0.0.1:PORT`` then ``user_pool_id=ID`` and serves until
SIGTERM/SIGINT; ``GET /_fake/stats``, ``POST /_fake/reset``, ``POST /_fake/users`` and
``POST /_fake/config`` drive it over HTTP, and
``POST /_fake/fail_all``, ``/_fake/answer_html``, ``/_fake/go_dark`` (a JSON object of the
method's keyword arguments) and ``/_fake/heal`` inject the endpoint-wide faults.

Only the standard library is used, so the fake costs the library nothing at import time.

The modules: ``_model`` (quotas as token buckets, users, request parameters), ``_backend`` (the
Cognito state machine), ``_stats`` (its counters), ``_faults`` (outages and foreign answers of
the whole endpoint), ``_http`` (the HTTP/1.1 server and its thread), ``_fake``
(``FakeCognito``), ``_command`` (``main``, what ``python -m`` runs).
"""

from __future__ import annotations

from ._command import main
from ._fake import FakeCognito
from ._http import TARGET_PREFIX
from ._model import USER_STATUSES, FakeConfig
from ._stats import FakeStats

__all__ = ["TARGET_PREFIX", "USER_STATUSES", "FakeCognito", "FakeConfig", "FakeStats", "main"]
