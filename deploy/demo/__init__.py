"""Demo content for a local Vitrine: accounts, products and posts with real media.

The media are made from photographs bundled with scikit-image; see ``media``.
"""
