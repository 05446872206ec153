"""RFC 9162 Merkle trees (section 2.1): tree heads, inclusion and consistency proofs and their verification.

The tree works on leaf hashes (``SHA-256(0x00 || data)``), so callers hash their entries once and the tree
never sees them. :class:`MerkleTree` keeps every level of complete subtrees, built bottom-up without
recursion, so the head of any prefix and every proof are a few cached look-ups: a log of 100,000 entries
is hashed once and then answers each request in O(log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the hash of the empty string (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def hash_leaf(data: bytes) -> bytes:
    """The RFC 9162 leaf hash of ``data``: ``SHA-256(0x00 || data)``.

    Parameters
    ----------
    data
        The leaf's bytes (for the audit log, an entry's canonical JSON).

    Returns
    -------
    bytes
        32 bytes.
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 interior node hash: ``SHA-256(0x01 || left || right)``.

    Parameters
    ----------
    left, right
        The two children's hashes.

    Returns
    -------
    bytes
        32 bytes.
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): where RFC 9162 splits a tree of ``n`` leaves.

    Parameters
    ----------
    n
        Number of leaves, at least 2.

    Returns
    -------
    int
        ``k`` with ``k < n <= 2k``.
    """
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes that caches every complete subtree.

    ``levels[h][j]`` is the hash of the complete subtree of ``2**h`` leaves starting at leaf ``j * 2**h``.
    RFC 9162 splits at powers of two, so every subtree its recursion asks for is either one of those or a
    run of them aligned to their size; tree heads and proofs are therefore look-ups plus at most
    ``log2(n)`` hashes.

    Parameters
    ----------
    leaves
        Initial leaf hashes (32 bytes each), in log order.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaves)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    @property
    def leaves(self) -> Sequence[bytes]:
        """The leaf hashes, in order (do not modify)."""
        return self._levels[0]

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaf hashes and hash the complete subtrees they finish.

        Parameters
        ----------
        leaves
            Leaf hashes (32 bytes each), in log order.
        """
        added = list(leaves)
        for leaf in added:
            _check_hash(leaf, "a leaf hash")
        self._levels[0].extend(bytes(leaf) for leaf in added)
        sha256 = hashlib.sha256
        height = 0
        while len(self._levels[height]) >= 2:
            lower = self._levels[height]
            if height + 1 == len(self._levels):
                self._levels.append([])
            upper = self._levels[height + 1]
            # Only pairs not hashed before: appending costs O(new leaves), not O(n).
            for j in range(len(upper), len(lower) // 2):
                upper.append(sha256(_NODE_PREFIX + lower[2 * j] + lower[2 * j + 1]).digest())
            height += 1

    def append(self, leaf: bytes) -> int:
        """Append one leaf hash; return its index."""
        self.extend([leaf])
        return self.size - 1

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for ``0 <= lo < hi <= size``."""
        # Decompose the range the way RFC 9162 splits it: complete subtrees, largest first.
        parts: list[bytes] = []
        while lo < hi:
            n = hi - lo
            k = n if n & (n - 1) == 0 else split_point(n)
            height = k.bit_length() - 1
            if lo % k == 0:
                parts.append(self._levels[height][lo >> height])
            else:
                # Never reached from the RFC recursion (its ranges are aligned); kept correct for any range.
                parts.append(MerkleTree(self._levels[0][lo : lo + k]).root())
            lo += k
        # MTH(D[lo:hi]) = HASH(left subtree, MTH(rest)): fold from the smallest subtree upwards.
        result = parts[-1]
        for part in reversed(parts[:-1]):
            result = hash_children(part, result)
        return result

    def root(self, size: int | None = None) -> bytes:
        """The Merkle tree hash of the first ``size`` leaves (default: all).

        Parameters
        ----------
        size
            Tree size, ``0 <= size <= len(self)``.

        Returns
        -------
        bytes
            MTH(D[0:size]); :data:`EMPTY_ROOT` for size 0.
        """
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} outside 0..{self.size}")
        return EMPTY_ROOT if size == 0 else self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162 §2.1.3.1).

        Parameters
        ----------
        index
            Leaf index, ``0 <= index < size``.
        size
            Tree size (default: all leaves).

        Returns
        -------
        list of bytes
            Sibling hashes from the leaf upwards.
        """
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of size {size} (log has {self.size})")
        siblings: list[bytes] = []
        lo, hi = 0, size
        # PATH(m, D[n]) = PATH(m, half holding m) : MTH(other half); walk down, then reverse.
        while hi - lo > 1:
            k = split_point(hi - lo)
            if index < lo + k:
                siblings.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._range_hash(lo, lo + k))
                lo += k
        siblings.reverse()
        return siblings

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """The proof that the tree of size ``first`` is a prefix of the tree of size ``second`` (RFC 9162 §2.1.4.1).

        Parameters
        ----------
        first
            The older tree size, ``0 <= first <= second``.
        second
            The newer tree size (default: all leaves).

        Returns
        -------
        list of bytes
            The proof nodes; empty when ``first`` is 0 or equals ``second``.
        """
        second = self.size if second is None else second
        if not 0 <= first <= second <= self.size:
            raise ValueError(f"no consistency proof from size {first} to {second} (log has {self.size})")
        if first in (0, second):
            return []
        nodes: list[bytes] = []
        lo, hi, m = 0, second, first
        complete = True  # SUBPROOF's flag b: whether D[lo:lo+m] is still the whole old tree
        while m != hi - lo:
            k = split_point(hi - lo)
            if m <= k:
                nodes.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                nodes.append(self._range_hash(lo, lo + k))
                lo += k
                m -= k
                complete = False
        if not complete:
            nodes.append(self._range_hash(lo, hi))
        nodes.reverse()
        return nodes


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes.

    Parameters
    ----------
    leaves
        Leaf hashes in order.

    Returns
    -------
    bytes
        The tree head hash.
    """
    return MerkleTree(leaves).root()


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """Check an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.

    Parameters
    ----------
    leaf
        The leaf hash proven.
    index
        Its index.
    size
        The tree size the proof is for.
    path
        The inclusion path (sibling hashes, leaf upwards).
    root
        The tree head of that size, from a signed checkpoint.

    Returns
    -------
    bool
        Whether the path proves that ``leaf`` sits at ``index`` in the tree with head ``root``.
    """
    if not 0 <= index < size or len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in path):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """Check a consistency proof with the algorithm of RFC 9162 §2.1.4.2.

    The RFC defines the check for ``0 < first < second``. For the edge cases this returns: ``first ==
    second``: the proof is empty and the two heads are equal; ``first == 0``: the proof is empty and
    ``first_root`` is the empty tree's hash (every tree extends the empty one).

    Parameters
    ----------
    first, second
        The two tree sizes.
    first_root, second_root
        Their tree heads.
    proof
        The consistency proof.

    Returns
    -------
    bool
        Whether the tree of size ``second`` is an append-only extension of the tree of size ``first``.
    """
    if not 0 <= first <= second or len(first_root) != HASH_SIZE or len(second_root) != HASH_SIZE:
        return False
    if any(len(c) != HASH_SIZE for c in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
