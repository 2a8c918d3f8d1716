"""Execute: create, poll and download each planned render, journaling every paid step."""
