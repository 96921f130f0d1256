"""Notifications: the pipeline from events to outbox rows, rendering (render.py) and sending (channels.py)."""
