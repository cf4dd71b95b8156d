"""HTTP routes of the sandbox, one module per surface: data API, OAuth, admin."""
