"""The staff's panel (管理画面): server-rendered pages over scheduling's services, for the centre's staff
and the providers, mounted at /admin by the bot's app (admin/app.py).

- web.py: what every page shares (templates with 和暦, the signed-in member and her role, CSRF);
- guard.py: what every answer gets (security headers, bad input refused, ids out of range);
- pages/: one module per area (今日, bookings, classes, calls, 相談, residents, figures, staff...);
- cli.py: `hagukumi staff` (accounts from the command line); audit_words.py: the audit trail as sentences.
"""
