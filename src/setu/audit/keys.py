"""Where each party's private signing key lives: never in the database, each party's apart from the other's.

Two stores, chosen by the environment:

- **Key files** (the default): ``$SETU_KEY_DIR/<PARTY>/<key_id>.pem``, PKCS#8 PEM. The party folder is
  created ``0700`` and each file ``0600``; a key whose file or folder others may read is refused, as ssh
  refuses such a key. ``SETU_KEY_DIR`` defaults to ``$XDG_DATA_HOME/setu/keys`` (``~/.local/share/setu/keys``).
- **A PKCS#11 token** (an HSM; tested with SoftHSM2) when ``SETU_PKCS11_MODULE`` names the library:
  token ``SETU_PKCS11_TOKEN`` (default ``setu``), PIN from ``SETU_PKCS11_PIN`` or the file
  ``SETU_PKCS11_PIN_FILE``. Keys are generated on the token, not extractable, labelled
  ``setu-audit-<PARTY>`` with the key id as ``CKA_ID``; the private half never leaves it.

``SETU_SIGNING_PARTIES`` (``IN`` or ``IN,US``) names the parties this instance signs for; an instance
refuses to sign as any other party, so in production each government's instance holds and uses only its
own key. Unset, the instance signs for every party whose key its store holds (the demo, one host).
The database keeps the public keys only (:class:`~setu.models.audit.SigningKey`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from setu.audit.log import AuditError

KEY_DIR_ENV = "SETU_KEY_DIR"
PARTIES_ENV = "SETU_SIGNING_PARTIES"
PKCS11_MODULE_ENV = "SETU_PKCS11_MODULE"
PKCS11_TOKEN_ENV = "SETU_PKCS11_TOKEN"
PKCS11_PIN_ENV = "SETU_PKCS11_PIN"
PKCS11_PIN_FILE_ENV = "SETU_PKCS11_PIN_FILE"
PKCS11_LABEL = "setu-audit-{party}"
# The DER encoding of the OID of edwards25519 (1.3.101.112): CKA_EC_PARAMS of an Ed25519 key.
ED25519_PARAMS = bytes.fromhex("06032b6570")
_PARTY = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,7}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")


def key_id_of(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw 32-byte public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def check_party(party: str) -> None:
    """Refuse a party code outside ``[A-Z0-9_-]{1,8}``: codes end up in folder names and in signed text."""
    if not _PARTY.match(party):
        raise AuditError(f"party code {party!r} is not 1-8 capital letters, digits, '-' or '_'")


@dataclass(frozen=True, slots=True)
class HeldKey:
    """A key the store holds the private half of: its id, party and raw public key."""

    key_id: str
    party: str
    public_key: bytes

    def to_json(self) -> dict[str, str]:
        """The pinned-key form ``setu audit verify --keys`` reads."""
        return {"key_id": self.key_id, "party": self.party, "public_key": self.public_key.hex()}


class KeyStore(Protocol):
    """Holds the private keys of one or more parties; signs without handing them out."""

    where: str

    def keys(self, party: str) -> list[HeldKey]:
        """The party's keys, oldest first (the last one signs)."""
        ...

    def generate(self, party: str) -> HeldKey:
        """Create a new key for ``party``; it becomes the party's signing key."""
        ...

    def sign(self, key: HeldKey, message: bytes) -> bytes:
        """The Ed25519 signature of ``message`` with ``key``'s private half."""
        ...


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _private_only(path: Path) -> None:
    """Refuse a key file or folder that anyone but its owner may read, write or enter."""
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o077:
        raise AuditError(
            f"{path} is open to other users (mode {stat.S_IMODE(mode):o}); a signing key must be private "
            f"to its owner: chmod {'700' if stat.S_ISDIR(mode) else '600'} {path}"
        )


