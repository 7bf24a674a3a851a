"""The LINE edge of Hagukumi: webhook, worker, outgoing messages, local stand-in."""
