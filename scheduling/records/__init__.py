"""A resident's whole record as staff see it (residents.py), and its erasure on request (erasure.py)."""