class FileKeyStore:
    """Private keys as PEM files, one folder per party (``0700``), one file per key (``0600``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = f"key files in {root}"
        self._loaded: dict[Path, tuple[tuple[int, int, int], Ed25519PrivateKey]] = {}
        """Keys read, by file, with the file's (inode, size, mtime) when read: signing thousands of feed
        objects need not parse the PEM each time, and a file changed since is read again."""

    def folder(self, party: str) -> Path:
        """The party's key folder (not created)."""
        check_party(party)
        return self.root / party

    def _load(self, path: Path) -> Ed25519PrivateKey:
        _private_only(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditError(f"{path} is not an Ed25519 private key")
        return loaded

    def keys(self, party: str) -> list[HeldKey]:
        folder = self.folder(party)
        if not folder.is_dir():
            return []
        _private_only(folder)
        found = []
        for path in folder.glob("*.pem"):
            public = _raw_public(self._load(path))
            if key_id_of(public) != path.stem:
                raise AuditError(f"{path} holds key {key_id_of(public)}, not the key its name says")
            found.append((path.stat().st_mtime_ns, HeldKey(path.stem, party, public)))
        return [key for _, key in sorted(found, key=lambda pair: (pair[0], pair[1].key_id))]

    def write(self, party: str, private: Ed25519PrivateKey) -> HeldKey:
        """Store ``private`` as ``party``'s newest key (the file created ``0600``, never readable by others)."""
        folder = self.folder(party)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask, and an existing folder keeps its own
        public = _raw_public(private)
        key = HeldKey(key_id_of(public), party, public)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = folder / f"{key.key_id}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        os.chmod(path, 0o600)
        return key

    def generate(self, party: str) -> HeldKey:
        return self.write(party, Ed25519PrivateKey.generate())

    def sign(self, key: HeldKey, message: bytes) -> bytes:
        path = self.folder(key.party) / f"{key.key_id}.pem"
        if not _KEY_ID.match(key.key_id) or not path.is_file():
            raise AuditError(f"the private key of {key.party} (key {key.key_id}) is not in {self.where}")
        _private_only(path.parent)
        _private_only(path)
        status = path.stat()
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
        cached = self._loaded.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, self._load(path))
            self._loaded[path] = cached
        private = cached[1]
        if _raw_public(private) != key.public_key:
            raise AuditError(f"{path} does not match the public key of {key.key_id}")
        return private.sign(message)


class Pkcs11KeyStore:
    """Private keys generated on a PKCS#11 token and never extractable; the token signs."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            import pkcs11  # only when a token is configured
        except ImportError:
            raise AuditError(
                f"{PKCS11_MODULE_ENV} is set but python-pkcs11 is not installed: pip install 'setu[hsm]'"
            ) from None

        self._pkcs11: Any = pkcs11
        self._token = pkcs11.lib(module).get_token(token_label=token_label)
        self._pin = pin
        self.where = f"PKCS#11 token {token_label!r} ({module})"

    def _private_keys(self, session: Any, party: str) -> list[Any]:
        attribute, object_class = self._pkcs11.Attribute, self._pkcs11.ObjectClass
        label = PKCS11_LABEL.format(party=party)
        return list(session.get_objects({attribute.LABEL: label, attribute.CLASS: object_class.PRIVATE_KEY}))

    def _public(self, session: Any, key_id: bytes) -> bytes:
        attribute, object_class = self._pkcs11.Attribute, self._pkcs11.ObjectClass
        found = list(session.get_objects({attribute.ID: key_id, attribute.CLASS: object_class.PUBLIC_KEY}))
        if len(found) != 1:
            raise AuditError(f"the token holds {len(found)} public keys with id {key_id.decode()}")
        point = bytes(found[0][attribute.EC_POINT])
        # CKA_EC_POINT is a DER OCTET STRING around the 32 raw bytes (SoftHSM2); some tokens give them bare.
        return point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point

    def keys(self, party: str) -> list[HeldKey]:
        check_party(party)
        with self._token.open(user_pin=self._pin) as session:
            ids = sorted(bytes(k[self._pkcs11.Attribute.ID]) for k in self._private_keys(session, party))
            # A token keeps no creation order, so :meth:`generate` keeps one key per party on a token
            # (a new token to rotate): the list has at most one entry.
            return [HeldKey(i.decode(), party, self._public(session, i)) for i in ids]

    def generate(self, party: str) -> HeldKey:
        check_party(party)
        pkcs11 = self._pkcs11
        with self._token.open(rw=True, user_pin=self._pin) as session:
            if self._private_keys(session, party):
                raise AuditError(f"the token already holds a key of {party}; use a new token to rotate it")
            temporary = os.urandom(8).hex().encode()
            public, _private = session.generate_keypair(
                pkcs11.KeyType.EC_EDWARDS,
                0,
                mechanism=pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                store=True,
                label=PKCS11_LABEL.format(party=party),
                id=temporary,
                public_template={pkcs11.Attribute.EC_PARAMS: ED25519_PARAMS},
                private_template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False},
            )
            raw = self._public(session, temporary)
            key_id = key_id_of(raw).encode()
            # The key id is known only once the key exists: name both halves by it.
            for half in (public, _private):
                half[pkcs11.Attribute.ID] = key_id
        return HeldKey(key_id.decode(), party, raw)

    def sign(self, key: HeldKey, message: bytes) -> bytes:
        pkcs11 = self._pkcs11
        with self._token.open(user_pin=self._pin) as session:
            wanted = key.key_id.encode()
            found = [k for k in self._private_keys(session, key.party) if bytes(k[pkcs11.Attribute.ID]) == wanted]
            if len(found) != 1 or self._public(session, key.key_id.encode()) != key.public_key:
                raise AuditError(f"the private key of {key.party} (key {key.key_id}) is not on {self.where}")
            return bytes(found[0].sign(message, mechanism=pkcs11.Mechanism.EDDSA))


def default_key_dir() -> Path:
    """``$SETU_KEY_DIR``, else ``$XDG_DATA_HOME/setu/keys``, else ``~/.local/share/setu/keys``."""
    value = os.environ.get(KEY_DIR_ENV, "").strip()
    if value:
        return Path(value)
    data_home = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home else Path.home() / ".local" / "share"
    return base / "setu" / "keys"


def key_store() -> KeyStore:
    """The store the environment configures: a PKCS#11 token if ``SETU_PKCS11_MODULE`` is set, else key files."""
    module = os.environ.get(PKCS11_MODULE_ENV, "").strip()
    if not module:
        return FileKeyStore(default_key_dir())
    pin = os.environ.get(PKCS11_PIN_ENV, "")
    pin_file = os.environ.get(PKCS11_PIN_FILE_ENV, "").strip()
    if pin_file:
        pin = Path(pin_file).read_text(encoding="utf-8").strip()
    if not pin:
        raise AuditError(f"{PKCS11_MODULE_ENV} is set but neither {PKCS11_PIN_ENV} nor {PKCS11_PIN_FILE_ENV}")
    return Pkcs11KeyStore(module, os.environ.get(PKCS11_TOKEN_ENV, "").strip() or "setu", pin)


