"""Code every Vitrine service uses: settings, events, Kafka, auth, errors."""
