"""Replication: an artifact from the global bucket to every region's bucket, through the replication
state machine, one copy a destination made in its own region, tracked in FileCopyTracking."""
