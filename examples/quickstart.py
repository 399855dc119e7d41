"""Quick start: confirm a pool of migrated users in a local moto server, no AWS account needed.

python3 dev.py demo            # or: python examples/quickstart.py [USERS]
"""

from __future__ import annotations

import asyncio
import sys

from cognito_confirm import CognitoConfirmer
from cognito_confirm.cli.demo import demo_pool, demo_session


async def main(users: int) -> int:
    async with demo_pool(users) as pool:
        print(
            f"moto at {pool.endpoint_url}: pool {pool.user_pool_id} with {users} unconfirmed users"
        )
        async with CognitoConfirmer(
            pool.user_pool_id,
            endpoint_url=pool.endpoint_url,
            session=demo_session(),
        ) as confirmer:
            report = await confirmer.confirm_many(pool.usernames, concurrency=8)
    for outcome, count in report.counts.items():
        if count:
            print(f"{outcome.value:>18}: {count}")
    print(f"{len(report.results)} users in {report.elapsed:.2f}s, all ok: {report.ok}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)))
