"""LINE in and out: webhook events stored and claimed (inbox), outgoing requests (outbox), pushes due
at a moment (reminders), who follows the account (users), the loops' signs of life (heartbeats), the
sending's lease and backoff (lease), and the webhook waking the worker processes (wakeup)."""
