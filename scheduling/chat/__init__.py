"""The desks the chat's dialogs use, one per family of dialogs: booking (desk.py), registration and
calls (family_desk.py), 相談 (consult_desk.py). The worker builds one per event, inside its transaction."""
