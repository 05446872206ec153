"""The tamper-evident audit trail: Merkle-tree log, signed checkpoints, proofs and offline verification."""
