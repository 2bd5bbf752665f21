"""Catalog and orders; handles purchase from the feed."""
