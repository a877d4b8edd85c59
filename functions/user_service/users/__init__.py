"""The user service's domain code: balances, game history, connection handling."""
