"""The dashboard: each program's risk posture over what the reader may see."""
