"""利用申請 (the application for 産後ケア) that a mother sends from the LIFF form and the city approves.
The city's [application] settings are read in scheduling/city/application_config.py.

- models.py: the row; her contact fields live in one encrypted column (crypto.py), never in plain text.
- crypto.py: Fernet keys from HAGUKUMI_DATA_KEYS (newest first), rotation.
- fields.py: what each field accepts, checked on the server (the page's own checks are only a help).
- service.py: drafts, submit, approve / return, what staff and providers may read, erasure.
"""
