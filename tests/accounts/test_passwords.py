"""Passwords: argon2id hashes that verify only the password, the hasher's parameters, the policy."""

from __future__ import annotations

import pytest

from setu.accounts.errors import AccountError
from setu.accounts.passwords import (
    check_password_policy,
    configure_hasher,
    hash_password,
    password_hasher,
    verify_password,
)

from .world import PASSWORD


def test_argon2id_hash_verifies_only_the_password() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != hashed  # salted


def test_configure_hasher_defaults_back() -> None:
    configure_hasher()
    default = password_hasher()
    assert (default.time_cost, default.memory_cost) == (3, 65536)
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "password too short: at least 12 characters, got 10"),
        (" " * 14, "password is only whitespace"),
        ("x" * 1025, "password too long: at most 1024 characters"),
        ("Asha-Rao-2026", "password must not be the username"),
    ],
)
def test_password_policy(password: str, message: str) -> None:
    with pytest.raises(AccountError) as info:
        check_password_policy(password, "asha-rao-2026")
    assert str(info.value) == message
