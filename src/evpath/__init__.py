"""evpath: the road to full electrification of passenger cars."""
