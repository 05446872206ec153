"""Passwords: argon2id hashes that verify only the password, the hasher's parameters, the policy."""

from __future__ import annotations

import secrets

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


@pytest.mark.parametrize(
    "password",
    ["aaaaaaaaaaaa", "password1234", "Password1234", "qwertyuiop12", "123456789012", "iloveyou2026"],
)
def test_guessable_passwords_of_twelve_characters_are_refused(password: str) -> None:
    with pytest.raises(AccountError, match=r"^password too easy to guess \(strength [0-2] of 4, at least 3 needed\)"):
        check_password_policy(password, "asha-rao")


def test_a_password_made_of_the_accounts_own_words_is_refused() -> None:
    check_password_policy("bharatforge2026", "someone")  # fine for an unrelated account
    with pytest.raises(AccountError, match="too easy to guess"):
        check_password_policy("bharatforge2026", "asha.rao", ("Asha Rao", "Bharat Forge"))


def test_the_demos_generated_passwords_meet_the_policy() -> None:
    # seed.py makes each demo password with secrets.token_urlsafe(12); a sample of them must all pass.
    for _ in range(200):
        check_password_policy(secrets.token_urlsafe(12), "in.analyst")


def test_the_strength_check_reads_a_bounded_prefix() -> None:
    check_password_policy("Kx7#mQ2!vR9z" + "a" * 1000)  # the long tail is not fed to zxcvbn (its cost grows fast)
