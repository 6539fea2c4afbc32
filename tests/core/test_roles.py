"""The one table of who may do what: every permission named in words for a refusal, held by
the roles the table gives it and by no other."""

from __future__ import annotations

import pytest

from opendvi.core.roles import GRANTS, Permission, Role, doc_words, may, roles_for, who


def test_a_refusal_names_who_may_act_in_words() -> None:
    assert who(Permission.TELL_FAMILIES) == "a caseworker or an admin"
    assert who(Permission.REVIEW) == "a reviewer, a forensic specialist or an admin"
    assert who(Permission.READ_FAMILIES) == "a caseworker, an admin or an auditor"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.IMPORTER])
def test_every_role_reads_and_only_the_auditor_changes_nothing(role: Role) -> None:
    assert may(role, Permission.READ)
    changes = [p for p in Permission if p not in (Permission.READ, Permission.READ_FAMILIES)]
    assert any(may(role, p) for p in changes) == (role is not Role.AUDITOR)


def test_a_service_account_imports_and_reads_nothing() -> None:
    held = {p for p in Permission if may(Role.IMPORTER, p)}
    assert held == {Permission.IMPORT_REPORTS, Permission.IMPORT_REMAINS}


def test_the_admin_may_do_everything_but_nobody_holds_public() -> None:
    for permission in Permission:
        if permission is Permission.PUBLIC:
            assert roles_for(permission) == frozenset()
        else:
            assert may("admin", permission), permission


def test_who_decides_on_candidates_and_who_tells_families() -> None:
    assert roles_for(Permission.REVIEW) == {"admin", "reviewer", "forensic"}
    assert roles_for(Permission.TELL_FAMILIES) == {"admin", "caseworker"}
    assert not may("reviewer", Permission.TELL_FAMILIES)
    assert not may("caseworker", Permission.REVIEW)
    assert not may("unknown role", Permission.READ)


def test_the_api_documentation_words_for_each_permission() -> None:
    assert doc_words(Permission.READ) == "everyone"
    assert doc_words(Permission.ADD_REMAINS) == "admin, forensic"
    assert doc_words(Permission.READ_FAMILIES) == "admin, caseworker, auditor"
    assert set(GRANTS) == set(Permission)
