"""Key and plan: each scene's render key, and whether a build reuses it, renders it or waits for it."""
