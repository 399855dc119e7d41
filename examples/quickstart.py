"""Quick start: confirm a batch of migrated users, no AWS account needed.

python examples/quickstart.py [USERS]

The users live in the fake Cognito endpoint the library ships for tests
(``cognito_confirm.testing.FakeCognito``); point ``CognitoConfirmer`` at your own pool instead
and the rest stays the same. ``python3 dev.py demo`` shows the command line doing the same job.
"""

from __future__ import annotations

import asyncio
import sys

from aiobotocore.session import AioSession

from cognito_confirm import CognitoConfirmer
from cognito_confirm.testing import FakeCognito


async def main(users: int) -> int:
    names = [f"migrated-user-{number:05d}" for number in range(users)]
    session = AioSession()
    session.set_credentials("quickstart", "quickstart")  # the fake wants a signature, any will do
    with FakeCognito() as fake:
        fake.add_users(names)  # UNCONFIRMED, as users who signed up but never confirmed
        print(f"fake Cognito at {fake.endpoint_url}: pool {fake.user_pool_id}, {users} users")
        async with CognitoConfirmer(
            fake.user_pool_id, endpoint_url=fake.endpoint_url, session=session
        ) as confirmer:
            report = await confirmer.confirm_many(names, concurrency=8)
    for outcome, count in report.counts.items():
        if count:
            print(f"{outcome.value:>18}: {count}")
    print(f"{len(report.results)} users in {report.elapsed:.2f}s, all ok: {report.ok}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)))
