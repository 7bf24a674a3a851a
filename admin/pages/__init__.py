"""One module per area of the admin panel; each has a `router`."""
