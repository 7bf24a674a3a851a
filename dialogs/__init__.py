"""Conversations as pure functions of (state, input) -> outcome. No HTTP, no SQL."""
