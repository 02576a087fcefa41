"""The events tests' fixtures, shared with the hostile tests rather than repeated: every test gets its
own mirror cache and data folder; a registry with a clock, a webhook receiver and watcher processes
(stopped afterwards) for the tests of `tagreg watch`."""

from events.conftest import _own_cache, receiver, reg, watchers  # noqa: F401
