"""Ferry's sandbox provider: a fake third-party API (OAuth 2.0, cursor pages, faults) held in
memory."""
