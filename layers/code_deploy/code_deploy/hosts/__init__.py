"""Hosts: the host model (which build each runs and caches), its store (the region's host-state blocks),
a wave carried out on them (wave) and the host-deployment-logs records it leaves (records)."""
