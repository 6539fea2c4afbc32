"""People who use OpenDVI: their accounts and roles, who may act, and signing in.

from opendvi.people import add_user, sign_in
"""

from opendvi.people.accounts import (
    Account,
    Person,
    acting_user,
    add_user,
    ensure_admin,
    set_password,
    staff,
)
from opendvi.people.sessions import account, sign_in

__all__ = [
    "Account",
    "Person",
    "account",
    "acting_user",
    "add_user",
    "ensure_admin",
    "set_password",
    "sign_in",
    "staff",
]
