"""Helpers shared by the tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASSWORD = "Passw0rd!Passw0rd"  # a throwaway password for moto's fake users


@dataclass
class MotoPool:
    """A user pool in moto with an app client, and helpers to fill it."""

    endpoint_url: str
    pool_id: str
    client_id: str
    idp: Any

    def sign_up(self, *usernames: str) -> None:
        """Create UNCONFIRMED users, as a user signing up would."""
        for username in usernames:
            self.idp.sign_up(ClientId=self.client_id, Username=username, Password=PASSWORD)

    def admin_create(self, *usernames: str) -> None:
        """Create FORCE_CHANGE_PASSWORD users, as AdminCreateUser does."""
        for username in usernames:
            self.idp.admin_create_user(UserPoolId=self.pool_id, Username=username)

    def status(self, username: str) -> str:
        """The user's status as moto reports it."""
        user = self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return str(user["UserStatus"])
