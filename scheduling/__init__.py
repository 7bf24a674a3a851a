"""The domain and its storage: users, inbound events, outgoing messages, and (later) care and classes."""
