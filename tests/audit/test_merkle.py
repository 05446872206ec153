"""RFC 9162 Merkle trees against the RFC's own definitions, re-implemented here, and published test vectors.

The reference functions below follow RFC 9162 §2.1 literally (recursive MTH, PATH and PROOF, and the
verification algorithms of §2.1.3.2 and §2.1.4.2) and share no code with setu.audit.merkle.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import pytest

from setu.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    hash_leaf,
    root_hash,
    split_point,
    verify_consistency,
    verify_inclusion,
)

# --- The independent reference (RFC 9162 §2.1, written from the text) --------------------------------


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes: empty -> SHA-256(), one -> the leaf hash, else split at k."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = ref_k(n)
    return ref_node(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    n = len(hashes)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(hashes)
    if m == n:
        return [] if b else [ref_mth(hashes)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], b), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, hashes, True)


def ref_verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = ref_node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = ref_node(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def ref_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """§2.1.4.2, step by step (defined for 0 < first < second)."""
    assert 0 < first < second
    if not path:
        return False
    if first & (first - 1) == 0:  # an exact power of 2
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = ref_node(c, fr)
            sr = ref_node(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = ref_node(sr, c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


# --- Published vectors (the Certificate Transparency reference tree, RFC 6962 = RFC 9162 hashing) -------

CT_DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}

LEAVES = [ref_leaf(f"entry {i}".encode()) for i in range(20)]


def hexes(values: Sequence[bytes]) -> list[str]:
    return [v.hex() for v in values]


def test_published_tree_heads() -> None:
    leaves = [hash_leaf(bytes.fromhex(d)) for d in CT_DATA]
    tree = MerkleTree(leaves)
    for size, expected in enumerate(CT_ROOTS):
        assert tree.root(size).hex() == expected
        assert root_hash(leaves[:size]).hex() == expected
        assert ref_mth([ref_leaf(bytes.fromhex(d)) for d in CT_DATA[:size]]).hex() == expected
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]


def test_published_proofs() -> None:
    tree = MerkleTree(hash_leaf(bytes.fromhex(d)) for d in CT_DATA)
    for (index, size), path in CT_INCLUSION.items():
        assert hexes(tree.inclusion_proof(index, size)) == path
    for (first, second), proof in CT_CONSISTENCY.items():
        assert hexes(tree.consistency_proof(first, second)) == proof
        assert ref_verify_consistency(
            first, second, tree.root(first), tree.root(second), [bytes.fromhex(p) for p in proof]
        )


def test_leaf_and_node_prefixes() -> None:
    assert hash_leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert MerkleTree([LEAVES[0], LEAVES[1]]).root() == hashlib.sha256(b"\x01" + LEAVES[0] + LEAVES[1]).digest()
    assert [split_point(n) for n in (2, 3, 4, 5, 8, 9, 1000)] == [1, 2, 2, 4, 4, 8, 512]


@pytest.mark.parametrize("n", range(0, 21))
def test_tree_head_matches_the_definition(n: int) -> None:
    assert MerkleTree(LEAVES[:n]).root() == ref_mth(LEAVES[:n])
    # Every prefix of a bigger tree, from the cached levels.
    assert MerkleTree(LEAVES).root(n) == ref_mth(LEAVES[:n])


def test_inclusion_proofs_for_every_leaf_up_to_20() -> None:
    tree = MerkleTree(LEAVES)
    checked = 0
    for n in range(1, 21):
        root = ref_mth(LEAVES[:n])
        for m in range(n):
            path = tree.inclusion_proof(m, n)
            assert path == ref_path(m, LEAVES[:n]), (m, n)
            assert ref_verify_inclusion(m, n, LEAVES[m], path, root), (m, n)
            assert verify_inclusion(LEAVES[m], m, n, path, root)
            # Wrong leaf, wrong index, altered, shortened or lengthened path: rejected by both checkers. (A
            # wrong size can pass, as the RFC allows: the signed checkpoint binds the size to the root.)
            other = LEAVES[(m + 1) % n] if n > 1 else ref_leaf(b"other")
            assert not ref_verify_inclusion(m, n, other, path, root)
            assert not verify_inclusion(other, m, n, path, root)
            if n > 1:
                assert not verify_inclusion(LEAVES[m], (m + 1) % n, n, path, root)
                bent = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
                assert not ref_verify_inclusion(m, n, LEAVES[m], bent, root)
                assert not verify_inclusion(LEAVES[m], m, n, bent, root)
                assert not verify_inclusion(LEAVES[m], m, n, path[:-1], root)
                assert not verify_inclusion(LEAVES[m], m, n, [*path, path[-1]], root)
            checked += 1
    assert checked == 210


def test_consistency_proofs_for_every_pair_up_to_20() -> None:
    tree = MerkleTree(LEAVES)
    checked = 0
    for n in range(1, 21):
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            first, second = ref_mth(LEAVES[:m]), ref_mth(LEAVES[:n])
            assert proof == ref_proof(m, LEAVES[:n]), (m, n)
            assert verify_consistency(m, n, first, second, proof), (m, n)
            if m == n:
                assert proof == []
                continue
            assert ref_verify_consistency(m, n, first, second, proof), (m, n)
            # A different old head, a tampered node, a shortened proof: rejected by both checkers.
            wrong = ref_mth(LEAVES[1 : m + 1])
            assert not ref_verify_consistency(m, n, wrong, second, proof)
            assert not verify_consistency(m, n, wrong, second, proof)
            bent = [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
            assert not ref_verify_consistency(m, n, first, second, bent)
            assert not verify_consistency(m, n, first, second, bent)
            assert not verify_consistency(m, n, first, second, proof[:-1])
            checked += 1
    assert checked == 190


def test_consistency_edge_cases() -> None:
    tree = MerkleTree(LEAVES[:8])
    assert tree.consistency_proof(0, 8) == []
    assert verify_consistency(0, 8, EMPTY_ROOT, tree.root(), [])
    assert not verify_consistency(0, 8, tree.root(1), tree.root(), [])
    assert verify_consistency(8, 8, tree.root(), tree.root(), [])
    assert not verify_consistency(8, 8, tree.root(), tree.root(7), [])
    assert not verify_consistency(5, 3, tree.root(5), tree.root(3), tree.consistency_proof(3, 5))
    assert not verify_consistency(3, 5, tree.root(3), tree.root(5), [])


def test_bad_arguments() -> None:
    tree = MerkleTree(LEAVES[:5])
    with pytest.raises(ValueError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ValueError):
        tree.consistency_proof(4, 3)
    with pytest.raises(ValueError):
        tree.root(6)
    with pytest.raises(ValueError):
        MerkleTree([b"short"])
    assert not verify_inclusion(b"short", 0, 1, [], b"x" * 32)


def test_appending_equals_building_at_once() -> None:
    tree = MerkleTree()
    for i, leaf in enumerate(LEAVES):
        assert tree.append(leaf) == i
        assert tree.root() == ref_mth(LEAVES[: i + 1])
    grown = MerkleTree(LEAVES[:7])
    grown.extend(LEAVES[7:])
    assert grown.root() == MerkleTree(LEAVES).root()
    assert grown.inclusion_proof(6) == MerkleTree(LEAVES).inclusion_proof(6)


def test_100k_leaves_give_proofs_that_verify() -> None:
    """A tree of 100,000 leaves: its proofs verify against its head (how fast is measured in bench/, not here)."""
    leaves = [hash_leaf(os.urandom(64)) for _ in range(100_000)]
    tree = MerkleTree(leaves)
    root = tree.root()
    for index in range(0, 100_000, 9_973):
        path = tree.inclusion_proof(index)
        assert ref_verify_inclusion(index, 100_000, leaves[index], path, root)
        proof = tree.consistency_proof(index + 1)
        assert ref_verify_consistency(index + 1, 100_000, tree.root(index + 1), root, proof)
    # Spot-check a prefix head against the definition (the recursive reference is slow on 100,000).
    assert tree.root(777) == ref_mth(leaves[:777])
