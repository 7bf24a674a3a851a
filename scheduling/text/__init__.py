"""What people type: text folded into one comparable form, phone numbers, the shape of a link code."""