def signing_parties() -> frozenset[str] | None:
    """The parties this instance may sign for (``SETU_SIGNING_PARTIES``), or ``None``: any its store holds."""
    value = os.environ.get(PARTIES_ENV, "").replace(",", " ").split()
    return frozenset(p.strip().upper() for p in value) if value else None


def require_signer(party: str) -> None:
    """Refuse to sign as ``party`` when this instance is configured to sign for other parties only."""
    check_party(party)
    allowed = signing_parties()
    if allowed is not None and party not in allowed:
        raise AuditError(
            f"this instance signs only as {', '.join(sorted(allowed))} ({PARTIES_ENV}); "
            f"{party}'s key is held by {party}'s own instance"
        )


def _state_path(party: str, log: str) -> Path:
    # One file per database the instance signs for (``log`` names it), so that a second database is no
    # "rewrite" of the first; the database's own content cannot choose the file.
    check_party(party)
    return default_key_dir() / party / f"last-signed-{hashlib.sha256(log.encode()).hexdigest()[:16]}.json"


def last_signed(party: str, log: str) -> tuple[int, bytes] | None:
    """The largest tree (size, root) this instance signed or countersigned as ``party`` in the log ``log``.

    Kept beside the party's keys, off the database: before signing again the instance checks that the
    log still reproduces it, so it never signs over a log rewritten under an earlier signature (a
    rewrite whose checkpoints were deleted would otherwise be laundered by the next honest checkpoint).

    Parameters
    ----------
    party
        The signing party.
    log
        The database, as its URL without password.

    Returns
    -------
    tuple or None
        ``(tree_size, root_hash)``, or ``None`` when this instance never signed there.
    """
    path = _state_path(party, log)
    if not path.is_file():
        return None
    _private_only(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    return int(data["tree_size"]), bytes.fromhex(data["root_hash"])


def remember_signed(party: str, log: str, tree_size: int, root_hash: bytes) -> None:
    """Record that this instance signed the tree (``tree_size``, ``root_hash``) of ``log`` as ``party``."""
    known = last_signed(party, log)
    if known is not None and known[0] > tree_size:
        return
    path = _state_path(party, log)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"party": party, "log": log, "tree_size": tree_size, "root_hash": root_hash.hex()}, handle)
    temporary.replace(path)


def forget_signed(party: str, log: str) -> None:
    """Forget what this instance signed in ``log``: for a new database at the same URL (the demo's re-seed)."""
    _state_path(party, log).unlink(missing_ok=True)
