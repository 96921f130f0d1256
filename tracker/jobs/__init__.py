"""Use cases, one module each, with `now` passed in; every entry point (CLI, service, web, demo) calls these and only
formats what they return:
- inventory.py: import the inventory, assess exposure;
- alerts.py: snoozes and watchlists;
- delivery.py: the outbox and the digests;
- poll.py: the poll use case (the cycle itself: tracker/cycle/);
- health.py: the tracker's own health;
- sources.py: the sources' listing (schedules and the health verdict beside each).
Nothing is imported here: each entry point loads only the use case it runs."""
