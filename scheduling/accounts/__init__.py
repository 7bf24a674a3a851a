"""Staff accounts: passwords, sign-in limits, sessions, the administrators' second factor."""
