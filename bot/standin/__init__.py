"""Local LINE stand-in: a fake of the LINE platform for development and tests.

- ``bot.standin.server.create_standin_app`` plays LINE's Messaging API for the bot
  and the user's phone for developers and tests (``/_standin/...`` endpoints).
- ``bot.standin.chat.run_chat`` is a terminal chat client for a running stand-in.
"""
