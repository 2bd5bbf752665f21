"""Likes, views and feedback, streamed into exact per-post counters."""
