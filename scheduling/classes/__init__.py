"""Parent classes: sessions, places in persons, waiting lists (classes.py); the staff's side (class_admin.py)."""
