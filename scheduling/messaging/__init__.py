"""LINE in and out: webhook events stored and claimed (inbox), outgoing requests (outbox), pushes due
at a moment (reminders), who follows the account (users), and the loops' signs of life (heartbeats)."""
