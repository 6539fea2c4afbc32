"""People who use OpenDVI: their accounts and roles, who may act, the list an admin
manages, and signing in.

from opendvi.people import add_user, sign_in
"""

from opendvi.people.accounts import (
    Account,
    FirstAdmin,
    Person,
    acting_user,
    add_user,
    ensure_admin,
    has_admin,
    staff,
)
from opendvi.people.roster import (
    Listed,
    NewPassword,
    deactivate,
    reactivate,
    reset_password,
    set_password,
    set_role,
    users,
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
    "Listed",
    "NewPassword",
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
    "reactivate",
    "reset_password",
    "session_of",
    "set_password",
    "set_role",
    "sign_in",
    "staff",
    "users",
]
