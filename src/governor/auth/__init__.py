"""Access: users and their argon2 passwords, API tokens, the session key and failed-login limits."""
