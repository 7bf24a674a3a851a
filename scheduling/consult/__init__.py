"""相談: a mother's cases and threads (consults.py); the items from the chat that staff must see (alerts.py)."""
