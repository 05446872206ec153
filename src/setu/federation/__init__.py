"""Federation: two sovereign instances exchange exactly what each releases to the other, signed and receipted.

See docs/federation.md for the trust model and the format.
"""
