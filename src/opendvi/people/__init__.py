"""People who use OpenDVI: their accounts and roles, who may act, and signing in.

from opendvi.people import add_user, sign_in
"""

from opendvi.people.accounts import (
    Account,
    FirstAdmin,
    Person,
    acting_user,
    add_user,
    deactivate,
    ensure_admin,
    has_admin,
    set_password,
    set_role,
    staff,
)
from opendvi.people.sessions import (
    SignedIn,
    SignInRefused,
    TooManyAttempts,
    account,
    end_session,
    session_of,
    sign_in,
)

__all__ = [
    "Account",
    "FirstAdmin",
    "Person",
    "SignInRefused",
    "SignedIn",
    "TooManyAttempts",
    "account",
    "acting_user",
    "add_user",
    "deactivate",
    "end_session",
    "ensure_admin",
    "has_admin",
    "session_of",
    "set_password",
    "set_role",
    "sign_in",
    "staff",
]
