"""Alert records: raised by the domains, deduplicated by fingerprint, delivered later."""
