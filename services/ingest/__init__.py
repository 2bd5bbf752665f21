"""Uploads: checks and stores media, keeps post metadata, publishes post events."""
