"""Training proxies (DESIGN 6): retargeted motion + random shapes, hands and cameras -> corrupted K67 windows."""
