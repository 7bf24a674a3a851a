"""Staff web pages over scheduling's services. Not built yet: see the admin issue."""
