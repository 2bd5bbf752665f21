"""Onboarding interests and per-user ranked timelines in Redis."""
