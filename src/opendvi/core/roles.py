"""Who may do what: the one table of roles and permissions.

Every check reads it: each web route declares the permission it needs, the use-cases that
act for a signed-in user refuse one without it (whatever front end they came through), the
pages show a form only to those who may use it, and docs/api.md's role column is checked
against it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "GRANTS",
    "ROLE_WORDS",
    "Permission",
    "Role",
    "a_person",
    "doc_words",
    "may",
    "roles_for",
    "who",
]


class Role(StrEnum):
    ADMIN = "admin"
    FORENSIC = "forensic"
    CASEWORKER = "caseworker"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    IMPORTER = "importer"  # a service account for scripts: imports, nothing else


ROLE_WORDS = {
    Role.ADMIN: "manages users and settings; may do everything",
    Role.FORENSIC: "post-mortem records of remains",
    Role.CASEWORKER: "missing-person reports and families",
    Role.REVIEWER: "reviews candidates: excludes, refers, proposes and confirms identifications",
    Role.AUDITOR: "reads everything and the audit log; changes nothing",
    Role.IMPORTER: "a service account for scripts: imports records at the command line; "
    "nothing else, and no web pages",
}
# A person of each role, as a refusal names them ("only a caseworker or an admin may ...").
_NOUNS = {
    Role.ADMIN: "admin",
    Role.FORENSIC: "forensic specialist",
    Role.CASEWORKER: "caseworker",
    Role.REVIEWER: "reviewer",
    Role.AUDITOR: "auditor",
    Role.IMPORTER: "importer",
}


class Permission(StrEnum):
    PUBLIC = "public"  # no sign-in: the sign-in page itself
    READ = "read"  # anything a signed-in user may look at
    REVIEW = "review"  # decisions on candidates: exclude, refer, judge, identify, confirm, revoke
    ASSIGN_REVIEWS = "assign_reviews"  # give a pair to a reviewer to look at, or take it back
    ADD_REPORTS = "add_reports"  # add and change missing-person reports
    ADD_REMAINS = "add_remains"  # add and change unidentified-remains records
    EDIT_FACES = "edit_faces"  # box a face by hand, choose the person in a group photo
    EDIT_REMAINS_FACES = "edit_remains_faces"  # the same on a post-mortem photo
    TELL_FAMILIES = "tell_families"  # notification tasks: words, plan, approval, what was done
    READ_FAMILIES = "read_families"  # the notification tasks, families' details masked
    READ_CONTACTS = "read_contacts"  # a reporting contact's e-mail, phone and address in full
    SEE_REMAINS = "see_remains"  # post-mortem photos unblurred (a caseworker: see below)
    IMPORT_REPORTS = "import_reports"  # missing-person reports from files
    IMPORT_REMAINS = "import_remains"  # remains records from files
    MANAGE_USERS = "manage_users"  # add users, set passwords and roles, deactivate
    WITHDRAW_PHOTOS = "withdraw_photos"  # erase a photo: a report's, or (see below) remains'


# Every person's role; a service account reads nothing and has no pages.
_EVERYONE = tuple(role for role in Role if role is not Role.IMPORTER)
GRANTS: dict[Permission, tuple[Role, ...]] = {
    Permission.PUBLIC: (),
    Permission.READ: _EVERYONE,
    Permission.REVIEW: (Role.REVIEWER, Role.FORENSIC, Role.ADMIN),
    # Those who review share the pairs out among themselves (an admin as a team's lead); a
    # pair goes only to someone who may review it (review.assignment).
    Permission.ASSIGN_REVIEWS: (Role.REVIEWER, Role.FORENSIC, Role.ADMIN),
    # Caseworkers take reports from families; forensic staff record remains.
    Permission.ADD_REPORTS: (Role.CASEWORKER, Role.ADMIN),
    Permission.ADD_REMAINS: (Role.FORENSIC, Role.ADMIN),
    Permission.EDIT_FACES: (Role.CASEWORKER, Role.FORENSIC, Role.ADMIN),
    Permission.EDIT_REMAINS_FACES: (Role.FORENSIC, Role.ADMIN),
    # Caseworkers work with families; the auditor reads what was done, and changes nothing.
    Permission.TELL_FAMILIES: (Role.CASEWORKER, Role.ADMIN),
    Permission.READ_FAMILIES: (Role.CASEWORKER, Role.ADMIN, Role.AUDITOR),
    # Those who reach families; the auditor sees them masked unless they give a reason
    # (notify.contacts.reveal_contact), and never one who chose to share with no one.
    Permission.READ_CONTACTS: (Role.CASEWORKER, Role.ADMIN),
    # Those who examine remains and decide on them; a caseworker only for a family who asked
    # to see their identified person (records.photos.reveal); the auditor never.
    Permission.SEE_REMAINS: (Role.REVIEWER, Role.FORENSIC, Role.ADMIN),
    # Those who may add a kind of record may import it; so may a service account.
    Permission.IMPORT_REPORTS: (Role.CASEWORKER, Role.IMPORTER, Role.ADMIN),
    Permission.IMPORT_REMAINS: (Role.FORENSIC, Role.IMPORTER, Role.ADMIN),
    Permission.MANAGE_USERS: (Role.ADMIN,),
    # Whoever may change the record: a report's photo by a caseworker, remains' by forensic
    # staff (records.withdrawal decides which); the guard lets both through.
    Permission.WITHDRAW_PHOTOS: (Role.CASEWORKER, Role.FORENSIC, Role.ADMIN),
}
# How docs/api.md's role column names a permission's roles (a test compares the two).
_DOC_WORDS = {
    Permission.READ: "everyone",
    Permission.REVIEW: "review",
    Permission.TELL_FAMILIES: "families",
}


def roles_for(permission: Permission) -> frozenset[str]:
    """The role names that hold ``permission``."""
    return frozenset(role.value for role in GRANTS[permission])


def may(role: str, permission: Permission) -> bool:
    """Whether a user of ``role`` holds ``permission``."""
    return role in roles_for(permission)


def a_person(noun: str) -> str:
    """ "a reviewer", "an admin", "an importer"."""
    return f"{'an' if noun[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def who(permission: Permission) -> str:
    """The people who hold ``permission``, in words: "a caseworker or an admin"."""
    nouns = [a_person(_NOUNS[role]) for role in GRANTS[permission]]
    if len(nouns) < 2:
        return nouns[0] if nouns else "nobody"
    return f"{', '.join(nouns[:-1])} or {nouns[-1]}"


def doc_words(permission: Permission) -> str:
    """The words docs/api.md uses for the roles holding ``permission``."""
    held = roles_for(permission)
    return _DOC_WORDS.get(permission) or ", ".join(role for role in Role if role in held)
