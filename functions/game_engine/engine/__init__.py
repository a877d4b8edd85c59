"""The game engine's domain code: reels, CPU work, the balance client, the scenarios."""
