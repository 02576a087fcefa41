"""Registry events for integrations: stable ids, CI outputs, and `watch` with its durable outbox."""
