"""Task lifecycle: queues that carry task ids, the runner that executes a task, recovery
of tasks a crash left pending, and the purge of old inference tasks."""
