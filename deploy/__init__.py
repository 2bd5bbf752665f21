"""Deployment: local launcher, demo content, container and cluster manifests."""
