"""Security capabilities that need no server: a local certificate authority for HTTPS on this machine."""
